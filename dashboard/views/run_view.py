"""Page models of the Runs and Run pages: what to show, computed without Streamlit (tested in isolation).

The pages (``dashboard/ui/pages/runs.py``, ``run.py``) read the URL and the shared ``AppState``, call these
functions and draw the result. Everything that decides *what* is shown lives here: URL parameters of each
page, liveness and the running/stalled overlay, table rows, header numbers, banners, which metrics exist and
which are shown by default, the chart plan and figures, the events list and the audit panel.

Text rules: values that can hold log text (file names, metric names, event text, error text) are returned in
fields the pages draw with ``st.text`` / ``st.code`` / ``st.dataframe`` only. Banner *titles* are built here
from our own words and numbers, so a page may pass them to ``st.error``/``st.warning`` (Markdown). Plotly
renders a subset of HTML in trace names and titles, so every log-derived string a figure shows goes
through ``plotly_text`` (entities, which plotly shows literally).
"""

from __future__ import annotations

import calendar
import datetime as _dt
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from urllib.parse import quote, urlencode

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from dashboard.analysis.health import STALL_FACTOR, STALL_FLOOR
from dashboard.analysis.summary import RunSummary, iso
from dashboard.charts.figures import TRAIN_X_COLUMN, X_AXES, eval_figure, group_keys, metric_figure
from dashboard.views.text import one_line
from dashboard.views.url_state import (
    MAX_RUN_INDEX,
    MAX_SMOOTHING,
    STREAMLIT_KEYS,
    ViewState,
    from_query,
    to_query,
)
from parsers import Run

#: A source whose file was last written at most this long before the watcher found it counts as live.
RECENT_BEFORE_START = 600.0
LIVE_INTERVAL = 1.0  # seconds between live refreshes of the run page
IDLE_INTERVAL = 5.0  # ... of a run page whose log is not growing
RUNS_INTERVAL = 2.0  # ... of the runs page
MAX_FILTER_CHARS = 200
MAX_EVENT_ROWS = 1000
MAX_DEFAULT_LOSSES = 5
MAX_DEFAULT_EVALS = 4
CHART_HEIGHT = 330
LOSS_CHART_HEIGHT = 420

STATUSES = ("running", "stalled", "crashed", "finished", "stopped")
#: Symbols every common font has (emoji are missing on many Linux desktops and in headless browsers).
STATUS_ICONS = {"running": "▶", "stalled": "◐", "crashed": "✖", "finished": "✔", "stopped": "■", "waiting": "…"}
#: Background colours of the status cells in the runs table.
STATUS_COLORS = {"running": "#d7f5dd", "stalled": "#ffe7c2", "crashed": "#ffd6d6", "finished": "#e6efff",
                 "stopped": "#eeeeee", "waiting": "#f5f5f5"}
X_AXIS_LABELS = {"iter": "iteration", "epoch": "epoch", "wall": "wall time (log clock)",
                 "relative": "time since start"}

#: Event kinds shown in the run page's events list (plus validations/tests and file restarts).
EVENT_KINDS_SHOWN = ("checkpoint", "best_checkpoint", "resume", "auto_resume", "load_checkpoint",
                     "advance_dataloader", "epoch_wrap", "warning", "error", "traceback", "launch")

#: Query keys each page reads; anything else gets a "not used on this page" notice.
RUN_PAGE_KEYS = frozenset({"run", "r", "run_index", "metric", "smoothing", "x_axis", "x_range", "log_y", "live",
                           "page"})
RUNS_PAGE_KEYS = frozenset({"filter", "twins", "live", "page"})
_BOOL_TRUE = frozenset({"1", "true", "yes", "on"})
_BOOL_FALSE = frozenset({"0", "false", "no", "off"})


# ---------------------------------------------------------------------------------------------- formatting


def _finite(v: float | None) -> bool:
    return v is not None and isinstance(v, (int, float)) and math.isfinite(v)


def fmt_duration(seconds: float | None) -> str:
    """``45s``, ``12m 05s``, ``3h 07m``, ``2d 04h``; ``—`` when unknown or negative."""
    if not _finite(seconds) or seconds < 0:  # type: ignore[operator]
        return "—"
    s = int(round(seconds))  # type: ignore[arg-type]
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m {s % 60:02d}s"
    if s < 86400:
        return f"{s // 3600}h {s % 3600 // 60:02d}m"
    return f"{s // 86400}d {s % 86400 // 3600:02d}h"


def fmt_ago(seconds: float | None) -> str:
    """``just now``, ``12 s ago``, ``5 min ago``, ``3 h ago``, ``2 d ago``; ``—`` when unknown."""
    if not _finite(seconds):
        return "—"
    s = max(0.0, float(seconds))  # type: ignore[arg-type]
    if s < 2:
        return "just now"
    if s < 60:
        return f"{int(s)} s ago"
    if s < 3600:
        return f"{int(s // 60)} min ago"
    if s < 86400:
        return f"{int(s // 3600)} h ago"
    return f"{int(s // 86400)} d ago"


