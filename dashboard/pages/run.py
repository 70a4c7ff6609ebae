"""Run page (``?run=<root label>/<relative path>``): n/N and the loss chart of one run."""

from typing import NoReturn

import streamlit as st

from dashboard.charts import group_keys, metric_figure
from dashboard.pages import common
from dashboard.safe_text import one_line, plain
from dashboard.series import field_columns, train_frame
from dashboard.url_state import from_query

st.title("Run")

raw = {k: st.query_params.get_all(k) for k in st.query_params}
# The run id is checked by common.resolve (which explains a refusal); the rest by from_query.
requested = (raw.pop("run", None) or [""])[-1]
state, notices = from_query(raw)
if notices:
    st.warning("Some URL parameters were not understood and were ignored:")
    st.text("\n".join(plain(n, 500) for n in notices))


def refuse(requested: str, reason: str) -> NoReturn:
    st.error("Refused: this run id does not name a log file under the configured roots.")
    st.text("Requested id (" + reason + "):")
    st.code(plain(requested, 500), language=None)
    st.stop()


if not requested:
    st.info("No run selected: open one from the Runs page.")
    st.page_link("dashboard/pages/runs.py", label="Runs")
    st.stop()

log, reason = common.resolve(requested, common.configured_roots())
if log is None:
    refuse(requested, reason or "refused")

try:
    parsed = common.parse_cached(log.path, log.size, log.mtime_ns)
except Exception as e:  # an unreadable file is reported, never shown
    st.error("This log could not be parsed.")
    st.text(one_line(f"{type(e).__name__}: {e}"))
    st.stop()

if not parsed.runs:
    st.text(one_line(log.id))
    st.info("No training run was found in this log.")
    st.stop()

if state.run_index is not None and state.run_index < len(parsed.runs):
    run = parsed.runs[state.run_index]
else:
    if state.run_index is not None:
        st.warning("The requested run index does not exist in this log; showing the main run.")
    run = common.main_run(parsed)
assert run is not None

st.text(f"Log: {one_line(log.id)}\nFormat: {parsed.format} · run {run.index + 1} of {len(parsed.runs)}")
n = run.last_iter
total = run.max_iters
st.metric("Iterations (n/N)", f"{n if n is not None else '?'}/{total if total is not None else '?'}")

if not len(run.train):
    st.info("This run has no train iterations.")
    st.stop()

frame = train_frame(run)
groups = group_keys(field_columns(frame))
losses = groups.get("loss") or field_columns(frame)[:1]
if not losses:
    st.info("This run logged no numeric fields.")
    st.stop()

fig = metric_figure(
    frame,
    [losses[0]],
    x_axis=state.x_axis,
    smoothing=state.smoothing,
    log_y=state.log_y,
    x_range=state.x_range,
    epoch_ends=common.epoch_end_iters(frame),
    resume_iters=[e.data["iter"] for e in run.events_of("resume") if e.data.get("iter") is not None],
    checkpoint_iters=[e.data["iter"] for e in run.events_of("checkpoint") if e.data.get("iter") is not None],
    title=f"{losses[0]} (smoothing {state.smoothing:g})",
)
st.plotly_chart(fig, key="loss_chart", config={"displaylogo": False})
