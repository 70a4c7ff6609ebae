"""The run model: everything shown about one run, wherever the run came from, computed without Streamlit.

One model serves every place a run is shown: the Run page for a log under a root (live or finished) and for an
upload, the Markdown report and the downloads. ``build_run_model`` takes a parsed ``Run`` and a ``RunSource``
(which file or upload it is, how to reach it again) and returns a ``RunModel``: the summary, the chart frames,
events, setup and audit rows, the run chooser's choices and the files of an upload. What changes every second
while a run is live (running or stalled, the last update) is not in the model: ``live_status`` and
``header_items`` compute it from the model and the source's ``Liveness`` at each refresh.

Text rules: values that can hold log text (file names, metric names, event text, error text) are returned in
fields the pages draw with ``st.text`` / ``st.code`` / ``st.dataframe`` only. Banner *titles* are built here
from our own words and numbers, so a page may pass them to ``st.error``/``st.warning`` (Markdown). Plotly
renders a subset of HTML in every text of a chart, so ``build_figure`` builds from raw names and passes the
finished figure through ``text.escape_figure`` (the one escaper, ``text.plotly_text``, on every text), once.

Invariant: a model is built from a run under that run's lock (a live run's arrays grow under it) and is then
a private snapshot: nothing in it changes when the run grows (``fingerprint`` says which state it shows).
"""

from __future__ import annotations

import calendar
import contextlib
import datetime as _dt
import math
import re
import threading
import time
import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from dashboard.analysis import RunSummary, setup_for, summarize
from dashboard.analysis.health import STALL_FACTOR, STALL_FLOOR
from dashboard.analysis.summary import iso
from dashboard.analysis.timing import time_stats
from dashboard.charts.figures import (
    EVAL_X_COLUMN,
    TRAIN_X_COLUMN,
    X_AXES,
    Figure,
    add_to_layout,
    add_trace,
    clip_outliers,
    eval_figure,
    group_keys,
    metric_figure,
    run_extent,
    update_layout,
    update_yaxes,
)
from dashboard.charts.series import eval_frame, train_frame
from dashboard.views.calculator import Calculation, Prefill, calculate, merge_inputs, prefill_from
from dashboard.views.formatting import (
    UNKNOWN,
    finite,
    fmt_ago,
    fmt_clock,
    fmt_duration,
    fmt_fraction,
    fmt_memory,
    fmt_num,
    fmt_percent,
    fmt_value,
)
from dashboard.views.gpu_view import GpuInput, GpuSection
from dashboard.views.gpu_view import build_section as build_gpu_section
from dashboard.views.text import escape_figure, one_line
from dashboard.views.url_state import MAX_SMOOTHING, CalculatorInputs
from parsers import Run

#: A source whose file was last written at most this long before the watcher found it counts as live.
RECENT_BEFORE_START = 600.0
LIVE_INTERVAL = 1.0  # seconds between live refreshes of the run page
MAX_EVENT_ROWS = 1000
MAX_TRACEBACKS = 5
MAX_DEFAULT_LOSSES = 5
MAX_DEFAULT_EVALS = 4
CHART_HEIGHT = 360
LOSS_CHART_HEIGHT = 450
#: Points per trace at most (MinMaxLTTB; ``series.downsample_growing`` for a growing run): a chart is ~700-1,100 px
#: wide, and a minimum and a maximum per pixel keep every spike; more points cannot be seen, and cost the browser
#: time before the first line is drawn.
MAX_POINTS = 2000
#: The run chooser's value for "all runs joined into one" (a None value would show as no selection).
JOINED = -1

STATUSES = ("running", "stalled", "crashed", "finished", "stopped")
#: Symbols every common font has (emoji are missing on many Linux desktops and in headless browsers).
STATUS_ICONS = {"running": "▶", "stalled": "◐", "crashed": "✖", "finished": "✔", "stopped": "■", "waiting": "…"}
X_AXIS_LABELS = {"iter": "iteration", "epoch": "epoch", "wall": "wall time (log clock)",
                 "relative": "time since start"}

#: Event kinds shown in the events list (plus validations/tests and file restarts).
EVENT_KINDS_SHOWN = ("checkpoint", "best_checkpoint", "resume", "auto_resume", "load_checkpoint",
                     "advance_dataloader", "epoch_wrap", "warning", "error", "traceback", "launch")


def status_badge(status: str, nonfinite_iter: int | None = None) -> str:
    """``✔ finished``; ``✔ finished · NaN at 350`` when a loss or grad_norm turned non-finite."""
    nan = f" · NaN at {nonfinite_iter}" if nonfinite_iter is not None else ""
    return f"{STATUS_ICONS.get(status, '•')} {status}{nan}"


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


def log_is_live(lv: Liveness | None, summary: RunSummary, is_last_run: bool) -> bool:
    """Whether to call the log live: it is growing (or was written just before the watcher found it), and its
    last run has not finished (a fresh clone's sample logs have new file times, yet their runs are over)."""
    return lv is not None and lv.live and not (is_last_run and summary.status == "finished")


