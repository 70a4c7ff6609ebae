"""Compare page (``/compare``): two or more runs overlaid on a metric, with a table beside the chart.

URL: ``compare`` (repeated; ``<source id>[::k]`` for a log under a root, ``upload:<id>[::k]`` for an
upload; without ``::k`` a multi-run file is shown with its runs joined), ``metric`` (repeated; a
chart per metric and its final / best value in the table), ``x_axis`` (``iter``, ``epoch``,
``relative``: how the runs are aligned), ``smoothing``, ``log_y``.
"""

from __future__ import annotations

import streamlit as st

from dashboard.ui import common
from dashboard.views import compare, review
from dashboard.views.text import one_line
from dashboard.views.url_state import MAX_COMPARE, MAX_SMOOTHING, RunRef, ViewState, from_query, to_query

SCOPE = "compare"
ALIGN = ("iter", "epoch", "relative")
ALIGN_LABELS = {"iter": "iteration", "epoch": "epoch", "relative": "time since start"}
MAX_CHARTS = 4

st.title("Compare")

raw = common.query_dict()
state, notices = from_query(raw)
align = state.x_axis
if align not in ALIGN:
    notices.append(f"URL parameter x_axis={align!r} ignored: runs are aligned by {', '.join(ALIGN)}")
    align = "iter"
targets: list[review.Target] = []
for ref in state.compare:
    t = review.target_of(ref)
    if t is None:
        notices.append(f"URL parameter compare={str(ref)[:80]!r} ignored: not an upload id after 'upload:'")
    else:
        targets.append(t)
common.show_notices(notices)


def add_upload() -> None:
    """Callback of the 'add an upload' box: put the upload into the compared set."""
    text = st.session_state.get("cmp_add", "")
    uid = review.upload_id_in(text or "")
    st.session_state["cmp_add"] = ""
    try:
        stored = common.store().get(uid) if uid else None
    except OSError:
        stored = None
    if stored is None:
        st.session_state["_cmp_add_error"] = True
        return
    common.remember_upload(uid, review.upload_title(stored.original_names) if stored else uid)
    ref = str(review.Target("upload", uid))
    current = list(st.session_state.get("cmp_runs", []))
    if ref not in current:
        st.session_state["cmp_runs"] = current + [ref]


# Options: every log under the roots, the uploads of this session, and whatever the URL names.
labels: dict[str, str] = {}
for f in common.root_logs():
    labels[f.id] = f.id
for uid, title in common.session_uploads().items():
    labels[str(review.Target("upload", uid))] = f"upload: {title} ({uid[:8]})"
for t in targets:
    labels.setdefault(str(t), str(t) if t.kind == "root" else f"upload {t.id[:8]}" +
                      ("" if t.index is None else f" run {t.index}"))

common.seed(SCOPE, {"cmp_runs": [str(t) for t in targets], "cmp_align": align,
                   "cmp_smoothing": float(state.smoothing), "cmp_log_y": bool(state.log_y)})
for ref in st.session_state.get("cmp_runs", []):
    labels.setdefault(ref, ref)
options = list(labels)

chosen = st.multiselect("Runs to compare", options, key="cmp_runs", format_func=lambda r: one_line(labels[r], 200),
                        max_selections=MAX_COMPARE, placeholder="Choose two or more runs")
st.text_input("Add an upload by its permalink or id", key="cmp_add", on_change=add_upload,
              placeholder="http://…/run?upload=… or the 24-character id")
if st.session_state.pop("_cmp_add_error", None):
    st.warning("No upload with that id or permalink on this server.")

loaded: list[tuple[review.Target, review.Review]] = []
for ref in chosen:
    target = review.target_of(RunRef.parse(ref))
    if target is None:
        continue
    rev, reason = common.open_target(target)
    if rev is None or rev.run(target.index) is None:
        st.warning("This run cannot be shown:")
        st.text(f"{one_line(ref, 200)}: {reason or 'no training run in it'}")
        continue
    loaded.append((target, rev))

