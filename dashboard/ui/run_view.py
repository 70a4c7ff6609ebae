"""The one view of a run: draws a ``views.run_model.RunModel`` for a log under a root (live or finished) and for
an upload alike. The Run page opens the run (``OpenedRun``) and calls ``show_run``; nothing else draws a run.

What it draws: the run chooser and chart controls (sidebar), the header (progress, tiles, finish time, status,
ETA method), banners, the files of an upload, links to the Calculator and Compare, the charts (with epoch lines,
resume marks, checkpoint ticks), validation results, the iteration audit, events, tracebacks, lines not
understood, downloads. For a log under a root (it can grow), the header and banners are one ``st.fragment`` that
reruns every ``LIVE_INTERVAL`` seconds and the charts another that reruns every ``CHARTS_INTERVAL`` seconds; each
asks for the model again (rebuilt only when the run grew) and for each chart (built once per model state and
settings, shared by every session). Neither calls ``st.rerun()``: a full run is the moment a browser can lose its
fragment timers (see ``dashboard.ui.live``), so a run that grows new metrics gets them on its charts at once
(``_followed``) and in the sidebar at the next full run. The charts' timer starts once the browser drew every chart
of a session's first view of a log (the timed fragment sits in an untimed one that a trigger reruns then): a tick
sent while the full run was still sending charts listed the messages the browser held then, and the run it queued
sent every later chart again, whole (issue 12). The header fragment draws a heartbeat and the page mounts
the ``live.watchdog``, which notices a page whose timer was lost and restarts it. The details below the charts
(``draw_details``) are a third fragment, without a timer: in a session's first view of a log it draws only a trigger
that the browser fires once the first chart is drawn, and its rerun draws them (Streamlit's frontend rendered them
before it mounted the first chart when they came with the charts: issue 12); it writes the setup check's URL
parameters itself, as a change there reruns only it. A rerun of the charts or the details that finds the page's
settings changed (a setting changed as a trigger fired: Streamlit's frontend sent it in the trigger's fragment rerun)
runs the whole page (``changed_elsewhere``), so the sidebar, the charts and the URL follow it.

Text rules: log text (file names, metric names, event and error text) goes to ``st.text`` / ``st.code`` /
``st.dataframe`` only; banner titles are our words and numbers (``run_model.banners``).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import pandas as pd
import streamlit as st

from dashboard.analysis.audit import SAMPLERS
from dashboard.reports import exports
from dashboard.ui import chart_sync, common
from dashboard.ui import live as live_page
from dashboard.ui.live_chart import live_chart, preload_plotly
from dashboard.views import chart_stream, gpu_view
from dashboard.views import run_model as rm
from dashboard.views.calculator import verdict
from dashboard.views.formatting import fmt_ago
from dashboard.views.runs_table import compile_filter
from dashboard.views.text import one_line, plain
from dashboard.views.url_state import (
    MAX_FILTER_CHARS,
    MAX_SMOOTHING,
    X_AXES,
    CalculatorInputs,
    RunPageQuery,
    ViewState,
    run_page_query,
)

#: Seconds between reruns of the charts of a log that can grow (the header follows it every ``LIVE_INTERVAL``
#: seconds). A rerun sends each chart only what this session has not sent yet (``live_chart``): a few bytes when
#: nothing is new, the appended points when the run grew. (When every redraw sent every chart again, ~1 MB for six
#: charts, 10 s was the fastest five sessions kept up with: bench_soak.)
CHARTS_INTERVAL = 0.5
#: A live page whose heartbeat did not change for this long has lost its timer (``live.watchdog``).
STALE_AFTER = 10.0

#: Chart settings per page session (smoothing, x axis and range, log y, live, metrics): keys of session_state.
_K = "run_"


@dataclass
class OpenedRun:
    """A run the Run page found: how to get its model (for a run index; None = the default view), how live it
    is (None: a stored upload, never live), what ``r`` means when absent, and a line about the source."""

    model: Callable[[int | None], rm.RunModel | None]
    liveness: Callable[[], rm.Liveness] | None
    about: Callable[[], str]
    chart_cache: Callable[..., object]  # (key, build, family) -> chart: AppState.figure
    extra_query: dict[str, str] = field(default_factory=dict)  # URL keys of how it was opened (``combine=1``)
    compare_ref: str | None = None  # the Compare page's reference to it when not its model's source (a joined run)


def _seed_widgets(query: RunPageQuery, model: rm.RunModel, notices: list[str]) -> None:
    train_sel, eval_sel, metric_notes = rm.select_metrics(query.view.metrics, model.metrics)
    notices += metric_notes
    requested = query.view.run_index
    if requested is not None and requested != model.run_index:
        shown = "all runs joined into one" if model.run_index is None else f"run {model.run_index + 1}"
        where = "upload" if model.source.kind == "upload" else "file"
        notices.append(f"run r={requested} does not exist in this {where} ({model.run_count} runs): showing {shown}")
    common.show_notices(notices)
    lo, hi = ((None if math.isinf(v) else v for v in query.view.x_range) if query.view.x_range is not None
              else (None, None))
    st.session_state.update({
        _K + "r": model.run_index if model.run_index is not None else rm.JOINED,
        _K + "metrics": train_sel, _K + "evals": eval_sel, _K + "smoothing": query.view.smoothing,
        _K + "x_axis": query.view.x_axis, _K + "log_y": query.view.log_y, _K + "live": query.view.live,
        _K + "log_charts": list(query.view.log_charts), _K + "hidden_charts": list(query.view.hidden_charts),
        _K + "metric_filter": query.view.metric_filter, _K + "ignore_outliers": query.view.ignore_outliers,
        _HIDDEN_TRACES: {},
    })
    start = rm.believed_start(model, query.view.calc, query.calc_given)
    st.session_state.update({f"{_K}calc_{k}": getattr(start, k) for k in rm.BELIEVED_KEYS})
    if query.view.x_axis == "wall":
        st.session_state.update({_K + "x_from_t": rm.fmt_clock_input(lo), _K + "x_to_t": rm.fmt_clock_input(hi),
                                 _K + "x_from": None, _K + "x_to": None})
    else:
        st.session_state.update({_K + "x_from": lo, _K + "x_to": hi, _K + "x_from_t": "", _K + "x_to_t": ""})


def _followed(current: list[str], options: list[str], old_default: list[str], default: list[str]) -> list[str]:
    """A selection after the metrics changed: the default follows the new default; a chosen one keeps what still
    exists (the new default when nothing does)."""
    kept = [m for m in current if m in options]
    return list(default) if (not kept or list(current) == list(old_default)) else kept


def _follow_new_metrics(choices: rm.MetricChoices) -> None:
    """The metrics a run logs can change (another run, keys that appear later): a selection that was the default
    follows the new default; a chosen one keeps what still exists."""
    before = st.session_state.get("_run_choices")
    if before is not None and before != choices:
        for key, options, old_default, default in (
            (_K + "metrics", choices.train_options, before.train_default, choices.train_default),
            (_K + "evals", choices.eval_options, before.eval_default, choices.eval_default),
        ):
            st.session_state[key] = _followed(st.session_state.get(key) or [], options, old_default, default)
    st.session_state["_run_choices"] = choices


def _clear_range() -> None:  # a range in the old axis' units means nothing on the new one
    st.session_state.update({_K + "x_from": None, _K + "x_to": None, _K + "x_from_t": "", _K + "x_to_t": ""})


#: Session keys: a widget asked for this rerun; the URLs the page wrote last (``show_run``'s "fresh").
_TOUCHED = "_run_touched"
_WRITTEN = "_run_urls_written"


def _touch() -> None:
    st.session_state[_TOUCHED] = True


#: Session keys: per chart, the legend groups hidden (``chart_sync``); the charts' x axes and the data's extent as
#: last drawn (a zoom is read in them).
_HIDDEN_TRACES = "_run_hidden_traces"
_DRAWN = "_run_drawn"

#: The page's settings that widgets outside every fragment hold (session keys): the sidebar's, and what the charts'
#: zoom and legend set (``chart_sync``). A full run draws everything with them.
_PAGE_KEYS = (*(_K + k for k in ("r", "metrics", "evals", "smoothing", "x_axis", "x_from", "x_to", "x_from_t",
                                  "x_to_t", "log_y", "log_charts", "hidden_charts", "metric_filter",
                                  "ignore_outliers", "live")), _HIDDEN_TRACES)
#: The setup check's inputs (widgets of the details fragment), and the values it was last drawn with.
_SETUP_KEYS = tuple(f"{_K}calc_{k}" for k in rm.BELIEVED_KEYS)
_SETUP_DRAWN = "_run_setup_drawn"


def _held(keys: tuple[str, ...]) -> dict:
    return {k: st.session_state[k] for k in keys if k in st.session_state}


def _page_settings() -> dict:
    """The page's settings as this session holds them now (``_PAGE_KEYS``, and a watchdog recovery, which asks
    for a full run too)."""
    return _held(_PAGE_KEYS) | {"recovered": live_page.recovery_note()}


def _setup_settings() -> dict:
    return _held(_SETUP_KEYS)


def _differ(then: dict, now: dict) -> bool:
    """A value held then and now that changed. A key gone is no change: Streamlit drops the state of a widget
    that a full run did not draw (the wall clock's range inputs on another axis) once that run ends."""
    return any(k in then and then[k] != v for k, v in now.items())


def changed_elsewhere(drawn_with: dict, in_details: bool = False) -> bool:
    """Whether this rerun of a fragment brought a change that it does not draw: a setting of the page that is not
    the one the full run drew with (``drawn_with``: ``_page_settings()`` then), or, outside the details fragment, a
    setup check input that the details were not drawn with.

    Streamlit's frontend (1.67) sends the widget changes made before its next 0 ms timeout in one rerun request,
    and that request reruns only the fragment of the first change that has one (``WidgetStateManager.scheduleFlush``
    keeps the first fragment id of the batch; a change outside every fragment has none, so it cannot make the
    request a full run). A smoothing step taken as a trigger of the page fired (the details' after the first chart,
    the charts' once every chart is drawn: in the same task, or on a busy browser an overdue check run right after
    the key press) went to the server in the trigger's fragment rerun: the session held the new value, but no full
    run drew the sidebar, the charts and the URL with it until a later one (issue 12)."""
    if _differ(drawn_with, _page_settings()):
        return True
    return not in_details and _differ(st.session_state.get(_SETUP_DRAWN) or {}, _setup_settings())


def _on_zoom(payload: dict) -> None:
    """A drag-zoom, pan or double-click on a chart (``chart_sync``): the x-range inputs take the range, so every
    chart, the URL and the inputs show it."""
    drawn = st.session_state.get(_DRAWN) or {}
    x_axis = st.session_state.get(_K + "x_axis", "iter")
    axes = drawn.get("axes", {})
    if axes.get(chart_sync.chart_of(payload.get("chart"), axes)) != x_axis:
        return  # a chart on another axis (validation results that have no values on this one)
    got = rm.zoom_range(payload, drawn.get("extent"))
    if got is None:
        return
    lo, hi = got
    if x_axis == "wall":
        st.session_state.update({_K + "x_from_t": rm.fmt_clock_input(lo), _K + "x_to_t": rm.fmt_clock_input(hi)})
    else:
        st.session_state.update({_K + "x_from": lo, _K + "x_to": hi})


def _on_legend(payload: dict) -> None:
    hidden = payload.get("hidden")
    chart = chart_sync.chart_of(payload.get("chart"), (st.session_state.get(_DRAWN) or {}).get("axes", {}))
    if chart is not None and isinstance(hidden, list):
        kept = dict(st.session_state.get(_HIDDEN_TRACES) or {})
        kept[chart] = tuple(str(h) for h in hidden[:100])
        st.session_state[_HIDDEN_TRACES] = kept


def _x_range_inputs(sb, x_axis: str) -> tuple[tuple[float, float] | None, bool]:
    sb.caption("x range (drag on a chart to zoom every chart, double-click to reset; zoomed at full detail; an "
               "empty end: from the start / to the end, following the run as it grows)")
    c_from, c_to = sb.columns(2)
    if x_axis == "wall":
        t_from = c_from.text_input("from", key=_K + "x_from_t", placeholder="the start")
        t_to = c_to.text_input("to", key=_K + "x_to_t", placeholder="the end")
        lo = rm.parse_clock(t_from) if t_from.strip() else None
        hi = rm.parse_clock(t_to) if t_to.strip() else None
        bad_clock = bool((t_from.strip() and lo is None) or (t_to.strip() and hi is None))
    else:
        lo = c_from.number_input("from", value=None, key=_K + "x_from", format="%g", placeholder="the start")
        hi = c_to.number_input("to", value=None, key=_K + "x_to", format="%g", placeholder="the end")
        bad_clock = False
    x_range, hint = rm.x_range_from_inputs(lo, hi)
    if bad_clock:
        hint = "write times as YYYY-MM-DD HH:MM:SS (the log's clock)"
    if hint:
        sb.text(hint)
    sb.button("Reset x range", on_click=_clear_range, disabled=lo is None and hi is None)
    return x_range, lo is None and hi is None


def _chart_tools(sb, plan: list[rm.ChartSpec], more: dict[str, str] | None = None
                 ) -> tuple[list[str], list[str], str, object, bool]:
    """Log scale per chart, charts hidden, the metric-name filter (RE2, as the Runs page's name filter) and
    "ignore outliers"; ``more``: other charts of the page (key -> title: the GPU charts). Returns (log charts,
    hidden charts, filter text, compiled filter or None, ignore outliers)."""
    titles = {spec.key: spec.title for spec in plan} | (more or {})
    for key in (_K + "log_charts", _K + "hidden_charts"):  # charts from the URL that this run has not (yet)
        titles.update({k: k for k in st.session_state.get(key) or [] if k not in titles})
    options = list(titles)
    log_charts = sb.multiselect("Log scale (y) for", options, key=_K + "log_charts", format_func=titles.get,
                                placeholder="no chart (linear)")
    hidden = sb.multiselect("Hide charts", options, key=_K + "hidden_charts", format_func=titles.get,
                            placeholder="none")
    text = sb.text_input("Filter metrics (regular expression)", key=_K + "metric_filter", max_chars=MAX_FILTER_CHARS,
                         placeholder="e.g. loss|acc", help="Charts show only the metrics whose names match (RE2).")
    matcher, note = compile_filter(text)
    if note:
        sb.text(note)
    ignore = sb.toggle("Ignore outliers (y scale)", key=_K + "ignore_outliers",
                       help="As in TensorBoard: the y scale spans the 1st to 99th percentile of the values drawn; "
                            "a spike beyond it stays on the chart as a triangle on the edge.")
    return log_charts, hidden, text, matcher, ignore


def show_run(opened: OpenedRun, query: RunPageQuery, raw: dict[str, list[str]]) -> None:
    """Draw the run ``opened`` names, with the settings of ``query``; write the settings back to the URL."""
    preload_plotly()  # first: the browser loads plotly.js while the model waits for a log's first read
    default_model = opened.model(None)
    model = opened.model(query.view.run_index) if query.view.run_index is not None else default_model
    if model is None or default_model is None:
        common.show_notices(query.notices)
        st.info("This log holds no training run yet. The page updates by itself when the first lines arrive.")

        @st.fragment(run_every=rm.LIVE_INTERVAL)
        def wait_for_first_run() -> None:
            if opened.model(None) is not None:
                st.rerun()  # once: from nothing to a run (the watchdog covers the full run it starts)
            live_page.heartbeat(live_page.beat_text("waiting for the first run:"))

        wait_for_first_run()
        live_page.watchdog(STALE_AFTER)
        st.stop()
    assert model is not None and default_model is not None
    source_key = (model.source.kind, model.source.id)
    # Fresh: opened, the URL changed outside the page (back button, a link), another run, or the widgets' state
    # is gone (Streamlit drops it while another page is shown).
    # A URL the page itself wrote a moment ago, in a rerun a widget of the page asked for, is no news: the browser
    # sends its address with every rerun request, and one sent before the last writes reached it carries an older
    # one (rapid arrow keys on the smoothing slider). Taken for a new address, it set the slider back.
    echo = bool(st.session_state.pop(_TOUCHED, False)) and raw in (st.session_state.get(_WRITTEN) or [])
    fresh = ((st.session_state.get("_run_url") != raw and not echo) or st.session_state.get("_run_source") != source_key
             or _K + "smoothing" not in st.session_state)
    if fresh:
        _seed_widgets(query, model, list(query.notices))
    else:
        _follow_new_metrics(model.metrics)
    st.session_state["_run_choices"] = model.metrics

    sb = st.sidebar
    chosen = model.run_index
    # The run picker holds the file's last run until a person picks another: when the file gets a new last run
    # (a new launch appended, a log still being read), a picker still on the old last run moves with it.
    last_run = rm.JOINED if default_model.run_index is None else default_model.run_index
    was_last = st.session_state.get("_run_last", last_run)
    if st.session_state.get(_K + "r") == was_last != last_run and query.view.run_index is None:
        st.session_state[_K + "r"] = last_run
    st.session_state["_run_last"] = last_run
    if len(model.choices) > 1:
        labels = {rm.JOINED if i is None else i: label for i, label in model.choices}
        if st.session_state.get(_K + "r") not in labels:
            st.session_state[_K + "r"] = rm.JOINED if model.run_index is None else model.run_index
        picked = sb.selectbox("Run", list(labels), key=_K + "r", format_func=lambda i: labels.get(i, str(i)))
        chosen = None if picked == rm.JOINED else int(picked)
        if chosen != model.run_index:
            model = opened.model(chosen) or model
    choices = model.metrics
    train_sel = sb.multiselect("Train metrics (losses first)", choices.train_options, key=_K + "metrics")
    eval_sel = (sb.multiselect("Validation metrics", choices.eval_options, key=_K + "evals")
                if choices.eval_options else [])
    smoothing = rm.check_smoothing(sb.slider("Smoothing (debiased EMA)", 0.0, MAX_SMOOTHING, step=0.01,
                                             key=_K + "smoothing", on_change=_touch,
                                             help="TensorBoard's smoothing; the raw series stays faint behind."))
    x_axis = rm.check_axis(sb.radio("x axis", list(X_AXES), format_func=rm.X_AXIS_LABELS.get, key=_K + "x_axis",
                                    horizontal=True, on_change=_clear_range))
    x_range, _ = _x_range_inputs(sb, x_axis)
    log_y = sb.toggle("Log scale (y), every chart", key=_K + "log_y")
    full_plan = rm.chart_plan(choices, train_sel, eval_sel)
    log_charts, hidden_charts, metric_filter, matcher, ignore_outliers = _chart_tools(
        sb, full_plan, gpu_view.chart_titles() if model.gpu is not None else None)
    live = opened.liveness is not None and sb.toggle("Live updates", key=_K + "live",
                                                     help="Pause to keep the page as it is while you read it.")
    if opened.liveness is None:
        live = bool(st.session_state.get(_K + "live", True))  # kept in the URL; a stored upload never grows

    view = ViewState(run=model.source.id if model.source.kind != "upload" else None,
                     upload=model.source.id if model.source.kind == "upload" else None,
                     run_index=None if chosen == default_model.run_index else chosen,
                     metrics=rm.metrics_param(train_sel, eval_sel, choices), smoothing=smoothing, x_axis=x_axis,
                     x_range=x_range, log_y=log_y, live=live, log_charts=list(log_charts),
                     hidden_charts=list(hidden_charts), metric_filter=metric_filter, ignore_outliers=ignore_outliers)

    chart_view = rm.ChartView(x_axis, smoothing, log_y, x_range, ignore_outliers, label=model.title)
    tools = ChartTools(frozenset(log_charts), frozenset(hidden_charts),
                       matcher.search if matcher is not None else None)  # type: ignore[attr-defined]
    # A metric filter, as TensorBoard's tag filter, shows every metric whose name matches, chosen or not.
    plan = (rm.chart_plan(choices, [k for k in choices.train_options if matcher.search(k)],  # type: ignore[union-attr]
                          [k for k in choices.eval_options if matcher.search(k)])  # type: ignore[union-attr]
            if matcher is not None else full_plan)
    st.text(plain(model.source.title, 1000))
    lv0 = opened.liveness() if opened.liveness is not None else None
    # A log under a root can grow (or come back to life) whatever it looks like now: follow it while "Live
    # updates" is on; a stored upload never changes. The first run of each fragment is inline in this full run
    # (with the model just built); later ones are its timer's and ask for the model again.
    timed = live and lv0 is not None
    runs = {"header": 0, "charts": 0}
    # What this full run draws with. A rerun of ``charts`` or ``details`` (their triggers', the setup check's)
    # that finds other settings in the session came with a change outside it (``changed_elsewhere``): the whole
    # page runs again, so the sidebar, every chart and the URL follow the change at once. The timed fragments'
    # ticks are not checked: a tick carries the browser's widget values as they are when it is sent, which can be
    # older than a value the page's last full run set (the range a zoom or a double-click gave the range inputs
    # in their callback, a tick sent as the browser sent the zoom: seen in Chromium), and running the page with
    # them would undo the zoom; and a change a tick carries comes again in its own request, right after it.
    drawn_with = _page_settings()
    st.session_state[_SETUP_DRAWN] = _setup_settings()

    def follow_changes(in_details: bool = False) -> None:
        if changed_elsewhere(drawn_with, in_details):
            st.rerun()

    # The run a person picked, else the file's last run as it is at each tick (a log that is still being read or
    # that a new launch appends to gets runs after this full run).
    follow = None if chosen == default_model.run_index else chosen

    def current(part: str) -> rm.RunModel | None:
        runs[part] += 1
        return model if runs[part] == 1 else opened.model(follow)

    @st.fragment(run_every=rm.LIVE_INTERVAL if timed else None)
    def live_header() -> None:
        m = current("header")
        lv = (opened.liveness() if runs["header"] > 1 else lv0) if opened.liveness is not None else None
        if m is None:  # truncated or replaced: nothing to show until a run is back
            st.info("The log was started over and holds no training run now. The page shows it when one arrives.")
        else:
            if runs["header"] > 1 and model.reading is not None and m.reading is None:
                st.rerun()  # read to its end: the whole page, charts at once (the watchdog covers this full run)
            draw_header(m, lv)
        if timed:
            live_page.footer(f"numbers every {rm.LIVE_INTERVAL:g} s, charts every {CHARTS_INTERVAL:g} s;")

    # The charts' timer starts once this session's browser holds every chart of its first view of the log (issue
    # 12). A tick the browser sends while a full run is still sending charts lists the messages it holds *then*
    # (Streamlit's message cache: the request's ``cached_message_hashes``); the charts run it queues after the full
    # run sent again, whole, every chart that came after the tick (~0.5 MB on the 1M-line run's first visit). So
    # in a session's first full run of a log the charts fragment has no timer and a trigger fires once every chart
    # it drew is drawn in the browser; its rerun (of ``charts``, which holds the timed fragment) declares the
    # timer. A log still being read draws no chart: timed at once, it must notice the end of the read.
    charts_key = source_key
    # Once per session and log: a run picked in the sidebar keeps its details drawn (drawn in every full run,
    # the setup check's values stay; a widget left out of a full run loses its value).
    details_key = source_key

    def charts_held() -> None:
        st.session_state[_CHARTS_HELD] = charts_key

    @st.fragment
    def charts() -> None:
        follow_changes()
        held = st.session_state.get(_CHARTS_HELD) == charts_key or model.reading is not None
        drawn: dict[str, int] = {}

        @st.fragment(run_every=CHARTS_INTERVAL if timed and held else None)
        def live_charts() -> None:
            m = current("charts")
            if m is None:
                return
            if m.reading is not None:  # never a chart of part of the run that looks like the whole run
                st.info(rm.charts_wait_text(m.reading, m.summary.last_iter))
                return
            p = plan
            if m.metrics != choices:  # new metrics: on the charts now, in the sidebar at the next full run
                p = rm.chart_plan(m.metrics,
                                  _followed(train_sel, m.metrics.train_options, choices.train_default,
                                            m.metrics.train_default),
                                  _followed(eval_sel, m.metrics.eval_options, choices.eval_default,
                                            m.metrics.eval_default))
            drawn.clear()
            drawn.update(draw_charts(m, p, chart_view, opened.chart_cache, tools))
            if drawn and runs["charts"] == 1:
                runs["drew"] = 1

        live_charts()
        if timed and not held:
            _after_charts(drawn, charts_held, after_details=st.session_state.get(_DETAILS_SHOWN) != details_key)

    def write_url(believed: dict[str, str]) -> None:
        new_query = {**run_page_query(view), **opened.extra_query, **believed}
        common.set_query(new_query)
        st.session_state["_run_url"] = {k: ([v] if isinstance(v, str) else list(v)) for k, v in new_query.items()}
        written = [u for u in st.session_state.get(_WRITTEN) or [] if u != st.session_state["_run_url"]]
        st.session_state[_WRITTEN] = (written + [st.session_state["_run_url"]])[-30:]

    def details_ready() -> None:
        st.session_state[_DETAILS_SHOWN] = details_key

    @st.fragment
    def details() -> None:
        """The details below the charts: once per session and log, after the first chart is drawn (a rerun of
        this fragment, not of the page: the live fragments keep their timers); then in every run. A change of
        the setup check reruns this fragment, which writes the URL."""
        follow_changes(in_details=True)
        if st.session_state.get(_DETAILS_SHOWN) != details_key:
            _after_first_chart(bool(runs.get("drew")), details_ready)
            return
        st.session_state[_SETUP_DRAWN] = _setup_settings()  # this run draws the setup check with them
        believed = draw_details(model, latest=lambda: opened.model(chosen) if opened.liveness is not None else None,
                                plan=plan, view=chart_view, compare_ref=opened.compare_ref)
        write_url(believed)

    live_header()
    charts()
    chart_sync.sync_charts(_on_zoom, _on_legend)
    if timed:
        live_page.watchdog(STALE_AFTER)
    details()
    with st.expander("About this log"):
        st.text(opened.about())
    write_url(believed_in_state(model))
    st.session_state["_run_source"] = source_key


#: Session key: the log (source) whose details this session has drawn (``_after_first_chart``).
_DETAILS_SHOWN = "_run_details_shown"

#: Session key: the log (source) whose charts this session's browser holds, so the charts' timer runs
#: (``_after_charts``).
_CHARTS_HELD = "_run_charts_held"

_AFTER_CHART_JS = """
export default function (component) {
  const { data, setTriggerValue } = component;
  const started = performance.now();
  const fired = window.__mmdashTriggersSent || (window.__mmdashTriggersSent = {});
  if (data && data.name) fired[data.name] = false;  // (this page's earlier view of another log sent it)
  // data.seqs: every one of these charts (element key -> message seq, ``live_chart``) drawn with that message or a
  // later one; else any chart of the page drawn.
  const drawn = () => {
    if (data.seqs) {
      const held = (window.__mmdashLive && window.__mmdashLive.drawn) || {};
      return Object.entries(data.seqs).every(([k, seq]) => (held[k] || 0) >= seq);
    }
    return performance.getEntriesByType("mark").some((m) => m.name.startsWith("mmdash:drawn:"));
  };
  let done = false;
  const check = () => {
    if (done || !data) return;
    // data.after: another trigger of the page, sent first (Streamlit's frontend sends the triggers of one task in
    // one request, which reruns one fragment only).
    if (data.after && !fired[data.after]) return;
    if (!data.wait || drawn() || performance.now() - started > Number(data.max_wait_ms || 4000)) {
      done = true;
      setTriggerValue("ready", true);
      // Streamlit sends the triggers set in one task in one request, from a timeout of 0 ms: marked sent after it.
      setTimeout(() => { fired[data.name] = true; }, 100);
    }
  };
  check();
  const id = setInterval(check, 50);
  return () => clearInterval(id);
}
"""

_after_chart = st.components.v2.component("mmdash_after_first_chart", js=_AFTER_CHART_JS)
_after_all_charts = st.components.v2.component("mmdash_after_charts", js=_AFTER_CHART_JS)


def _after_first_chart(wait: bool, on_ready: Callable[[], None]) -> None:
    """A trigger that fires once the page's first chart is drawn (its ``mmdash:drawn:*`` mark; at once when the
    run drew no chart, after 4 s at most): the details below the charts are drawn then (issue 12). Sent with the
    charts, Streamlit's frontend rendered them (tables, grids, buttons) before it mounted the first chart."""
    _after_chart(key="mmdash_after_first_chart", data={"name": "details", "wait": bool(wait), "max_wait_ms": 4000},
                 on_ready_change=on_ready, height=0)


#: The charts' timer starts at the latest this long after a session's first view of a log, every chart drawn or not
#: (a chart that never draws must not stop the live view).
CHARTS_HELD_MAX_WAIT_MS = 15_000


def _after_charts(seqs: dict[str, int], on_ready: Callable[[], None], after_details: bool) -> None:
    """A trigger that fires once every chart of ``seqs`` (element key -> the ``seq`` of the message sent) is drawn
    in the browser with that message or a later one (``live_chart``; at once when there is none, after
    ``CHARTS_HELD_MAX_WAIT_MS`` at most): then the browser holds their messages, and a rerun it asks for lists
    them (``show_run``'s ``charts``).
    ``after_details``: the details' trigger (``_after_first_chart``) is on the page: this one is sent after it."""
    _after_all_charts(key="mmdash_after_charts",
                      data={"name": "charts", "after": "details" if after_details else None, "wait": bool(seqs),
                            "seqs": dict(seqs), "max_wait_ms": CHARTS_HELD_MAX_WAIT_MS},
                      on_ready_change=on_ready, height=0)


def draw_header(m: rm.RunModel, lv: rm.Liveness | None) -> None:
    """Progress, tiles, finish time, last update, status and ETA method, banners."""
    now = time.time()
    s = m.summary
    if m.reading is not None:
        st.progress(m.reading.fraction, text=m.reading.text())
    live = rm.log_is_live(lv, s, m.is_last_run)
    status, reason = rm.live_status(s.status, s.status_reason, live=live, is_last_run=m.is_last_run, now=now,
                                    last_update=lv.last_update if lv is not None else None,
                                    median_gap=m.median_record_gap)
    p = s.progress
    st.progress(min(max(p, 0.0), 1.0) if p is not None else 0.0, text=rm.progress_text(s))
    items = rm.header_items(s, status)
    per_row = rm.tiles_per_row(items)
    for row in range(0, len(items), per_row):
        for col, item in zip(st.columns(per_row), items[row:row + per_row]):
            col.metric(item.label, item.value, help=rm.HEADER_HELP.get(item.label))
    if lv is not None:
        last = fmt_ago(now - lv.last_update) if lv.last_update is not None else "unknown"
        update = f"Last update: {last} ({'live log' if live else 'not growing'})"
    else:
        update = "A stored log: not growing"
    where = f" · run {m.run_index + 1} of {m.run_count}" if m.run_index is not None and m.run_count > 1 else ""
    st.text(f"{rm.finish_text(s, status)}\n{rm.clock_text(s)}\n{update}{where}\n"
            f"Status: {status}: {plain(reason, 500)}\n"
            f"ETA method: {plain(s.eta_method, 2000)}")  # our words and numbers: ~500 characters with guesses
    for b in rm.banners(s, status, reason):
        {"error": st.error, "warning": st.warning}.get(b.level, st.info)(b.title)
        if b.detail:
            if b.code:
                st.code(plain(b.detail, 20_000), language=None, wrap_lines=True)
            else:
                st.text(plain(b.detail, 2000))
    if m.gpu is not None:
        draw_gpu_header(m.gpu)


def draw_gpu_header(g: gpu_view.GpuSection) -> None:
    """The GPU log's tiles and banners (our words and numbers: ``views.gpu_view``)."""
    if g.tiles:
        for col, tile in zip(st.columns(len(g.tiles)), g.tiles):
            col.metric(tile.label, tile.value, help=gpu_view.TILE_HELP.get(tile.label))
    for b in g.banners:
        {"warning": st.warning}.get(b.level, st.info)(b.title)


@dataclass(frozen=True)
class ChartTools:
    """What the chart tools ask of the plan: charts with a log y axis, charts hidden, the metric-name filter."""

    log_charts: frozenset[str] = frozenset()
    hidden: frozenset[str] = frozenset()
    match: Callable[[str], bool] | None = None


def draw_charts(m: rm.RunModel, plan: list[rm.ChartSpec], view: rm.ChartView,
                cache: Callable[..., object], tools: ChartTools = ChartTools()) -> dict[str, int]:
    """The chart plan, each chart sent as soon as it is built (the first one does not wait for the others).
    Returns the charts it drew: element key -> the ``seq`` of the message it sent (``live_chart``)."""
    shown = [spec for spec in rm.filter_plan(plan, tools.match) if spec.key not in tools.hidden]
    if not plan:
        st.info("This run has no train records or metrics to plot yet.")
    elif not shown:
        st.info("Every chart of the run is hidden or filtered out (see the sidebar's chart tools)."
                + (" The GPU charts are below." if m.gpu is not None else ""))
    hidden_traces = st.session_state.get(_HIDDEN_TRACES) or {}
    axes = {}

    def view_of(chart: str) -> rm.ChartView:
        """The settings of one chart: its log scale (the chart tools), the legend entries the person hid."""
        return replace(view, log_y=view.log_y or chart in tools.log_charts,
                       hidden_traces=tuple(hidden_traces.get(chart, ())))

    def figure(spec: rm.ChartSpec):
        v = view_of(spec.key)
        axes[spec.key] = view.x_axis if spec.kind == "train" else rm.eval_axis(m.evals, view.x_axis)
        key = (m.source, m.run_index, m.fingerprint, spec, v)
        family = (m.source, m.run_index, spec, v)
        payload = cache(key, lambda: chart_stream.chart_payload(
            rm.build_figure(spec, m.frame, m.evals, v, epoch_ends=m.summary.epoch_ends,
                            resume_iters=m.resume_iters, checkpoint_iters=m.checkpoint_iters)), family=family)
        return payload, repr(family)

    sent: dict[str, int] = {}

    def draw(spec: rm.ChartSpec) -> None:
        payload, identity = figure(spec)
        key = f"{chart_sync.CHART_KEY_PREFIX}{spec.key}"
        sent[key] = live_chart(payload, key=key, identity=identity, config=chart_config(m, spec.key, view.x_axis))

    if shown:  # the run's charts (the GPU charts, below, are drawn when these are all hidden too)
        draw(shown[0])
    others = shown[1:]
    for i in range(0, len(others), 2):
        for col, spec in zip(st.columns(2), others[i:i + 2]):
            with col:
                draw(spec)
    extent = rm.data_extent(m.frame, view.x_axis)
    st.session_state[_DRAWN] = {"axes": axes, "extent": extent}
    if extent is not None and shown:
        ends = ([rm.fmt_clock_input(x) for x in extent] if view.x_axis == "wall" else
                [f"{x:.3f}" for x in extent] if view.x_axis == "epoch" else [f"{x:g}" for x in extent])
        st.text(f"Data on the x axis ({rm.X_AXIS_LABELS[view.x_axis]}): {ends[0]} to {ends[1]}")
    if shown:
        st.text("Dotted lines: epoch ends · dashed orange: resumes · green ticks: checkpoints. "
                f"Each trace holds at most {rm.MAX_POINTS:,} points (MinMaxLTTB). Smoothing {view.smoothing:g} "
                "applies to losses, time, grad_norm and throughput. Purple triangles: values off the scale (ignore "
                "outliers). Drag on a chart: zoom every chart; double-click: reset. PNG: the camera button of a "
                "chart.")
    gpu_charts = draw_gpu_charts(m, view, cache, view_of, tools.hidden, sent) if m.gpu is not None else []
    for k in gpu_charts:
        axes[k] = view.x_axis  # on the run's x axis: a drag-zoom there zooms every chart too
    return sent


def chart_config(m: rm.RunModel, chart: str, x_axis: str) -> dict:
    """A chart's plotly config: the camera button's file says what it holds: run, chart and x axis (the subtitle
    has the settings). A double-click shows the whole run (``autosize``): plotly's default, 'reset+autosize', goes
    back first to the range the graph was drawn with, a zoomed link's or an earlier zoom's."""
    name = exports.download_name(m.title, f".{chart}.by-{x_axis}")
    return {"displaylogo": False, "doubleClick": "autosize",
            "toImageButtonOptions": {"format": "png", "filename": name, "scale": 2}}


def draw_gpu_charts(m: rm.RunModel, view: rm.ChartView, cache: Callable[..., object],
                    view_of: Callable[[str], rm.ChartView], hidden: frozenset[str] = frozenset(),
                    sent: dict[str, int] | None = None) -> list[str]:
    """Per-GPU utilization, memory and power under the run's charts, on the same x axis and range, with the chart
    tools' settings per chart (``view_of``: log scale, hidden legend entries; ``hidden``: charts left out).
    Returns the keys of the charts drawn; ``sent`` gets their element keys -> the ``seq`` of the message sent."""
    g = m.gpu
    assert g is not None
    st.subheader("GPUs")
    st.text(plain(gpu_view.coverage_text(g), 2000))
    for note in g.notes:
        st.text(plain("Note: " + note, 2000))
    if not len(g.table):
        return []
    views = tuple((k, view_of(k)) for k in gpu_view.chart_titles())
    key = (m.source, m.run_index, m.fingerprint, "gpu", views)
    family = (m.source, m.run_index, "gpu", views)
    figs = cache(key, lambda: {k: chart_stream.chart_payload(fig)
                               for k, fig in gpu_view.figures(g, m, view, dict(views)).items()}, family=family)
    items = [(k, payload) for k, payload in figs.items() if k not in hidden]  # type: ignore[attr-defined]
    for i in range(0, len(items), 2):
        for col, (k, payload) in zip(st.columns(2), items[i:i + 2]):
            with col:
                key = f"{chart_sync.CHART_KEY_PREFIX}{k}"
                seq = live_chart(payload, key=key, identity=repr((family, k)), config=chart_config(m, k, view.x_axis))
                if sent is not None:
                    sent[key] = seq
    if g.rows:
        st.dataframe(gpu_view.rows_frame(g), hide_index=True)
    return [k for k, _fig in items]


def draw_details(m: rm.RunModel, latest: Callable[[], rm.RunModel | None] = lambda: None,
                 plan: list[rm.ChartSpec] | None = None, view: rm.ChartView | None = None,
                 compare_ref: str | None = None) -> dict[str, str]:
    """Files of an upload, links (``compare_ref``: the Compare page's reference to the run, when not its model's
    source: a joined resumed run), validation, audit and the setup check, events, tracebacks, lines not understood,
    downloads. Returns the setup check's URL parameters. The downloads are made when clicked, from ``latest()``
    (a live run as it is then, not as it was at the page's last full run), else from ``m``; the HTML report has the
    charts ``plan`` drawn with ``view``, as on the page."""
    if m.files:
        st.dataframe(pd.DataFrame([{"file": one_line(f.name), "size (bytes)": f.size, "kind": f.kind, "use": f.note}
                                   for f in m.files]), hide_index=True)
    if m.files_note:
        st.info(m.files_note)  # fixed prose with counts only
    in_run = m.query()
    c = st.columns(2)
    with c[0]:
        common.page_link("calculator", "Open in the calculator", in_run)
    with c[1]:
        ref = compare_ref or common.compare_ref(m.source, m.run_index if len(m.choices) > 1 else None)
        common.page_link("compare", "Compare with other runs", {"compare": [ref]})

    s = m.summary
    if m.validation_rows:
        st.subheader("Validation")
        st.dataframe(pd.DataFrame(m.validation_rows), hide_index=True)

    st.subheader("Iteration audit: why N is what it is")
    st.text(plain(s.audit.explanation, 5000))
    left, right = st.columns(2)
    # Tables that wrap their cells: a value or its source may be a long sentence (a dataframe cuts it off).
    left.table(pd.DataFrame(m.audit_rows).set_index("quantity"))
    right.table(pd.DataFrame(m.setup_rows).set_index("input"))
    if s.audit.arithmetic is not None and s.audit.arithmetic.formula:
        st.text(plain(s.audit.arithmetic.formula, 2000))
    believed = draw_setup_check(m)

    st.subheader("Events")
    st.text(rm.events_caption(m))
    if m.events:
        events = rm.events_frame(m.events)
        st.dataframe(events, hide_index=True, width="stretch", height=min(38 + 35 * len(events), 420),
                     column_config={"text": st.column_config.TextColumn("text", width="large")})
    for line, text in m.tracebacks:
        st.text(f"Traceback at line {line}:" if line else "Traceback:")
        st.code(plain(text, 20_000), language=None)
    if m.unparsed_count:
        with st.expander(f"{m.unparsed_count:,} line(s) not understood"):
            st.code(plain("\n".join(f"{n}: {t}" for n, t in m.unparsed_examples), 20_000), language=None)

    st.subheader("Downloads")

    def now() -> rm.RunModel:
        return latest() or m

    def records(fn):
        def make() -> bytes:
            cur = now()
            with cur.lock:
                return fn([cur.run])
        return make

    def report() -> bytes:
        cur = now()
        with cur.lock:
            return exports.report_markdown_bytes(cur.title, [cur.run], [cur.summary], gpu=[cur.gpu])

    def html_report() -> bytes:
        from dashboard.reports.html import html_report as build  # plotly.js is read only when asked for

        return build(m.title, [now()], plan=plan, view=view).encode("utf-8")

    key = f"dl_{abs(hash((m.source, m.run_index)))}"
    c = st.columns(4)
    c[0].download_button("Records (CSV)", data=records(exports.records_csv),
                         file_name=exports.download_name(m.title, ".records.csv"), mime="text/csv",
                         key=f"{key}_csv", on_click="ignore")
    c[1].download_button("Records (Parquet)", data=records(exports.records_parquet),
                         file_name=exports.download_name(m.title, ".records.parquet"),
                         mime="application/vnd.apache.parquet", key=f"{key}_parquet", on_click="ignore")
    c[2].download_button("Run report (Markdown)", data=report,
                         file_name=exports.download_name(m.title, ".report.md"), mime="text/markdown",
                         key=f"{key}_md", on_click="ignore")
    c[3].download_button("Run report (HTML, charts included)", data=html_report,
                         file_name=exports.download_name(m.title, ".report.html"), mime="text/html",
                         key=f"{key}_html", on_click="ignore",
                         help="One file that opens offline in a browser: the header, the charts shown here "
                              "(interactive), the audit, the epoch timeline, events and health. About 5 MB: "
                              "plotly.js is inside.")
    st.caption("Records: one row per train iteration and per validation/test result, the columns of "
               "`python -m parsers export`; a value the log wrote as nan stays nan, a missing one is empty.")
    return believed


_SETUP_INPUTS = (("dataset_size", "Dataset size (samples)"), ("gpus", "GPUs (processes)"),
                 ("batch_size", "Batch size per GPU"), ("accumulative_counts", "accumulative_counts"),
                 ("epochs", "Epochs"))


def _believed(m: rm.RunModel, values: dict, sampler: str | None) -> CalculatorInputs:
    logged = m.prefill.inputs if m.prefill else CalculatorInputs()
    return replace(logged, **values, sampler=sampler or logged.sampler)


def believed_in_state(m: rm.RunModel) -> dict[str, str]:
    """The setup check's URL parameters from the session's values, for a run that has not drawn it yet."""
    values = {k: st.session_state.get(f"{_K}calc_{k}") for k, _label in _SETUP_INPUTS}
    return rm.believed_params(m, _believed(m, values, st.session_state.get(f"{_K}calc_sampler")))


def draw_setup_check(m: rm.RunModel) -> dict[str, str]:
    """The setup a person believes they ran (prefilled with what the log states), the verdict against the log's
    N right here, and a link to the Calculator with the same inputs. Returns the inputs that differ from the log
    (the URL keeps them)."""
    st.subheader("Check the setup you believe you ran")
    st.text("Prefilled with what the log states; change what you believe was different (e.g. the number of GPUs).")
    cols = st.columns(6)
    values = {}
    for col, (k, label) in zip(cols, _SETUP_INPUTS):
        values[k] = col.number_input(label, min_value=1, step=1, value=None, key=f"{_K}calc_{k}",
                                     placeholder="unknown")
    sampler = cols[5].selectbox("Sampler", list(SAMPLERS), key=f"{_K}calc_sampler")
    believed = _believed(m, values, sampler)
    params = rm.believed_params(m, believed)
    check = rm.check_believed(m, believed)
    aud = check.audit
    if aud is not None:
        level, sentence = verdict(aud)
        {"success": st.success, "error": st.error}.get(level, st.info)(sentence)
        st.text(plain(aud.explanation, 5000))
    common.page_link("calculator", "Open these numbers in the calculator", {**m.query(), **params})
    return params