def live_status(status: str, reason: str, *, live: bool, is_last_run: bool, now: float,
                last_update: float | None, median_gap: float | None, stall_factor: float = STALL_FACTOR,
                stall_floor: float = STALL_FLOOR) -> tuple[str, str]:
    """Running or stalled for the last run of a live log, by the rule of ``dashboard.analysis.health``.

    Summaries are computed with ``live=False`` (cacheable): a run that has not finished or crashed is
    "stopped" there. For a live log's last run this becomes "stalled" when nothing new arrived for longer than
    ``max(STALL_FACTOR x the median time between log lines, STALL_FLOOR)``, else "running" (the alerts pass their
    own, larger factor and floor: ``dashboard.alerts``).
    """
    if status != "stopped" or not (live and is_last_run) or last_update is None:
        return status, reason
    threshold = max(stall_factor * (median_gap or 0.0), stall_floor)
    idle = max(0.0, now - last_update)
    if idle > threshold:
        return "stalled", f"no new record for {fmt_duration(idle)} (threshold {fmt_duration(threshold)})"
    return "running", f"last update {fmt_ago(idle)}"


# ----------------------------------------------------------------------------------------------- header


@dataclass(frozen=True)
class HeaderItem:
    label: str
    value: str


def shows_eta(status: str) -> bool:
    """Only a running run has an ETA and a finish time: a stopped, stalled, crashed or finished one has none."""
    return status == "running"


def header_items(summary: RunSummary, status: str) -> list[HeaderItem]:
    """The numbers of the run's header, in reading order (our words and numbers only)."""
    s = summary
    eta = shows_eta(status)
    items = [
        HeaderItem("Status", status_badge(status)),
        HeaderItem("Iterations n/N", fmt_fraction(s.last_iter, s.max_iters)),
        HeaderItem("Epoch", UNKNOWN if s.current_epoch is None else fmt_fraction(s.current_epoch, s.max_epochs)),
        HeaderItem("ETA", fmt_duration(s.eta_seconds) if eta else UNKNOWN),
        HeaderItem("MMEngine's eta", fmt_duration(s.logged_eta_seconds) if eta else UNKNOWN),
        HeaderItem("Elapsed", fmt_duration(s.wall_seconds)),
        HeaderItem("s/iter", fmt_num(s.recent_iter_seconds or s.median_iter_seconds)),
        HeaderItem("samples/s", fmt_num(s.samples_per_second)),
        HeaderItem("Optimizer updates", fmt_fraction(s.updates_done, s.optimizer_updates)),
        HeaderItem("Peak memory", fmt_memory(s.peak_memory_mb)),
    ]
    if s.tokens_per_second is not None:
        items.append(HeaderItem("tokens/s", fmt_num(s.tokens_per_second)))
    if s.first_nonfinite_iter is not None:  # its own tile: the status tile is too narrow for both
        items.insert(1, HeaderItem("First NaN/inf", f"iter {s.first_nonfinite_iter}"))
    return items


#: The widest tile value four tiles a row still show whole (Streamlit cuts a metric value off with an ellipsis).
MAX_TILE_CHARS = 11


def tiles_per_row(items: Sequence[HeaderItem]) -> int:
    """Four tiles a row, or three when a value is long (``1055830/1235000``), so that every value fits."""
    return 4 if all(len(i.value) <= MAX_TILE_CHARS for i in items) else 3


HEADER_HELP = {
    "ETA": "MMDash's estimate: iterations left x the pace (warm-up left out, a recent change of pace expected to "
           "last as long again as it has lasted), plus the validations and checkpoint saves still to come at their "
           "measured length; the finish line below gives a low-high band from the spread of recent pace (see the "
           "ETA method below). Only while the run is running.",
    "MMEngine's eta": "What the log's last line says: MMEngine's cumulative average, blind to slow-downs and "
                      "wrong after a resume.",
    "Elapsed": "Wall time from the first to the last time-stamped line of this run (the log's clock).",
    "s/iter": "Median 'time' of the last records: seconds per iteration (one micro-batch per process).",
    "samples/s": "batch size x world size / seconds per iteration; when the log's N contradicts the setup's world "
                 "size, the world size that gives N (see the audit).",
    "Optimizer updates": "Updates done / total: iterations / gradient accumulation.",
    "Peak memory": "Highest 'memory' logged: torch.cuda.max_memory_allocated() on rank 0, in MB.",
    "First NaN/inf": "The first iteration where a loss or grad_norm is not finite (the banner names the fields).",
}