def fmt_clock(iso_text: str | None) -> str:
    """``2026-03-14 21:30`` from an ISO timestamp of the log's clock; ``—`` when unknown."""
    if not iso_text:
        return "—"
    return iso_text.replace("T", " ")[:16]


def fmt_num(v: float | None, digits: int = 3) -> str:
    """A number for a table cell: ``1,234``, ``0.0891``, ``1.23e-05``; ``—`` unknown, ``nan``/``inf`` kept."""
    if v is None:
        return "—"
    if isinstance(v, float) and not math.isfinite(v):
        return "nan" if math.isnan(v) else ("inf" if v > 0 else "-inf")
    if isinstance(v, int) or float(v).is_integer() and abs(v) < 1e15:
        return f"{int(v):,}"
    a = abs(v)
    if a >= 1000:
        return f"{v:,.0f}"
    if a >= 1e-3:
        return f"{v:.{digits}g}"
    return f"{v:.{digits - 1}e}"


def fmt_memory(mb: float | None) -> str:
    if not _finite(mb):
        return "—"
    if mb >= 10 * 1024:  # type: ignore[operator]
        return f"{mb / 1024:.1f} GB"  # type: ignore[operator]
    return f"{mb:,.0f} MB"


def fmt_fraction(n: int | None, total: int | None) -> str:
    """``n/N`` with ``?`` for an unknown part; ``—`` when both are unknown."""
    if n is None and total is None:
        return "—"
    return f"{'?' if n is None else n}/{'?' if total is None else total}"


def status_badge(status: str) -> str:
    return f"{STATUS_ICONS.get(status, '•')} {status}"


def plotly_text(text: str) -> str:
    """Text plotly shows literally: its pseudo-HTML (``<b>``, ``<a href>``, ``<br>``) becomes entities."""
    return one_line(str(text)).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# ------------------------------------------------------------------------------------------------ liveness


@dataclass(frozen=True)
class Liveness:
    """Whether a source is a live log, and when it last grew (``time.time()`` seconds)."""

    live: bool
    last_update: float | None
    basis: str  # "watcher" (seen growing while followed) or "file mtime"


def liveness(*, discovered_at: float, last_growth_at: float | None, mtime: float | None,
             recent: float = RECENT_BEFORE_START) -> Liveness:
    """A source is live when its file was written after the watcher found it, or at most ``recent`` seconds
    before: a run in progress when the dashboard started. An old log is not live, so a run that ended long
    ago without a final checkpoint is "stopped", never "stalled".

    The last update is the watcher's ``last_growth_at`` (when it read new bytes) for a file seen growing
    while followed; otherwise the file's mtime (the watcher's first read of an old file is no update).
    """
    if mtime is None:
        return Liveness(False, last_growth_at, "watcher")
    grown_while_followed = mtime > discovered_at
    if grown_while_followed and last_growth_at is not None:
        return Liveness(True, last_growth_at, "watcher")
    return Liveness(grown_while_followed or discovered_at - mtime <= recent, mtime, "file mtime")


def live_status(status: str, reason: str, *, live: bool, is_last_run: bool, now: float,
                last_update: float | None, median_gap: float | None) -> tuple[str, str]:
    """Running or stalled for the last run of a live log, by the rule of ``dashboard.analysis.health``.

    Summaries are computed with ``live=False`` (cacheable): a run that has not finished or crashed is
    "stopped" there. For a live log's last run this becomes "stalled" when nothing new arrived for longer than
    ``max(STALL_FACTOR x the median time between log lines, STALL_FLOOR)``, else "running".
    """
    if status != "stopped" or not (live and is_last_run) or last_update is None:
        return status, reason
    threshold = max(STALL_FACTOR * (median_gap or 0.0), STALL_FLOOR)
    idle = max(0.0, now - last_update)
    if idle > threshold:
        return "stalled", f"no new record for {fmt_duration(idle)} (threshold {fmt_duration(threshold)})"
    return "running", f"last update {fmt_ago(idle)}"


# ---------------------------------------------------------------------------------------------- URL state


def _single(values: Sequence[str]) -> str | None:
    return values[-1] if values else None


def _other_page_notices(raw: Mapping[str, Sequence[str]], allowed: frozenset[str]) -> list[str]:
    out = []
    for key in raw:
        if key not in allowed and key not in STREAMLIT_KEYS:
            out.append(f"URL parameter {one_line(str(key), 40)!r} is not used on this page: ignored")
    return out


