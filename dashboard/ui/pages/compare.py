"""Compare page (``/compare``): two or more runs overlaid on a metric, with a table beside the chart and the
differences of their configurations.

URL: ``compare`` (repeated; ``<source id>[::k]`` for a log under a root, ``upload:<id>[::k]`` for an
upload; without ``::k`` a multi-run file is shown with its runs joined; ``<source id>::combine``: the log joined with
the earlier timestamped folders of its resumed run, as the Run page's ``combine=1``), ``metric`` (repeated; a
chart per metric and its final / best value in the table), ``x_axis`` (``iter``, ``epoch``,
``relative``: how the runs are aligned), ``smoothing``, ``log_y``, ``live`` (``0``: no refresh).

Live: a log under a root is the watcher's (read incrementally, the same records the Run page shows), so while
"Live updates" is on and one of the compared logs is live, the table refreshes every ``TABLE_INTERVAL`` seconds
and the charts every ``CHARTS_INTERVAL`` seconds, each a timed ``st.fragment`` (with the heartbeat and watchdog of
``dashboard.ui.live``, as the Run page). Charts are built once per state of their runs and settings
(``AppState.figure``, shared by every session) and drawn as the Run page's (``dashboard.ui.live_chart``): one plotly
graph per chart that takes the new points, so the reader's zoom, pan and hidden legend entries stay
(``uirevision``).
"""

from __future__ import annotations

import os
import time
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass

import streamlit as st

from dashboard.analysis import RunSummary, combine, summarize
from dashboard.reports import exports
from dashboard.ui import common
from dashboard.ui import live as live_page
from dashboard.ui.live_chart import live_chart, preload_plotly
from dashboard.ui.run_view import STALE_AFTER
from dashboard.views import chart_stream, compare, joined, review, run_model
from dashboard.views.app_state import fingerprint, reading_of
from dashboard.views.text import one_line
from dashboard.views.url_state import MAX_COMPARE, MAX_METRICS, MAX_SMOOTHING, RunRef, ViewState, from_query, to_query
from parsers import Run

SCOPE = "compare"
ALIGN = ("iter", "epoch", "relative")
ALIGN_LABELS = {"iter": "iteration", "epoch": "epoch", "relative": "time since start"}
TABLE_INTERVAL = 2.0  # seconds between refreshes of the table of a live comparison
#: Seconds between reruns of the charts of a live comparison: each sends only what is new (``live_chart``); up to
#: 32 charts of many runs cost more to build than the Run page's, so they follow at the table's pace.
CHARTS_INTERVAL = 2.0
READ_WAIT = 30.0  # seconds a compared log the watcher is still reading is waited for

st.title("Compare")

state = common.app_state()
raw = common.query_dict()
view, notices = from_query(raw)
align = view.x_axis
if align not in ALIGN:
    notices.append(f"URL parameter x_axis={align!r} ignored: runs are aligned by {', '.join(ALIGN)}")
    align = "iter"
targets: list[review.Target] = []
for ref in view.compare:
    t = review.target_of(ref)
    if t is None:
        notices.append(f"URL parameter compare={str(ref)[:80]!r} ignored: not an upload id after 'upload:'")
    else:
        targets.append(t)
common.show_notices(notices)


@dataclass
class Compared:
    """One compared run as it is now: its records (read them under ``lock``), summary, status, and ``key``, which
    changes whenever the run does (charts are cached on it)."""

    target: review.Target
    run: Run
    summary: RunSummary
    status: str
    lock: AbstractContextManager
    key: tuple
    live: bool
    upload_names: list[str] | None = None
    folders: int | None = None  # a joined resumed run (``::combine``): how many timestamped folders it joins


def _joined(src, runs: list[Run], fps: tuple) -> tuple[Run, RunSummary]:
    """The runs of a followed multi-run file joined into one (``analysis.combine``), once per state of the file
    for every session (``AppState.figure`` is the shared cache)."""

    def build() -> tuple[Run, RunSummary]:
        with src.lock:
            run = combine(runs)
        return run, summarize(run, path=src.id, live=False)

    return state.figure(("compare-joined", src.id, fps), build, family=("compare-joined", src.id))