def finish_text(summary: RunSummary, status: str) -> str:
    """The finish-time line under the header: ours beside MMEngine's while running, else why there is none."""
    if not shows_eta(status):
        left = (summary.max_iters - summary.last_iter) if (summary.max_iters and summary.last_iter is not None) else 0
        when = {"stalled": "when it stalled", "crashed": "at the crash"}.get(status, "when the log ended")
        still = (f"; {left:,} of {summary.max_iters:,} iterations were left {when}"
                 if left > 0 and status != "finished" else "")
        return f"Finish: none ({status}: only a running run has an ETA){still}"
    band = ""
    if summary.projected_finish_low_at and summary.projected_finish_high_at:
        band = (f" (likely between {fmt_clock(summary.projected_finish_low_at)} and "
                f"{fmt_clock(summary.projected_finish_high_at)})")
    return (f"Finish (log clock): {fmt_clock(summary.finish_at)}{band} · "
            f"MMEngine's estimate: {fmt_clock(summary.logged_finish_at)}")


def clock_text(summary: RunSummary) -> str:
    """``Log clock: <start> → <end> · compute <d> · pauses <d>``: where the elapsed time went; for a year-less
    (console) log whose year is a guess, where the guess came from."""
    s = summary
    year = f" · the year is assumed, from the {s.year_source}" if s.year_assumed else ""
    return (f"Log clock: {fmt_clock(s.started_at)} → {fmt_clock(s.ended_at)} · "
            f"compute {fmt_duration(s.compute_seconds)} · pauses {fmt_duration(s.gap_seconds)} "
            f"(validation, checkpoints, restarts){year}")


def progress_text(summary: RunSummary) -> str:
    p = summary.progress
    pct = f" ({fmt_percent(p)})" if finite(p) else ""
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
    if summary.resumed_from_iter is not None:
        out.append(Banner("info", f"Resumed from iteration {summary.resumed_from_iter}."))
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
    title: str  # may hold a metric name: raw (build_figure makes every text of its figure literal)
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
    x_range: tuple[float, float] | None = None  # an open end (+-inf): to the end / from the start of the data
    ignore_outliers: bool = True  # the y scale ignores outliers (``figures.clip_outliers``)
    hidden_traces: tuple[str, ...] = ()  # legend entries (legend groups, else names) the person hid
    label: str = ""  # the run's name, for the chart's subtitle (a saved PNG says what it shows)


def chart_subtitle(view: ChartView) -> str:
    """The run and the settings of a chart, in words (raw: ``build_figure`` escapes it with the rest)."""
    parts = [view.label] if view.label else []
    parts.append(f"x: {X_AXIS_LABELS.get(view.x_axis, view.x_axis)}")
    if view.x_range is not None:
        lo, hi = view.x_range
        show = fmt_clock_input if view.x_axis == "wall" else (lambda v: f"{v:g}")
        parts.append(f"range {'start' if math.isinf(lo) else show(lo)} to "
                     f"{'end' if math.isinf(hi) else show(hi)}")
    parts.append(f"smoothing {view.smoothing:g}")
    if view.log_y:
        parts.append("log y")
    if view.ignore_outliers:
        parts.append("outliers off the scale")
    return " · ".join(parts)


def filter_plan(plan: Sequence[ChartSpec], match: Callable[[str], bool] | None) -> list[ChartSpec]:
    """The charts whose metrics match the metric-name filter ``match`` (each with its matching metrics only);
    every chart when there is no filter."""
    if match is None:
        return list(plan)
    out = []
    for spec in plan:
        keys = tuple(k for k in spec.keys if match(k))
        if keys:
            out.append(spec if keys == spec.keys else
                       ChartSpec(spec.key, spec.title, keys, spec.kind, spec.smooth, spec.height))
    return out


def build_figure(spec: ChartSpec, frame: pd.DataFrame, evals: pd.DataFrame, view: ChartView, *,
                 epoch_ends: Sequence[int] = (), resume_iters: Sequence[int] = (),
                 checkpoint_iters: Sequence[int] = (), max_points: int = MAX_POINTS) -> Figure:
    """One chart of the plan: smoothed at full resolution, cut to the x range, then downsampled (MinMaxLTTB,
    at most ``max_points`` per trace); built from raw names, then every text made literal for plotly, once
    (``text.escape_figure``)."""
    title = spec.title
    if spec.kind == "eval":
        eval_cols = [evals.attrs.get("metrics", {}).get(k, k) for k in spec.keys]
        x_axis = eval_axis(evals, view.x_axis)
        if x_axis != view.x_axis:
            title = f"{title} (by {X_AXIS_LABELS[x_axis]}: the results have no {X_AXIS_LABELS[view.x_axis]})"
    else:
        x_axis = view.x_axis
    # Unzoomed, every chart of the run shows the run's extent on its axis (train and validation rows, markers).
    extent = x_extent(frame, evals, x_axis, epoch_ends=epoch_ends, resume_iters=resume_iters,
                      checkpoint_iters=checkpoint_iters)
    if spec.kind == "eval":
        fig = eval_figure(evals, eval_cols, x_axis=x_axis, log_y=view.log_y,  # type: ignore[arg-type]
                          x_range=view.x_range if x_axis == view.x_axis else None, max_points=max_points,
                          title=title, uirevision=spec.key, extent=extent)
    else:
        cols = [frame.attrs.get("fields", {}).get(k, k) for k in spec.keys]
        fig = metric_figure(frame, cols, x_axis=view.x_axis, smoothing=view.smoothing if spec.smooth else 0.0,  # type: ignore[arg-type]
                            log_y=view.log_y, x_range=view.x_range, epoch_ends=epoch_ends,
                            resume_iters=resume_iters, checkpoint_iters=checkpoint_iters, max_points=max_points,
                            title=title, uirevision=spec.key, extent=extent)
    if spec.kind == "train":
        _add_early_resumes(fig, frame, view, resume_iters)
        _checkpoints_as_one_trace(fig)
    return finish_figure(fig, view)