def parse_run_index(values: Sequence[str] | None) -> tuple[int | None, str | None]:
    """``r`` (the run inside a file): a whole number from 0, or a notice."""
    v = _single(values or [])
    if v is None:
        return None, None
    if re.fullmatch(r"[0-9]{1,9}", v, re.ASCII) and int(v) <= MAX_RUN_INDEX:
        return int(v), None
    return None, f"URL parameter r={one_line(v, 40)!r} ignored: not a run number (0, 1, 2...)"


@dataclass
class RunPageQuery:
    run: str | None  # the requested source id, unchecked (the page refuses it with a reason)
    view: ViewState
    notices: list[str]


def read_run_query(raw: Mapping[str, Sequence[str]]) -> RunPageQuery:
    """The run page's URL: ``run`` (source id), ``r`` (run index; ``run_index`` is accepted too), ``metric``
    (repeated), ``smoothing``, ``x_axis``, ``x_range``, ``log_y``, ``live``. Invalid values fall back to
    defaults with a notice each (``url_state.from_query``); parameters of other pages get a notice too."""
    raw = {k: list(v) for k, v in raw.items()}
    notices = _other_page_notices(raw, RUN_PAGE_KEYS)
    raw = {k: v for k, v in raw.items() if k in RUN_PAGE_KEYS or k in STREAMLIT_KEYS}
    run = _single(raw.pop("run", []))
    raw.pop("page", None)  # the page is the URL path
    r, note = parse_run_index(raw.pop("r", None))
    if note:
        notices.append(note)
    view, more = from_query(raw)
    notices.extend(more)
    if r is not None:
        view.run_index = r
    view.page = "run"
    view.run = run
    return RunPageQuery(run, view, notices)


def run_page_query(view: ViewState) -> dict[str, str | list[str]]:
    """Query parameters for the run page (``r`` for the run index; no ``page``: the path says it)."""
    q = to_query(ViewState(run=view.run, metrics=list(view.metrics), smoothing=view.smoothing, x_axis=view.x_axis,
                           x_range=view.x_range, log_y=view.log_y, live=view.live))
    if view.run_index is not None:
        out: dict[str, str | list[str]] = {"run": q.pop("run")} if "run" in q else {}
        out["r"] = str(view.run_index)
        out.update(q)
        return out
    return q


def run_href(source_id: str, run_index: int | None = None) -> str:
    """Relative URL of the run page (from any page of the app)."""
    q: dict[str, str] = {"run": source_id}
    if run_index is not None:
        q["r"] = str(run_index)
    return "run?" + urlencode(q, quote_via=quote, safe="/")


@dataclass
class RunsPageQuery:
    filter: str
    twins: bool
    live: bool
    notices: list[str]


def _bool(key: str, values: Sequence[str] | None, default: bool, notices: list[str]) -> bool:
    v = _single(values or [])
    if v is None:
        return default
    low = v.strip().lower()
    if low in _BOOL_TRUE:
        return True
    if low in _BOOL_FALSE:
        return False
    notices.append(f"URL parameter {key}={one_line(v, 40)!r} ignored: not a yes/no value (1/0, true/false)")
    return default


def read_runs_query(raw: Mapping[str, Sequence[str]]) -> RunsPageQuery:
    """The runs page's URL: ``filter`` (regex on the name), ``twins`` (show ``vis_data/scalars.json`` copies),
    ``live`` (auto refresh)."""
    notices = _other_page_notices(raw, RUNS_PAGE_KEYS)
    pattern = _single(list(raw.get("filter", []))) or ""
    if len(pattern) > MAX_FILTER_CHARS:
        notices.append(f"URL parameter filter ignored: longer than {MAX_FILTER_CHARS} characters")
        pattern = ""
    twins = _bool("twins", raw.get("twins"), False, notices)
    live = _bool("live", raw.get("live"), True, notices)
    return RunsPageQuery(pattern, twins, live, notices)


def runs_page_query(q: RunsPageQuery) -> dict[str, str]:
    out: dict[str, str] = {}
    if q.filter:
        out["filter"] = q.filter
    if q.twins:
        out["twins"] = "1"
    if not q.live:
        out["live"] = "0"
    return out


# -------------------------------------------------------------------------------------------- runs page


