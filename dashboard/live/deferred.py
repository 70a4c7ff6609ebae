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

**Parking** (issue 18: a finished run nobody looks at keeps no records in memory). ``park()`` asks the worker to
go back to the deferred state at its next look: the records are given back (a new real tailer from ``factory``,
with the same ``lock``, replaces the one that held them) and the file is left unread again until it changes or a
reader calls ``want()``, exactly as after a start that found it known. The worker parks only a file read to its
end that has not changed since (``Tailer.read_whole``), with no restart behind it (its ``restarts`` and ended
generations would be lost), and only while nobody wanted it since the request (``want()`` cancels it). The
caller (``AppState.park_idle``) asks only for files whose summaries are in the summary cache for their current
stat and, for a big one, whose parse is in the parse cache (``Tailer.parse_saved``): the Runs page reads the same
summaries, and a page that opens the run again loads the parse instead of parsing the log. ``version`` goes up.
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
        self._make = lambda: factory(self.path, **kwargs)
        self._real = self._make()
        self._known = known
        self._deferred = False
        self._asked = False
        self._wanted = False
        self._park = False  # park() was asked for and not done or cancelled yet
        self._base = 0  # the versions of the real tailers given back by parking (``version`` stays monotonic)
        self.parked = 0  # how many times the records were given back
        self._sig: tuple[int, int, int, int] | None = None
        self._size = 0

    # -- state -------------------------------------------------------------------------------------------
    @property
    def deferred(self) -> bool:
        """True while the file is known and unread (``runs`` is then empty)."""
        return self._deferred

    def want(self) -> None:
        """Ask for the records: the worker's next look reads the file (any thread may call this); a pending
        ``park()`` is cancelled."""
        self._park = False
        self._wanted = True

    def park(self) -> None:
        """Ask the worker to give the records back at its next look, when the file is still read to its end and
        unchanged (module docstring; any thread may call this)."""
        if not self._deferred:
            self._wanted = False
            self._park = True

    # -- what the registry and readers use ---------------------------------------------------------------
    @property
    def lock(self):
        return self._real.lock

    @property
    def version(self) -> int:
        return self._base + (1 if self._asked and (self._deferred or self._sig is not None) else 0) + self._real.version

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
        if self._park:
            self._park = False
            if self._give_back():
                return True
        return self._real.poll(force=force)

    def _give_back(self) -> bool:
        """Park (the worker's side of ``park()``): True when the records were given back."""
        real = self._real
        st = self._lstat()
        with real.lock:
            if (st is None or self._wanted or real.restarts or real.generation or real.behind
                    or not real.caught_up or real.failed is not None or real.skipped is not None
                    or real.refused is not None or not real.read_whole(st)):
                return False
            fresh = self._make()
            fresh.lock = real.lock  # readers holding the lock keep guarding what they read
            self._base = self.version  # the fresh tailer's version starts at 0: the sum goes on from here
            self._sig = self._sig_of(st)
            self._size = st.st_size
            self._real = fresh
            self._deferred = True
            self.parked += 1
        real.close()
        return True

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