#: ``x_extent``'s results: (ids of the frames, axis, markers) -> (weak references to the frames, extent).
_EXTENTS: dict[tuple, tuple[weakref.ref, weakref.ref, tuple[float, float] | None]] = {}
_EXTENTS_LOCK = threading.Lock()
_EXTENTS_KEPT = 64


def x_extent(frame: pd.DataFrame, evals: pd.DataFrame, x_axis: str, *, epoch_ends: Sequence[int] = (),
             resume_iters: Sequence[int] = (), checkpoint_iters: Sequence[int] = ()) -> tuple[float, float] | None:
    """The run's extent on ``x_axis``, the x range every chart of the run (train, validation on that axis, GPU)
    shows unzoomed: ``figures.run_extent`` of its train and validation rows and markers, with the resume lines
    drawn before the first record (``_add_early_resumes``: at the resumed iteration on the iteration axis).

    Computed once per model's frames, axis and markers (a model's frames never change: its invariant), not once
    per chart: placing the markers on the wall-clock or epoch axis costs ~3 ms for a run of 390,000 records."""
    key = (id(frame), id(evals), x_axis, tuple(epoch_ends), tuple(resume_iters), tuple(checkpoint_iters))
    with _EXTENTS_LOCK:
        hit = _EXTENTS.get(key)
    if hit is not None and hit[0]() is frame and hit[1]() is evals:
        return hit[2]
    extent = _x_extent(frame, evals, x_axis, epoch_ends, resume_iters, checkpoint_iters)
    with _EXTENTS_LOCK:
        while len(_EXTENTS) >= _EXTENTS_KEPT:
            _EXTENTS.pop(next(iter(_EXTENTS)))
        _EXTENTS[key] = (weakref.ref(frame), weakref.ref(evals), extent)
    return extent


def _x_extent(frame: pd.DataFrame, evals: pd.DataFrame, x_axis: str, epoch_ends: Sequence[int],
              resume_iters: Sequence[int], checkpoint_iters: Sequence[int]) -> tuple[float, float] | None:
    extent = run_extent(frame, evals, x_axis, (*epoch_ends, *resume_iters, *checkpoint_iters))
    if x_axis == "iter" and resume_iters and len(frame):
        iters = frame["iter"].to_numpy(dtype=np.float64)
        if np.isfinite(iters).any():
            early = [float(it) for it in resume_iters if it < np.nanmin(iters)]
            if early:
                extent = (min(early), extent[1]) if extent is not None else (min(early), max(early))
    return extent


def finish_figure(fig: Figure, view: ChartView) -> Figure:
    """What every chart of the Run page gets from the chart settings (``build_figure``'s and the GPU charts'): the
    y scale (a constant series framed, outliers off the scale), the subtitle, drag-zoom on x only, every text made
    literal for plotly (once), the legend entries the person hid."""
    if not view.log_y:
        _frame_constant_series(fig)
    if view.ignore_outliers:
        clip_outliers(fig, view.log_y)
    if fig["layout"].get("title", {}).get("text"):
        # The subtitle (run and settings: a saved PNG says what it shows) on its own line between the title and
        # the legend, which sits just above the plot.
        update_layout(fig, title={"subtitle": {"text": chart_subtitle(view), "font": {"size": 11, "color": "#777"}},
                                  "yref": "container", "y": 1, "yanchor": "top", "pad": {"t": 10}},
                      margin={"t": 96})
    # Drag-zoom acts on the x axis only (every chart of the run follows it: ``dashboard.ui.chart_sync``); the y
    # scale fits the window's data.
    update_yaxes(fig, fixedrange=True)
    fig = escape_figure(fig)
    if view.hidden_traces:
        hidden = set(view.hidden_traces)
        for trace in fig["data"]:
            if (trace.get("legendgroup") or trace.get("name")) in hidden:
                trace["visible"] = "legendonly"
    return fig


def eval_axis(evals: pd.DataFrame, x_axis: str) -> str:
    """The x axis a validation chart can use: the chosen one when the results have values on it, else the
    train iteration they followed, else their epoch (a log with validation lines only has no iterations)."""
    for axis in (x_axis, "iter", "epoch"):
        col = EVAL_X_COLUMN[axis]
        if col in evals and evals[col].notna().any():
            return axis
    return x_axis


