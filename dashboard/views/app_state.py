"""The dashboard's process-wide state: where the logs are, the one ``LogWatcher``, the live demo, and the
caches every browser session shares. No Streamlit here (``dashboard/ui/common.py`` holds the one
``st.cache_resource`` that creates an ``AppState`` per process and configuration).

Configuration, first match wins (``config_from``):

1. ``streamlit run app.py -- --logs DIR [DIR...]`` (``sys.argv`` after Streamlit's ``--``);
2. ``MMDASH_ROOTS`` (``os.pathsep``-separated);
3. the bundled ``sample_logs`` plus a *live demo* root: ``DEMO_SOURCE`` is replayed (``dashboard.live.replay``)
   into a temporary folder at a pace where a new train line arrives every ~0.6 s, looping, so a newcomer sees
   the live view at once. ``MMDASH_DEMO=0`` turns the demo off; it is never on with 1. or 2.

Threads: the watcher's own threads and the demo's replay thread never call Streamlit. Page scripts (one
thread per browser session) call ``AppState`` methods; everything shared is guarded by locks, and a run's
records are only read while holding its source's ``lock`` (see ``dashboard.live.watcher``).

Caches (bounded, keyed on the watcher's versions, never on a growing DataFrame):

- ``run_summaries``: one ``RunSummary`` per (source id, run index), rebuilt when the source's ``version``
  changed. Summaries are computed with ``live=False`` (so they do not depend on the clock) and the page
  overlays running/stalled with ``run_model.live_status``.
- ``figure``: a built chart per (run, its fingerprint, chart, settings): sessions that look at the same run with
  the same settings share it (the default view of a live run is built once per change, not once per session),
  and a chart younger than ``FIGURE_REUSE`` seconds stands for its run's newer states too (at most one build per
  chart and ``FIGURE_REUSE`` seconds however many sessions, each ticking at its own moment, show a fast log).
- ``run_model``: the ``views.run_model.RunModel`` of the run a page shows (the same model an upload gets),
  single-flight per run so five
  sessions on one live run build it once per version. A model is reused for ``max(MIN_AGE, MODEL_THROTTLE`` x
  its build time) even when its run grew meanwhile: that bounds the builds of a fast log watched by many sessions
  (at most ~2 a second) and the CPU a big live run costs (a run of a million lines builds in ~1 s). A model no page
  asked for in ``MODEL_IDLE`` seconds is dropped (its frame is most of a big run's memory beside its records).

Counters (``stats()``) say how often each was built or reused and how many bytes the tailers fed their
parsers, so a benchmark can check that N sessions do not mean N parses.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import tempfile
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import TypeVar
from urllib.parse import unquote

from dashboard.analysis import RunSummary, summarize
from dashboard.analysis.timing import time_stats
from dashboard.charts import plotly_js
from dashboard.live.deferred import DeferredTailer
from dashboard.live.gpu_logs import GpuFollower, find_gpu_logs
from dashboard.live.launches import earlier_of, walk_back
from dashboard.live.memory import BIG_MODEL, give_back, tune_for_server
from dashboard.live.parse_cache import MIN_BYTES as PARSE_CACHE_MIN_BYTES
from dashboard.live.parse_cache import ParseCache
from dashboard.live.replay import ReplayThread
from dashboard.live.roots import (
    DEFAULT_ROOT,
    UnsafePath,
    configured_roots,
    resolve_under_root,
    roots_from_env,
    split_source_id,
)
from dashboard.live.tailer import Tailer
from dashboard.live.watcher import LogWatcher, Source
from dashboard.views.gpu_view import GpuInput
from dashboard.views.run_model import FileRestart, Reading, RunModel, RunSource, build_run_model, run_label
from dashboard.views.summary_cache import Entry, SummaryCache
from dashboard.views.url_state import check_source_id
from parsers import Run

T = TypeVar("T")
ENV_DEMO = "MMDASH_DEMO"
DEMO_SOURCE = DEFAULT_ROOT / "llm_sft_len_grouped" / "20260314_090000" / "20260314_090000.log"
DEMO_ROOT_NAME = "live-demo"
DEMO_RELATIVE = "llm_sft_len_grouped/20260314_090000/20260314_090000.log"
#: The sample run logs a line every ~120 s of its clock: 200x faster, capped at 0.8 s, is one every ~0.6 s.
DEMO_SPEED = 200.0
DEMO_MAX_GAP = 0.8

MAX_MODELS = 6  # run models kept (each holds a train frame: ~100 MB for a run of a million records)
MAX_FIGURES = 64  # built charts kept (each at most a few traces of 4,000 points)
MODEL_THROTTLE = 2.0
#: A run model no page asked for in this long is dropped (its frames are most of a big run's memory beside its
#: records); the next page that shows the run builds it again.
MODEL_IDLE = 600.0
#: A log nobody needed the records of for this long, unchanged for as long, has its records given back
#: (``park_idle``): the Runs page keeps its summaries from the summary cache, and a page that needs the records
#: again loads them from the parse cache (a big log) or reads the log again (a small one).
PARK_IDLE = 600.0
#: A model or summary this young is reused even when its run grew: N sessions ticking at different moments on
#: a fast-growing log then cost at most ~1/MIN_AGE builds a second, not N.
MIN_AGE = 0.5
#: A chart this young is reused for a newer model of its run (``AppState.figure``'s ``family``): building one costs
#: up to ~0.1 s on a run of a million records (smoothing and downsampling; the figure is a dict, no plotly
#: validation), so a run that grows all the time costs at most one build per chart a second however many sessions
#: show it; a point waits at most this long for its chart (the live goal: 1 s at p95).
FIGURE_REUSE = 1.0
WATCHER_READY_TIMEOUT = 120.0
#: How long a caller of ``need_records`` waits by default for the watcher to read a log to its end.
PARSE_WAIT = 120.0
#: How long a Run page waits for that before it shows the log as it is read (a progress bar, no chart).
FIRST_VIEW_WAIT = 3.0
#: A log is written to the summary cache once it is read to its end and its mtime is this old (a live log is not);
#: at most once every ``STORE_RETRY`` seconds per log.
SETTLED = 10.0
STORE_RETRY = 30.0
#: A log still being written has its parse saved to the parse cache at most this often (a settled one once).
LIVE_PARSE_SAVE = 600.0
WARM_PAUSE = 0.05
#: Seconds between looks for a GPU log beside a log that has none yet (``live.gpu_logs``).
GPU_LOOK_EVERY = 10.0


# ------------------------------------------------------------------------------------------ configuration


def parse_logs_args(argv: Sequence[str]) -> tuple[list[str] | None, list[str]]:
    """The directories given with ``--logs DIR [DIR...]`` (or ``--logs=DIR``) and notes on what was ignored.

    ``argv`` is ``sys.argv``: under ``streamlit run app.py -- --logs A B`` it is ``["app.py", "--logs", "A",
    "B"]``. Other arguments are ignored (under pytest ``sys.argv`` is pytest's). ``None`` when ``--logs`` is
    absent; a ``--logs`` with no directory after it is a note, not an error.
    """
    roots: list[str] | None = None
    notes: list[str] = []
    args = list(argv[1:])
    i = 0
    while i < len(args):
        a = args[i]
        if a == "--logs" or a.startswith("--logs="):
            roots = roots if roots is not None else []
            if a.startswith("--logs="):
                value = a.split("=", 1)[1]
                if value:
                    roots.append(value)
            i += 1
            while i < len(args) and not args[i].startswith("-"):
                roots.append(args[i])
                i += 1
            continue
        i += 1
    if roots is not None and not roots:
        notes.append("--logs was given without a directory: using the other settings")
        roots = None
    return roots, notes


@dataclass(frozen=True)
class AppConfig:
    """Where the logs come from (hashable: it keys the process-wide ``st.cache_resource``)."""

    roots: tuple[str, ...]  # directories as configured (absolute)
    roots_from: str  # "--logs", "MMDASH_ROOTS" or "default"
    demo: bool
    notes: tuple[str, ...] = ()


def config_from(argv: Sequence[str], environ: Mapping[str, str]) -> AppConfig:
    """``AppConfig`` from the command line and the environment (see the module docstring)."""
    cli, notes = parse_logs_args(argv)
    if cli:
        roots = [os.path.abspath(os.path.expanduser(p)) for p in cli]
        return AppConfig(tuple(roots), "--logs", False, tuple(notes))
    env = roots_from_env(environ)
    if env:
        roots = [os.path.abspath(os.path.expanduser(p)) for p in env]
        return AppConfig(tuple(roots), "MMDASH_ROOTS", False, tuple(notes))
    demo_off = (environ.get(ENV_DEMO) or "").strip().lower() in ("0", "false", "no", "off")
    if demo_off:
        notes.append(f"{ENV_DEMO}={environ.get(ENV_DEMO)}: the live demo is off")
    return AppConfig((str(DEFAULT_ROOT),), "default", not demo_off and DEMO_SOURCE.is_file(), tuple(notes))


# ------------------------------------------------------------------------------------------------ the demo


class DemoReplay:
    """A temporary ``live-demo`` root into which ``DEMO_SOURCE`` is replayed, looping, by a daemon thread."""

    def __init__(self, speed: float = DEMO_SPEED, max_gap: float = DEMO_MAX_GAP) -> None:
        self.base = tempfile.mkdtemp(prefix="mmdash-demo-")
        self.root = os.path.join(self.base, DEMO_ROOT_NAME)
        os.makedirs(self.root)
        self.dest = os.path.join(self.root, *DEMO_RELATIVE.split("/"))
        self.source_id = f"{DEMO_ROOT_NAME}/{DEMO_RELATIVE}"
        self.speed, self.max_gap = speed, max_gap
        self.thread: ReplayThread | None = None

    def start(self) -> None:
        if self.thread is None:
            self.thread = ReplayThread(DEMO_SOURCE, self.dest, speed=self.speed, max_gap=self.max_gap, loop=True)
            self.thread.start()

    def stop(self) -> None:
        if self.thread is not None:
            self.thread.stop(timeout=5.0)
        shutil.rmtree(self.base, ignore_errors=True)

    @property
    def error(self) -> str | None:
        err = self.thread.error if self.thread is not None else None
        return None if err is None else f"{type(err).__name__}: {err}"


# ------------------------------------------------------------------------------------------------- lookups


@dataclass(frozen=True)
class Lookup:
    """A source found for a run id from a URL, or why not (``source`` None).

    ``refusal`` is set for an id that is unsafe or outside the roots (never opened, never retried);
    ``missing`` for a well-formed id inside a root that names no followed log (yet: a run may start later).
    """

    source: Source | None
    refusal: str | None = None
    missing: str | None = None


def reading_of(src: Source) -> Reading | None:
    """How far the first read of ``src`` (of its current generation) is, while the watcher is still at it; None
    once it reached the end of the file. Hold ``src.lock`` (the parser takes it for each chunk it is fed)."""
    t = src.tailer
    if getattr(t, "deferred", False):
        return Reading(0, int(src.size))  # left unread (summary cache): read from the start when asked for
    if getattr(t, "caught_up", True):
        return None
    return Reading(int(t.offset), max(int(src.size), int(t.offset)))


def fingerprint(run: Run, generation: int) -> tuple[int, ...]:
    """Changes whenever a line is added to ``run`` (or the file starts a new generation). Call under the lock."""
    return (generation, run.index, len(run.train), len(run.evals), len(run.events), run.end_line,
            sum(run.line_kinds.values()))


def _pick(count: int, run_index: int | None) -> int | None:
    """The run shown for a requested index: that run, or the last one (None: the file holds no run)."""
    if count == 0:
        return None
    return count - 1 if run_index is None or run_index >= count else run_index


@dataclass
class _SummaryEntry:
    fingerprint: tuple[int, ...]
    summary: RunSummary
    median_record_gap: float | None
    built_at: float
    build_seconds: float


@dataclass
class Counters:
    summaries_built: int = 0
    summaries_reused: int = 0
    models_built: int = 0
    models_reused: int = 0
    models_throttled: int = 0
    models_dropped: int = 0  # run models no page asked for in MODEL_IDLE seconds
    logs_parked: int = 0  # logs whose records were given back (PARK_IDLE; read again when a page needs them)
    figures_built: int = 0
    figures_reused: int = 0
    figures_throttled: int = 0
    model_build_seconds: float = 0.0
    summaries_loaded: int = 0  # run summaries taken from the summary cache (their logs were not read)
    summaries_kept: int = 0  # run summaries of the summary cache kept once their log was read (it had not changed)
    live_recoveries: int = 0  # live pages whose browser lost its refresh timer and got it back (ui.live)


class AppState:
    """One per process and configuration: the watcher, the demo, the shared caches (see module docstring)."""

    def __init__(self, config: AppConfig, *, watcher: LogWatcher | None = None, start: bool = True,
                 demo: DemoReplay | None = None, summary_cache: SummaryCache | None = None,
                 parse_cache: ParseCache | None = None) -> None:
        self.config = config
        self.notes: list[str] = list(config.notes)
        self.demo = demo if demo is not None else (DemoReplay() if config.demo else None)
        roots = list(config.roots) + ([self.demo.root] if self.demo is not None else [])
        self.roots = configured_roots(roots)
        self.summary_cache = summary_cache
        self.parse_cache = parse_cache
        self._parse_saved: dict[str, float] = {}  # log path -> when its parse was last saved (time.monotonic)
        self._disk: dict[str, Entry] = {}  # log path -> its summary cache entry, for the logs left unread
        self._stored: dict[str, tuple[int, int]] = {}  # log path -> (size, mtime_ns) last written to the cache
        self._store_tried: dict[str, float] = {}
        if watcher is None:
            tailer = Tailer if parse_cache is None else partial(Tailer, parse_cache=parse_cache)
            factory = tailer if summary_cache is None else partial(DeferredTailer, known=self._known, factory=tailer)
            watcher = LogWatcher(self.roots, tailer_factory=factory)
        self.watcher = watcher
        self.started_at = time.time()
        self._lock = threading.Lock()
        self._summaries: dict[tuple[str, int], _SummaryEntry] = {}
        self._by_source: dict[str, tuple[int, tuple[tuple[RunSummary, float | None], ...]]] = {}
        self._models: OrderedDict[tuple[str, int], RunModel] = OrderedDict()
        self._model_used: dict[tuple[str, int], float] = {}  # key -> when a page last asked for it (monotonic)
        self._records_used: dict[str, float] = {}  # source id -> when a reader last needed its records (monotonic)
        self._flights: dict[tuple, threading.Lock] = {}
        self._figures: OrderedDict[tuple, object] = OrderedDict()
        self._families: dict[tuple, tuple[float, tuple]] = {}  # chart family -> (built at, key of its chart)
        self._gpu: dict[str, tuple[float, GpuFollower | None, int]] = {}  # source id -> (looked at, follower, found)
        self.counters = Counters()
        self._closed = False
        #: The alert engine the ui starts beside this state (``dashboard.alerts``; it reads this state's summaries),
        #: stopped by ``close()``. None: not started (tests, ``python -m dashboard watch`` holds its own).
        self.alerts = None
        self._stop = threading.Event()
        self._store_lock = threading.Lock()
        if start:
            self.start()

    # -- life cycle -------------------------------------------------------------------------------------
    def start(self) -> None:
        # Summaries are built beside the watcher's first scan, as the logs are read, so the Runs page finds them
        # ready once the scan is done (logs left unread have theirs from the summary cache).
        threading.Thread(target=self._summaries_worker, name="mmdash-summaries", daemon=True).start()
        self.watcher.start(wait=True, timeout=WATCHER_READY_TIMEOUT)
        if self.demo is not None:
            self.demo.start()  # after the first scan: the demo log appears, and grows, while watched

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._stop.set()
        if self.alerts is not None:
            self.alerts.stop()
        self.watcher.stop()
        if self.demo is not None:
            self.demo.stop()

    def _summaries_worker(self) -> None:
        """Summarize every log as the first scan reads it; then, every ``STORE_RETRY`` seconds, write the
        summaries of logs that settled to the summary cache (whether or not a page asks for them: a log read to
        its end after the first pass, e.g. a big one a page asked for, is summarized here) and then their parses
        to the parse cache, and drop the run models no page asked for in ``MODEL_IDLE`` seconds. A restart then
        finds both caches for a log, leaves it unread and keeps its summaries when a page reads it."""
        seen: dict[str, int] = {}
        while not self._closed:
            ready = self.watcher.ready  # read first: the pass below then covers everything the scan found
            for src in self.watcher.sources():
                # a log is summarized once read to its end (or left unread: its summaries are in the cache)
                unread = getattr(src.tailer, "deferred", False)
                if seen.get(src.id) != src.version and (unread or reading_of(src) is None):
                    self.run_summaries(src)
                    seen[src.id] = src.version
            if ready:
                break
            time.sleep(WARM_PAUSE)
        give_back()  # what summarizing every log left freed
        self._save_parses()
        while not self._stop.wait(STORE_RETRY):
            for src in self.watcher.sources():
                with self._lock:
                    cached = self._by_source.get(src.id)
                if cached is not None and cached[0] == src.version:
                    self._maybe_store(src, cached)
                elif self._settled_unsummarized(src):
                    self.run_summaries(src)  # writes them (``_maybe_store``)
            self._save_parses()
            self.drop_idle_models()
            self.park_idle()

    def _settled_unsummarized(self, src: Source) -> bool:
        """A log read to its end and not changed for ``SETTLED`` seconds whose summaries of this state are
        neither built nor in the summary cache."""
        if self.summary_cache is None or getattr(src.tailer, "deferred", False):
            return False
        with src.lock:
            if reading_of(src) is not None:
                return False
        try:
            st = os.stat(src.path)
        except OSError:
            return False
        return time.time() - st.st_mtime >= SETTLED and self._stored.get(src.path) != (st.st_size, st.st_mtime_ns)

    # -- the parse cache (a big log is not parsed again at the next start) --------------------------------
    def _save_parses(self) -> None:
        for src in self.watcher.sources():
            if self._stop.is_set():
                return
            self.save_parse(src)

    def save_parse(self, src: Source) -> bool:
        """Write the parse of ``src`` to the parse cache when it is read to its end, and the log has not changed for
        ``SETTLED`` seconds or its parse was last saved more than ``LIVE_PARSE_SAVE`` seconds ago; True when
        written (``Tailer.save_parse`` skips small logs and a state already written)."""
        t = src.tailer
        if self.parse_cache is None or getattr(t, "deferred", False) or not hasattr(t, "save_parse"):
            return False
        try:
            settled = time.time() - os.stat(src.path).st_mtime >= SETTLED
        except OSError:
            return False
        now = time.monotonic()
        with self._lock:
            last = self._parse_saved.get(src.path)
        if not settled and last is not None and now - last < LIVE_PARSE_SAVE:
            return False
        saved = t.save_parse()
        give_back()  # the pickled copy of the parse was freed (``live.memory``)
        if not saved:
            return False
        with self._lock:
            self._parse_saved[src.path] = now
        return True

    # -- the summary cache (logs that did not change since the last start are not read) -------------------
    def _known(self, path: str, st: os.stat_result) -> bool:
        """The deferred tailer's question at a log's first look: are its summaries in the cache for this stat?"""
        entry = self._take_from_disk(path, st)
        if entry is None:
            return False
        self.counters.summaries_loaded += len(entry.summaries)
        return True

    def _take_from_disk(self, path: str, st: os.stat_result) -> Entry | None:
        """The summary cache's entry for ``path`` at stat ``st``, kept for ``_from_disk`` (a log left unread or
        parked shows these), or None."""
        entry = self.summary_cache.get(path, st) if self.summary_cache is not None else None
        if entry is not None:
            with self._lock:
                self._disk[path] = entry
                self._stored[path] = (entry.size, entry.mtime_ns)
        return entry

    def _from_disk(self, src: Source) -> list[tuple[RunSummary, float | None]] | None:
        """The cached summaries of a log left unread, or None (and the log is asked for) when they do not fit."""
        if not getattr(src.tailer, "deferred", False):
            return None
        with self._lock:
            entry = self._disk.get(src.path)
        if entry is not None and entry.source_id == src.id:
            return list(entry.summaries)
        self.need_records(src, wait=0.0)  # another id for the same file (roots changed): read it
        return []

    def need_records(self, src: Source, wait: float = PARSE_WAIT) -> bool:
        """Make sure the watcher reads a log it left unread (summary cache) and wait up to ``wait`` seconds until
        the log is read to its end (``reading_of`` is None); True when it is. A big log is read in pieces and the
        parser takes the lock per chunk, so "not behind" alone could be the middle of a read."""
        t = src.tailer
        with self._lock:
            self._records_used[src.id] = time.monotonic()
        if getattr(t, "deferred", False):
            t.want()
            self.watcher.refresh()  # the worker looks at every file now: this one is read from the start
        elif hasattr(t, "want"):
            t.want()  # a park asked for and not done yet is called off
        deadline = time.monotonic() + wait
        while getattr(t, "deferred", False) or t.behind or not getattr(t, "caught_up", True):
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            self.watcher.wait_for_change(self.watcher.version, timeout=min(0.5, left))
        return True

    def _maybe_store(self, src: Source, built: tuple[int, tuple]) -> None:
        """Write ``built`` = (source version, summaries) of a log that is read to its end, still at that version,
        and has not changed for ``SETTLED`` seconds."""
        cache = self.summary_cache
        if cache is None or not built[1]:
            return
        with self._store_lock:  # the page's thread and the summaries worker: one writer
            self._store(cache, src, built)

    def _store(self, cache: SummaryCache, src: Source, built: tuple[int, tuple]) -> None:
        version, summaries = built
        now = time.time()
        with self._lock:
            if now - self._store_tried.get(src.path, 0.0) < STORE_RETRY:
                return
        try:
            st = os.stat(src.path)
        except OSError:
            return
        if self._stored.get(src.path) == (st.st_size, st.st_mtime_ns):
            return
        with src.lock:
            complete = (src.version == version and getattr(src.tailer, "offset", None) == src.size == st.st_size
                        and reading_of(src) is None)
        if not complete:  # the worker is reading it: look again at the next call
            return
        if now - st.st_mtime < SETTLED:  # being written: not before STORE_RETRY seconds
            with self._lock:
                self._store_tried[src.path] = now
            return
        if cache.put(src.path, src.id, st, summaries):
            with self._lock:
                self._stored[src.path] = (st.st_size, st.st_mtime_ns)

    @property
    def cache_notes(self) -> list[str]:
        return ((list(self.summary_cache.notes) if self.summary_cache is not None else [])
                + (list(self.parse_cache.notes) if self.parse_cache is not None else []))

    # -- finding a run ----------------------------------------------------------------------------------
    def lookup(self, source_id: str) -> Lookup:
        """The followed source a root-relative id names, or a refusal that says why.

        Checked in this order, and nothing is opened before all pass: the id's shape
        (``url_state.check_source_id``: no NUL, control characters, backslash, absolute path or ``..``), its
        root label, the path inside the root (``roots.resolve_under_root``: realpath inside the root's
        realpath, so symlinks leaving the root are refused), and finally the watcher must follow it (only
        log files found under the roots are followed). An id that still holds percent-encoding of ``..``, a NUL
        or a slash-led path after one more decoding is refused too (double-encoded traversal).
        """
        if not isinstance(source_id, str) or not source_id:
            return Lookup(None, "no run id was given")
        reason = check_source_id(source_id)
        if reason:
            return Lookup(None, f"the run id {reason}")
        decoded = unquote(source_id)
        if decoded != source_id and check_source_id(decoded):  # "%2e%2e" that something may decode once more
            return Lookup(None, f"the run id, percent-decoded once more, {check_source_id(decoded)}")
        try:
            root, rel = split_source_id(source_id, self.roots)
            resolve_under_root(root, rel)
        except UnsafePath as e:
            return Lookup(None, f"the run id is not a path inside a log root: {e}")
        src = self.watcher.get(source_id)
        if src is None or not src.exists:
            return Lookup(None, missing="no training log with this id is followed under the log roots: the file "
                                        "does not exist (yet), or is not a training log")
        return Lookup(src)

    # -- summaries for the runs page --------------------------------------------------------------------
    def run_summaries(self, src: Source) -> list[tuple[RunSummary, float | None]]:
        """``(summary, median wall seconds between log lines)`` of every run in ``src``.

        Cached per run on its ``fingerprint`` (which changes whenever a line is added to that run), so the
        finished runs of a multi-run file are not summarized again while its last run grows. A summary that
        took long to build is reused for ``MODEL_THROTTLE`` x its build time even when its run grew.
        """
        version = src.version
        with self._lock:
            cached = self._by_source.get(src.id)
        if cached is not None and cached[0] == version:
            self.counters.summaries_reused += len(cached[1])
            self._maybe_store(src, cached)
            return list(cached[1])
        disk = self._from_disk(src)
        if disk is not None:
            return disk
        with self._lock:
            flight = self._flights.setdefault(("summaries", src.id), threading.Lock())
        with flight:  # the page and the warm-up thread do not summarize the same log twice
            with self._lock:
                cached = self._by_source.get(src.id)
            if cached is not None and cached[0] == src.version:
                self.counters.summaries_reused += len(cached[1])
                return list(cached[1])
            out = self._build_summaries(src)
            with self._lock:
                cached = self._by_source.get(src.id)  # there when every summary is of its run as it is now
        if cached is not None:
            self._maybe_store(src, cached)
        return out

    def summaries_current(self, src: Source) -> bool:
        """Whether ``run_summaries(src)`` gives every run of ``src`` as it is at ``src.version`` now, not a young
        summary reused while its run grew (the alerts look again later when it does not)."""
        if getattr(src.tailer, "deferred", False):  # left unread: its summaries from the cache are of the file as is
            return True
        with self._lock:
            cached = self._by_source.get(src.id)
        return cached is not None and cached[0] == src.version

    def _build_summaries(self, src: Source) -> list[tuple[RunSummary, float | None]]:
        out: list[tuple[RunSummary, float | None]] = []
        now = time.monotonic()
        exact = True  # every summary is of its run as it is now (not a young one reused)
        with src.lock, self._earlier_folders(src) as (folders, folders_key):
            version = src.version
            generation = src.generation
            runs = src.runs
            for i, run in enumerate(runs):
                key = (src.id, i)
                fp = (*fingerprint(run, generation), folders_key)
                with self._lock:
                    entry = self._summaries.get(key)
                fresh = entry is not None and (
                    entry.fingerprint == fp
                    or (entry.fingerprint[0] == generation
                        and now - entry.built_at < max(MIN_AGE, MODEL_THROTTLE * entry.build_seconds)))
                if fresh:
                    self.counters.summaries_reused += 1
                    exact = exact and entry.fingerprint == fp  # type: ignore[union-attr]
                else:
                    entry = self._run_summary(src, runs, i, fp, earlier_of(runs, i, folders), folders_key)
                out.append((entry.summary, entry.median_record_gap))  # type: ignore[union-attr]
        with self._lock:
            if exact:
                self._by_source[src.id] = (version, tuple(out))
            else:
                self._by_source.pop(src.id, None)
            for k in [k for k in self._summaries if k[0] == src.id and k[1] >= len(out)]:
                del self._summaries[k]
        return out

    def _still_on_disk(self, src: Source, count: int) -> tuple | None:
        """Under ``src.lock``: the summaries of the summary cache's entry for ``src`` when the log, read now, is
        still the file that entry is of (same size and mtime, read to that size, as many runs), else None. A
        restarted server that reads a log the cache had left unread (a page asked for its records) then does not
        summarize every run of it again."""
        with self._lock:
            entry = self._disk.get(src.path)
        if (entry is None or entry.source_id != src.id or len(entry.summaries) != count
                or getattr(src.tailer, "deferred", False) or reading_of(src) is not None
                or getattr(src.tailer, "offset", None) != entry.size):
            return None
        try:
            st = os.stat(src.path)
        except OSError:
            return None
        return entry.summaries if (st.st_size, st.st_mtime_ns) == (entry.size, entry.mtime_ns) else None

    @staticmethod
    def _summarize(src: Source, run: Run, fp: tuple, earlier: list[Run]) -> _SummaryEntry:
        t0 = time.perf_counter()
        timing = time_stats(run)
        summary = summarize(run, path=src.id, live=False, earlier=earlier, timing=timing)
        dt = time.perf_counter() - t0
        return _SummaryEntry(fp, summary, timing.median_record_gap_seconds, time.monotonic(), dt)

    def _run_summary(self, src: Source, runs: list[Run], index: int, fp: tuple, earlier: list[Run],
                     folders_key: tuple) -> _SummaryEntry:
        """Under ``src.lock``: the summary of run ``index`` of ``runs`` as it is now (fingerprint ``fp``): the one
        the summaries hold when it is of this state, else the summary cache's (``_still_on_disk``), else built now;
        kept for the summaries (the Run page's model and the Runs page's summaries of a run are one computation)."""
        key = (src.id, index)
        with self._lock:
            entry = self._summaries.get(key)
        if entry is not None and entry.fingerprint == fp:
            self.counters.summaries_reused += 1
            return entry
        disk = self._still_on_disk(src, len(runs)) if not folders_key else None
        if disk is not None:
            entry = _SummaryEntry(fp, disk[index][0], disk[index][1], time.monotonic(), 0.0)
            self.counters.summaries_kept += 1
        else:
            entry = self._summarize(src, runs[index], fp, earlier)
            self.counters.summaries_built += 1
        with self._lock:
            self._summaries[key] = entry
        return entry

    # -- a resumed run's earlier launches ----------------------------------------------------------------
    def _earlier_sources(self, src: Source) -> list[Source]:
        """The earlier timestamped folders of ``src``'s work_dir (same root), newest first, when its first run
        resumed; [] otherwise (most logs: no scan)."""
        layout = src.layout
        runs = src.runs
        if layout is None or layout.role != "text" or not runs or runs[0].resumed_from_iter is None:
            return []
        found = [s for s in self.watcher.sources()
                 if s.root is src.root and s.layout is not None and s.layout.role == "text"
                 and s.layout.work_dir == layout.work_dir and s.layout.timestamp < layout.timestamp]
        return sorted(found, key=lambda s: s.layout.timestamp, reverse=True)  # type: ignore[union-attr]

    @contextlib.contextmanager
    def _earlier_folders(self, src: Source):
        """Call under ``src.lock``. Yields ``(runs, key)``: the runs of the earlier folders that ``src``'s first run
        continues (``launches.walk_back``, the rule ``report`` applies to the files on disk), oldest first, whose
        measured pauses the ETA uses, and a key of their state for the fingerprints of what is built from them.
        A folder not read yet ends the walk (its reading is asked for; the key says so and changes once it is
        read). Their locks are held until the block ends: always after the log's own lock, a later folder's before
        an earlier one's and never the other way round, so no two threads can wait on each other."""
        key: list[tuple[str, int | None]] = []
        with contextlib.ExitStack() as held:
            def loader(s: Source):
                def load() -> list[Run] | None:
                    if not self.need_records(s, wait=0):
                        key.append((s.id, None))
                        return None
                    held.enter_context(s.lock)
                    key.append((s.id, s.version))
                    return list(s.runs)
                return load

            candidates = self._earlier_sources(src)
            runs = walk_back(bool(candidates), [loader(s) for s in candidates])
            yield runs, tuple(key)

    # -- the run page's model ---------------------------------------------------------------------------
    def run_model(self, src: Source, run_index: int | None) -> RunModel | None:
        """The model of one run of ``src`` (None: the file holds no run yet); ``run_index`` None = the last run
        (an index past the last run also gives the last run: the page says so).

        Single-flight per (source, requested index): concurrent sessions wait for one build, then share it.
        Rebuilt when the run's ``fingerprint`` changed (throttled for slow builds, see the module docstring).
        """
        key = (src.id, -1 if run_index is None else run_index)
        self.drop_idle_models()
        with self._lock:
            self._model_used[key] = time.monotonic()
        # A log the summary cache let the watcher leave unread is read now; a small one is waited for, a big one
        # is shown as it is read (the model says how far: ``reading``).
        self.need_records(src, wait=FIRST_VIEW_WAIT)
        for earlier in self._earlier_sources(src):  # a resumed launch's earlier folders: their pauses count in its ETA
            if not self.need_records(earlier, wait=FIRST_VIEW_WAIT):
                break
            with earlier.lock:
                first = earlier.runs[:1]
            if not (first and first[0].resumed_from_iter is not None):
                break
        gpu = self.gpu_input(src)
        with self._lock:
            flight = self._flights.setdefault(key, threading.Lock())
        with flight:
            with self._lock:
                cached = self._models.get(key)
            if cached is not None:
                with src.lock, self._earlier_folders(src) as (_, folders_key):
                    runs = src.runs
                    index = _pick(len(runs), run_index)
                    fp = ((fingerprint(runs[index], src.generation), len(runs), gpu and gpu.fingerprint, folders_key)
                          if index is not None else None)
                    reading = reading_of(src)
                if fp == cached.fingerprint and reading == cached.reading:
                    self.counters.models_reused += 1
                    self._touch(key)
                    return cached
                if (fp is not None and fp[0][0] == cached.fingerprint[0][0] and index == cached.run_index
                        and cached.reading is None  # a model of a log half read is never shown for longer
                        and time.monotonic() - cached.built_at < max(MIN_AGE, MODEL_THROTTLE * cached.build_seconds)):
                    self.counters.models_throttled += 1
                    self._touch(key)
                    return cached
            model = self._build_model(src, run_index, gpu)
            if model is None:
                return None
            with self._lock:
                self._models[key] = model
                self._models.move_to_end(key)
                while len(self._models) > MAX_MODELS:
                    self._models.popitem(last=False)
            self.counters.models_built += 1
            self.counters.model_build_seconds += model.build_seconds
            if len(model.frame) >= BIG_MODEL:
                give_back()  # the build's temporaries (``live.memory``)
            return model

    def drop_idle_models(self, idle: float = MODEL_IDLE) -> int:
        """Drop the run models no page asked for in ``idle`` seconds (rebuilt when a page shows the run again);
        how many were dropped."""
        old = time.monotonic() - idle
        with self._lock:
            gone = [k for k in self._models if self._model_used.get(k, 0.0) < old]
            for k in gone:
                del self._models[k]
            for k in [k for k in self._model_used if k not in self._models and self._model_used[k] < old]:
                del self._model_used[k]
        if gone:
            self.counters.models_dropped += len(gone)
            give_back()
        return len(gone)

    def park_idle(self, idle: float = PARK_IDLE) -> int:
        """Ask the watcher to give back the records of the logs nobody needed (``need_records``: a run page, a
        comparison, a joined run, a later launch's ETA) for ``idle`` seconds and that have not changed for as
        long, whose summaries are in the summary cache for the file as it is, and whose parse is in the parse
        cache when it is big enough to be kept there (``live.deferred``: parking); how many were asked. A model
        of the log still kept, a log still being read, and one whose summaries were not stored yet are left."""
        if self.summary_cache is None:
            return 0
        now = time.monotonic()
        with self._lock:
            busy = {k[0] for k in self._models} | {i for i, at in self._records_used.items() if now - at < idle}
        asked = 0
        for src in self.watcher.sources():
            t = src.tailer
            if not hasattr(t, "park") or t.deferred or src.id in busy or reading_of(src) is not None:
                continue
            try:
                st = os.stat(src.path)
            except OSError:
                continue
            if time.time() - st.st_mtime < idle or self._stored.get(src.path) != (st.st_size, st.st_mtime_ns):
                continue
            kept_from = self.parse_cache.min_bytes if self.parse_cache is not None else PARSE_CACHE_MIN_BYTES
            if st.st_size >= kept_from and not (self.parse_cache is not None and t.parse_saved):
                continue  # a big log whose parse is not on disk: opened again, it would be parsed again
            entry = self._take_from_disk(src.path, st)
            if entry is None or entry.source_id != src.id:
                continue
            t.park()
            asked += 1
        if asked:
            self.counters.logs_parked += asked
            self.watcher.refresh()  # the worker parks them at this look
        return asked

    def figure(self, key: tuple, build: Callable[[], T], family: tuple | None = None) -> T:
        """The chart cached under ``key`` (hashable: run, fingerprint, chart, settings), else ``build()`` once.

        ``family`` is the key without what grows (run, chart, settings): a chart of the same family built less than
        ``FIGURE_REUSE`` seconds ago is reused although its run grew since, so the charts of a fast log cost one
        build per chart and ``FIGURE_REUSE`` seconds however many sessions show it (each session's chart timer
        ticks at its own moment, and would otherwise see a model of its own).
        """
        with self._lock:
            flight = self._flights.setdefault(("figure", family if family is not None else key), threading.Lock())
        with flight:
            with self._lock:
                if key in self._figures:
                    self._figures.move_to_end(key)
                    self.counters.figures_reused += 1
                    return self._figures[key]  # type: ignore[return-value]
                young = self._families.get(family) if family is not None else None
                if (young is not None and young[1] in self._figures
                        and time.monotonic() - young[0] < FIGURE_REUSE):
                    self._figures.move_to_end(young[1])
                    self.counters.figures_throttled += 1
                    return self._figures[young[1]]  # type: ignore[return-value]
            fig = build()
            give_back()  # the build's temporaries: full-length arrays of a big run (``live.memory``)
            with self._lock:
                self._figures[key] = fig
                if family is not None:
                    before = self._families.get(family)
                    self._families[family] = (time.monotonic(), key)
                    if before is not None and before[1] != key:  # superseded: a growing run's older chart
                        self._figures.pop(before[1], None)
                        self._flights.pop(("figure", before[1]), None)
                while len(self._figures) > MAX_FIGURES:
                    old, _ = self._figures.popitem(last=False)
                    self._flights.pop(("figure", old), None)
                for fam in [f for f, (_, k) in self._families.items() if k not in self._figures]:
                    del self._families[fam]
                    self._flights.pop(("figure", fam), None)
                self.counters.figures_built += 1
            return fig

    def _touch(self, key: tuple[str, int]) -> None:
        with self._lock:
            if key in self._models:
                self._models.move_to_end(key)

    def gpu_input(self, src: Source) -> GpuInput | None:
        """The GPU log beside ``src`` (``live.gpu_logs``: found once, looked for again every ``GPU_LOOK_EVERY``
        seconds while there is none), read up to now."""
        now = time.monotonic()
        with self._lock:
            entry = self._gpu.get(src.id)
        if entry is None or (entry[1] is None and now - entry[0] > GPU_LOOK_EVERY):
            bound = src.root.realpath()
            found = find_gpu_logs(src.path, bound)
            entry = (now, GpuFollower(found[0], bound) if found else None, len(found))
            with self._lock:
                self._gpu[src.id] = entry
        follower = entry[1]
        if follower is None:
            return None
        table, notes, fp = follower.snapshot()
        if entry[2] > 1:
            notes.append(f"{entry[2] - 1} other GPU log(s) beside the log were not used")
        return GpuInput(os.path.basename(follower.path), table, tuple(notes), fp)

    def _build_model(self, src: Source, run_index: int | None, gpu: GpuInput | None = None) -> RunModel | None:
        # The parser appends under these locks; frames and summaries read its arrays (and the earlier launches').
        with src.lock, self._earlier_folders(src) as (folders, folders_key):
            runs = src.runs
            index = _pick(len(runs), run_index)
            if index is None:
                return None
            run = runs[index]
            choices = [(i, run_label(r, i, len(runs))) for i, r in enumerate(runs)]
            earlier = earlier_of(runs, index, folders)
            fp = fingerprint(run, src.generation)
            entry = self._run_summary(src, runs, index, (*fp, folders_key), earlier, folders_key)
            return build_run_model(
                run, RunSource("root", src.id, src.id, src.kind), run_index=index, choices=choices,
                fingerprint=(fp, len(runs), gpu and gpu.fingerprint, folders_key),
                known=(entry.summary, entry.median_record_gap),
                is_last_run=index == len(runs) - 1,
                restarts=[FileRestart(r.reason, r.detail, r.at) for r in src.restarts], lock=src.lock,
                reading=reading_of(src), gpu=gpu)

    # -- diagnostics ------------------------------------------------------------------------------------
    def stats(self) -> dict[str, object]:
        """Counters for the diagnostics panel and the benchmarks (bytes fed to parsers, cache builds/reuses)."""
        sources = self.watcher.sources()
        fed = 0
        lines = 0
        size = 0
        restarts = 0
        for s in sources:
            t = s.tailer
            fed += t.offset + sum(r.offset for r in t.restarts)
            lines += t.parser.lines
            size += s.size
            restarts += t.restart_count
        c = self.counters
        return {
            "sources": len(sources),
            "file bytes": size,
            "bytes fed to parsers": fed,
            "lines parsed": lines,
            "file restarts": restarts,
            "summaries built": c.summaries_built,
            "summaries reused": c.summaries_reused,
            "summaries from the cache": c.summaries_loaded,
            "summaries from the cache kept once read": c.summaries_kept,
            "logs left unread": sum(1 for s in sources if getattr(s.tailer, "deferred", False)),
            "cache entries written": self.summary_cache.stores if self.summary_cache is not None else 0,
            "logs resumed from the parse cache": sum(1 for s in sources if getattr(s.tailer, "resumed_at", None)),
            "parse cache entries written": self.parse_cache.stores if self.parse_cache is not None else 0,
            "run models built": c.models_built,
            "run models reused": c.models_reused,
            "run models reused while throttled": c.models_throttled,
            "run models dropped unused": c.models_dropped,
            "logs whose records were given back (parked)": c.logs_parked,
            "run model build seconds": round(c.model_build_seconds, 3),
            "charts built": c.figures_built,
            "charts reused": c.figures_reused,
            "charts reused while throttled": c.figures_throttled,
            "watcher version": self.watcher.version,
            "live pages recovered": c.live_recoveries,
        }


_CLOSERS: list[AppState] = []


def create(config: AppConfig) -> AppState:
    """A started ``AppState`` with the summary cache of ``summary_cache.default_dir()`` and the parse cache
    (``MMDASH_CACHE_DIR``); stopped at interpreter exit (and when Streamlit releases it). The server's allocator
    is tuned first (``dashboard.live.memory.tune_for_server``): this is where a dashboard server process starts."""
    allocator_note = tune_for_server()
    state = AppState(config, summary_cache=SummaryCache.from_env(), parse_cache=ParseCache.from_env())
    state.notes.append(allocator_note)
    state.notes.append(plotly_js.served().note)  # which plotly.js the charts get, and why
    _CLOSERS.append(state)
    return state


@atexit.register
def _close_all() -> None:  # pragma: no cover - interpreter exit
    for s in _CLOSERS:
        try:
            s.close()
        except Exception:  # noqa: BLE001 - exiting anyway
            pass