def compile_filter(pattern: str) -> tuple[re.Pattern[str] | None, str | None]:
    """The name filter (a case-insensitive regular expression), or a notice and no filter."""
    if not pattern:
        return None, None
    if len(pattern) > MAX_FILTER_CHARS:
        return None, f"the filter is longer than {MAX_FILTER_CHARS} characters: showing every run"
    try:
        return re.compile(pattern, re.IGNORECASE), None
    except re.error as e:
        return None, f"the filter {one_line(pattern, 80)!r} is not a valid regular expression ({e}): showing every run"


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
            last_update: float | None, now: float) -> dict[str, object]:
    """One row of the runs table (all cells are plain values; ``name`` and ``why`` may hold log text)."""
    name = source_id if run_count == 1 else f"{source_id} · run {run_index + 1}/{run_count}"
    progress = summary.progress
    if progress is not None and math.isfinite(progress):
        progress = min(max(progress, 0.0), 1.0)
    else:
        progress = None
    it_s = summary.recent_iter_seconds or summary.median_iter_seconds
    epoch = "—" if summary.current_epoch is None else fmt_fraction(summary.current_epoch, summary.max_epochs)
    return {
        "name": one_line(name),
        "status": status_badge(status),
        "why": one_line(reason),
        "progress": progress,
        "n/N": fmt_fraction(summary.last_iter, summary.max_iters),
        "epoch": epoch,
        "ETA": fmt_duration(summary.eta_seconds) if status not in ("stopped", "stalled", "crashed") else "—",
        "finish (log clock)": fmt_clock(summary.finish_at) if status in ("running", "finished") else "—",
        "s/iter": fmt_num(it_s),
        "last update": fmt_ago(now - last_update) if last_update is not None else "—",
        "loss": fmt_num(latest_loss(summary), 4),
        "open": run_href(source_id, run_index if run_count > 1 else None),
        "_sort": (last_update or 0.0, run_index),
        "_status": status,
    }


def waiting_row(source_id: str, last_update: float | None, now: float) -> dict[str, object]:
    """A followed log that holds no training run yet (just created, or only a launch line so far)."""
    row: dict[str, object] = {c: "—" for c in RUN_TABLE_COLUMNS}
    row.update({"name": one_line(source_id), "status": status_badge("waiting"),
                "why": "no training run in this file yet",
                "progress": None, "last update": fmt_ago(now - last_update) if last_update is not None else "—",
                "open": run_href(source_id), "_sort": (last_update or 0.0, 0), "_status": "waiting"})
    return row


def link_query(href: str) -> dict[str, str]:
    """The query parameters of a ``run_href`` link (for ``st.page_link(..., query_params=...)``)."""
    from urllib.parse import parse_qsl

    return dict(parse_qsl(href.partition("?")[2], keep_blank_values=True))


#: Most watched first: on a narrow screen the table scrolls sideways to the finish time and the status reason.
RUN_TABLE_COLUMNS = ("open", "name", "status", "progress", "n/N", "epoch", "ETA", "last update", "loss", "s/iter",
                     "finish (log clock)", "why")


def runs_table(rows: list[dict[str, object]], regex: re.Pattern[str] | None) -> pd.DataFrame:
    """Rows matching the filter, newest first (most recently written log first, later runs of a file first)."""
    kept = [r for r in rows if regex is None or regex.search(str(r["name"]))]
    kept.sort(key=lambda r: r["_sort"], reverse=True)  # type: ignore[arg-type, return-value]
    frame = pd.DataFrame(kept, columns=list(RUN_TABLE_COLUMNS))
    frame["progress"] = pd.to_numeric(frame["progress"], errors="coerce")
    return frame


def status_of_badge(badge: str) -> str:
    return badge.split(" ", 1)[-1]


def style_status(value: str) -> str:
    """CSS for a status cell (``pandas.Styler.map``)."""
    color = STATUS_COLORS.get(status_of_badge(str(value)))
    return f"background-color: {color}" if color else ""


def status_counts(rows: list[dict[str, object]]) -> str:
    counts = {s: 0 for s in (*STATUSES, "waiting")}
    for r in rows:
        counts[str(r["_status"])] = counts.get(str(r["_status"]), 0) + 1
    return " · ".join(f"{status_badge(s)} {n}" for s, n in counts.items() if n)


# --------------------------------------------------------------------------------------------- run page


@dataclass(frozen=True)
class HeaderItem:
    label: str
    value: str


def header_items(summary: RunSummary, status: str) -> list[HeaderItem]:
    """The numbers of the run page's header, in reading order (our words and numbers only)."""
    s = summary
    items = [
        HeaderItem("Status", status_badge(status)),
        HeaderItem("Iterations n/N", fmt_fraction(s.last_iter, s.max_iters)),
        HeaderItem("Epoch", "—" if s.current_epoch is None else fmt_fraction(s.current_epoch, s.max_epochs)),
        HeaderItem("ETA", fmt_duration(s.eta_seconds)),
        HeaderItem("MMEngine's eta", fmt_duration(s.logged_eta_seconds)),
        HeaderItem("Elapsed", fmt_duration(s.wall_seconds)),
        HeaderItem("s/iter", fmt_num(s.recent_iter_seconds or s.median_iter_seconds)),
        HeaderItem("samples/s", fmt_num(s.samples_per_second)),
        HeaderItem("Optimizer updates", fmt_fraction(s.updates_done, s.optimizer_updates)),
        HeaderItem("Peak memory", fmt_memory(s.peak_memory_mb)),
    ]
    if s.tokens_per_second is not None:
        items.append(HeaderItem("tokens/s", fmt_num(s.tokens_per_second)))
    return items