def _frame_constant_series(fig: Figure) -> None:
    """A series that never changes (a fixed learning rate) gets a y range around its value: plotly's default
    (value +- 1) puts a learning rate of 1e-4 on a line labelled 0."""
    values = [np.asarray(t["y"], dtype=np.float64) for t in fig["data"]
              if t.get("yaxis") in (None, "y") and t.get("y") is not None and len(t["y"])]
    if not values:
        return
    y = np.concatenate(values)
    y = y[np.isfinite(y)]
    if not y.size or y.max() != y.min():
        return
    c = float(y[0])
    pad = abs(c) * 0.5 if c else 1.0
    update_layout(fig, yaxis={"range": [c - pad, c + pad]})  # the main axis (the checkpoint ticks have their own)


def _checkpoints_as_one_trace(fig: Figure) -> None:
    """Checkpoint ticks as one marker trace instead of one layout shape each: a long run saves hundreds of
    checkpoints, and hundreds of shapes per chart make the browser slow to draw (a run of a million lines:
    ~400 shapes x 6 charts). The ticks keep their place (bottom of the plot, on a hidden 0..1 axis)."""
    shapes = list(fig["layout"].get("shapes") or ())
    ticks = [sh for sh in shapes if sh.get("name") == "checkpoint"]
    if not ticks:
        return
    rest = [sh for sh in shapes if sh.get("name") != "checkpoint"]
    if rest:
        fig["layout"]["shapes"] = rest
    else:
        fig["layout"].pop("shapes", None)
    add_trace(fig, x=[sh["x0"] for sh in ticks], y=[0.0] * len(ticks), yaxis="y2", mode="markers", name="checkpoint",
              marker={"symbol": "line-ns-open", "size": 10, "color": "#2ca02c", "line": {"width": 2}},
              hoverinfo="skip", showlegend=False)
    update_layout(fig, yaxis2={"overlaying": "y", "range": [0, 1], "visible": False, "fixedrange": True})


def _add_early_resumes(fig: Figure, frame: pd.DataFrame, view: ChartView, resume_iters: Sequence[int]) -> None:
    """Resume lines ``charts.metric_figure`` leaves out: a run resumed from iteration 400 logs its first record at
    410, outside the data it draws. Drawn at the iteration (iteration axis) or at the first record (other axes),
    in the same style and with the same shape name (``resume``)."""
    if not len(frame) or not resume_iters:
        return
    iters = frame["iter"].to_numpy(dtype=np.float64)
    first = int(np.nanmin(iters))
    xs = frame[TRAIN_X_COLUMN[view.x_axis]].to_numpy(dtype=np.float64)
    drawn = {sh.get("x0") for sh in fig["layout"].get("shapes") or () if sh.get("name") == "resume"}
    for it in resume_iters:
        if it >= first:  # inside the data: metric_figure drew it
            continue
        x = float(it) if view.x_axis == "iter" else float(xs[int(np.nanargmin(iters))])
        if not math.isfinite(x) or (view.x_range is not None and not view.x_range[0] <= x <= view.x_range[1]):
            continue
        if x in drawn:  # inside the run's extent (``x_extent``): metric_figure drew it
            continue
        shown: object = x
        if view.x_axis == "wall":
            shown = pd.Timestamp(round(x * 1000.0), unit="ms").isoformat()
        add_to_layout(fig, "shapes", {"type": "line", "name": "resume", "xref": "x", "yref": "paper", "x0": shown,
                                      "x1": shown, "y0": 0, "y1": 1,
                                      "line": {"color": "#ff7f0e", "width": 2, "dash": "dash"}})
        add_to_layout(fig, "annotations", {"x": shown, "y": 0.92, "xref": "x", "yref": "paper", "xanchor": "left",
                                           "yanchor": "top", "text": f"resumed at {it}", "showarrow": False,
                                           "font": {"size": 10, "color": "#ff7f0e"}, "name": "resume"})


def data_extent(frame: pd.DataFrame, x_axis: str) -> tuple[float, float] | None:
    """The range of the train frame on an x axis (for the x-range inputs' hints): ``figures.run_extent`` of the
    train rows alone."""
    return run_extent(frame, None, x_axis)


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
    if not finite(seconds):
        return ""
    return (iso(seconds) or "").replace("T", " ")


def x_range_from_inputs(lo: float | None, hi: float | None) -> tuple[tuple[float, float] | None, str | None]:
    """The x range two inputs give: an empty end is open (``-inf``: from the start; ``inf``: to the end of the
    data, following the run as it grows); none when both are empty; a hint when the ends are not increasing."""
    if lo is None and hi is None:
        return None, None
    a = -math.inf if lo is None else float(lo)
    b = math.inf if hi is None else float(hi)
    if math.isnan(a) or math.isnan(b) or not a < b:
        return None, "the x range needs 'from' below 'to'"
    return (a, b), None


ZOOM_EDGE_SLACK = 0.01