def wait_read(src) -> str | None:
    """Wait until the watcher has read a followed log (never a chart of part of it, issue 18); else the reason."""
    if not state.need_records(src, wait=READ_WAIT):
        return "the log is still being read"
    deadline = time.monotonic() + READ_WAIT
    while True:
        with src.lock:
            reading = reading_of(src)
        if reading is None:
            return None
        if time.monotonic() > deadline:
            return reading.text()
        state.watcher.wait_for_change(state.watcher.version, timeout=0.5)


def liveness_of(src) -> run_model.Liveness:
    try:
        mtime: float | None = os.stat(src.path).st_mtime
    except OSError:
        mtime = None
    return run_model.liveness(discovered_at=src.discovered_at, last_growth_at=src.last_growth_at, mtime=mtime)


def load_joined(target: review.Target, group: list[str]) -> tuple[Compared | None, str | None]:
    """A resumed run's timestamped folders as one run (``views.joined``: the Run page's ``combine=1``)."""
    for sid in group:
        src = state.watcher.get(sid)
        reason = wait_read(src) if src is not None else "no longer followed"
        if reason:
            return None, f"{one_line(sid, 200)}: {reason}"
    found = joined.joined(state, group)
    if found is None:
        return None, "no training run in its folders yet"
    key, run, summary = found
    last = state.watcher.get(group[-1])
    lv = liveness_of(last) if last is not None else run_model.Liveness(False, None, "watcher")
    status, _, live = joined.status(summary, lv, time.time())
    return Compared(target, run, summary, status, nullcontext(), ("joined", tuple(group), key), live,
                    folders=len(group)), None


def load_followed(target: review.Target, src) -> tuple[Compared | None, str | None]:
    """A run of a log the watcher follows (the Run page's records, growing)."""
    if target.combine and (group := joined.group_of(state, src.id)) is not None:
        return load_joined(target, group)
    reason = wait_read(src)
    if reason:
        return None, reason
    with src.lock:
        runs = list(src.runs)
        fps = (src.generation, tuple(fingerprint(r, src.generation) for r in runs))
    if not runs:
        return None, "no training run in it yet"
    lv = liveness_of(src)
    summaries = state.run_summaries(src)
    index = target.index if target.index is not None and target.index < len(runs) else None
    if index is None and len(runs) == 1:
        index = 0
    if index is not None and index < len(summaries):
        run, (summary, gap), lock = runs[index], summaries[index], src.lock
        is_last = index == len(runs) - 1
    else:  # the runs of the file joined into one (as an upload of several files)
        (run, summary), gap, lock, is_last = _joined(src, runs, fps), None, nullcontext(), True
    status, _ = run_model.live_status(summary.status, summary.status_reason, live=lv.live, is_last_run=is_last,
                                      now=time.time(), last_update=lv.last_update, median_gap=gap)
    live = run_model.log_is_live(lv, summary, is_last)
    return Compared(target, run, summary, status, lock, ("root", src.id, index, fps), live), None


def load(target: review.Target) -> tuple[Compared | None, str | None]:
    if target.kind == "root":
        found = state.lookup(target.id)
        if found.source is not None:
            return load_followed(target, found.source)
    rev, reason = common.open_target(target)  # an upload, or a log the watcher does not follow (with the reason)
    run = rev.run(target.index) if rev is not None else None
    if rev is None or run is None:
        return None, reason or "no training run in it"
    summary = common.summary_of(rev, target.index)
    assert summary is not None
    names = [f.name for f in rev.files] if target.kind == "upload" else None
    return Compared(target, run, summary, summary.status, nullcontext(), ("review", id(rev), target.index), False,
                    names), None


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
for group in joined.groups(state):  # a resumed run's timestamped folders as one run (the Run page's combine=1)
    labels[joined.compare_ref(group)] = joined.group_name(group)
for t in targets:
    labels.setdefault(str(t), str(t) if t.kind == "root" else f"upload {t.id[:8]}" +
                      ("" if t.index is None else f" run {t.index}"))

common.seed(SCOPE, {"cmp_runs": [str(t) for t in targets], "cmp_align": align,
                   "cmp_smoothing": float(view.smoothing), "cmp_log_y": bool(view.log_y),
                   "cmp_live": bool(view.live)})
