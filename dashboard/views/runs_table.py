"""The Runs page's model: one row per run of every followed log, the name filter, status counts. No Streamlit.

Rows are plain values; ``name`` and ``why`` may hold log text (the page draws them in a dataframe, never as
Markdown). Status words, badges and the ETA rule are the run model's (``run_model``), so a run reads the same
in the table and on its page.

The name filter comes from a URL, so it must not be able to stall the server: Python's ``re`` backtracks
(``^(.|.){24}z`` costs about 2^(name length) steps) and holds the GIL while it matches. It is matched by Google's
RE2 (``google-re2``, ``import re2``), which never backtracks: matching time is linear in the name, whatever the
pattern. RE2 refuses what needs backtracking (backreferences ``\\1``, lookaround ``(?=``, ``(?<=``, possessive
``a++``) and repetitions over 1000: such a filter is not used, with a notice. Without RE2 installed the filter is a
plain, case-insensitive substring, and a notice says so.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from dashboard.analysis.summary import RunSummary
from dashboard.views.formatting import UNKNOWN, fmt_ago, fmt_clock, fmt_duration, fmt_fraction, fmt_num
from dashboard.views.run_model import STATUSES, shows_eta, status_badge
from dashboard.views.text import one_line
from dashboard.views.url_state import MAX_FILTER_CHARS, run_href

RUNS_INTERVAL = 2.0  # seconds between refreshes of the runs page
#: Pixels per row of the runs table: Streamlit's grid wraps cell text only in rows taller than 4rem (64 px).
ROW_HEIGHT = 66
#: Background colours of the status cells in the runs table.
STATUS_COLORS = {"running": "#d7f5dd", "stalled": "#ffe7c2", "crashed": "#ffd6d6", "finished": "#e6efff",
                 "stopped": "#eeeeee", "waiting": "#f5f5f5"}


try:
    import re2 as _re2
except ImportError:  # the filter falls back to a plain substring (see the module docstring)
    _re2 = None

RE2_MAX_MEM = 8 << 20  # bytes RE2 may use for one compiled filter (its default); a bigger pattern is refused


@dataclass(frozen=True)
class NameFilter:
    """A compiled name filter: ``search(name)`` is true when the name matches. ``engine`` says how it matches:
    ``re2`` (a regular expression, linear time) or ``substring`` (plain text, case-insensitive)."""

    pattern: str
    engine: str
    _match: Callable[[str], bool]

    def search(self, name: str) -> bool:
        return self._match(name)


def _re2_options():
    opts = _re2.Options()
    opts.case_sensitive = False
    opts.log_errors = False  # a bad pattern is a notice on the page, not a line in the server's log
    opts.max_mem = RE2_MAX_MEM
    return opts


def compile_filter(pattern: str) -> tuple[NameFilter | None, str | None]:
    """The name filter (case-insensitive; RE2 syntax), or a notice and no filter; see the module docstring."""
    if not pattern:
        return None, None
    if len(pattern) > MAX_FILTER_CHARS:
        return None, f"the filter is longer than {MAX_FILTER_CHARS} characters: showing every run"
    if _re2 is None:
        needle = pattern.casefold()
        return NameFilter(pattern, "substring", lambda name: needle in name.casefold()), (
            "RE2 (the google-re2 package) is not installed, so the filter is matched as plain text "
            "(case-insensitive), not as a regular expression")
    try:
        compiled = _re2.compile(pattern, options=_re2_options())
    except _re2.error as e:
        reason = e.args[0] if e.args else e
        reason = reason.decode("utf-8", "replace") if isinstance(reason, bytes) else str(reason)
        return None, (f"the filter {one_line(pattern, 80)!r} is not a valid regular expression for RE2 "
                      f"({one_line(reason, 120)}): showing every run")

    def match(name: str) -> bool:
        try:
            return compiled.search(name) is not None
        except UnicodeEncodeError:  # a lone surrogate (undecodable bytes in a file name)
            return compiled.search(name.encode("utf-8", "replace").decode("utf-8")) is not None

    return NameFilter(pattern, "re2", match), None


def is_scalars_twin(layout, text_layouts: set[tuple[str, str]]) -> bool:
    """A ``vis_data/scalars.json`` whose run folder also holds the text log (the same run, fewer facts)."""
    return layout is not None and layout.role == "scalars" and (layout.work_dir, layout.timestamp) in text_layouts


def latest_loss(summary: RunSummary) -> float | None:
    latest = summary.latest or {}
    if "loss" in latest:
        return latest["loss"]
    for k, v in latest.items():
        if "loss" in k.lower():
            return v
    return None


def run_row(*, source_id: str, run_index: int, run_count: int, summary: RunSummary, status: str, reason: str,
            last_update: float | None, now: float, base: str | None = None) -> dict[str, object]:
    """One row of the runs table (all cells are plain values; ``name`` and ``why`` may hold log text); ``open`` is
    the Run page's link under the app's path prefix ``base`` (``url_state.page_href``)."""
    name = source_id if run_count == 1 else f"{source_id} · run {run_index + 1}/{run_count}"
    progress = summary.progress
    if progress is not None and math.isfinite(progress):
        progress = min(max(progress, 0.0), 1.0)
    else:
        progress = None
    it_s = summary.recent_iter_seconds or summary.median_iter_seconds
    epoch = UNKNOWN if summary.current_epoch is None else fmt_fraction(summary.current_epoch, summary.max_epochs)
    return {
        "name": one_line(name),
        "status": status_badge(status, summary.first_nonfinite_iter),
        "why": one_line(reason),
        "progress": progress,
        "n/N": fmt_fraction(summary.last_iter, summary.max_iters),
        "epoch": epoch,
        "ETA": fmt_duration(summary.eta_seconds) if shows_eta(status) else UNKNOWN,
        "finish (log clock)": fmt_clock(summary.finish_at) if shows_eta(status) else UNKNOWN,
        "s/iter": fmt_num(it_s),
        "last update": fmt_ago(now - last_update) if last_update is not None else UNKNOWN,
        "loss": fmt_num(latest_loss(summary), 4),
        "open": run_href(source_id, run_index if run_count > 1 else None, base),
        "_sort": (last_update or 0.0, run_index),
        "_status": status,
    }


def waiting_row(source_id: str, last_update: float | None, now: float, base: str | None = None) -> dict[str, object]:
    """A followed log that holds no training run yet (just created, or only a launch line so far)."""
    row: dict[str, object] = {c: UNKNOWN for c in RUN_TABLE_COLUMNS}
    row.update({"name": one_line(source_id), "status": status_badge("waiting"),
                "why": "no training run in this file yet",
                "progress": None, "last update": fmt_ago(now - last_update) if last_update is not None else UNKNOWN,
                "open": run_href(source_id, None, base), "_sort": (last_update or 0.0, 0), "_status": "waiting"})
    return row


def link_query(href: str) -> dict[str, str]:
    """The query parameters of a ``run_href`` link (for ``st.page_link(..., query_params=...)``)."""
    from urllib.parse import parse_qsl

    return dict(parse_qsl(href.partition("?")[2], keep_blank_values=True))


#: Most watched first: on a narrow screen the table scrolls sideways to the finish time and the status reason.
RUN_TABLE_COLUMNS = ("open", "name", "status", "progress", "n/N", "epoch", "ETA", "last update", "loss", "s/iter",
                     "finish (log clock)", "why")


def runs_table(rows: list[dict[str, object]], name_filter: NameFilter | None) -> pd.DataFrame:
    """Rows matching the filter, newest first (most recently written log first, later runs of a file first)."""
    kept = [r for r in rows if name_filter is None or name_filter.search(str(r["name"]))]
    kept.sort(key=lambda r: r["_sort"], reverse=True)  # type: ignore[arg-type, return-value]
    frame = pd.DataFrame(kept, columns=list(RUN_TABLE_COLUMNS))
    frame["progress"] = pd.to_numeric(frame["progress"], errors="coerce")
    return frame


def status_of_badge(badge: str) -> str:
    """``finished`` from ``✔ finished · NaN at 200``."""
    return badge.split(" ", 1)[-1].split(" · ", 1)[0]


def style_status(value: str) -> str:
    """CSS for a status cell (``pandas.Styler.map``)."""
    color = STATUS_COLORS["crashed"] if " · NaN" in str(value) else STATUS_COLORS.get(status_of_badge(str(value)))
    return f"background-color: {color}" if color else ""


def status_counts(rows: list[dict[str, object]]) -> str:
    counts = {s: 0 for s in (*STATUSES, "waiting")}
    for r in rows:
        counts[str(r["_status"])] = counts.get(str(r["_status"]), 0) + 1
    return " · ".join(f"{status_badge(s)} {n}" for s, n in counts.items() if n)

