"""Run page (``/run?run=<root label>/<relative path>[&r=<run in the file>]``): one run, live.

URL (``run_view.read_run_query``): ``run``, ``r``, ``metric`` (repeated), ``smoothing``, ``x_axis``, ``x_range``,
``log_y``, ``live``. Controls live in the sidebar; a change reruns the page and rewrites the URL. The header,
banners, charts, audit and events are drawn by one ``st.fragment(run_every=...)``: every tick it asks the
shared ``AppState`` for the run's model (rebuilt only when the run grew) and for each chart (built only when the
model or the chart settings changed, and shared by every session with the same settings); otherwise it sends
the figures it already has (Streamlit sends a large unchanged element as a short reference, and the browser
keeps the chart as it is).
"""

from __future__ import annotations

import os
import time

import streamlit as st

from dashboard.ui import common
from dashboard.views import run_view as rv
from dashboard.views.text import plain
from dashboard.views.url_state import MAX_SMOOTHING, X_AXES, ViewState

st.title("Run")

state = common.app_state()
raw = common.query_dict()

if raw.get("upload") and not raw.get("run"):
    # An upload's permalink (``/run?upload=<id>``): a finished log from the upload store, reviewed with the
    # same renderer as the Upload page (it is not growing, so no live fragment).
    from dashboard.ui import review_view
    from dashboard.views.url_state import from_query

    up_raw = dict(raw)
    up_index, up_notice = review_view.pop_run_index(up_raw)
    up_view, up_notices = from_query(up_raw)
    review_view.show_notices(up_notices + ([up_notice] if up_notice else []))
    review_view.write_query(
        review_view.show_upload(up_view.upload, up_index, up_view, key="run_up", scope="run_upload", page="run"),
        "run_upload")
    st.stop()

query = rv.read_run_query(raw)

if not query.run:
    common.show_notices(query.notices)
    st.info("No run selected: open one from the Runs page.")
    st.page_link("dashboard/ui/pages/runs.py", label="All runs", icon=":material/list:")
    st.stop()

found = state.lookup(query.run)
if found.refusal is not None:
    common.refuse(query.run, found.refusal)
if found.source is None:
    st.warning("Not found: no training log with this id is followed under the log roots (yet). This page opens "
               "it by itself when it appears.")
    st.code(plain(query.run, 1000), language=None)
    st.text(plain(found.missing or "", 500))
    st.page_link("dashboard/ui/pages/runs.py", label="All runs", icon=":material/list:")
    state.watcher.refresh()

    @st.fragment(run_every=rv.LIVE_INTERVAL)
    def wait_for_source() -> None:
        if state.lookup(query.run).source is not None:
            st.rerun()

    wait_for_source()
    st.stop()
src = found.source
assert src is not None

st.text(plain(src.id, 1000))

model = state.run_model(src, query.view.run_index)
if model is None:
    common.show_notices(query.notices)
    st.info("This log holds no training run yet. The page updates by itself when the first lines arrive.")

    @st.fragment(run_every=rv.LIVE_INTERVAL)
    def wait_for_first_run() -> None:
        if state.run_model(src, query.view.run_index) is not None:
            st.rerun()

    wait_for_first_run()
    st.stop()

choices = rv.metric_choices(list(model.frame.attrs.get("fields", {})), list(model.evals.attrs.get("metrics", {})))

# ---------------------------------------------------------------------------------------- URL -> widgets
URL_KEY = "_run_url"
# Fresh: opened, the URL changed outside the page (back button, a link), another run, or the widgets' state is
# gone (Streamlit drops it while another page is shown).
fresh = (st.session_state.get(URL_KEY) != raw or st.session_state.get("_run_source") != src.id
         or "run_smoothing" not in st.session_state)
notices = list(query.notices)
if fresh:
    train_sel, eval_sel, metric_notes = rv.select_metrics(query.view.metrics, choices)
    notices += metric_notes
    if query.view.run_index is not None and query.view.run_index != model.run_index:
        notices.append(f"run r={query.view.run_index} does not exist in this file ({model.run_count} runs): "
                       "showing the last one")
    common.show_notices(notices)
    st.session_state.update({
        "run_r": model.run_index,
        "run_metrics": train_sel,
        "run_evals": eval_sel,
        "run_smoothing": query.view.smoothing,
        "run_x_axis": query.view.x_axis,
        "run_log_y": query.view.log_y,
        "run_live": query.view.live,
    })
    lo, hi = query.view.x_range if query.view.x_range is not None else (None, None)
    if query.view.x_axis == "wall":
        st.session_state.update({"run_x_from_t": rv.fmt_clock_input(lo), "run_x_to_t": rv.fmt_clock_input(hi),
                                 "run_x_from": None, "run_x_to": None})
    else:
        st.session_state.update({"run_x_from": lo, "run_x_to": hi, "run_x_from_t": "", "run_x_to_t": ""})
