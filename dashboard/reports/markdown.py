"""The Markdown run report: setup, iteration arithmetic and audit, epoch timeline, efficiency,
health, final and best validation metrics. Log text inside it is escaped so that a log line can
never become Markdown structure or a link in the document it is pasted into.
"""

from __future__ import annotations

import re

from dashboard.analysis import RunSummary
from dashboard.analysis.audit import Setup, compute
from dashboard.analysis.timing import iters, timestamps
from dashboard.views.formatting import hms
from parsers import Run

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~])")


def md_escape(text: str) -> str:
    """Escape Markdown/HTML metacharacters so log text stays literal text."""
    return _MD_SPECIAL.sub(r"\\\1", text.replace("\n", " "))


def _v(x, fmt: str = "{}") -> str:
    return "unknown" if x is None else fmt.format(x)


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
        out += [f"## Run {s.run_index} — {s.status}", "", f"{md_escape(s.status_reason)}", ""]
        out += ["### Setup", "", "| input | value | source |", "|---|---|---|"]
        for name, value in (("dataset size", s.dataset_size), ("world size (GPUs)", s.world_size),
                            ("batch size per GPU", s.batch_size), ("accumulative_counts", s.accumulative_counts),
                            ("max_epochs", s.max_epochs), ("sampler", s.sampler)):
            key = {"dataset size": "dataset_size", "world size (GPUs)": "world_size",
                   "batch size per GPU": "batch_size", "max_epochs": "epochs"}.get(name, name)
            out.append(f"| {name} | {_v(value)} | {md_escape(s.sources.get(key, '-'))} |")
        a = s.audit
        out += ["", "### Iteration arithmetic", ""]
        if a.arithmetic is not None and a.arithmetic.formula:
            out.append(f"- Formula: {md_escape(a.arithmetic.formula)}")
        out += [
            f"- Logged N: {_v(s.max_iters)}; expected N: {_v(a.expected_max_iters)}; "
            f"consistent: {_v(a.consistent)}",
            f"- Optimizer updates: {_v(s.optimizer_updates)} "
            f"(done so far: {_v(s.updates_done)})",
            "- World sizes that reproduce the logged N: "
            + (", ".join(map(str, a.fitting_world_sizes)) or "none found"),
            f"- Audit: {md_escape(a.explanation)}",
        ]
        timeline = epoch_timeline(run, s)
        if timeline:
            out += ["", "### Epoch timeline", "", "| epoch | iterations | started | ended |", "|---|---|---|---|"]
            for e, lo, hi, t0, t1 in timeline:
                out.append(f"| {e} | {lo}–{hi} | {_v(t0)} | {_v(t1)} |")
        out += [
            "", "### Efficiency", "",
            f"- Progress: {_v(s.last_iter)} / {_v(s.max_iters)}"
            + (f" ({s.progress:.1%})" if s.progress is not None else ""),
            f"- Seconds per iteration: median {_v(s.median_iter_seconds, '{:.4g}')}, "
            f"p90 {_v(s.p90_iter_seconds, '{:.4g}')}, recent {_v(s.recent_iter_seconds, '{:.4g}')}",
            f"- Samples per hour: {_v(s.samples_per_hour, '{:,.0f}')} "
            f"({md_escape(s.sources.get('samples_per_second', ''))})",
            f"- Wall time {hms(s.wall_seconds)} vs compute time {hms(s.compute_seconds)} "
            f"(gap {hms(s.gap_seconds)}: validation, checkpoints, restarts)",
            f"- Data loading share: {_v(s.data_time_share, '{:.0%}')}"
            + (" — data-bound" if s.data_bound else ""),
            f"- Peak memory: {_v(s.peak_memory_mb, '{:.0f}')} MB",
            f"- ETA: {hms(s.eta_seconds)} (finish {_v(s.finish_at)}); MMEngine's logged eta: "
            f"{hms(s.logged_eta_seconds)}",
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
                out.append(f"| {md_escape(k)} | {v:.4g} | {_v(b.get('value'), '{:.4g}')} | {_v(b.get('step'))} |")
        out.append("")
    return "\n".join(out)


def what_if_table(setup: Setup) -> str:
    a = compute(setup)
    return f"N = {_v(a.max_iters)}, updates = {_v(a.optimizer_updates)} ({a.formula})"