names: dict[str, list[str]] = {}
for target, rev in loaded:
    if target.kind == "upload":
        names[target.id] = [f.name for f in rev.files]
# Raw text (one line): the table shows it literally, compare.figure makes it literal for plotly.
run_labels = compare.unique_labels([one_line(compare.short_label(t, names.get(t.id)), 60) for t, _ in loaded])
runs = [rev.run(t.index) for t, rev in loaded]

metric_options = compare.metric_options(runs)
wanted = [m for m in state.metrics if m in metric_options] or (
    [compare.default_metric(metric_options)] if metric_options else [])
if loaded and len(loaded) == len(chosen):
    unknown = [m for m in state.metrics if m not in metric_options]
    if unknown and common.canonical(common.query_dict()) != st.session_state.get(f"_url_{SCOPE}"):
        st.text("Not logged by any of these runs (left out): " + ", ".join(one_line(m, 80) for m in unknown))
common.seed(SCOPE, {"cmp_metrics": wanted})
current = [m for m in st.session_state.get("cmp_metrics", []) if m in metric_options]
if not current and metric_options:  # runs were just picked: start from the usual metric
    current = [compare.default_metric(metric_options)]
if current != st.session_state.get("cmp_metrics"):
    st.session_state["cmp_metrics"] = current
c = st.columns([3, 2, 2, 1])
metrics = c[0].multiselect("Metrics", metric_options, key="cmp_metrics", max_selections=8,
                           help="Train fields and validation metrics of the chosen runs")
align = c[1].radio("Align by", list(ALIGN), key="cmp_align", horizontal=True, format_func=ALIGN_LABELS.get)
smoothing = c[2].slider("Smoothing (EMA weight)", 0.0, MAX_SMOOTHING, step=0.01, key="cmp_smoothing")
log_y = c[3].checkbox("log y", key="cmp_log_y")

out = to_query(ViewState(metrics=list(metrics), smoothing=float(smoothing), x_axis=str(align), log_y=bool(log_y),
                         compare=[RunRef.parse(r) for r in chosen]))
common.write_query(out, SCOPE)

if len(loaded) < 2:
    st.info("Choose two or more runs (logs under the log roots, or uploads) to overlay them.")
    st.stop()
if not metrics:
    st.info("Choose a metric.")
    st.stop()

summaries = [common.summary_of(rev, t.index) for t, rev in loaded]
# The charts, then the table across the page's whole width (side by side, it showed 4-5 of its columns).
left, right = st.container(), st.container()
with left:
    for m in metrics[:MAX_CHARTS]:
        is_train = any(m in run.train.field_names for run in runs)
        frames = [(label, compare.metric_frame(run, m, s.iters_per_epoch if s is not None else None))
                  for label, run, s in zip(run_labels, runs, summaries)]
        fig = compare.figure(frames, m, align=align, smoothing=float(smoothing) if is_train else 0.0,
                             log_y=bool(log_y), uirevision=f"compare-{m}")
        st.plotly_chart(fig, key=f"cmp_chart_{metrics.index(m)}",
                        config={"displaylogo": False, "toImageButtonOptions": {"format": "png",
                                                                               "filename": "compare"}})
    if len(metrics) > MAX_CHARTS:
        st.text(f"Charts for the first {MAX_CHARTS} metrics; the table has all of them.")
with right:
    table = compare.compare_table(list(zip(run_labels, runs, summaries)), list(metrics))
    st.dataframe(table, hide_index=True, width="stretch")
    st.caption("s/iter: median over the run; samples/s: batch x GPUs / recent s/iter; final: the last logged "
               "value; best: lowest for losses, errors and times, highest otherwise; wall time: first to last "
               "record on the log's clock.")
st.caption("PNG: use the camera button in a chart's toolbar.")