def zoom_range(payload: Mapping, extent: tuple[float, float] | None) -> tuple[float | None, float | None] | None:
    """The x range a zoom trigger asks for, in the axis' numbers (seconds of the log clock on a date axis), rounded
    to a ten-thousandth of its span; an end at, beyond or within ``ZOOM_EDGE_SLACK`` of the window from the data's
    ``extent`` is open (None: the chart follows the data there). None: the payload is not a range; a reset gives
    both ends None."""
    if payload.get("reset"):
        return None, None
    try:
        kind = payload.get("type")
        lo, hi = _axis_number(payload.get("lo"), kind), _axis_number(payload.get("hi"), kind)
    except (TypeError, ValueError):
        return None
    if lo is None or hi is None or not lo < hi:
        return None
    digits = max(0, -math.floor(math.log10((hi - lo) / 1e4)))
    lo, hi = round(lo, digits), round(hi, digits)
    if extent is not None:  # an end within 1% of the window from the data's end is that end (a drag to the edge)
        slack = (hi - lo) * ZOOM_EDGE_SLACK
        if hi >= extent[1] - slack:
            hi = None
        if lo <= extent[0] + slack:
            lo = None
    return lo, hi


def _axis_number(v: object, axis_type: object) -> float | None:
    if v is None:
        return None
    if axis_type == "date":
        ts = pd.Timestamp(str(v))
        if ts.tzinfo is not None:
            ts = ts.tz_convert(None)
        return ts.value / 1e9
    f = float(v)  # type: ignore[arg-type]
    return f if math.isfinite(f) else None


def check_smoothing(v: float) -> float:
    return min(max(round(float(v), 2), 0.0), MAX_SMOOTHING)


def check_axis(v: str) -> str:
    return v if v in X_AXES else "iter"


# --------------------------------------------------------------------------------------- events, audit


def run_label(run: Run, position: int, count: int, file_name: str | None = None) -> str:
    """A run in the run chooser: ``run 2 of 3 · resume · iterations 410–600 of 3672`` (with its file and lines
    when the runs come from several files). Call under the source lock."""
    it = "no iterations" if run.first_iter is None else f"iterations {run.first_iter}–{run.last_iter}"
    n = f" of {run.max_iters}" if run.max_iters else ""
    where = f" · {file_name}, lines {run.start_line}–{run.end_line}" if file_name else ""
    return one_line(f"run {position + 1} of {count} · {run.started_by} · {it}{n}{where}", 200)


def _metric_text(metrics: Mapping[str, float], limit: int = 8) -> str:
    items = [f"{k}={fmt_num(v, 4)}" for k, v in list(metrics.items())[:limit]]
    more = len(metrics) - limit
    return ", ".join(items) + (f", … {more} more" if more > 0 else "")


def event_rows(run: Run) -> list[dict[str, object]]:
    """Checkpoints, validations/tests, warnings, errors, tracebacks, resumes, in log order, as table rows:
    line, time (log clock), kind, iteration, text. Call under the source lock."""
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
    return rows


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
        shown = fmt_value(value)
        rows.append({"input": label, "value": shown,
                     "from": one_line(sources.get(name, "not in the log" if value is None else "derived"))})
    return rows


def audit_rows(summary: RunSummary) -> list[dict[str, str]]:
    """The audit's numbers (analysis ``Audit`` / ``Arithmetic``) as rows: quantity, value."""
    a = summary.audit
    ar = a.arithmetic

    def v(x: object) -> str:
        return one_line(fmt_value(x))

    fit_text = ", ".join(f"{f.world_size} ({f.sampler}, {f.iters_per_epoch}/epoch)" for f in a.fits[:8])
    if a.iteration_based:
        fit_text = "any: an iteration-based loop sets N directly (max_iters)"
    elif not fit_text:
        fit_text = "none found (1 to 64 processes)" if a.expected_max_iters is not None else UNKNOWN
    ipe = ar.iters_per_epoch if ar and ar.iters_per_epoch else None
    updates = ar.optimizer_updates if ar and ar.optimizer_updates else None
    if ipe is None and a.logged_iters_per_epoch:
        ipe = a.logged_iters_per_epoch
    if updates is None and a.logged_max_iters and summary.optimizer_updates:
        updates = summary.optimizer_updates
    rows = [
        ("N in the log", v(a.logged_max_iters)),
        ("N the setup gives", v(a.expected_max_iters)),
        ("consistent", v(a.consistent)),
        ("per-rank samples per epoch", v(ar and ar.per_rank_samples)),
        ("iterations per epoch", v(ipe) + (" (from the log)" if ipe and ipe == a.logged_iters_per_epoch else "")),
        ("optimizer updates", v(updates)),
        ("samples seen (N x B x W)", v(ar and ar.samples_seen)),
        ("samples repeated by the sampler's round-up", v(ar and ar.samples_repeated)),
        ("world sizes that give the logged N", fit_text),
    ]
    if a.data_epochs is not None:
        rows.append(("epochs of the data N covers", f"{a.data_epochs:.3g}"))
    for r in a.dataset_sizes:
        rows.append((f"dataset sizes for {r.world_size} process{'es' if r.world_size > 1 else ''}",
                     f"{r.lo:,}–{r.hi:,}"))
    for key in ("samples_per_second", "updates_per_second"):
        if summary.sources.get(key):
            rows.append((f"{key.replace('_', ' ')} from", one_line(summary.sources[key])))
    return [{"quantity": q, "value": val} for q, val in rows]



