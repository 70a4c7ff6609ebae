"""``LogWatcher``: the one process-wide watcher that finds runs under the log roots and follows them.

It coordinates four parts, each in its own module:

- ``fsmode``: per root, watchdog events (inotify) or a stat() poll, and why (``mode_note``);
- ``inbox``: the events the observer threads filed, and the detection of events that never come;
- ``rootscan``: per root, which files are logs (listing, judging, undecided and rejected files);
- ``registry``: the followed logs (``Source``), each with a tailer made by ``tailer_factory``
  (``tailer.Tailer`` unless a caller or a test hands in another, as TensorBoard's ``DirectoryWatcher`` takes a
  ``loader_factory``).

Threads and who does what:

- watchdog's Observer threads only file events in the inbox and wake the worker.
- One worker thread does everything else: ``first_scan()`` once, then ``look()`` whenever woken or a poll is
  due: the events first (a followed file named by an event is looked at at once, a new path is judged), then
  the stat() poll of every root that is due, then at once again any file left behind by its read budget.
  Parsing therefore happens on exactly one thread, and each file has exactly one reader. Tests may call
  ``first_scan()`` and ``look()`` themselves instead of ``start()`` (with a fake ``clock``: no real waiting).
- Any thread may call ``sources()``, ``get()``, ``version``, ``wait_for_change()``; a reader of a source's
  ``runs`` holds that source's ``lock``.

Modes (``mode=`` or ``MMDASH_WATCHER``, default ``auto``):

- ``inotify``: events drive the work; every ``safety_interval`` seconds a stat() poll of the root
  (files' stat, directories' mtimes) catches anything an event missed.
- ``poll``: the stat() poll runs every ``poll_interval`` seconds; no events.
- ``auto``: inotify, except for a root where events do not arrive, which is polled instead, and
  ``mode_note`` says why: the root is on a network or FUSE file system (NFS, CIFS, sshfs, 9p, ...),
  the inotify watch or instance limit was hit, or the safety poll found a change for which no
  event came (a confirmed miss: some container bind mounts).

Invariants:

- ``version`` (global) grows whenever a root's state changes, a source is added or any source's
  ``version`` grows (just after the source's own counter: a reader that saw the global version move
  and then reads a source sees at least that change).
- A root that is missing or unreadable gets a message in ``root_status()``/``notes`` and is checked
  again at every poll; the other roots are not affected. A root inside another root is listed there only.
  A root whose directory is replaced (deleted and created again, remounted) is taken again from scratch.
- Source ids and what a deleted file keeps: see ``registry``; what is followed: see ``rootscan``.

Failure mode: an exception in a step (a bug; the parts themselves do not raise for file-system trouble) ends that
step only; the worker goes on and ``mode_note`` shows ``worker error: ...``.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial

from dashboard.live import fsmode
from dashboard.live.fsmode import ENV_WATCHER, MODES, EventFeed
from dashboard.live.inbox import MISS_WINDOW, EventInbox, MissedEvents
from dashboard.live.registry import FollowedFile, Registry, Source, TailerFactory
from dashboard.live.roots import LogRoot, configured_roots, make_roots, root_problem
from dashboard.live.rootscan import RootScan
from dashboard.live.tailer import Tailer
from parsers import train_kernel

__all__ = ["ENV_WATCHER", "MODES", "POLL_INTERVAL", "SAFETY_INTERVAL", "FULL_RESCAN_INTERVAL", "FollowedFile",
           "LogWatcher", "RootStatus", "Source", "TailerFactory"]

POLL_INTERVAL = 1.0
SAFETY_INTERVAL = 5.0
FULL_RESCAN_INTERVAL = 30.0


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
class _Root:
    """How one root is watched: its discovery, its mode and when it is polled next."""

    scan: RootScan
    misses: MissedEvents
    mode: str = "-"  # "inotify", "poll" or "-" (not watched: the root has a problem)
    reason: str = ""  # why it is polled
    handle: object | None = None  # the event feed's handle while on inotify
    next_poll: float = 0.0


class LogWatcher:
    """Finds and follows every log under the roots; see the module docstring.

    ``tailer_factory(path, root=bound)`` makes the tailer of each log found (``functools.partial(Tailer,
    max_bytes=N)`` for a size limit; ``bound`` is the real path its opens must stay inside);
    ``observer_factory()`` the watchdog observer (watchdog's ``Observer``); ``clock`` is monotonic seconds (it
    times the polls and the missed-event checks).
    """

    def __init__(
        self,
        roots: Sequence[LogRoot | str | os.PathLike] | None = None,
        *,
        mode: str | None = None,
        tailer_factory: TailerFactory = Tailer,
        observer_factory: Callable[[], object] | None = None,
        poll_interval: float = POLL_INTERVAL,
        safety_interval: float = SAFETY_INTERVAL,
        full_rescan_interval: float = FULL_RESCAN_INTERVAL,
        clock: Callable[[], float] = time.monotonic,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        env = os.environ if environ is None else environ
        self.mode, self._mode_source, self._config_notes = fsmode.requested_mode(mode, env)
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
        self._clock = clock
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._cond = threading.Condition()
        self._version = 0
        self._thread: threading.Thread | None = None
        self._worker_error: str | None = None
        self._feed = EventFeed(observer_factory)
        self._inbox = EventInbox(self._wake.set, keep_seconds=max(4 * safety_interval, 10 * MISS_WINDOW),
                                 clock=clock)
        self._registry = Registry(tailer_factory, on_change=self._bump, on_note=self._dropped)
        skip = lambda path: self._registry.at(path) is not None or self._stop.is_set()
        self._roots = [
            _Root(RootScan(r, i, full_rescan_interval=full_rescan_interval, skip=skip, follow=self._registry.follow),
                  MissedEvents(self._inbox, safety_interval))
            for i, r in enumerate(log_roots)
        ]

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
        return self._inbox.events_seen

    @property
    def ready(self) -> bool:
        """True once the first scan of every root is done (and its files parsed)."""
        return self._ready.is_set()

    @property
    def effective_mode(self) -> str:
        modes = {r.mode for r in self._roots if r.mode != "-"}
        if not modes:
            return "none"
        return modes.pop() if len(modes) == 1 else "mixed"

    @property
    def mode_note(self) -> str:
        """What the watcher does, in one human-readable paragraph (fallbacks and their reasons)."""
        parts = list(self._config_notes)
        inotify = [r for r in self._roots if r.mode == "inotify"]
        polled = [r for r in self._roots if r.mode == "poll"]
        if inotify:
            names = ", ".join(r.scan.root.label for r in inotify)
            parts.append(f"inotify events for {names} (with a stat() poll every {self.safety_interval:g} s "
                         "as a safety net)")
        for r in polled:
            why = f": {r.reason}" if r.reason else ""
            parts.append(f"polling {r.scan.root.label} every {self.poll_interval:g} s{why}")
        if not inotify and not polled:
            parts.append("no root is being watched" if self._ready.is_set() else "starting")
        if self._worker_error:
            parts.append(f"worker error: {self._worker_error}")
        return "; ".join(parts)

    @property
    def notes(self) -> list[str]:
        """Root problems, mode fallbacks and skipped files, for a status panel."""
        out = list(self._config_notes)
        for r in self._roots:
            if r.scan.problem and r.scan.problem != "not scanned yet":
                out.append(r.scan.problem)
            out.extend(r.scan.notes)
        return out

    def root_status(self) -> list[RootStatus]:
        counts: dict[str, int] = {}
        for src in self.sources():
            counts[src.root.label] = counts.get(src.root.label, 0) + 1
        return [
            RootStatus(r.scan.root.label, r.scan.root.path, r.scan.problem is None, r.scan.problem, r.mode,
                       counts.get(r.scan.root.label, 0), tuple(r.scan.notes))
            for r in self._roots
        ]

    def sources(self, *, include_missing: bool = False) -> list[Source]:
        """Every followed log, sorted by id; deleted files only with ``include_missing``."""
        return self._registry.all(include_missing=include_missing)

    def get(self, source_id: str) -> Source | None:
        return self._registry.get(source_id)

    def wait_for_change(self, since: int, timeout: float | None = None) -> int:
        """Block until ``version != since`` (or the timeout, or stop); the version then."""
        with self._cond:
            self._cond.wait_for(lambda: self._version != since or self._stop.is_set(), timeout)
            return self._version

    def wait_ready(self, timeout: float | None = None) -> bool:
        return self._ready.wait(timeout)

    def refresh(self) -> None:
        """Ask for a stat() poll of every root now (e.g. a refresh button)."""
        for r in self._roots:
            r.next_poll = 0.0
        self._wake.set()

    def start(self, *, wait: bool = True, timeout: float | None = None) -> LogWatcher:
        """Start the worker (which starts the Observer when a root can use events); with ``wait``, return after
        the first scan of every root, so ``sources()`` then lists what was there at start."""
        if self._thread is not None:
            return self
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
        if self._thread is None or not self._thread.is_alive():
            self._registry.close()  # the files kept open between looks (tailer); no look runs any more
        self._feed.stop(timeout)

    def __enter__(self) -> LogWatcher:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- the worker's steps -----------------------------------------------------------------------------
    def first_scan(self) -> None:
        """Take every root (events or polling, then a complete listing); ``ready`` afterwards."""
        for r in self._roots:
            self._guard(self._activate, r)
        self._ready.set()
        self._bump()
        self._read_on_behind()

    def look(self) -> None:
        """One pass: the events filed since the last pass, the polls that are due, files left behind."""
        self._guard(self._process_events)
        now = self._clock()
        for r in self._roots:
            if now >= r.next_poll:
                self._guard(self._poll_root, r)
                r.next_poll = self._clock() + self._interval(r)
        self._read_on_behind()

    def _run(self) -> None:
        self.first_scan()
        while not self._stop.is_set():
            now = self._clock()
            due = min((r.next_poll for r in self._roots), default=now + 3600.0)
            self._wake.wait(max(0.0, due - now))
            self._wake.clear()
            if self._stop.is_set():
                break
            self.look()

    def _guard(self, fn: Callable, *args) -> None:
        try:
            fn(*args)
        except Exception as e:  # the worker must survive anything
            self._worker_error = f"{type(e).__name__}: {e}"

    def _bump(self) -> None:
        with self._cond:
            self._version += 1
            self._cond.notify_all()

    def _dropped(self, src: Source, why: str) -> None:
        """A followed file that now leads outside its root was dropped (``registry``): say so in ``notes``."""
        for r in self._roots:
            if r.scan.root is src.root:
                r.scan.note(f"{src.root.label}: dropped {src.relative}: {why}; it is not read")

    def _interval(self, r: _Root) -> float:
        return self.safety_interval if r.mode == "inotify" and r.scan.problem is None else self.poll_interval

    def _activate(self, r: _Root) -> None:
        """(Re)start watching a root: check it, choose events or polling, list it."""
        scan = r.scan
        problem = root_problem(scan.root)
        if problem is None:
            outer = scan.enclosing([o.scan for o in self._roots])
            if outer is not None:
                problem = (f"log root {scan.root.label} ({scan.root.path}) is inside log root {outer.root.label}: "
                           "its logs are listed there")
        if problem is not None:
            if problem != scan.problem:
                scan.problem = problem
                self._bump()
            r.mode = "-"
            return
        now = self._clock()
        scan.start_over(now)
        r.mode, r.reason, r.handle = fsmode.watch_root(
            self._feed, self.mode, self._mode_source, scan.real, recursive=scan.root.single_file is None,
            on_event=partial(self._inbox.record, scan.index))
        r.next_poll = now + self._interval(r)
        scan.scan(scan.real)
        self._bump()

    def _fall_back(self, r: _Root, reason: str) -> None:
        self._feed.unwatch(r.handle)
        r.handle = None
        r.mode, r.reason = "poll", reason
        r.scan.note(f"{r.scan.root.label}: switched to polling: {reason}")
        r.next_poll = self._clock() + self.poll_interval
        self._bump()

    def _process_events(self) -> None:
        batch = self._inbox.take()
        for index, d in sorted(batch.gone):
            r = self._roots[index]
            if d == r.scan.real:  # the root itself went away: look at it now, then at every poll
                r.next_poll = 0.0
            r.scan.dir_gone(d)
            for src in self._registry.under(r.scan.root, d):
                self._registry.look(src, force=True)
        for index, d in sorted(batch.dirs):
            self._roots[index].scan.dir_appeared(d)
        for index, p in sorted(batch.paths):
            scan = self._roots[index].scan
            if scan.problem is not None:
                continue
            src = self._registry.at(p)
            if src is not None:
                self._registry.look(src, force=True)
            else:
                scan.path_changed(p)

    def _poll_root(self, r: _Root) -> None:
        scan = r.scan
        if scan.problem is not None:
            self._activate(r)
            return
        if scan.moved():
            self._feed.unwatch(r.handle)
            r.handle = None
            for src in self._registry.under(scan.root, scan.real):
                self._registry.look(src, force=True)
            scan.problem = "changing"
            self._activate(r)
            return
        now = self._clock()
        found: list[str] = []  # paths the poll found new or changed: an event should have announced them
        if scan.root.single_file is None:
            before = set(self._registry.paths())
            scan.rescan(now)
            found.extend(p for p in self._registry.paths() if p not in before)
        for src in self._registry.under(scan.root, scan.real):
            catching_up = src.tailer.behind  # reading on, not a change the events should have shown
            if self._registry.look(src, force=False) and src.exists and not catching_up:
                found.append(src.path)
        scan.recheck_pending()
        if self.mode == "auto" and r.mode == "inotify":
            missed = r.misses.check(found, now)
            if missed is not None:
                self._fall_back(r, f"a change to {os.path.relpath(missed, scan.real)} was found by polling but no "
                                   "inotify event came (events do not arrive on this mount)")

    def _read_on_behind(self) -> None:
        """A big file read up to the per-look budget is read on at once (events first), not at the next
        poll or safety look seconds later."""
        behind = self._registry.roots_behind()
        for r in self._roots:
            if any(root is r.scan.root for root in behind):
                r.next_poll = self._clock()
