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
  the same settings share it (the default view of a live run is built once per change, not once per session).
- ``run_model``: the ``views.run_model.RunModel`` of the run a page shows (the same model an upload gets),
  single-flight per run so five
  sessions on one live run build it once per version. A model is reused for ``max(MIN_AGE, MODEL_THROTTLE`` x
  its build time) even when its run grew meanwhile: that bounds the builds of a fast log watched by many sessions
  (at most ~2 a second) and the CPU a big live run costs (a run of a million lines builds in ~1 s).

Counters (``stats()``) say how often each was built or reused and how many bytes the tailers fed their
parsers, so a benchmark can check that N sessions do not mean N parses.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar
from urllib.parse import unquote

from dashboard.analysis import RunSummary, summarize
from dashboard.analysis.timing import time_stats
from dashboard.live.replay import ReplayThread
from dashboard.live.roots import (
    DEFAULT_ROOT,
    UnsafePath,
    configured_roots,
    resolve_under_root,
    roots_from_env,
    split_source_id,
)
from dashboard.live.watcher import LogWatcher, Source
from dashboard.views.run_model import FileRestart, RunModel, RunSource, build_run_model, run_label
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
#: A model or summary this young is reused even when its run grew: N sessions ticking at different moments on
#: a fast-growing log then cost at most ~1/MIN_AGE builds a second, not N.
MIN_AGE = 0.5
WATCHER_READY_TIMEOUT = 120.0


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
    figures_built: int = 0
    figures_reused: int = 0
    model_build_seconds: float = 0.0