def validation_rows(summary: RunSummary) -> list[dict[str, object]]:
    """Each validation/test metric's final value and its best (with the epoch or iteration of the best)."""
    return [{"metric": one_line(k), "final": v, "best": summary.best_metrics.get(k, {}).get("value"),
             "best at (epoch or iter)": summary.best_metrics.get(k, {}).get("step")}
            for k, v in summary.final_metrics.items()]


# ------------------------------------------------------------------------------------------------- the model


@dataclass(frozen=True)
class RunSource:
    """Where a run comes from: a log under a log root (``root``, live or not), an upload, or a file named on the
    command line (``file``). ``id`` is what the URL holds (source id, upload id); ``title`` what a person reads
    and download files are named after."""

    kind: str
    id: str
    title: str
    format: str = ""

    def query(self, index: int | None) -> dict[str, str]:
        """The Run page's URL parameters that open this run again (``r`` only for a chosen run)."""
        key = "upload" if self.kind == "upload" else "run"
        return {key: self.id, **({} if index is None else {"r": str(index)})}


@dataclass(frozen=True)
class FileRow:
    """A file of an upload: its name (log text), size, kind and whether it is reviewed (with why)."""

    name: str
    size: int
    kind: str
    note: str


@dataclass(frozen=True)
class Reading:
    """A log the server is still reading for the first time (or again, after a restart): ``done`` of ``total``
    bytes. Every number of a model built meanwhile is of the part read so far."""

    done: int
    total: int

    @property
    def fraction(self) -> float:
        return min(1.0, max(0.0, self.done / self.total)) if self.total > 0 else 0.0

    def text(self) -> str:
        return (f"Reading the log: {fmt_percent(self.fraction, 0)} ({self.done / 1e6:,.1f} of "
                f"{self.total / 1e6:,.1f} MB). Until it is read, the numbers are those of the part read so far.")


def charts_wait_text(reading: Reading, last_iter: int | None) -> str:
    """Why a model of a log still being read has no charts: a chart of part of a run looks like the whole run."""
    upto = f", up to iteration {last_iter:,}" if last_iter is not None else ""
    return (f"The charts are drawn once the whole log is read ({fmt_percent(reading.fraction, 0)} so far{upto}): "
            "a chart of part of the run would look like the whole run.")


@dataclass
class RunModel:
    """Everything shown about one run at one state of its log (see the module docstring)."""

    source: RunSource
    run_index: int | None  # the run shown: its index among ``choices``; None = all runs joined into one
    choices: list[tuple[int | None, str]]  # (index, label) of every run a person can pick; None = joined
    fingerprint: tuple  # the state of the log this model shows (caches key on it)
    built_at: float  # time.monotonic()
    build_seconds: float
    summary: RunSummary
    frame: pd.DataFrame
    evals: pd.DataFrame
    metrics: MetricChoices
    events: list[dict]  # the last MAX_EVENT_ROWS
    event_total: int
    tracebacks: list[tuple[int | None, str]]  # the first MAX_TRACEBACKS: (line, text)
    unparsed_count: int
    unparsed_examples: list[tuple[int, str]]
    setup_rows: list[dict]
    audit_rows: list[dict]
    validation_rows: list[dict]
    resume_iters: list[int]
    checkpoint_iters: list[int]
    median_record_gap: float | None
    is_last_run: bool  # the last run of its file: the one that can still be running
    run: Run  # for the downloads: read it under ``lock``
    lock: contextlib.AbstractContextManager = field(default_factory=contextlib.nullcontext)
    files: list[FileRow] = field(default_factory=list)
    files_note: str | None = None
    prefill: Prefill | None = None  # the setup the log states, as the Calculator's inputs (with their sources)
    reading: Reading | None = None  # the log is still being read: the model is of its first part
    gpu: GpuSection | None = None  # the GPU log matched to this run (``views.gpu_view``), if one was found

    @property
    def run_count(self) -> int:
        return sum(1 for i, _ in self.choices if i is not None) or 1

    @property
    def title(self) -> str:
        return self.source.title

    def query(self) -> dict[str, str]:
        return self.source.query(self.run_index if len(self.choices) > 1 else None)


@dataclass(frozen=True)
class FileRestart:
    """A followed file that was truncated or replaced and read again from the start (an event of the run)."""

    reason: str
    detail: str
    at: float  # time.time() of the server


def _marker_iters(run: Run, *kinds: str) -> list[int]:
    return sorted({int(e.data["iter"]) for e in run.events if e.kind in kinds
                   and isinstance(e.data.get("iter"), (int, float)) and math.isfinite(e.data["iter"])})