for ref in st.session_state.get("cmp_runs", []):
    labels.setdefault(ref, ref)
options = list(labels)

chosen = st.multiselect("Runs to compare", options, key="cmp_runs", format_func=lambda r: one_line(labels[r], 200),
                        max_selections=MAX_COMPARE, placeholder="Choose two or more runs")
st.text_input("Add an upload by its permalink or id", key="cmp_add", on_change=add_upload,
              placeholder="http://…/run?upload=… or the 24-character id")
if st.session_state.pop("_cmp_add_error", None):
    st.warning("No upload with that id or permalink on this server.")


def load_all() -> list[Compared]:
    out = []
    for ref in chosen:
        target = review.target_of(RunRef.parse(ref))
        if target is None:
            continue
        item, reason = load(target)
        if item is None:
            st.warning("This run cannot be shown:")
            st.text(f"{one_line(ref, 200)}: {reason or 'no training run in it'}")
            continue
        if target.combine and item.folders is None:
            st.text(f"{one_line(ref, 200)}: shown alone, '::combine' left out: the log is not part of a resumed run "
                    "(the timestamped folders of one work_dir whose later runs resumed the earlier ones)")
        out.append(item)
    return out


if chosen:
    preload_plotly()  # compiled in the browser while the runs are read and their models built
loaded = load_all()
# Raw text (one line): the table shows it literally, compare.figure makes it literal for plotly.
run_labels = compare.run_labels([(c.target, c.upload_names) for c in loaded], folders=[c.folders for c in loaded])

metric_options = compare.metric_options([c.run for c in loaded])
wanted = [m for m in view.metrics if m in metric_options] or (
    [compare.default_metric(metric_options)] if metric_options else [])
if loaded and len(loaded) == len(chosen):
    unknown = [m for m in view.metrics if m not in metric_options]
    if unknown and common.canonical(common.query_dict()) != st.session_state.get(f"_url_{SCOPE}"):
        st.text("Not logged by any of these runs (left out): " + ", ".join(one_line(m, 80) for m in unknown))
common.seed(SCOPE, {"cmp_metrics": wanted})
current = [m for m in st.session_state.get("cmp_metrics", []) if m in metric_options]
if not current and metric_options:  # runs were just picked: start from the usual metric
    current = [compare.default_metric(metric_options)]
if current != st.session_state.get("cmp_metrics"):
    st.session_state["cmp_metrics"] = current
metrics = st.multiselect("Metrics", metric_options, key="cmp_metrics", max_selections=MAX_METRICS,
                         help="Train fields and validation metrics of the chosen runs: a chart each")
c = st.columns([3, 3, 1, 1], vertical_alignment="bottom")
align = c[0].radio("Align by", list(ALIGN), key="cmp_align", horizontal=True, format_func=ALIGN_LABELS.get)
smoothing = c[1].slider("Smoothing (EMA weight)", 0.0, MAX_SMOOTHING, step=0.01, key="cmp_smoothing")
log_y = c[2].checkbox("log y", key="cmp_log_y")
live = c[3].toggle("Live", key="cmp_live", help="Refresh while a compared log grows.")

out = to_query(ViewState(metrics=list(metrics), smoothing=float(smoothing), x_axis=str(align), log_y=bool(log_y),
                         live=bool(live), compare=[RunRef.parse(r) for r in chosen]))
common.write_query(out, SCOPE)

if len(loaded) < 2:
    st.info("Choose two or more runs (logs under the log roots, or uploads) to overlay them.")
    st.stop()
if not metrics:
    st.info("Choose a metric.")
    st.stop()

timed = bool(live) and any(c.live for c in loaded)
refs = tuple(str(c.target) for c in loaded)


def chart_config(m: str) -> dict:
    """A chart's plotly config: the camera button's file says what it holds, ``compare.<metric>.by-<align>.png``
    (it was ``compare.png`` for every chart)."""
    name = exports.download_name("compare", f".{m}.by-{align}")
    return {"displaylogo": False, "toImageButtonOptions": {"format": "png", "filename": name, "scale": 2}}


runs_drawn = {"table": 0, "charts": 0}


