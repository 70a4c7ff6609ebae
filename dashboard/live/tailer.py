"""One followed log file: the bytes appended since the last look go to the parser exactly once.

A ``Tailer`` owns a ``parsers.LogParser`` for the current *generation* of a file: the content since
the file was created, last truncated or replaced. It remembers

- ``offset``: how many bytes of this generation were handed to the parser (a trailing partial line
  included: the parser holds it back until its newline arrives, so it is never read twice);
- ``inode``: ``(st_dev, st_ino)`` of the file those bytes came from;
- two fingerprints: the first KiB of the generation and the KiB just before ``offset``.

``poll()`` looks once: ``stat`` the path; if nothing changed since the last look (same device, inode,
size and mtime) and the caller did not force it, it stops there (the idle cost is one ``stat``).
Otherwise it opens the file with ``roots.open_inside`` (its real path inside ``root``, the last component
not a symlink, the descriptor proven to be the file checked), ``fstat``\\ s the handle and decides, in
this order:

0. the path now leads outside ``root`` (a symlink swapped in) -> the file is *dropped*: treated as
   deleted (``runs`` empty, ``exists`` False), with a note and ``refused`` saying why; none of the
   outside file is read. A regular file at the path again is followed again, from its start;
1. the path is gone -> ``deleted``: the generation ends, ``runs`` becomes empty, ``exists`` False;
2. another inode -> ``replaced`` (rotation: rename + new file, or an atomic replace);
3. size below ``offset`` -> ``truncated``;
4. a fingerprint differs -> ``rewritten`` (copytruncate, then new writes past the old offset).

Each of these is a restart: a new parser reads the file as it is now from byte 0 and a ``Restart``
record says why. Then the bytes from ``offset`` to the end are read (``os.pread`` on the handle, so
a file renamed or deleted mid-read is still read consistently) and fed in chunks.

Invariants:

- Bytes ``[0, offset)`` of the current generation were fed to the current parser exactly once and
  in order; no other bytes were. Hence every complete line of the generation is parsed exactly
  once, whatever the chunking of the writes.
- ``version`` only grows; it grows whenever what a reader sees changes: new complete lines,
  a restart, a deletion. ``generation`` grows by one at each restart.
- The parser is mutated only under ``lock``; readers hold ``lock`` while reading ``runs``.
- Only one thread calls ``poll()`` (the watcher's worker); the I/O happens outside the lock.
- ``poll()`` never raises: I/O errors and a vanished file become ``notes`` or a deletion.
- With a ``root``, no byte of a file whose real path is outside it is ever read: containment is checked
  at every open, and every read goes through the descriptor that was checked.

Limits (as in pygtail and Filebeat): a file rewritten between two looks with content that keeps the
same first KiB, the same KiB before the old offset and at least the old size is taken for an append;
a rewrite to the same size within one mtime tick is only seen when an event forces a look.
"""

from __future__ import annotations

import os
import stat as _stat
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from dashboard.live.roots import UnsafePath, open_inside
from parsers import LogParser, Run, SizeLimitExceeded, reference_of
from parsers.sniff import looks_binary, may_be_gzip
from parsers.twins import epoch_hint_for

FINGERPRINT_BYTES = 1024
READ_CHUNK = 4 << 20
MAX_READ_PER_POLL = 64 << 20  # then yield to other files; the rest is read at the next look
MAX_NOTES = 50
MAX_RESTARTS_KEPT = 100


@dataclass(frozen=True)
class Restart:
    """Why a generation ended and the file was read again from its start."""

    reason: str  # "deleted", "replaced", "truncated" or "rewritten"
    at: float  # time.time() when it was noticed
    generation: int  # the generation that ended
    offset: int  # bytes of it that had been read
    detail: str


