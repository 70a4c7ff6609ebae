"""Events or polling, per log root: the file-system type, the watchdog event feed, and the fallback to polling.

A root is watched one of two ways: ``inotify`` (watchdog events say what changed; the watcher still stat()-polls
the root every ``safety_interval`` as a safety net) or ``poll`` (a stat() poll every ``poll_interval``, no events).
The mode asked for (``mode=`` or ``MMDASH_WATCHER``: ``auto``, ``inotify`` or ``poll``) is read by
``requested_mode``; ``watch_root`` then decides for one root:

- ``poll`` asked: polled.
- ``auto`` and the root is on a network or FUSE file system (NFS, CIFS, sshfs, 9p, ...; ``/proc/self/mountinfo``):
  polled, because inotify there does not see changes made by other machines.
- otherwise the root is scheduled on the watchdog observer; when that fails (watchdog missing, the observer did
  not start, the inotify watch or instance limit, any other backend error) it is polled.

Invariant: nothing here raises for a root. Every way events can be unavailable becomes a *reason*, one sentence
that ends up in the watcher's ``mode_note``, and the root is polled.

Failure mode: a mount that is not recognised as remote but delivers no events (some container bind mounts)
gets ``inotify`` here and stays silent; ``inbox.MissedEvents`` finds that out later (auto mode only).
"""

from __future__ import annotations

import errno
import threading
from collections.abc import Callable, Mapping

ENV_WATCHER = "MMDASH_WATCHER"
MODES = ("auto", "inotify", "poll")

# File systems where inotify does not see changes made by other machines (or by the host).
REMOTE_FS = frozenset({
    "nfs", "nfs4", "cifs", "smb3", "smbfs", "ncpfs", "afs", "9p", "vboxsf", "vmhgfs", "prl_fs", "virtiofs",
    "glusterfs", "ceph", "lustre", "gpfs", "beegfs", "davfs", "drvfs", "fakeowner", "grpcfuse", "sshfs",
})


def requested_mode(mode: str | None, environ: Mapping[str, str]) -> tuple[str, str, list[str]]:
    """(mode, where it came from, notes). A bad ``mode`` argument raises ``ValueError``; a bad
    ``MMDASH_WATCHER`` is a note and ``auto``."""
    if mode is not None:
        if mode not in MODES:
            raise ValueError(f"watcher mode must be one of {', '.join(MODES)}, not {mode!r}")
        return mode, f"mode={mode}", []
    asked = (environ.get(ENV_WATCHER) or "auto").strip().lower()
    source = f"{ENV_WATCHER}={asked}" if environ.get(ENV_WATCHER) else "default"
    if asked not in MODES:
        return "auto", source, [f"{ENV_WATCHER}={asked!r} is not one of {', '.join(MODES)}: using auto"]
    return asked, source, []


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


class EventFeed:
    """The watchdog observer, started on first use (never in poll mode), shared by every root.

    ``watch`` and ``unwatch`` are called by the watcher's worker only; ``on_event`` runs on the observer's
    threads and must only record the event (see ``inbox.EventInbox.record``). ``observer_factory`` makes
    the observer (watchdog's ``Observer`` by default; tests pass a fake with the same four methods:
    ``start``, ``schedule``, ``unschedule``, ``stop``/``join``).
    """

    def __init__(self, observer_factory: Callable[[], object] | None = None) -> None:
        self._factory = observer_factory
        self._observer = None
        self._error: str | None = None
        self._started = False
        self._lock = threading.Lock()

    def watch(self, path: str, *, recursive: bool,
              on_event: Callable[[object], None]) -> tuple[object | None, str | None]:
        """Schedule events for ``path``: (a handle for ``unwatch``, None), or (None, why it has to be polled)."""
        observer = self._start()
        if observer is None:
            return None, self._error or "no event observer"
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

        class Handler(FileSystemEventHandler):
            def dispatch(self, event) -> None:  # only record it: no reading, parsing or stat() here
                on_event(event)

        kinds = [FileModifiedEvent, FileCreatedEvent, FileDeletedEvent, FileMovedEvent, FileClosedEvent,
                 DirCreatedEvent, DirDeletedEvent, DirMovedEvent]
        try:
            return observer.schedule(Handler(), path, recursive=recursive, event_filter=kinds), None
        except OSError as e:
            if e.errno == errno.ENOSPC:
                return None, ("the inotify watch limit is reached (raise fs.inotify.max_user_watches, "
                              f"now {_read_sysctl('max_user_watches')})")
            if e.errno == errno.EMFILE:
                return None, ("the inotify instance limit is reached (raise fs.inotify.max_user_instances, "
                              f"now {_read_sysctl('max_user_instances')})")
            return None, f"inotify is unavailable here ({e.strerror or e})"
        except Exception as e:  # an observer backend with other errors
            return None, f"events are unavailable here ({e})"

    def unwatch(self, handle: object | None) -> None:
        if handle is None or self._observer is None:
            return
        try:
            self._observer.unschedule(handle)
        except Exception:  # the emitter may be gone already
            pass

    def stop(self, timeout: float) -> None:
        """Stop the observer; the feed cannot be started again."""
        with self._lock:
            self._started = True
            observer, self._observer = self._observer, None
            self._error = self._error or "the watcher is stopped"
        if observer is not None:
            try:
                observer.stop()
                observer.join(timeout)
            except Exception:  # stopping must not raise
                pass

    def _start(self):
        with self._lock:
            if self._started:
                return self._observer
            self._started = True
            try:
                if self._factory is None:
                    from watchdog.observers import Observer as factory
                else:
                    factory = self._factory
            except Exception as e:  # no watchdog, or no backend for this OS: poll
                self._error = f"watchdog is unavailable ({e})"
                return None
            try:
                observer = factory()
                observer.start()
            except Exception as e:  # e.g. no inotify at all
                self._error = f"the watchdog observer did not start ({e})"
                return None
            self._observer = observer
            return observer


def watch_root(feed: EventFeed, asked: str, asked_by: str, real: str, *, recursive: bool,
               on_event: Callable[[object], None]) -> tuple[str, str, object | None]:
    """How to watch the root at ``real``: (``"inotify"`` or ``"poll"``, the reason for polling, the event handle)."""
    if asked == "poll":
        return "poll", f"as asked ({asked_by})", None
    if asked == "auto":
        fstype = filesystem_type(real)
        if is_remote_fs(fstype):
            return "poll", f"it is on {fstype}, where inotify does not report changes made by other machines", None
    handle, why = feed.watch(real, recursive=recursive, on_event=on_event)
    if why is None:
        return "inotify", "", handle
    return "poll", ("inotify was asked for, but " + why) if asked == "inotify" else why, None


def _read_sysctl(name: str) -> str:
    try:
        with open(f"/proc/sys/fs/inotify/{name}") as f:
            return f.read().strip()
    except OSError:
        return "?"
