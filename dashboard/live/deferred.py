"""A tailer that leaves a file it already knows unread until someone needs its records or the file changes.

``DeferredTailer(path, root=..., known=...)`` wraps the real tailer (made at once by ``factory``, ``Tailer`` by
default, and not polled yet). At its first look it ``lstat``\\ s the file; when ``known(path, stat)`` says that
what the readers need of this file is known already (``AppState``: a summary cache entry for this path, size and
mtime), it stops there: no byte is read, ``runs`` is empty, ``version`` is 1 and ``deferred`` is True. From
then on each look is one ``lstat`` while the file keeps that size, mtime, inode and device and is a regular file.

It hands over to the real tailer, which reads the file from byte 0 like any new file, when

- the file changed in any of those (it grew, was replaced, truncated, deleted, or is now a symlink), or
- a reader called ``want()`` (the Run page needs the records) and the worker looked again.

Only the watcher's worker polls, so the file still has one reader; ``deferred`` turns False once the real
tailer's first read is done. ``lock`` is the real tailer's from the start,
so a reader holding it is never holding a lock that stopped guarding the records. ``version`` stays monotonic
across the hand-over (1 while deferred, then 1 + the real tailer's). Every other attribute is the real tailer's.
"""

from __future__ import annotations

import os
import stat as _stat
from collections.abc import Callable

from dashboard.live.tailer import Tailer


class DeferredTailer:
    """See the module docstring. ``known(path, lstat_result)`` is asked once, at the first look."""

    def __init__(self, path: str | os.PathLike, *, known: Callable[[str, os.stat_result], bool],
                 factory: Callable[..., object] = Tailer, **kwargs) -> None:
        self.path = os.fspath(path)
        self._real = factory(self.path, **kwargs)
        self._known = known
        self._deferred = False
        self._asked = False
        self._wanted = False
        self._sig: tuple[int, int, int, int] | None = None
        self._size = 0

    # -- state -------------------------------------------------------------------------------------------
    @property
    def deferred(self) -> bool:
        """True while the file is known and unread (``runs`` is then empty)."""
        return self._deferred

    def want(self) -> None:
        """Ask for the records: the worker's next look reads the file (any thread may call this)."""
        self._wanted = True

    # -- what the registry and readers use ---------------------------------------------------------------
    @property
    def lock(self):
        return self._real.lock

    @property
    def version(self) -> int:
        return (1 if self._asked and (self._deferred or self._sig is not None) else 0) + self._real.version

    @property
    def size(self) -> int:
        return self._size if self._deferred else self._real.size

    @property
    def exists(self) -> bool:
        return True if self._deferred else self._real.exists

    def __getattr__(self, name: str):
        # Everything else (runs, generation, restarts, notes, behind, refused, offset, parser, ...) is the real
        # tailer's: while deferred it has read nothing, so it says so (no runs, offset 0, no restarts).
        return getattr(self.__dict__["_real"], name)

    # -- the worker --------------------------------------------------------------------------------------
    def poll(self, *, force: bool = False) -> bool:
        if not self._asked:
            self._asked = True
            st = self._lstat()
            if st is not None and not self._wanted and self._known(self.path, st):
                self._sig = self._sig_of(st)
                self._size = st.st_size
                self._deferred = True
                return True
        if self._deferred:
            st = self._lstat()
            if st is not None and not self._wanted and self._sig_of(st) == self._sig:
                return False
            # Changed, gone, or wanted: the real tailer reads it from the start. ``deferred`` turns False only
            # when that read is done, so a reader sees the cached state or the new one, never one half read.
            self._real.poll(force=True)
            self._deferred = False
            return True
        return self._real.poll(force=force)

    def _lstat(self) -> os.stat_result | None:
        try:
            st = os.lstat(self.path)
        except OSError:
            return None
        return st if _stat.S_ISREG(st.st_mode) else None

    @staticmethod
    def _sig_of(st: os.stat_result) -> tuple[int, int, int, int]:
        return st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns

    def __repr__(self) -> str:
        return f"DeferredTailer({self.path!r}, deferred={self._deferred}, real={self._real!r})"