class Tailer:
    """Follows one file; see the module docstring for the algorithm and invariants.

    ``root`` is the real path every open must stay inside (the log root's directory, or for a file named
    on the command line that file's real path); None checks nothing but the open itself.
    """

    def __init__(
        self,
        path: str | os.PathLike,
        *,
        root: str | os.PathLike | None = None,
        max_bytes: int | None = None,
        read_chunk: int = READ_CHUNK,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.path = os.fspath(path)
        self.root = None if root is None else os.fspath(root)
        self.lock = threading.RLock()
        self.max_bytes = max_bytes
        self.read_chunk = read_chunk
        self._clock = clock
        self.offset = 0
        self.inode: tuple[int, int] | None = None
        self.size = 0
        self.exists = False
        self.version = 0
        self.generation = 0
        self.restart_count = 0
        self.restarts: list[Restart] = []
        self.last_growth_at: float | None = None
        self.last_check_at: float | None = None
        self.skipped: str | None = None  # why this generation is not parsed (binary content)
        self.behind = False  # the last look stopped at MAX_READ_PER_POLL with more left to read
        self.failed: str | None = None  # why following stopped for good (size limit, internal error)
        self.refused: str | None = None  # why the file at the path is not read now (it leads outside root)
        self._notes: list[str] = []
        self._head = b""
        self._tail = b""
        self._sig: tuple[int, int, int, int] | None = None
        self._skip_key: tuple[int, int, int] | None = None
        self.parser = self._new_parser()

    # -- what readers use ------------------------------------------------------------------------------
    @property
    def runs(self) -> list[Run]:
        """The parser's runs for the current generation; hold ``lock`` while reading them."""
        return self.parser.runs

    @property
    def notes(self) -> list[str]:
        return list(self._notes)

    def counts(self) -> tuple[int, int]:
        """(train records, eval records) of the current generation, read under the lock."""
        with self.lock:
            return sum(len(r.train) for r in self.parser.runs), sum(len(r.evals) for r in self.parser.runs)

    # -- the one entry point of the worker --------------------------------------------------------------
    def poll(self, *, force: bool = False) -> bool:
        """Look at the file once and feed what was appended; True when ``version`` changed."""
        before = self.version
        if self.failed is not None:
            return False
        try:
            self._poll(force)
        except Exception as e:  # a parser bug must not stop the watcher or the other files
            self.failed = f"internal error: {type(e).__name__}: {e}"
            self._note(f"stopped following: {self.failed}")
            with self.lock:
                self.version += 1
        self.last_check_at = self._clock()
        return self.version != before

    def _poll(self, force: bool) -> None:
        try:
            st = os.stat(self.path)
        except (FileNotFoundError, NotADirectoryError):
            self._gone()
            return
        except OSError as e:
            self._note(f"cannot stat the file: {e.strerror or e}")
            return
        if not _stat.S_ISREG(st.st_mode):
            self._gone()
            return
        sig = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
        if sig == self._sig and not force:
            return
        try:
            fd = open_inside(self.path, self.root)
        except UnsafePath as e:
            self._refuse(str(e), sig)
            return
        except (FileNotFoundError, NotADirectoryError):
            self._gone()
            return
        except OSError as e:
            self._note(f"cannot open the file: {e.strerror or e}")
            return
        self.refused = None
        try:
            post = self._look(fd, sig)
        except OSError as e:  # ESTALE and friends: the next look starts over
            self._note(f"reading failed: {e.strerror or e}; will retry")
            self._sig = None
            return
        finally:
            os.close(fd)
        if post is None:
            return
        post_stat, complete = post
        self.size = post_stat.st_size
        # Remember the file as seen only when everything in it was read: an unchanged stat() then
        # proves there is nothing new. Otherwise the next look reads again whatever stat() says.
        seen = (post_stat.st_dev, post_stat.st_ino, post_stat.st_size, post_stat.st_mtime_ns)
        self._sig = seen if complete and post_stat.st_size == self.offset else None

    def _look(self, fd: int, sig: tuple[int, int, int, int]) -> tuple[os.stat_result, bool] | None:
        """Restart if needed, then read: (fstat after reading, whether the end was reached), or None."""
        fst = os.fstat(fd)
        ident = (fst.st_dev, fst.st_ino)
        if not self.exists:
            self.exists = True
            with self.lock:
                self.version += 1
        why = self._restart_reason(fd, fst.st_size, ident)
        if why is not None:
            self._restart(*why)
        self.inode = ident
        if self.skipped is not None:
            key = (ident[0], ident[1], fst.st_size)
            if self._skip_key is not None and (key[:2] != self._skip_key[:2] or key[2] < self._skip_key[2]):
                self.skipped = None  # replaced or truncated: look at the new content
            else:
                self._skip_key = key
                self.size = fst.st_size
                self._sig = sig
                return None
        complete = self._read(fd)
        return os.fstat(fd), complete

    # -- restarts -------------------------------------------------------------------------------------
    def _restart_reason(self, fd: int, size: int, ident: tuple[int, int]) -> tuple[str, str] | None:
        if self.inode is None:
            return None  # first look, or the file came back after a deletion: offset is 0
        if ident != self.inode:
            return "replaced", "a new file (another inode) is at the path: rotated or replaced"
        if size < self.offset:
            return "truncated", f"the file shrank to {size} bytes, below the {self.offset} bytes read"
        if self.offset and self._head and os.pread(fd, len(self._head), 0) != self._head:
            return "rewritten", "the first KiB changed: the file was truncated and written again (copytruncate)"
        if self.offset and self._tail and os.pread(fd, len(self._tail), self.offset - len(self._tail)) != self._tail:
            return "rewritten", "the bytes before the read offset changed: the file was truncated and written again"
        return None

    def _restart(self, reason: str, detail: str) -> None:
        with self.lock:
            had_content = self.offset > 0 or bool(self.parser.runs)
            if had_content:
                self.restarts.append(Restart(reason, self._clock(), self.generation, self.offset, detail))
                del self.restarts[:-MAX_RESTARTS_KEPT]
                self.restart_count += 1
                self.generation += 1
                self.parser = self._new_parser()
            self.offset = 0
            self._head = b""
            self._tail = b""
            self.skipped = None
            self._skip_key = None
            self.version += 1

    def _gone(self, detail: str = "the file was deleted or moved away") -> None:
        with self.lock:  # a reader that sees the new version sees exists False too
            known = self.exists or self.inode is not None or self.offset
            self.exists = False
            self.inode = None
            self.size = 0
            self._sig = None
            if known:
                self._restart("deleted", detail)

    def _refuse(self, reason: str, sig: tuple[int, int, int, int]) -> None:
        """Drop the file: the path no longer leads to a file that may be read (see ``open_inside``)."""
        with self.lock:
            if self.refused is None:
                self.version += 1
            self.refused = reason
            self._gone(f"dropped: {reason}")
        self._note(f"dropped: {reason}; not read")
        self._sig = sig  # the next look tries again only when the path changes

    # -- reading ------------------------------------------------------------------------------------
    def _read(self, fd: int) -> bool:
        """Feed bytes from ``offset`` to the end; True when the end was reached. ``behind`` says whether
        it stopped at the per-look budget with more to read (the watcher then looks again at once)."""
        budget = MAX_READ_PER_POLL
        self.behind = False
        while budget > 0:
            try:
                data = os.pread(fd, min(self.read_chunk, budget), self.offset)
            except OSError as e:  # e.g. ESTALE on NFS when the file vanished under us: retry later
                self._note(f"read failed at byte {self.offset}: {e.strerror or e}; will retry")
                return False
            if not data:
                return True
            budget -= len(data)
            # The first KiB of text is judged (after any NUL bytes a crash left: those alone are not binary).
            sample = self._head + data if self.offset < FINGERPRINT_BYTES else b""
            if sample and not may_be_gzip(sample):
                if looks_binary(sample, window=FINGERPRINT_BYTES):
                    self.skipped = "binary content (NUL or control bytes): not a text log"
                    self._note(f"skipped: {self.skipped}")
                    st = os.fstat(fd)
                    self._skip_key = (st.st_dev, st.st_ino, st.st_size)
                    with self.lock:
                        self.version += 1
                    return True
            with self.lock:
                lines_before = self.parser.lines
                try:
                    self.parser.feed(data)
                except SizeLimitExceeded as e:
                    self.failed = str(e)
                    self._note(f"stopped following: {e}")
                    self.version += 1
                    return True
                self.offset += len(data)
                if len(self._head) < FINGERPRINT_BYTES:
                    self._head = (self._head + data)[:FINGERPRINT_BYTES]
                self._tail = (self._tail + data)[-FINGERPRINT_BYTES:]
                if self.parser.lines != lines_before:
                    self.version += 1
            self.last_growth_at = self._clock()
        self.behind = True
        return False

    def _new_parser(self) -> LogParser:
        return LogParser(reference=reference_of(self.path), max_bytes=self.max_bytes,
                         epoch_hint=epoch_hint_for(self.path, opener=self._open_twin))

    def _open_twin(self, path):
        """An mmcv JSON log's text twin, opened like the log itself: inside ``root`` (``open_inside``)."""
        return open(open_inside(path, self.root), "rb")

    def _note(self, text: str) -> None:
        if self._notes and self._notes[-1] == text:
            return
        self._notes.append(text)
        del self._notes[:-MAX_NOTES]

    def __repr__(self) -> str:
        return (f"Tailer({self.path!r}, offset={self.offset}, generation={self.generation}, "
                f"version={self.version}, exists={self.exists})")
