"""``LogWatcher``: the one process-wide watcher that finds runs under the log roots and follows them.

Threads and who does what:

- watchdog's Observer threads (inotify on Linux) call ``_on_event``, which only records the path as
  dirty and wakes the worker. No handler parses, reads or stats anything.
- One worker thread does everything else: discovery (``discovery.walk`` / ``sniff_file``),
  ``Tailer.poll()`` of dirty files, and the stat() poll of every root when it is due. Parsing
  therefore happens on exactly one thread, and each file has exactly one reader.
- Any thread may call ``sources()``, ``get()``, ``version``, ``wait_for_change()``; a reader of a
  source's ``runs`` holds that source's ``lock``.

Modes (``mode=`` or ``MMDASH_WATCHER``, default ``auto``):

- ``inotify``: events drive the work; every ``safety_interval`` seconds a stat() poll of the root
  (files' stat, directories' mtimes) catches anything an event missed.
- ``poll``: the stat() poll runs every ``poll_interval`` seconds; no events.
- ``auto``: inotify, except for a root where events do not arrive, which is polled instead, and
  ``mode_note`` says why: the root is on a network or FUSE file system (NFS, CIFS, sshfs, 9p, ...),
  the inotify watch or instance limit was hit, or the safety poll found a change for which no
  event came (a confirmed miss: some container bind mounts).

Invariants:

- A source id is ``<root label>/<path relative to the root>`` (``LogRoot.source_id``); it is stable
  for the life of the watcher and never absolute. A source whose file is deleted stays known
  (``exists`` False, no runs) so its id and ``version`` keep counting if the file comes back.
- ``version`` (global) grows whenever a root's state changes, a source is added or any source's
  ``version`` grows (just after the source's own counter: a reader that saw the global version move
  and then reads a source sees at least that change).
- A root that is missing or unreadable gets a message in ``root_status()``/``notes`` and is checked
  again at every poll; the other roots are not affected. A binary file with a log extension is
  skipped with a note; checkpoints are skipped by name without being opened.
"""

from __future__ import annotations

import errno
import os
import stat as _stat
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from dashboard.live import discovery as disc
from dashboard.live.roots import LogRoot, UnsafePath, configured_roots, make_roots, resolve_under_root, root_problem
from dashboard.live.tailer import Restart, Tailer
from parsers import Run, train_kernel

ENV_WATCHER = "MMDASH_WATCHER"
MODES = ("auto", "inotify", "poll")
POLL_INTERVAL = 1.0
SAFETY_INTERVAL = 5.0
FULL_RESCAN_INTERVAL = 30.0
MISS_WINDOW = 2.0  # an event within this many seconds before a change found by polling announced it
MAX_ROOT_NOTES = 100
MAX_EVENT_TIMES = 10_000

# File systems where inotify does not see changes made by other machines (or by the host).
REMOTE_FS = frozenset({
    "nfs", "nfs4", "cifs", "smb3", "smbfs", "ncpfs", "afs", "9p", "vboxsf", "vmhgfs", "prl_fs", "virtiofs",
    "glusterfs", "ceph", "lustre", "gpfs", "beegfs", "davfs", "drvfs", "fakeowner", "grpcfuse", "sshfs",
})


def is_remote_fs(fstype: str | None) -> bool:
    if not fstype:
        return False
    return fstype in REMOTE_FS or fstype.startswith("fuse")


