"""Resumed runs shown as one: the timestamped folders of one work_dir whose later runs resumed the earlier ones
(a crash, then ``resume=True``: MMEngine starts a new ``<work_dir>/<YYYYMMDD_HHMMSS>/`` folder and log), joined
by ``dashboard.analysis.combine`` as ``python -m dashboard report --combine`` joins its files. No Streamlit here.

Which folders are one run: ``dashboard.live.launches.resumed_groups`` (a folder whose first run resumed
continues the folder before it; only groups of two or more folders are joined).

The Runs page shows a group as one row when its switch is on (``combine=1``), and its link opens the Run page of
the group's last log with ``combine=1``: the joined run, live while that log grows. The joined run and its
summary are built once per state of the group's logs for every session (``AppState.figure``, the shared cache).
Compare takes the joined run whole as ``<last log>::combine`` (``compare_ref``; ``url_state.RunRef``).
"""

from __future__ import annotations

from collections.abc import Sequence

from dashboard.analysis import RunSummary, combine, summarize
from dashboard.live.launches import Folder, resumed_groups
from dashboard.views.app_state import AppState, fingerprint
from dashboard.views.run_model import Liveness, RunModel, RunSource, build_run_model, live_status, log_is_live
from dashboard.views.url_state import RunRef
from dashboard.views.url_state import run_href as _run_href

#: The Run page's and Runs page's URL key: ``combine=1`` joins the resumed folders.
URL_KEY = "combine"
#: How long a page waits for the watcher to read a log of a group that the summary cache let it leave unread.
READ_WAIT = 30.0


def folders(state: AppState, sources=None) -> list[Folder]:
    """The timestamped text logs the watcher follows, each with whether its first run resumed."""
    out = []
    for src in sources if sources is not None else state.watcher.sources():
        layout = src.layout
        if layout is None or layout.role != "text":
            continue
        summaries = state.run_summaries(src)
        resumed = bool(summaries) and summaries[0][0].resumed_from_iter is not None
        out.append(Folder(src.id, layout.work_dir, layout.timestamp, resumed))
    return out


def groups(state: AppState, sources=None) -> list[list[str]]:
    return resumed_groups(folders(state, sources))


def group_of(state: AppState, source_id: str) -> list[str] | None:
    """The group whose folders include ``source_id`` (None: the log is not part of a resumed run)."""
    return next((g for g in groups(state) if source_id in g), None)


def folders_joined(count: int | None) -> str:
    """``N folders joined``: how a joined run says what it is (row names, Compare's labels)."""
    return "folders joined" if count is None else f"{count} folders joined"


def group_name(group: Sequence[str]) -> str:
    """``<root label>/<work_dir> · N folders joined (resumed run)`` (the Runs page's row name)."""
    last = group[-1].split("/")
    work_dir = "/".join(last[:-2]) if len(last) > 2 else group[-1]
    return f"{work_dir} · {folders_joined(len(group))} (resumed run)"


def run_href(last_source_id: str, base: str | None = None) -> str:
    """The Run page of a group's joined run: its last log, with ``combine=1`` (under the app's path prefix
    ``base``, ``url_state.page_href``)."""
    return f"{_run_href(last_source_id, None, base)}&{URL_KEY}=1"


def compare_ref(group: Sequence[str]) -> str:
    """The Compare page's reference to a group's joined run: ``<last log>::combine`` (``url_state.RunRef``)."""
    return str(RunRef(group[-1], combine=True))


def status(summary: RunSummary, last_log: Liveness, now: float) -> tuple[str, str, bool]:
    """``(status, reason, live)`` of a joined run: its summary's status, running or stalled while its last log
    grows (``run_model.live_status``; ``last_log``: that log's liveness)."""
    shown, reason = live_status(summary.status, summary.status_reason, live=last_log.live, is_last_run=True,
                                now=now, last_update=last_log.last_update, median_gap=None)
    return shown, reason, log_is_live(last_log, summary, True)


def _sources(state: AppState, group: Sequence[str]):
    found = [state.watcher.get(i) for i in group]
    return [s for s in found if s is not None]


def _state_of(sources) -> tuple:
    out = []
    for src in sources:
        with src.lock:
            out.append((src.id, src.generation, tuple(fingerprint(r, src.generation) for r in src.runs)))
    return tuple(out)


def joined(state: AppState, group: Sequence[str]) -> tuple[tuple, object, RunSummary] | None:
    """``(state key, joined run, its summary)`` of a group's logs as they are now, or None (no records yet)."""
    sources = _sources(state, group)
    if not sources or not all(state.need_records(s, wait=READ_WAIT) for s in sources):
        return None
    key = _state_of(sources)

    def build():
        parts = []
        for src in sources:
            with src.lock:  # one log at a time: each is copied (combine never keeps the parser's arrays)
                if src.runs:
                    parts.append(combine(src.runs))
        if not parts:
            return None
        run = combine(parts)
        return run, summarize(run, path=group_name(group), live=False)

    built = state.figure(("joined-run", tuple(group), key), build, family=("joined-run", tuple(group)))
    return None if built is None else (key, built[0], built[1])


def joined_model(state: AppState, group: Sequence[str], kind: str) -> RunModel | None:
    """The Run page's model of the joined run (``run_index`` None: one run made of the folders)."""
    found = joined(state, group)
    if found is None:
        return None
    key, run, summary = found
    title = group_name(group)
    sources = _sources(state, group)
    gpu = state.gpu_input(sources[-1]) if sources else None  # the work_dir's GPU log (issue 13)
    key = (key, gpu and gpu.fingerprint)

    def build() -> RunModel:
        return build_run_model(run, RunSource("root", group[-1], title, kind), run_index=None,
                               choices=[(None, title)], fingerprint=key, is_last_run=True,
                               summarize_fn=lambda _run: summary, gpu=gpu)

    return state.figure(("joined-model", tuple(group), key), build, family=("joined-model", tuple(group)))
