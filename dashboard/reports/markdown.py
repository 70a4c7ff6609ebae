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


#: Events listed in a report (the last ones; the Run page lists up to ``run_model.MAX_EVENT_ROWS``).
MAX_REPORT_EVENTS = 100


def _plain_int(v: object) -> str:
    """A line or iteration number as the log writes it (no thousands separator); unknown as the dash."""
    return UNKNOWN if v is None else str(v)


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header),
            *("| " + " | ".join(r) + " |" for r in rows)]


def efficiency_lines(s: RunSummary) -> list[str]:
    """The report's efficiency lines (plain text; they quote a source sentence: escape for the document)."""
    return [
        f"Progress: {fmt_fraction(s.last_iter, s.max_iters)}" + (f" ({fmt_percent(s.progress)})" if finite(s.progress)
                                                                  else ""),
        f"Seconds per iteration: median {fmt_num(s.median_iter_seconds)}, p90 {fmt_num(s.p90_iter_seconds)}, "
        f"recent {fmt_num(s.recent_iter_seconds)}",
        f"Samples per hour: {fmt_num(s.samples_per_hour)} ({s.sources.get('samples_per_second', '')})",
        f"Wall time {fmt_duration(s.wall_seconds)} vs compute time {fmt_duration(s.compute_seconds)} "
        f"(gap {fmt_duration(s.gap_seconds)}: validation, checkpoints, restarts)",
        f"Data loading share: {fmt_percent(s.data_time_share)}" + (" — data-bound" if s.data_bound else ""),
        f"Peak memory: {fmt_memory(s.peak_memory_mb)}",
    ]


def health_lines(s: RunSummary) -> list[str]:
    """The report's health lines after the status (plain text; field names are log text: escape them)."""
    out = []
    if s.first_nonfinite_iter is not None:
        out.append(f"First NaN/inf at iteration {s.first_nonfinite_iter} ({', '.join(s.nonfinite_fields)})")
    if s.loss_spikes:
        out.append(f"Loss spikes at iterations {', '.join(map(str, s.loss_spikes[:10]))}")
    if s.resumed_from_iter is not None:
        out.append(f"Resumed from iteration {s.resumed_from_iter}")
    return out


def markdown_report(path: str, runs: list[Run], summaries: list[RunSummary], overrides=None, gpu=None) -> str:
    """The report of ``runs`` (with their summaries, made with ``overrides``: the setup a person gave), from the
    rows of the one run model: the header tiles, banners, setup and audit tables, validation and events read as
    on the Run page; ``gpu``: one ``views.gpu_view.GpuSection`` (or None) per run. Call under the runs' locks when
    they can grow."""
    from dashboard.analysis import setup_for
    from dashboard.views import run_model as rm  # plotly and pandas come with it: only for this report

    out = [f"# Run report: {md_escape(path)}", ""]
    gpu = list(gpu) if gpu is not None else [None] * len(runs)
    for run, s, g in zip(runs, summaries, gpu):
        out += [f"## Run {s.run_index} — {s.status}", "", f"Status: {md_escape(s.status_reason)}", ""]
        out += _table(["", ""], [[item.label, md_escape(item.value)] for item in rm.header_items(s, s.status)])
        out += ["", md_escape(rm.finish_text(s, s.status)), "", md_escape(rm.clock_text(s))]
        for b in rm.banners(s, s.status, s.status_reason):
            out += ["", f"> **{b.title}**"]
            if b.detail:
                out.append(f"> {md_escape(b.detail[-2000:])}")
        setup, sources = setup_for(run, overrides)  # what the summary's audit used (the user's flags win)
        out += ["", "### Setup", ""]
        out += _table(["input", "value", "from"], [[md_escape(r["input"]), md_escape(r["value"]), md_escape(r["from"])]
                                                   for r in rm.setup_rows(setup, {**run.header.sources, **sources})])
        a = s.audit
        out += ["", "### Iteration arithmetic", ""]
        if a.arithmetic is not None and a.arithmetic.formula:
            out += [f"Formula: {md_escape(a.arithmetic.formula)}", ""]
        out += _table(["quantity", "value"], [[md_escape(r["quantity"]), md_escape(r["value"])]
                                              for r in rm.audit_rows(s)])
        out += ["", f"Audit: {md_escape(a.explanation)}"]
        timeline = epoch_timeline(run, s)
        if timeline:
            out += ["", "### Epoch timeline", ""]
            out += _table(["epoch", "iterations", "started", "ended"],
                          [[str(e), f"{lo}–{hi}", fmt_clock(t0), fmt_clock(t1)] for e, lo, hi, t0, t1 in timeline])
        out += ["", "### Efficiency", "", *(f"- {md_escape(line)}" for line in efficiency_lines(s))]
        if g is not None:
            from dashboard.views.gpu_view import markdown_lines

            out += markdown_lines(g, md_escape)
        out += ["", "### Health", "", f"- Status: **{s.status}** — {md_escape(s.status_reason)}",
                *(f"- {md_escape(line)}" for line in health_lines(s))]
        validation = rm.validation_rows(s)
        if validation:
            out += ["", "### Validation", ""]
            out += _table(["metric", "final", "best", "best at"],
                          [[md_escape(str(r["metric"])), fmt_num(r["final"], 4), fmt_num(r["best"], 4),
                            fmt_value(r["best at (epoch or iter)"])] for r in validation])
        events = rm.event_rows(run)
        if events:
            shown = events[-MAX_REPORT_EVENTS:]
            out += ["", "### Events", "", f"{len(events):,} events" + (
                f", the last {len(shown)} listed" if len(shown) < len(events) else ""), ""]
            out += _table(["line", "time (log clock)", "kind", "iter", "text"],
                          [[_plain_int(r["line"]), md_escape(str(r["time (log clock)"] or UNKNOWN)),
                            md_escape(str(r["kind"])), _plain_int(r["iter"]), md_escape(str(r["text"]))]
                           for r in shown])
        out.append("")
    return "\n".join(out)