def filesystem_type(path: str) -> str | None:
    """The file system type of the mount holding ``path`` (Linux ``/proc/self/mountinfo``), else None."""
    best, best_type = "", None
    try:
        with open("/proc/self/mountinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                left, _, right = line.partition(" - ")
                parts = left.split()
                if len(parts) < 5 or not right:
                    continue
                mount = parts[4].replace("\\040", " ").replace("\\011", "\t").replace("\\134", "\\")
                inside = path == mount or path.startswith(mount.rstrip("/") + "/")
                if inside and len(mount) >= len(best):
                    best, best_type = mount, right.split()[0]
    except OSError:
        return None
    return best_type


@dataclass
class Source:
    """One followed log file and where it sits. The live state is in ``tailer`` (see properties)."""

    id: str
    root: LogRoot
    relative: str  # "/"-separated, relative to the root
    path: str  # absolute; for opening, never for URLs
    kind: str | None  # discovery's verdict kind: mmengine-text, mmcv-text, scalars-json, mmcv-json, text
    gzip: bool
    layout: disc.Layout | None
    tailer: Tailer
    discovered_at: float = field(default_factory=time.time)

    @property
    def lock(self) -> threading.RLock:
        return self.tailer.lock

    @property
    def runs(self) -> list[Run]:
        """The parser's runs (current generation); hold ``lock`` while reading them."""
        return self.tailer.runs

    @property
    def version(self) -> int:
        return self.tailer.version

    @property
    def generation(self) -> int:
        return self.tailer.generation

    @property
    def size(self) -> int:
        return self.tailer.size

    @property
    def exists(self) -> bool:
        return self.tailer.exists

    @property
    def last_growth_at(self) -> float | None:
        return self.tailer.last_growth_at

    @property
    def restarts(self) -> list[Restart]:
        return list(self.tailer.restarts)

    @property
    def notes(self) -> list[str]:
        """What went wrong or was skipped while following (read errors, binary content, size limit)."""
        return self.tailer.notes

    @property
    def parse_errors(self) -> int:
        """Lines of the current generation no parser rule understood."""
        with self.lock:
            return sum(r.unparsed.count for r in self.tailer.runs)


@dataclass(frozen=True)
class RootStatus:
    label: str
    path: str
    ok: bool
    message: str | None
    mode: str  # "inotify", "poll" or "-" (not watched)
    sources: int
    notes: tuple[str, ...]


@dataclass
class _RootState:
    root: LogRoot
    index: int
    real: str = ""
    ident: tuple[int, int] | None = None
    problem: str | None = "not scanned yet"
    mode: str = "-"
    mode_reason: str = ""
    watch: object | None = None
    dirs: dict[str, int] = field(default_factory=dict)  # directory -> mtime_ns when last listed
    pending: dict[str, tuple[int, int, int]] = field(default_factory=dict)  # undecided file -> (dev, ino, size)
    rejected: dict[str, tuple[int, int, int]] = field(default_factory=dict)
    suspects: dict[str, float] = field(default_factory=dict)  # path -> when polling found an unannounced change
    notes: list[str] = field(default_factory=list)
    next_poll: float = 0.0
    next_full: float = 0.0

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)
            del self.notes[:-MAX_ROOT_NOTES]