HEADER_HELP = {
    "ETA": "MMDash's estimate: iterations left x the recent median time per iteration (see the ETA method below).",
    "MMEngine's eta": "What the log's last line says: MMEngine's cumulative average, blind to slow-downs and "
                      "wrong after a resume.",
    "Elapsed": "Wall time from the first to the last record of this run (the log's clock).",
    "s/iter": "Median 'time' of the last records: seconds per iteration (one micro-batch per process).",
    "samples/s": "batch size x world size / seconds per iteration.",
    "Optimizer updates": "Updates done / total: iterations / gradient accumulation.",
    "Peak memory": "Highest 'memory' logged: torch.cuda.max_memory_allocated() on rank 0, in MB.",
}


def finish_text(summary: RunSummary) -> str:
    """``Finish (log clock): ... · MMEngine's: ...`` for the line under the header."""
    return (f"Finish (log clock): {fmt_clock(summary.finish_at)} · "
            f"MMEngine's estimate: {fmt_clock(summary.logged_finish_at)}")


def progress_text(summary: RunSummary) -> str:
    p = summary.progress
    pct = f" ({100 * p:.1f} %)" if p is not None and math.isfinite(p) else ""
    return f"{fmt_fraction(summary.last_iter, summary.max_iters)} iterations{pct}"


@dataclass(frozen=True)
class Banner:
    level: str  # "error" | "warning" | "info"
    title: str  # our words and numbers only (may be drawn as Markdown)
    detail: str | None = None  # may hold log text: st.text / st.code only
    code: bool = False  # show detail as a code block (tracebacks)


def banners(summary: RunSummary, status: str, reason: str) -> list[Banner]:
    """Stalled, crashed (with the error text), NaN/inf (with the first iteration), audit mismatch."""
    out: list[Banner] = []
    if status == "crashed":
        after = f" after iteration {summary.last_iter}" if summary.last_iter is not None else ""
        out.append(Banner("error", f"Crashed: the log ends with an error{after}.",
                          summary.error_text or reason, code=bool(summary.error_text)))
    elif status == "stalled":
        out.append(Banner("warning", "Stalled: no new record for longer than this run's usual pace allows. "
                                     "The process may hang (NCCL, data loader) or be gone.", reason))
    if summary.first_nonfinite_iter is not None:
        fields = ", ".join(summary.nonfinite_fields) or "a loss"
        out.append(Banner("error", f"NaN/inf: the first non-finite value is at iteration "
                                   f"{summary.first_nonfinite_iter}.", f"fields: {fields}"))
    if summary.audit.consistent is False:
        out.append(Banner("info", "The iteration count N does not match the setup in the log: see the iteration "
                                  "audit below.", summary.audit.explanation))
    return out


# ------------------------------------------------------------------------------------------------- metrics


@dataclass
class MetricChoices:
    train_options: list[str]
    train_default: list[str]
    eval_options: list[str]
    eval_default: list[str]
    groups: dict[str, list[str]] = field(default_factory=dict)


def metric_choices(train_columns: Sequence[str], eval_columns: Sequence[str]) -> MetricChoices:
    """Which train fields can go on the first chart (losses and other per-iteration values such as ``acc``)
    and which validation metrics exist; defaults: every loss when there are at most ``MAX_DEFAULT_LOSSES``
    (else the total ``loss``), the first ``MAX_DEFAULT_EVALS`` validation metrics."""
    groups = group_keys(train_columns)
    losses = groups.get("loss", [])
    train_options = losses + groups.get("other", [])
    if losses:
        default = losses if len(losses) <= MAX_DEFAULT_LOSSES else (["loss"] if "loss" in losses
                                                                     else losses[:MAX_DEFAULT_LOSSES])
    else:
        default = train_options[:1]
    eval_options = [c for c in eval_columns if c not in ("time", "data_time")]
    return MetricChoices(train_options, default, eval_options, eval_options[:MAX_DEFAULT_EVALS], groups)


def select_metrics(requested: Sequence[str], choices: MetricChoices) -> tuple[list[str], list[str], list[str]]:
    """``(train selection, eval selection, notices)`` from the URL's ``metric`` list; a group the URL does not
    mention gets its default; names the run does not log get a notice."""
    train = [m for m in requested if m in choices.train_options]
    evals = [m for m in requested if m in choices.eval_options and m not in train]
    notices = [f"metric {one_line(m, 80)!r} is not logged by this run: ignored" for m in requested
               if m not in choices.train_options and m not in choices.eval_options]
    return train or list(choices.train_default), evals or list(choices.eval_default), notices


def metrics_param(train: Sequence[str], evals: Sequence[str], choices: MetricChoices) -> list[str]:
    """The URL's ``metric`` list: each group's selection when it differs from the group's default."""
    out: list[str] = []
    if list(train) != list(choices.train_default):
        out.extend(train)
    if list(evals) != list(choices.eval_default):
        out.extend(evals)
    return out