def build_run_model(run: Run, source: RunSource, *, run_index: int | None,
                    choices: Sequence[tuple[int | None, str]], fingerprint: tuple = (), is_last_run: bool = True,
                    restarts: Sequence[FileRestart] = (), files: Sequence[FileRow] = (),
                    files_note: str | None = None, lock: contextlib.AbstractContextManager | None = None,
                    summarize_fn: Callable[[Run], RunSummary] | None = None,
                    known: tuple[RunSummary, float | None] | None = None,
                    reading: Reading | None = None, gpu: GpuInput | None = None) -> RunModel:
    """The model of ``run``. Call it under the run's lock when the run can grow (and pass that lock for the
    downloads); the model does not change afterwards. ``known``: the run's summary and median wall seconds between
    its records as they are now, when the caller has them (the server's summaries: not computed again).

    Resume marks come from MMEngine's ``resumed ... iter`` lines, else from where a joined run continues after a
    restart; checkpoint ticks from ``Saving checkpoint`` lines.
    """
    t0 = time.perf_counter()
    timing = None
    if known is not None:
        summary, gap = known
    elif summarize_fn is not None:
        summary = summarize_fn(run)
        gap = time_stats(run).median_record_gap_seconds
    else:
        timing = time_stats(run)
        summary = summarize(run, path=source.title, live=False, timing=timing)
        gap = timing.median_record_gap_seconds
    frame = train_frame(run, summary.iters_per_epoch)  # the epoch axis of Iter(train) logs too
    evals = eval_frame(run)
    events = event_rows(run)
    for r in restarts:
        events.append({"line": None, "time (log clock)": None, "kind": "file restart", "iter": None,
                       "text": one_line(f"{r.reason}: {r.detail} (read again from the start at "
                                        f"{time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(r.at))}, server clock)")})
    setup, sources = setup_for(run)
    tracebacks = [(e.line_no or None, e.text) for e in run.events_of("traceback")[:MAX_TRACEBACKS]]
    prefill = prefill_from(run, summary)
    section = (build_gpu_section(gpu.table, gpu.file, run, summary, file_notes=list(gpu.notes),
                                 fingerprint=gpu.fingerprint) if gpu is not None else None)
    return RunModel(
        source=source, run_index=run_index, choices=list(choices), fingerprint=fingerprint,
        built_at=time.monotonic(), build_seconds=time.perf_counter() - t0, summary=summary, frame=frame,
        evals=evals, metrics=metric_choices(list(frame.attrs.get("fields", {})), list(evals.attrs.get("metrics", {}))),
        events=events[-MAX_EVENT_ROWS:], event_total=len(events), tracebacks=tracebacks,
        unparsed_count=run.unparsed.count, unparsed_examples=list(run.unparsed.examples),
        setup_rows=setup_rows(setup, {**run.header.sources, **sources}), audit_rows=audit_rows(summary),
        validation_rows=validation_rows(summary),
        resume_iters=_marker_iters(run, "resume") or _marker_iters(run, "restart"),
        checkpoint_iters=_marker_iters(run, "checkpoint"),
        median_record_gap=gap, is_last_run=is_last_run, run=run,
        lock=lock or contextlib.nullcontext(), files=list(files), files_note=files_note, prefill=prefill,
        reading=reading,
        gpu=section,
    )


def events_caption(model: RunModel) -> str:
    shown = len(model.events)
    if model.event_total > shown:
        return (f"{model.event_total:,} events (checkpoints, validations, warnings, errors, resumes): "
                f"the last {shown:,} are listed")
    return f"{model.event_total:,} events (checkpoints, validations, warnings, errors, resumes)"


# ----------------------------------------------------------------------------------- the setup you believe


BELIEVED_KEYS = ("dataset_size", "gpus", "batch_size", "accumulative_counts", "epochs", "sampler")


def believed_start(model: RunModel, url_inputs: CalculatorInputs, given: set[str]) -> CalculatorInputs:
    """The inputs the Run page's setup check starts from: the URL's where it sets them, else the log's."""
    return merge_inputs(url_inputs, model.prefill.inputs if model.prefill else None, given)


def believed_params(model: RunModel, believed: CalculatorInputs) -> dict[str, str]:
    """URL parameters of the setup check: only the inputs that differ from what the log states."""
    logged = model.prefill.inputs if model.prefill else CalculatorInputs()
    out = {}
    for key in BELIEVED_KEYS:
        value = getattr(believed, key)
        if value is not None and value != getattr(logged, key):
            out[key] = str(value)
    return out


def check_believed(model: RunModel, believed: CalculatorInputs) -> Calculation:
    """The audit of the log's N against the setup a person believes they ran. Reads the run under its lock."""
    p = model.prefill
    with model.lock:
        return calculate(believed, model.run, model.summary.max_iters, p.sources if p else None,
                         model.summary.iters_per_epoch)