class AppState:
    """One per process and configuration: the watcher, the demo, the shared caches (see module docstring)."""

    def __init__(self, config: AppConfig, *, watcher: LogWatcher | None = None, start: bool = True,
                 demo: DemoReplay | None = None) -> None:
        self.config = config
        self.notes: list[str] = list(config.notes)
        self.demo = demo if demo is not None else (DemoReplay() if config.demo else None)
        roots = list(config.roots) + ([self.demo.root] if self.demo is not None else [])
        self.roots = configured_roots(roots)
        self.watcher = watcher if watcher is not None else LogWatcher(self.roots)
        self.started_at = time.time()
        self._lock = threading.Lock()
        self._summaries: dict[tuple[str, int], _SummaryEntry] = {}
        self._by_source: dict[str, tuple[int, tuple[tuple[RunSummary, float | None], ...]]] = {}
        self._models: OrderedDict[tuple[str, int], RunModel] = OrderedDict()
        self._flights: dict[tuple, threading.Lock] = {}
        self._figures: OrderedDict[tuple, object] = OrderedDict()
        self.counters = Counters()
        self._closed = False
        if start:
            self.start()

    # -- life cycle -------------------------------------------------------------------------------------
    def start(self) -> None:
        self.watcher.start(wait=True, timeout=WATCHER_READY_TIMEOUT)
        if self.demo is not None:
            self.demo.start()  # after the first scan: the demo log appears, and grows, while watched

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self.watcher.stop()
        if self.demo is not None:
            self.demo.stop()

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
            return list(cached[1])
        out: list[tuple[RunSummary, float | None]] = []
        now = time.monotonic()
        exact = True  # every summary is of its run as it is now (not a young one reused)
        with src.lock:
            version = src.version
            generation = src.generation
            for i, run in enumerate(src.runs):
                key = (src.id, i)
                fp = fingerprint(run, generation)
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
                    entry = self._summarize(src, run, fp)
                    with self._lock:
                        self._summaries[key] = entry
                    self.counters.summaries_built += 1
                out.append((entry.summary, entry.median_record_gap))  # type: ignore[union-attr]
        with self._lock:
            if exact:
                self._by_source[src.id] = (version, tuple(out))
            else:
                self._by_source.pop(src.id, None)
            for k in [k for k in self._summaries if k[0] == src.id and k[1] >= len(out)]:
                del self._summaries[k]
        return out

    @staticmethod
    def _summarize(src: Source, run: Run, fp: tuple) -> _SummaryEntry:
        t0 = time.perf_counter()
        summary = summarize(run, path=src.id, live=False)
        gap = time_stats(run).median_record_gap_seconds
        dt = time.perf_counter() - t0
        return _SummaryEntry(fp, summary, gap, time.monotonic(), dt)

    # -- the run page's model ---------------------------------------------------------------------------
    def run_model(self, src: Source, run_index: int | None) -> RunModel | None:
        """The model of one run of ``src`` (None: the file holds no run yet); ``run_index`` None = the last run
        (an index past the last run also gives the last run: the page says so).

        Single-flight per (source, requested index): concurrent sessions wait for one build, then share it.
        Rebuilt when the run's ``fingerprint`` changed (throttled for slow builds, see the module docstring).
        """
        key = (src.id, -1 if run_index is None else run_index)
        with self._lock:
            flight = self._flights.setdefault(key, threading.Lock())
        with flight:
            with self._lock:
                cached = self._models.get(key)
            if cached is not None:
                with src.lock:
                    runs = src.runs
                    index = _pick(len(runs), run_index)
                    fp = (fingerprint(runs[index], src.generation), len(runs)) if index is not None else None
                if fp == cached.fingerprint:
                    self.counters.models_reused += 1
                    self._touch(key)
                    return cached
                if (fp is not None and fp[0][0] == cached.fingerprint[0][0] and index == cached.run_index
                        and time.monotonic() - cached.built_at < max(MIN_AGE, MODEL_THROTTLE * cached.build_seconds)):
                    self.counters.models_throttled += 1
                    self._touch(key)
                    return cached
            model = self._build_model(src, run_index)
            if model is None:
                return None
            with self._lock:
                self._models[key] = model
                self._models.move_to_end(key)
                while len(self._models) > MAX_MODELS:
                    self._models.popitem(last=False)
            self.counters.models_built += 1
            self.counters.model_build_seconds += model.build_seconds
            return model

    def figure(self, key: tuple, build: Callable[[], T]) -> T:
        """The chart cached under ``key`` (hashable: run, fingerprint, chart, settings), else ``build()`` once."""
        with self._lock:
            flight = self._flights.setdefault(("figure", key), threading.Lock())
        with flight:
            with self._lock:
                if key in self._figures:
                    self._figures.move_to_end(key)
                    self.counters.figures_reused += 1
                    return self._figures[key]  # type: ignore[return-value]
            fig = build()
            with self._lock:
                self._figures[key] = fig
                while len(self._figures) > MAX_FIGURES:
                    old, _ = self._figures.popitem(last=False)
                    self._flights.pop(("figure", old), None)
                self.counters.figures_built += 1
            return fig

    def _touch(self, key: tuple[str, int]) -> None:
        with self._lock:
            if key in self._models:
                self._models.move_to_end(key)

    def _build_model(self, src: Source, run_index: int | None) -> RunModel | None:
        with src.lock:  # the parser appends under this lock; frames and summaries read its arrays
            runs = src.runs
            index = _pick(len(runs), run_index)
            if index is None:
                return None
            run = runs[index]
            choices = [(i, run_label(r, i, len(runs))) for i, r in enumerate(runs)]
            return build_run_model(
                run, RunSource("root", src.id, src.id, src.kind), run_index=index, choices=choices,
                fingerprint=(fingerprint(run, src.generation), len(runs)), is_last_run=index == len(runs) - 1,
                restarts=[FileRestart(r.reason, r.detail, r.at) for r in src.restarts], lock=src.lock)

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
            "run models built": c.models_built,
            "run models reused": c.models_reused,
            "run models reused while throttled": c.models_throttled,
            "run model build seconds": round(c.model_build_seconds, 3),
            "charts built": c.figures_built,
            "charts reused": c.figures_reused,
            "watcher version": self.watcher.version,
        }


_CLOSERS: list[AppState] = []


def create(config: AppConfig) -> AppState:
    """A started ``AppState``; stopped at interpreter exit (and when Streamlit releases it)."""
    state = AppState(config)
    _CLOSERS.append(state)
    return state


@atexit.register
def _close_all() -> None:  # pragma: no cover - interpreter exit
    for s in _CLOSERS:
        try:
            s.close()
        except Exception:  # noqa: BLE001 - exiting anyway
            pass