def current(part: str) -> list[Compared]:
    """The runs as the full run loaded them (a fragment's first draw), then as they are at each refresh."""
    runs_drawn[part] += 1
    return loaded if runs_drawn[part] == 1 else [c for c in (load(x.target)[0] for x in loaded) if c is not None]


def chart(items: list[Compared], m: str):
    """The figure of metric ``m``, built once per state of the runs and settings (shared by every session)."""
    is_train = any(m in c.run.train.field_names for c in items)
    settings = (m, str(align), float(smoothing) if is_train else 0.0, bool(log_y), tuple(run_labels))

    def build():
        frames = []
        for label, item in zip(run_labels, items):
            with item.lock:
                frames.append((label, compare.metric_frame(item.run, m, item.summary.iters_per_epoch)))
        return compare.figure(frames, m, align=str(align), smoothing=settings[2], log_y=bool(log_y),
                              uirevision=f"compare-{m}")

    family = ("compare", refs, settings)
    payload = state.figure(("compare", refs, tuple(c.key for c in items), settings),
                           lambda: chart_stream.chart_payload(build()), family=family)
    return payload, repr(family)


def draw(items: list[Compared], m: str, key: str) -> None:
    payload, identity = chart(items, m)
    live_chart(payload, key=key, identity=identity, config=chart_config(m))


@st.fragment(run_every=TABLE_INTERVAL if timed else None)
def live_table() -> None:
    items = current("table")
    if len(items) != len(loaded):
        return
    table = compare.compare_table([(label, c.run, c.summary) for label, c in zip(run_labels, items)],
                                  list(metrics), statuses=[c.status for c in items], locks=[c.lock for c in items])
    st.dataframe(table, hide_index=True, width="stretch", height=38 + 35 * min(len(table), 24))
    st.caption("s/iter: median over the run; samples/s: batch x GPUs / recent s/iter; final: the last logged "
               "value; best: lowest for losses, errors and times, highest otherwise; wall time: first to last "
               "record on the log's clock.")
    if timed:
        live_page.footer(f"table every {TABLE_INTERVAL:g} s, charts every {CHARTS_INTERVAL:g} s;")


@st.fragment(run_every=CHARTS_INTERVAL if timed else None)
def live_charts() -> None:
    items = current("charts")
    if len(items) != len(loaded):
        return
    # The first chart across the page, the others two by two (each sent as soon as it is built); with many runs,
    # whose legend is a column beside the chart, one a row.
    draw(items, metrics[0], "cmp_chart_0")
    others = list(enumerate(metrics))[1:]
    per_row = 1 if len(items) > compare.MANY_RUNS else 2
    for i in range(0, len(others), per_row):
        for col, (k, m) in zip(st.columns(per_row), others[i:i + per_row]):
            with col:
                draw(items, m, f"cmp_chart_{k}")
    st.caption(f"Each trace holds at most {compare.points_per_trace(len(items)):,} points (MinMaxLTTB). "
               "PNG: use the camera button in a chart's toolbar.")


live_table()
live_charts()
if timed:
    live_page.watchdog(STALE_AFTER)

st.subheader("Configuration differences")
with_config = []
for label, item in zip(run_labels, loaded):
    with item.lock:
        with_config.append((label, item.run.header.config_text))
diff, without = compare.config_diff(with_config)
if len(with_config) - len(without) < 2:
    st.text("Fewer than two of these runs have a config dump in their log: nothing to compare.")
elif diff.empty:
    st.text(f"The config dumps of these {len(with_config) - len(without)} runs set the same values.")
else:
    st.dataframe(diff, hide_index=True, width="stretch",
                 height=min(38 + 35 * len(diff), 560),
                 column_config={"key": st.column_config.TextColumn("key", width="medium")})
    differ = "settings differ" if len(diff) != 1 else "setting differs"
    st.caption(f"{len(diff)} {differ} (nested keys dotted; {compare.NOT_SET}: the run's config does not set "
               f"it; {compare.NOT_READ}: a value the reader does not work out, such as a name the dump does not "
               "define). From the config dump each log prints at its start.")
if without:
    st.text("No config dump in: " + ", ".join(one_line(w, 80) for w in without))