else:
    # The metrics a run logs can change (another run of the file, keys that appear later): a selection that
    # was the default follows the new default; a chosen one keeps what still exists.
    before = st.session_state.get("_run_choices")
    if before is not None and before != choices:
        for key, options, old_default, default in (
            ("run_metrics", choices.train_options, before.train_default, choices.train_default),
            ("run_evals", choices.eval_options, before.eval_default, choices.eval_default),
        ):
            current = st.session_state.get(key) or []
            kept = [m for m in current if m in options]
            st.session_state[key] = list(default) if (not kept or list(current) == list(old_default)) else kept
st.session_state["_run_choices"] = choices


def _axis_changed() -> None:  # a range in the old axis' units means nothing on the new one
    st.session_state.update({"run_x_from": None, "run_x_to": None, "run_x_from_t": "", "run_x_to_t": ""})


def _reset_range() -> None:
    _axis_changed()


sb = st.sidebar
run_index = model.run_index
if model.run_count > 1:
    run_index = sb.selectbox("Run in this file", list(range(model.run_count)),
                             format_func=lambda i: model.run_starts[i], key="run_r")
train_sel = sb.multiselect("Train metrics (losses first)", choices.train_options, key="run_metrics")
eval_sel = (sb.multiselect("Validation metrics", choices.eval_options, key="run_evals")
            if choices.eval_options else [])
smoothing = rv.check_smoothing(sb.slider("Smoothing (debiased EMA)", 0.0, MAX_SMOOTHING, step=0.01,
                                         key="run_smoothing",
                                         help="TensorBoard's smoothing; the raw series stays faint behind."))
x_axis = rv.check_axis(sb.radio("x axis", list(X_AXES), format_func=rv.X_AXIS_LABELS.get, key="run_x_axis",
                                horizontal=True, on_change=_axis_changed))
extent = rv.data_extent(model.frame, x_axis)
sb.caption("x range (zoomed at full detail; empty = everything)")
c_from, c_to = sb.columns(2)
if x_axis == "wall":
    t_from = c_from.text_input("from", key="run_x_from_t",
                               placeholder=rv.fmt_clock_input(extent[0] if extent else None))
    t_to = c_to.text_input("to", key="run_x_to_t", placeholder=rv.fmt_clock_input(extent[1] if extent else None))
    lo = rv.parse_clock(t_from) if t_from.strip() else None
    hi = rv.parse_clock(t_to) if t_to.strip() else None
    bad_clock = (t_from.strip() and lo is None) or (t_to.strip() and hi is None)
else:
    lo = c_from.number_input("from", value=None, key="run_x_from", format="%g",
                             placeholder=f"{extent[0]:g}" if extent else "")
    hi = c_to.number_input("to", value=None, key="run_x_to", format="%g",
                           placeholder=f"{extent[1]:g}" if extent else "")
    bad_clock = False
x_range, range_hint = rv.x_range_from_inputs(lo, hi)
if bad_clock:
    range_hint = "write times as YYYY-MM-DD HH:MM:SS (the log's clock)"
if range_hint:
    sb.text(range_hint)
sb.button("Reset x range", on_click=_reset_range, disabled=lo is None and hi is None)
log_y = sb.toggle("Log scale (y)", key="run_log_y")
live = sb.toggle("Live updates", key="run_live", help="Pause to keep the page as it is while you read it.")

view = ViewState(run=src.id, run_index=None if run_index == model.run_count - 1 else run_index,
                 metrics=rv.metrics_param(train_sel, eval_sel, choices), smoothing=smoothing, x_axis=x_axis,
                 x_range=x_range, log_y=log_y, live=live)
new_query = rv.run_page_query(view)
common.set_query(new_query)
st.session_state[URL_KEY] = {k: ([v] if isinstance(v, str) else list(v)) for k, v in new_query.items()}
st.session_state["_run_source"] = src.id

chart_view = rv.ChartView(x_axis, smoothing, log_y, x_range)
plan = rv.chart_plan(choices, train_sel, eval_sel)
requested_index = view.run_index
options_key = (tuple(choices.train_options), tuple(choices.eval_options), model.run_count)


def _liveness() -> rv.Liveness:
    try:
        mtime: float | None = os.stat(src.path).st_mtime
    except OSError:
        mtime = None
    return rv.liveness(discovered_at=src.discovered_at, last_growth_at=src.last_growth_at, mtime=mtime)


def _figure(m, spec: rv.ChartSpec):
    """One chart of model ``m``: built once per (run state, chart, settings) and shared by every session."""
    key = (m.source_id, m.run_index, m.fingerprint, spec, chart_view)
    return state.figure(key, lambda: rv.build_figure(
        spec, m.frame, m.evals, chart_view, epoch_ends=m.summary.epoch_ends, resume_iters=m.resume_iters,
        checkpoint_iters=m.checkpoint_iters))


