"""The Markdown run report: setup, iteration arithmetic and audit, epoch timeline, efficiency,
health, final and best validation metrics. Log text inside it is escaped so that a log line can
never become Markdown structure or a link in the document it is pasted into. Numbers, durations,
rates, times and unknowns are written by ``dashboard.views.formatting`` (as on the pages); iteration
and epoch numbers as MMEngine writes them.
"""

from __future__ import annotations

import re

from dashboard.analysis import RunSummary
from dashboard.analysis.timing import iters, timestamps
from dashboard.views.formatting import (
    UNKNOWN,
    finite,
    fmt_bool,
    fmt_clock,
    fmt_duration,
    fmt_fraction,
    fmt_memory,
    fmt_num,
    fmt_percent,
    fmt_value,
)
from parsers import Run

#: What would start Markdown or HTML mid-line: code spans, emphasis, links and images, inline HTML, entities,
#: table cells, strikethrough, and the backslash itself. An underscore only starts emphasis at a word's edge
#: (``mmengine_cpu/sa2va_clock.log`` stays as it is), so it is escaped only there.
_MD_SPECIAL = re.compile(r"([\\`*\[\]<>&|~])|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])")


def md_escape(text: str) -> str:
    """Log text made inert in a Markdown line: a backslash before each character that would start Markdown or
    HTML there, nothing else (a file name, a path or ``(Saving checkpoint)`` reads as it is). Line breaks become
    spaces (the text stays in its line, so nothing can start a heading, list or block)."""
    return _MD_SPECIAL.sub(lambda m: "\\" + m.group(0), text.replace("\r", " ").replace("\n", " "))


def epoch_timeline(run: Run, s: RunSummary) -> list[tuple[int, int, int, str | None, str | None]]:
    """(epoch, first iter, last iter, start time, end time) for every epoch the log reached."""
    from dashboard.analysis.summary import iso

    if not s.iters_per_epoch or s.last_iter is None:
        return []
    ipe = s.iters_per_epoch
    it = iters(run)
    ts = timestamps(run)
    rows = []
    for e in range(1, (s.last_iter - 1) // ipe + 2):
        lo, hi = (e - 1) * ipe + 1, e * ipe
        sel = (it >= lo) & (it <= hi)
        if not sel.any():
            continue
        t = ts[sel]
        rows.append((e, lo, min(hi, s.last_iter), iso(float(t[0])) if t[0] == t[0] else None,
                     iso(float(t[-1])) if t[-1] == t[-1] else None))
    return rows


def markdown_report(path: str, runs: list[Run], summaries: list[RunSummary]) -> str:
    out = [f"# Run report: {md_escape(path)}", ""]
    for run, s in zip(runs, summaries):
        out += [f"## Run {s.run_index} — {s.status}", "", f"Status: {md_escape(s.status_reason)}", ""]
        out += ["### Setup", "", "| input | value | source |", "|---|---|---|"]
        for name, value in (("dataset size", s.dataset_size), ("world size (GPUs)", s.world_size),
                            ("batch size per GPU", s.batch_size), ("accumulative_counts", s.accumulative_counts),
                            ("max_epochs", s.max_epochs), ("sampler", s.sampler)):
            key = {"dataset size": "dataset_size", "world size (GPUs)": "world_size",
                   "batch size per GPU": "batch_size", "max_epochs": "epochs"}.get(name, name)
            source = s.sources.get(key)
            out.append(f"| {name} | {fmt_value(value)} | {UNKNOWN if source is None else md_escape(source)} |")
        a = s.audit
        out += ["", "### Iteration arithmetic", ""]
        if a.arithmetic is not None and a.arithmetic.formula:
            out.append(f"- Formula: {md_escape(a.arithmetic.formula)}")
        out += [
            f"- Logged N: {fmt_num(s.max_iters)}; expected N: {fmt_num(a.expected_max_iters)}; "
            f"consistent: {fmt_bool(a.consistent)}",
            f"- Optimizer updates: {fmt_num(s.optimizer_updates)} "
            f"(done so far: {fmt_num(s.updates_done)})",
            "- World sizes that reproduce the logged N: "
            + (", ".join(map(fmt_num, a.fitting_world_sizes)) or "none found"),
            f"- Audit: {md_escape(a.explanation)}",
        ]
        timeline = epoch_timeline(run, s)
        if timeline:
            out += ["", "### Epoch timeline", "", "| epoch | iterations | started | ended |", "|---|---|---|---|"]
            for e, lo, hi, t0, t1 in timeline:
                out.append(f"| {e} | {lo}–{hi} | {fmt_clock(t0)} | {fmt_clock(t1)} |")
        out += [
            "", "### Efficiency", "",
            f"- Progress: {fmt_fraction(s.last_iter, s.max_iters)}"
            + (f" ({fmt_percent(s.progress)})" if finite(s.progress) else ""),
            f"- Seconds per iteration: median {fmt_num(s.median_iter_seconds)}, "
            f"p90 {fmt_num(s.p90_iter_seconds)}, recent {fmt_num(s.recent_iter_seconds)}",
            f"- Samples per hour: {fmt_num(s.samples_per_hour)} "
            f"({md_escape(s.sources.get('samples_per_second', ''))})",
            f"- Wall time {fmt_duration(s.wall_seconds)} vs compute time {fmt_duration(s.compute_seconds)} "
            f"(gap {fmt_duration(s.gap_seconds)}: validation, checkpoints, restarts)",
            f"- Data loading share: {fmt_percent(s.data_time_share)}"
            + (" — data-bound" if s.data_bound else ""),
            f"- Peak memory: {fmt_memory(s.peak_memory_mb)}",
            f"- ETA: {fmt_duration(s.eta_seconds)} (finish {fmt_clock(s.finish_at)}); MMEngine's logged eta: "
            f"{fmt_duration(s.logged_eta_seconds)} (finish {fmt_clock(s.logged_finish_at)})",
        ]
        out += ["", "### Health", "", f"- Status: **{s.status}** — {md_escape(s.status_reason)}"]
        if s.first_nonfinite_iter is not None:
            out.append(f"- First NaN/inf at iteration {s.first_nonfinite_iter} "
                       f"({md_escape(', '.join(s.nonfinite_fields))})")
        if s.loss_spikes:
            out.append(f"- Loss spikes at iterations {', '.join(map(str, s.loss_spikes[:10]))}")
        if s.resumed_from_iter is not None:
            out.append(f"- Resumed from iteration {s.resumed_from_iter}")
        if s.final_metrics:
            out += ["", "### Validation", "", "| metric | final | best | best at |", "|---|---|---|---|"]
            for k, v in s.final_metrics.items():
                b = s.best_metrics.get(k, {})
                step = b.get("step")
                out.append(f"| {md_escape(k)} | {fmt_num(v, 4)} | {fmt_num(b.get('value'), 4)} | "
                           f"{UNKNOWN if step is None else step} |")
        out.append("")
    return "\n".join(out)