@dataclass(frozen=True)
class ChartSpec:
    key: str  # stable id of the chart on the page
    title: str  # may hold a metric name: plotly_text() before plotly shows it
    keys: tuple[str, ...]
    kind: str  # "train" or "eval"
    smooth: bool
    height: int = CHART_HEIGHT


def chart_plan(choices: MetricChoices, train: Sequence[str], evals: Sequence[str]) -> list[ChartSpec]:
    """Losses (chosen), learning rate, time and data_time, memory, grad_norm, throughput (tokens/s, tflops),
    then one chart per chosen validation metric. Groups the run does not log are left out."""
    g = choices.groups
    plan: list[ChartSpec] = []
    if train:
        plan.append(ChartSpec("losses", "Losses" if all("loss" in k for k in train) else "Train metrics",
                              tuple(train), "train", True, LOSS_CHART_HEIGHT))
    if g.get("lr"):
        plan.append(ChartSpec("lr", "Learning rate", tuple(g["lr"]), "train", False))
    if g.get("time"):
        plan.append(ChartSpec("time", "Time per iteration (s): time and data_time", tuple(g["time"]), "train", True))
    if g.get("memory"):
        plan.append(ChartSpec("memory", "Memory (MB, max allocated)", tuple(g["memory"]), "train", False))
    if g.get("grad_norm"):
        plan.append(ChartSpec("grad_norm", "Gradient norm", tuple(g["grad_norm"]), "train", True))
    for k in g.get("throughput", []):
        plan.append(ChartSpec(f"throughput:{k}", k, (k,), "train", True))
    for m in evals:
        plan.append(ChartSpec(f"eval:{m}", f"validation: {m}", (m,), "eval", False))
    return plan


@dataclass(frozen=True)
class ChartView:
    """The chart settings a person chose (hashable: keys the page's figure cache)."""

    x_axis: str = "iter"
    smoothing: float = 0.6
    log_y: bool = False
    x_range: tuple[float, float] | None = None


def build_figure(spec: ChartSpec, frame: pd.DataFrame, evals: pd.DataFrame, view: ChartView, *,
                 epoch_ends: Sequence[int] = (), resume_iters: Sequence[int] = (),
                 checkpoint_iters: Sequence[int] = (), max_points: int = 4000) -> go.Figure:
    """One chart of the plan: smoothed at full resolution, cut to the x range, then downsampled (MinMaxLTTB,
    at most ``max_points`` per trace); names and titles made literal for plotly."""
    title = plotly_text(spec.title)
    if spec.kind == "eval":
        eval_cols = [evals.attrs.get("metrics", {}).get(k, k) for k in spec.keys]
        fig = eval_figure(evals, eval_cols, x_axis=view.x_axis, log_y=view.log_y,  # type: ignore[arg-type]
                          x_range=view.x_range, max_points=max_points, title=title, uirevision=spec.key)
    else:
        cols = [frame.attrs.get("fields", {}).get(k, k) for k in spec.keys]
        fig = metric_figure(frame, cols, x_axis=view.x_axis, smoothing=view.smoothing if spec.smooth else 0.0,  # type: ignore[arg-type]
                            log_y=view.log_y, x_range=view.x_range, epoch_ends=epoch_ends,
                            resume_iters=resume_iters, checkpoint_iters=checkpoint_iters, max_points=max_points,
                            title=title, uirevision=spec.key)
    if spec.kind == "train":
        _add_early_resumes(fig, frame, view, resume_iters)
        _checkpoints_as_one_trace(fig)
    for trace in fig.data:
        if trace.name is not None:
            trace.name = plotly_text(trace.name)
    ytitle = fig.layout.yaxis.title.text
    if ytitle:
        fig.layout.yaxis.title.text = plotly_text(ytitle)
    if not view.log_y:
        _frame_constant_series(fig)
    fig.update_layout(height=spec.height)
    return fig


def _frame_constant_series(fig: go.Figure) -> None:
    """A series that never changes (a fixed learning rate) gets a y range around its value: plotly's default
    (value +- 1) puts a learning rate of 1e-4 on a line labelled 0."""
    values = [np.asarray(t.y, dtype=np.float64) for t in fig.data if t.y is not None and len(t.y)]
    if not values:
        return
    y = np.concatenate(values)
    y = y[np.isfinite(y)]
    if not y.size or y.max() != y.min():
        return
    c = float(y[0])
    pad = abs(c) * 0.5 if c else 1.0
    fig.update_yaxes(range=[c - pad, c + pad])