lv0 = _liveness()
interval = rv.LIVE_INTERVAL if lv0.live else rv.IDLE_INTERVAL
st.session_state["_run_ticks"] = 0  # fragment runs since this full run (the first one is inline)


@st.fragment(run_every=interval if live else None)
def live_view() -> None:
    ticks = st.session_state["_run_ticks"] = st.session_state.get("_run_ticks", 0) + 1
    m = state.run_model(src, requested_index) if ticks > 1 else model
    lv = _liveness() if ticks > 1 else lv0
    if ticks > 1:
        c = rv.metric_choices(list(m.frame.attrs.get("fields", {})), list(m.evals.attrs.get("metrics", {}))) \
            if m is not None else None
        if c is None or (tuple(c.train_options), tuple(c.eval_options), m.run_count) != options_key \
                or lv.live != lv0.live:
            # Truncated/replaced file, new metrics, a new run in the file, or the log came alive: redraw the
            # controls once (a full rerun).
            st.rerun()
    assert m is not None
    now = time.time()
    s = m.summary
    status, reason = rv.live_status(s.status, s.status_reason, live=lv.live, is_last_run=m.is_last_run, now=now,
                                    last_update=lv.last_update, median_gap=m.median_record_gap)

    # header
    p = s.progress
    st.progress(min(max(p, 0.0), 1.0) if p is not None else 0.0, text=rv.progress_text(s))
    items = rv.header_items(s, status)
    for row in range(0, len(items), 4):
        for col, item in zip(st.columns(4), items[row:row + 4]):
            col.metric(item.label, item.value, help=rv.HEADER_HELP.get(item.label))
    last = rv.fmt_ago(now - lv.last_update) if lv.last_update is not None else "unknown"
    st.text(f"{rv.finish_text(s)}\n"
            f"Last update: {last} ({'live log' if lv.live else 'not growing'}) · "
            f"run {m.run_index + 1} of {m.run_count} in this file\n"
            f"Status: {status}: {plain(reason, 500)}\n"
            f"ETA method: {plain(s.eta_method, 300)}")

    for b in rv.banners(s, status, reason):
        {"error": st.error, "warning": st.warning}.get(b.level, st.info)(b.title)
        if b.detail:
            if b.code:
                st.code(plain(b.detail, 20_000), language=None, wrap_lines=True)
            else:
                st.text(plain(b.detail, 2000))

    # charts: each is sent as soon as it is built (the first one does not wait for the others)
    if not plan:
        st.info("This run has no train records or metrics to plot yet.")
    else:
        st.plotly_chart(_figure(m, plan[0]), key=f"chart_{plan[0].key}", config={"displaylogo": False})
        others = plan[1:]
        for i in range(0, len(others), 2):
            cols = st.columns(2)
            for col, spec in zip(cols, others[i:i + 2]):
                col.plotly_chart(_figure(m, spec), key=f"chart_{spec.key}", config={"displaylogo": False})
    st.text("Dotted lines: epoch ends · dashed orange: resumes · green ticks: checkpoints. "
            f"Each trace holds at most 4,000 points (MinMaxLTTB). Smoothing {smoothing:g} applies to losses, "
            "time, grad_norm and throughput.")

    st.subheader("Iteration audit: why N is what it is")
    st.text(plain(s.audit.explanation, 5000))
    left, right = st.columns(2)
    audit_rows = rv.audit_rows(s)
    left.dataframe(audit_rows, hide_index=True, width="stretch", height=38 + 35 * len(audit_rows))
    right.dataframe(m.setup_rows, hide_index=True, width="stretch", height=38 + 35 * max(len(m.setup_rows), 1))
    formula = s.audit.arithmetic.formula if s.audit.arithmetic is not None else None
    if formula:
        st.text(plain(formula, 2000))

    st.subheader("Events")
    events = rv.events_frame(m.events)
    st.text(f"{len(events)} events (checkpoints, validations, warnings, errors, resumes)"
            + (f", the last {rv.MAX_EVENT_ROWS}" if len(events) >= rv.MAX_EVENT_ROWS else ""))
    if len(events):
        st.dataframe(events, hide_index=True, width="stretch", height=min(38 + 35 * len(events), 420),
                     column_config={"text": st.column_config.TextColumn("text", width="large")})


live_view()

with st.expander("About this log"):
    t = src.tailer
    st.text(f"source: {plain(src.id, 1000)}\nformat: {src.kind} · {src.size:,} bytes · read {t.offset:,} bytes "
            f"(each byte parsed once) · version {src.version} · restarts {t.restart_count}\n"
            f"watching: {plain(state.watcher.mode_note, 600)}")