class LogWatcher:
    """Finds and follows every log under the roots; see the module docstring."""

    def __init__(
        self,
        roots: Sequence[LogRoot | str | os.PathLike] | None = None,
        *,
        mode: str | None = None,
        poll_interval: float = POLL_INTERVAL,
        safety_interval: float = SAFETY_INTERVAL,
        full_rescan_interval: float = FULL_RESCAN_INTERVAL,
        max_bytes: int | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        env = os.environ if environ is None else environ
        self._config_notes: list[str] = []
        if mode is None:
            mode = (env.get(ENV_WATCHER) or "auto").strip().lower()
            self._mode_source = f"{ENV_WATCHER}={mode}" if env.get(ENV_WATCHER) else "default"
            if mode not in MODES:
                self._config_notes.append(f"{ENV_WATCHER}={mode!r} is not one of {', '.join(MODES)}: using auto")
                mode = "auto"
        else:
            if mode not in MODES:
                raise ValueError(f"watcher mode must be one of {', '.join(MODES)}, not {mode!r}")
            self._mode_source = f"mode={mode}"
        self.mode = mode
        if roots is None:
            log_roots = configured_roots(environ=env)
        else:
            plain = [r for r in roots if not isinstance(r, LogRoot)]
            given = [r for r in roots if isinstance(r, LogRoot)]
            log_roots = given + make_roots(plain) if plain else given
        self.roots: list[LogRoot] = log_roots
        self.poll_interval = poll_interval
        self.safety_interval = safety_interval
        self.full_rescan_interval = full_rescan_interval
        self.max_bytes = max_bytes
        self._states = [_RootState(r, i) for i, r in enumerate(log_roots)]
        self._sources: dict[str, Source] = {}
        self._by_path: dict[str, Source] = {}
        self._lock = threading.Lock()  # guards _sources / _by_path for readers
        self._event_lock = threading.Lock()
        self._dirty_paths: set[tuple[int, str]] = set()
        self._dirty_dirs: set[tuple[int, str]] = set()
        self._gone_dirs: set[tuple[int, str]] = set()
        self._last_event: dict[str, float] = {}
        self._events_seen = 0
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._cond = threading.Condition()
        self._version = 0
        self._observer = None
        self._observer_error: str | None = None
        self._thread: threading.Thread | None = None
        self._worker_error: str | None = None

    @classmethod
    def for_path(cls, path: str | os.PathLike, **kwargs) -> LogWatcher:
        """A watcher for one file (followed whatever its content, unless binary) or one root directory."""
        p = os.path.abspath(os.fspath(path))
        if os.path.isdir(p):
            return cls(make_roots([p]), **kwargs)
        root = make_roots([os.path.dirname(p)], single_file=os.path.basename(p))
        return cls(root, **kwargs)

    # -- public API ---------------------------------------------------------------------------------
    @property
    def version(self) -> int:
        return self._version

    @property
    def events_seen(self) -> int:
        """File system events received so far (diagnostics: 0 in poll mode or where events never come)."""
        return self._events_seen

    @property
    def ready(self) -> bool:
        """True once the first scan of every root is done (and its files parsed)."""
        return self._ready.is_set()

    @property
    def effective_mode(self) -> str:
        modes = {s.mode for s in self._states if s.mode != "-"}
        if not modes:
            return "none"
        return modes.pop() if len(modes) == 1 else "mixed"

    @property
    def mode_note(self) -> str:
        """What the watcher does, in one human-readable paragraph (fallbacks and their reasons)."""
        parts = list(self._config_notes)
        inotify = [s for s in self._states if s.mode == "inotify"]
        polled = [s for s in self._states if s.mode == "poll"]
        if inotify:
            names = ", ".join(s.root.label for s in inotify)
            parts.append(f"inotify events for {names} (with a stat() poll every {self.safety_interval:g} s "
                         "as a safety net)")
        for s in polled:
            why = f": {s.mode_reason}" if s.mode_reason else ""
            parts.append(f"polling {s.root.label} every {self.poll_interval:g} s{why}")
        if not inotify and not polled:
            parts.append("no root is being watched" if self._ready.is_set() else "starting")
        if self._worker_error:
            parts.append(f"worker error: {self._worker_error}")
        return "; ".join(parts)

    @property
    def notes(self) -> list[str]:
        """Root problems, mode fallbacks and skipped files, for a status panel."""
        out = list(self._config_notes)
        for s in self._states:
            if s.problem and s.problem != "not scanned yet":
                out.append(s.problem)
            out.extend(s.notes)
        return out

    def root_status(self) -> list[RootStatus]:
        counts: dict[str, int] = {}
        for src in self.sources():
            counts[src.root.label] = counts.get(src.root.label, 0) + 1
        return [
            RootStatus(s.root.label, s.root.path, s.problem is None, s.problem, s.mode,
                       counts.get(s.root.label, 0), tuple(s.notes))
            for s in self._states
        ]

    def sources(self, *, include_missing: bool = False) -> list[Source]:
        """Every followed log, sorted by id; deleted files only with ``include_missing``."""
        with self._lock:
            items = list(self._sources.values())
        return sorted((s for s in items if include_missing or s.exists), key=lambda s: s.id)

    def get(self, source_id: str) -> Source | None:
        with self._lock:
            return self._sources.get(source_id)

    def wait_for_change(self, since: int, timeout: float | None = None) -> int:
        """Block until ``version != since`` (or the timeout, or stop); the version then."""
        with self._cond:
            self._cond.wait_for(lambda: self._version != since or self._stop.is_set(), timeout)
            return self._version

    def wait_ready(self, timeout: float | None = None) -> bool:
        return self._ready.wait(timeout)

    def refresh(self) -> None:
        """Ask for a stat() poll of every root now (e.g. a refresh button)."""
        for s in self._states:
            s.next_poll = 0.0
        self._wake.set()

    def start(self, *, wait: bool = True, timeout: float | None = None) -> LogWatcher:
        """Start the worker (and the Observer when a root can use events); with ``wait``, return after
        the first scan of every root, so ``sources()`` then lists what was there at start."""
        if self._thread is not None:
            return self
        if self.mode != "poll":
            self._start_observer()
        # Load the parser's compiled scanner beside the first scan, so that a long log is read with it
        # from its first lines rather than after the parser's own threshold.
        threading.Thread(target=train_kernel.warm_up, name="mmdash-scanner-load", daemon=True).start()
        self._thread = threading.Thread(target=self._run, name="mmdash-log-watcher", daemon=True)
        self._thread.start()
        if wait:
            self._ready.wait(timeout)
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._wake.set()
        with self._cond:
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)
        if self._observer is not None:
            try:
                self._observer.stop()
                self._observer.join(timeout)
            except Exception:  # stopping must not raise
                pass
            self._observer = None

    def __enter__(self) -> LogWatcher:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- events (Observer threads) --------------------------------------------------------------------
    def _on_event(self, index: int, event) -> None:
        kind = event.event_type
        if kind in ("opened", "closed_no_write"):
            return
        src = os.fsdecode(event.src_path)
        dest = os.fsdecode(getattr(event, "dest_path", "") or "")
        now = time.monotonic()
        with self._event_lock:
            self._events_seen += 1
            if event.is_directory:
                if kind == "created":
                    self._dirty_dirs.add((index, src))
                elif kind == "moved":
                    self._gone_dirs.add((index, src))
                    if dest:
                        self._dirty_dirs.add((index, dest))
                elif kind == "deleted":
                    self._gone_dirs.add((index, src))
            else:
                for p in (src, dest):
                    if p:
                        self._dirty_paths.add((index, p))
                        self._last_event[p] = now
        self._wake.set()

    def _start_observer(self) -> None:
        try:
            from watchdog.observers import Observer
        except Exception as e:  # no watchdog, or no backend for this OS: poll
            self._observer_error = f"watchdog is unavailable ({e})"
            return
        try:
            obs = Observer()
            obs.start()
        except Exception as e:  # e.g. no inotify at all
            self._observer_error = f"the watchdog observer did not start ({e})"
            return
        self._observer = obs

    def _schedule(self, rs: _RootState) -> str | None:
        """Start events for a root; None, or why it has to be polled."""
        if self._observer is None:
            return self._observer_error or "no event observer"
        from watchdog.events import (
            DirCreatedEvent,
            DirDeletedEvent,
            DirMovedEvent,
            FileClosedEvent,
            FileCreatedEvent,
            FileDeletedEvent,
            FileModifiedEvent,
            FileMovedEvent,
            FileSystemEventHandler,
        )

        watcher = self

        class Handler(FileSystemEventHandler):
            def dispatch(self, event) -> None:  # only mark dirty and wake the worker
                watcher._on_event(rs.index, event)

        kinds = [FileModifiedEvent, FileCreatedEvent, FileDeletedEvent, FileMovedEvent, FileClosedEvent,
                 DirCreatedEvent, DirDeletedEvent, DirMovedEvent]
        single = rs.root.single_file is not None
        try:
            rs.watch = self._observer.schedule(Handler(), rs.real, recursive=not single, event_filter=kinds)
        except OSError as e:
            rs.watch = None
            if e.errno == errno.ENOSPC:
                return ("the inotify watch limit is reached (raise fs.inotify.max_user_watches, "
                        f"now {_read_sysctl('max_user_watches')})")
            if e.errno == errno.EMFILE:
                return ("the inotify instance limit is reached (raise fs.inotify.max_user_instances, "
                        f"now {_read_sysctl('max_user_instances')})")
            return f"inotify is unavailable here ({e.strerror or e})"
        except Exception as e:  # an observer backend with other errors
            rs.watch = None
            return f"events are unavailable here ({e})"
        return None

    def _unschedule(self, rs: _RootState) -> None:
        if rs.watch is not None and self._observer is not None:
            try:
                self._observer.unschedule(rs.watch)
            except Exception:  # the emitter may be gone already
                pass
        rs.watch = None

    # -- the worker ---------------------------------------------------------------------------------
    def _run(self) -> None:
        for rs in self._states:
            self._guard(self._activate, rs)
        self._ready.set()
        self._bump()
        self._read_on_behind()
        while not self._stop.is_set():
            now = time.monotonic()
            due = min((s.next_poll for s in self._states), default=now + 3600.0)
            self._wake.wait(max(0.0, due - now))
            self._wake.clear()
            if self._stop.is_set():
                break
            self._guard(self._process_events)
            now = time.monotonic()
            for rs in self._states:
                if now >= rs.next_poll:
                    self._guard(self._poll_root, rs)
                    rs.next_poll = time.monotonic() + self._interval(rs)
            self._read_on_behind()

    def _read_on_behind(self) -> None:
        """A big file read up to the per-look budget is read on at once (events first), not at the next
        poll or safety look seconds later."""
        with self._lock:
            behind = {id(s.root) for s in self._sources.values() if s.tailer.behind}
        for rs in self._states:
            if id(rs.root) in behind:
                rs.next_poll = time.monotonic()

    def _guard(self, fn: Callable, *args) -> None:
        try:
            fn(*args)
        except Exception as e:  # the worker must survive anything
            self._worker_error = f"{type(e).__name__}: {e}"

    def _interval(self, rs: _RootState) -> float:
        return self.safety_interval if rs.mode == "inotify" and rs.problem is None else self.poll_interval

    def _bump(self) -> None:
        with self._cond:
            self._version += 1
            self._cond.notify_all()

    def _activate(self, rs: _RootState) -> None:
        """(Re)start watching a root: check it, choose events or polling, scan it."""
        problem = root_problem(rs.root)
        if problem is None:
            outer = self._outer_root(rs)
            if outer is not None:
                problem = (f"log root {rs.root.label} ({rs.root.path}) is inside log root {outer.root.label}: "
                           "its logs are listed there")
        if problem is not None:
            if problem != rs.problem:
                rs.problem = problem
                self._bump()
            rs.mode = "-"
            return
        rs.real = rs.root.realpath()
        st = os.stat(rs.real)
        rs.ident = (st.st_dev, st.st_ino)
        rs.problem = None
        rs.dirs.clear()
        mode, reason = self._choose_mode(rs)
        if mode == "inotify":
            why = self._schedule(rs)
            if why is not None:
                mode, reason = "poll", why
                if self.mode == "inotify":
                    reason = "inotify was asked for, but " + why
        rs.mode, rs.mode_reason = mode, reason
        now = time.monotonic()
        rs.next_poll = now + self._interval(rs)
        rs.next_full = now + self.full_rescan_interval
        self._scan(rs, rs.real)
        self._bump()

    def _outer_root(self, rs: _RootState) -> _RootState | None:
        """Another directory root that contains this one (or is the same directory and comes first)."""
        if rs.root.single_file is not None:
            return None
        real = rs.root.realpath()
        for other in self._states:
            if other is rs or other.root.single_file is not None:
                continue
            other_real = other.root.realpath()
            if not os.path.isdir(other_real):
                continue
            if (real == other_real and other.index < rs.index) or real.startswith(other_real.rstrip(os.sep) + os.sep):
                return other
        return None

    def _choose_mode(self, rs: _RootState) -> tuple[str, str]:
        if self.mode == "poll":
            return "poll", f"as asked ({self._mode_source})"
        if self.mode == "auto":
            fstype = filesystem_type(rs.real)
            if is_remote_fs(fstype):
                return "poll", (f"it is on {fstype}, where inotify does not report changes made by other "
                                "machines")
        return "inotify", ""

    def _fall_back(self, rs: _RootState, reason: str) -> None:
        self._unschedule(rs)
        rs.mode, rs.mode_reason = "poll", reason
        rs.note(f"{rs.root.label}: switched to polling: {reason}")
        rs.next_poll = time.monotonic() + self.poll_interval
        self._bump()

    def _process_events(self) -> None:
        with self._event_lock:
            paths, self._dirty_paths = self._dirty_paths, set()
            dirs, self._dirty_dirs = self._dirty_dirs, set()
            gone, self._gone_dirs = self._gone_dirs, set()
            if len(self._last_event) > MAX_EVENT_TIMES:  # only recent times matter (miss detection)
                cutoff = time.monotonic() - max(4 * self.safety_interval, 10 * MISS_WINDOW)
                self._last_event = {p: t for p, t in self._last_event.items() if t >= cutoff}
        for index, d in sorted(gone):
            rs = self._states[index]
            if d == rs.real:  # the root itself went away: look at it now, then at every poll
                rs.next_poll = 0.0
            prefix = d.rstrip(os.sep) + os.sep
            for p in [p for p in rs.dirs if p == d or p.startswith(prefix)]:
                del rs.dirs[p]
            for src in self._sources_under(rs, d):
                self._poll_source(src, force=True)
        for index, d in sorted(dirs):
            rs = self._states[index]
            if rs.problem is None and rs.root.single_file is None and self._inside(rs, d):
                self._scan(rs, d)
        for index, p in sorted(paths):
            rs = self._states[index]
            if rs.problem is not None:
                continue
            src = self._by_path.get(p)
            if src is not None:
                self._poll_source(src, force=True)
            elif self._inside(rs, p):
                if os.path.isdir(p):
                    if rs.root.single_file is None:
                        self._scan(rs, p)
                else:
                    self._consider(rs, p)

    def _poll_root(self, rs: _RootState) -> None:
        if rs.problem is not None:
            self._activate(rs)
            return
        try:
            st = os.stat(rs.real)
            ident = (st.st_dev, st.st_ino)
        except OSError:
            ident = None
        if ident != rs.ident:
            self._unschedule(rs)
            for src in self._sources_under(rs, rs.real):
                self._poll_source(src, force=True)
            rs.problem = "changing"
            self._activate(rs)
            return
        now = time.monotonic()
        found_by_poll: list[str] = []
        if rs.root.single_file is None:
            before = set(self._by_path)
            if now >= rs.next_full:
                rs.next_full = now + self.full_rescan_interval
                self._scan(rs, rs.real)
            else:
                changed = []
                for d, mtime in list(rs.dirs.items()):
                    try:
                        m = os.stat(d).st_mtime_ns
                    except OSError:
                        rs.dirs.pop(d, None)
                        continue
                    if m != mtime:
                        changed.append(d)
                for d in changed:
                    self._scan(rs, d, shallow=True)
            found_by_poll.extend(p for p in self._by_path if p not in before)
        for src in self._sources_under(rs, rs.real):
            catching_up = src.tailer.behind  # reading on, not a change the events should have shown
            if self._poll_source(src, force=False) and src.exists and not catching_up:
                found_by_poll.append(src.path)
        for p, key in list(rs.pending.items()):
            try:
                st = os.stat(p)
            except OSError:
                rs.pending.pop(p, None)
                continue
            if (st.st_dev, st.st_ino, st.st_size) != key:
                self._consider(rs, p)
        if self.mode == "auto" and rs.mode == "inotify":
            self._check_missed_events(rs, found_by_poll, now)

    def _check_missed_events(self, rs: _RootState, found: list[str], now: float) -> None:
        """Confirm a suspected miss one safety interval later: no event for the path came at all."""
        with self._event_lock:
            last = {p: self._last_event.get(p) for p in list(rs.suspects) + found}
        for p, t in list(rs.suspects.items()):
            seen = last.get(p)
            if seen is not None and seen >= t - MISS_WINDOW:
                del rs.suspects[p]
            elif now - t >= min(self.safety_interval, 2 * MISS_WINDOW):
                rel = os.path.relpath(p, rs.real)
                self._fall_back(rs, f"a change to {rel} was found by polling but no inotify event came "
                                    "(events do not arrive on this mount)")
                rs.suspects.clear()
                return
        for p in found:
            seen = last.get(p)
            if seen is None or seen < now - MISS_WINDOW:
                rs.suspects.setdefault(p, now)

    def _poll_source(self, src: Source, *, force: bool) -> bool:
        changed = src.tailer.poll(force=force)
        if changed:
            self._bump()
        return changed

    def _sources_under(self, rs: _RootState, d: str) -> list[Source]:
        prefix = d.rstrip(os.sep) + os.sep
        with self._lock:
            return [s for s in self._sources.values()
                    if s.root is rs.root and (s.path == d or s.path.startswith(prefix))]

    def _inside(self, rs: _RootState, p: str) -> bool:
        return p.startswith(rs.real.rstrip(os.sep) + os.sep)

    # -- discovery ----------------------------------------------------------------------------------
    def _scan(self, rs: _RootState, top: str, *, shallow: bool = False) -> None:
        if rs.root.single_file is not None:
            self._consider(rs, os.path.join(rs.real, rs.root.single_file))
            return
        known = set(rs.dirs) if shallow else set()

        def on_dir(d: str, mtime: int) -> None:
            rs.dirs[d] = mtime

        def on_error(d: str, e: OSError) -> None:
            rel = os.path.relpath(d, rs.real)
            rs.note(f"{rs.root.label}: cannot list {rel}: {e.strerror or e}")

        for entry in disc.walk(top, rs.real, on_dir=on_dir, on_error=on_error,
                               enter=(lambda d: d not in known) if shallow else None):
            self._consider(rs, entry.path, entry)

    def _consider(self, rs: _RootState, path: str, entry: disc.Entry | None = None) -> None:
        """Decide whether a file is a log to follow; remembers undecided and rejected files."""
        if path in self._by_path or self._stop.is_set():
            return
        rel = entry.relative if entry is not None else os.path.relpath(path, rs.real).replace(os.sep, "/")
        name = os.path.basename(path)
        single = rs.root.single_file
        if single is not None:
            if name != single or os.path.dirname(path) != rs.real.rstrip(os.sep):
                return
            self._add(rs, path, rel, disc.Verdict(disc.LOG, kind=None, reason="named on the command line"))
            return
        if not disc.has_log_suffix(name) or disc.has_binary_suffix(name):
            return
        is_link = entry.is_symlink if entry is not None else os.path.islink(path)
        if is_link:
            try:
                resolve_under_root(rs.real, rel)
            except UnsafePath:
                rs.note(f"{rs.root.label}: skipped {rel}: a symlink that leads outside the root")
                return
        try:
            st = os.stat(path)
        except OSError:
            rs.pending.pop(path, None)
            return
        if not _stat.S_ISREG(st.st_mode):
            return
        key = (st.st_dev, st.st_ino, st.st_size)
        rejected = rs.rejected.get(path)
        if rejected is not None:
            if rejected[:2] == key[:2] and key[2] >= rejected[2]:
                return
            del rs.rejected[path]
        if rs.pending.get(path) == key:
            return
        if disc.is_vis_data_duplicate(path):
            rs.rejected[path] = key
            return
        layout = disc.layout_of(rel)
        verdict = disc.sniff_file(path, layout=layout)
        status = verdict.status
        if status == disc.LOG:
            rs.pending.pop(path, None)
            self._add(rs, path, rel, verdict, layout)
        elif status == disc.UNDECIDED:
            rs.pending[path] = key
        elif status == disc.GONE:
            rs.pending.pop(path, None)
        else:
            rs.pending.pop(path, None)
            rs.rejected[path] = key
            if status == disc.BINARY:
                rs.note(f"{rs.root.label}: skipped {rel}: {verdict.reason}")
            elif status == disc.UNREADABLE:
                rs.note(f"{rs.root.label}: skipped {rel}: {verdict.reason}")

    def _add(self, rs: _RootState, path: str, rel: str, verdict: disc.Verdict,
             layout: disc.Layout | None = None) -> None:
        src = Source(
            id=rs.root.source_id(rel), root=rs.root, relative=rel, path=path, kind=verdict.kind,
            gzip=verdict.gzip, layout=layout, tailer=Tailer(path, max_bytes=self.max_bytes),
        )
        with self._lock:
            if src.id in self._sources:
                return
            self._sources[src.id] = src
            self._by_path[path] = src
        src.tailer.poll(force=True)
        self._bump()


def _read_sysctl(name: str) -> str:
    try:
        with open(f"/proc/sys/fs/inotify/{name}") as f:
            return f.read().strip()
    except OSError:
        return "?"