def _checkpoints_as_one_trace(fig: go.Figure) -> None:
    """Checkpoint ticks as one marker trace instead of one layout shape each: a long run saves hundreds of
    checkpoints, and hundreds of shapes per chart make the browser slow to draw (a run of a million lines:
    ~400 shapes x 6 charts). The ticks keep their place (bottom of the plot, on a hidden 0..1 axis)."""
    shapes = list(fig.layout.shapes or ())
    ticks = [sh for sh in shapes if sh.name == "checkpoint"]
    if not ticks:
        return
    fig.layout.shapes = [sh for sh in shapes if sh.name != "checkpoint"]
    fig.add_trace(go.Scatter(
        x=[sh.x0 for sh in ticks], y=[0.0] * len(ticks), yaxis="y2", mode="markers", name="checkpoint",
        marker={"symbol": "line-ns-open", "size": 10, "color": "#2ca02c", "line": {"width": 2}},
        hoverinfo="skip", showlegend=False,
    ))
    fig.update_layout(yaxis2={"overlaying": "y", "range": [0, 1], "visible": False, "fixedrange": True})


def _add_early_resumes(fig: go.Figure, frame: pd.DataFrame, view: ChartView, resume_iters: Sequence[int]) -> None:
    """Resume lines ``charts.metric_figure`` leaves out: a run resumed from iteration 400 logs its first record at
    410, outside the data it draws. Drawn at the iteration (iteration axis) or at the first record (other axes),
    in the same style and with the same shape name (``resume``)."""
    if not len(frame) or not resume_iters:
        return
    iters = frame["iter"].to_numpy(dtype=np.float64)
    first = int(np.nanmin(iters))
    xs = frame[TRAIN_X_COLUMN[view.x_axis]].to_numpy(dtype=np.float64)
    for it in resume_iters:
        if it >= first:  # inside the data: metric_figure drew it
            continue
        x = float(it) if view.x_axis == "iter" else float(xs[int(np.nanargmin(iters))])
        if not math.isfinite(x) or (view.x_range is not None and not view.x_range[0] <= x <= view.x_range[1]):
            continue
        shown: object = x
        if view.x_axis == "wall":
            shown = pd.Timestamp(round(x * 1000.0), unit="ms").isoformat()
        fig.add_shape(type="line", name="resume", xref="x", yref="paper", x0=shown, x1=shown, y0=0, y1=1,
                      line={"color": "#ff7f0e", "width": 2, "dash": "dash"})
        fig.add_annotation(x=shown, y=0.92, xref="x", yref="paper", xanchor="left", yanchor="top",
                           text=f"resumed at {it}", showarrow=False, font={"size": 10, "color": "#ff7f0e"},
                           name="resume")


def data_extent(frame: pd.DataFrame, x_axis: str) -> tuple[float, float] | None:
    """The range of the train frame on an x axis (for the x-range inputs' hints)."""
    col = TRAIN_X_COLUMN[x_axis]
    if col not in frame or not len(frame):
        return None
    v = frame[col].to_numpy(dtype=np.float64)
    v = v[np.isfinite(v)]
    return (float(v.min()), float(v.max())) if v.size else None


# ------------------------------------------------------------------------------------------------ x range


_CLOCK = re.compile(r"\s*(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?)?\s*", re.ASCII)


def parse_clock(text: str) -> float | None:
    """Seconds of the log's naive clock from ``YYYY-MM-DD[ HH:MM[:SS]]`` (the wall-time axis), or None."""
    m = _CLOCK.fullmatch(text or "")
    if not m:
        return None
    y, mo, d = int(m.group(1)), int(m.group(2)), int(m.group(3))
    hh, mm, ss = int(m.group(4) or 0), int(m.group(5) or 0), int(m.group(6) or 0)
    try:
        _dt.datetime(y, mo, d, hh, mm, ss)
    except ValueError:
        return None
    return float(calendar.timegm((y, mo, d, hh, mm, ss)))


def fmt_clock_input(seconds: float | None) -> str:
    if not _finite(seconds):
        return ""
    return (iso(seconds) or "").replace("T", " ")


def x_range_from_inputs(lo: float | None, hi: float | None) -> tuple[tuple[float, float] | None, str | None]:
    """The x range two inputs give: both set and increasing, or none (with a hint when half set)."""
    if lo is None and hi is None:
        return None, None
    if lo is None or hi is None:
        return None, "set both ends of the x range to zoom (full detail inside it)"
    if not (math.isfinite(lo) and math.isfinite(hi)) or not lo < hi:
        return None, "the x range needs 'from' below 'to'"
    return (float(lo), float(hi)), None


def check_smoothing(v: float) -> float:
    return min(max(round(float(v), 2), 0.0), MAX_SMOOTHING)


def check_axis(v: str) -> str:
    return v if v in X_AXES else "iter"


# --------------------------------------------------------------------------------------- events, audit


def run_label(run: Run, count: int) -> str:
    """A run in the run chooser: ``run 2 of 3 · resume · iterations 410–600``. Call under the source lock."""
    it = ("no iterations" if run.first_iter is None else f"iterations {run.first_iter}–{run.last_iter}")
    return one_line(f"run {run.index + 1} of {count} · {run.started_by} · {it}", 120)


def _metric_text(metrics: Mapping[str, float], limit: int = 8) -> str:
    items = [f"{k}={fmt_num(v, 4)}" for k, v in list(metrics.items())[:limit]]
    more = len(metrics) - limit
    return ", ".join(items) + (f", … {more} more" if more > 0 else "")


def event_rows(run: Run, limit: int = MAX_EVENT_ROWS) -> list[dict[str, object]]:
    """Checkpoints, validations/tests, warnings, errors, tracebacks, resumes (in log order, the last
    ``limit``), as table rows: line, time (log clock), kind, iteration, text. Call under the source lock."""
    rows: list[dict[str, object]] = []
    for e in run.events:
        if e.kind not in EVENT_KINDS_SHOWN:
            continue
        it = e.data.get("iter")
        rows.append({"line": e.line_no, "time (log clock)": fmt_clock_input(e.timestamp) or None, "kind": e.kind,
                     "iter": int(it) if isinstance(it, (int, float)) and math.isfinite(it) else None,
                     "text": one_line(e.text)})
    for ev in run.evals:
        where = f"epoch {ev.epoch}: " if ev.epoch is not None else ""
        rows.append({"line": ev.line_no, "time (log clock)": fmt_clock_input(ev.timestamp) or None, "kind": ev.mode,
                     "iter": ev.train_iter, "text": one_line(where + _metric_text(ev.metrics))})
    rows.sort(key=lambda r: r["line"] or 0)  # type: ignore[return-value, arg-type]
    return rows[-limit:] if limit and len(rows) > limit else rows


def events_frame(rows: Sequence[dict[str, object]]) -> pd.DataFrame:
    frame = pd.DataFrame(list(rows), columns=["line", "time (log clock)", "kind", "iter", "text"])
    frame["line"] = frame["line"].astype("Int64")
    frame["iter"] = pd.to_numeric(frame["iter"], errors="coerce").astype("Int64")
    return frame


_SETUP_NAMES = (
    ("dataset_size", "dataset size L"), ("world_size", "world size W (processes)"),
    ("batch_size", "batch size B per process"), ("accumulative_counts", "gradient accumulation A"),
    ("epochs", "epochs E"), ("sampler", "sampler"), ("per_device_batch_size", "per_device_batch_size P"),
    ("drop_last", "drop_last"), ("max_iters", "max_iters (config)"),
)


def setup_rows(setup, sources: Mapping[str, str]) -> list[dict[str, str]]:
    """The audit's inputs: what value was used and where it came from (``analysis.setup_for``)."""
    rows = []
    for name, label in _SETUP_NAMES:
        value = getattr(setup, name, None)
        if value is None or (name == "drop_last" and value is False and name not in sources):
            if name in ("per_device_batch_size", "max_iters", "drop_last"):
                continue
        shown = "unknown" if value is None else str(value)
        rows.append({"input": label, "value": shown,
                     "from": one_line(sources.get(name, "not in the log" if value is None else "derived"))})
    return rows


def audit_rows(summary: RunSummary) -> list[dict[str, str]]:
    """The audit's numbers (analysis ``Audit`` / ``Arithmetic``) as rows: quantity, value."""
    a = summary.audit
    ar = a.arithmetic

    def v(x: object) -> str:
        if x is None:
            return "unknown"
        if isinstance(x, bool):
            return "yes" if x else "no"
        return fmt_num(x) if isinstance(x, (int, float)) else one_line(str(x))

    fit_text = ", ".join(f"{f.world_size} ({f.sampler}, {f.iters_per_epoch}/epoch)" for f in a.fits[:8])
    rows = [
        ("N in the log", v(a.logged_max_iters)),
        ("N the setup gives", v(a.expected_max_iters)),
        ("consistent", v(a.consistent)),
        ("per-rank samples per epoch", v(ar and ar.per_rank_samples)),
        ("iterations per epoch", v(ar and ar.iters_per_epoch)),
        ("optimizer updates", v(ar and ar.optimizer_updates)),
        ("samples seen (N x B x W)", v(ar and ar.samples_seen)),
        ("samples repeated by the sampler's round-up", v(ar and ar.samples_repeated)),
        ("world sizes that give the logged N", fit_text or ("none found (1 to 64 processes)"
                                                            if a.expected_max_iters is not None else "unknown")),
    ]
    for key in ("samples_per_second", "updates_per_second"):
        if summary.sources.get(key):
            rows.append((f"{key.replace('_', ' ')} from", one_line(summary.sources[key])))
    return [{"quantity": q, "value": val} for q, val in rows]
