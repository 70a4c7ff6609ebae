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

Nothing lost at a restart (as pygtail and Filebeat do it). A look comes at intervals (a stat() poll, or
an event handled a little later), so the lines written between the last look and a rotation or a
copytruncate are no longer at the path. Before a generation ends, what it still holds is read into it:

- deleted or replaced (a rotation renamed it; the new file may not be there yet): the old file is read to
  its end, through the descriptor kept open since the last look (a descriptor follows the file through a
  rename; it is read only while the file is still in the same directory, or was deleted from there), else
  through the file with the old ``(st_dev, st_ino)`` found in the same directory (``*.log.1`` or any name);
- truncated or rewritten in place (copytruncate): bytes ``[offset, end)`` are read from the rotated copy:
  a regular file (never a symlink) in the same directory whose name starts with the log's, written no
  earlier than what was read, whose first KiB and the KiB before ``offset`` are the fingerprints kept;
- when neither is found, a note says how many bytes may have been missed: the size last seen minus
  ``offset`` (and whatever was written after the last look, which cannot be counted).

Every such file is opened with ``roots.open_inside`` bounded by the log's own (real) directory. The runs of
an ended generation stay readable for a while (``ended_runs``), so that a reader that looked before the
restart can still take what was read into it after its look (``tail`` does: every record exactly once).
A tailer keeps at most one descriptor open between looks (its current file), up to ``MAX_HELD`` in the
process, and not for a file that has not grown for ``HOLD_IDLE_SECONDS``; ``close()`` closes it.

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
a rewrite to the same size within one mtime tick is only seen when an event forces a look. A generation
that came and went entirely between two looks (two rotations before one look) is not seen: the file the
look finds is read from its start, and the one before it is finished, but none in between.
"""

from __future__ import annotations

import os
import stat as _stat
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from dashboard.live.memory import BIG_READ, give_back
from dashboard.live.parse_cache import ParseCache
from dashboard.live.roots import UnsafePath, open_inside, opened_path, still_in
from parsers import LogParser, Run, SizeLimitExceeded, reference_of
from parsers.sniff import looks_binary, may_be_gzip
from parsers.twins import epoch_hint_for

FINGERPRINT_BYTES = 1024
READ_CHUNK = 4 << 20
MAX_READ_PER_POLL = 64 << 20  # then yield to other files; the rest is read at the next look
MAX_NOTES = 50
MAX_RESTARTS_KEPT = 100
ENDED_KEPT = 8  # ended generations whose runs stay readable (``ended_runs``) for readers that lag behind,
ENDED_KEEP_SECONDS = 120.0  # for this long after they ended
MAX_HELD = 256  # descriptors the tailers of a process keep open between looks; past it the old file is found by inode
HOLD_IDLE_SECONDS = 300.0  # a file that has not grown for this long is not kept open (Filebeat's close_inactive)
COPY_CANDIDATES = 16  # rotated copies whose fingerprints are compared after a truncation, newest first


class _Slots:
    """How many descriptors the tailers of this process keep open between looks (at most ``MAX_HELD``)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.used = 0

    def take(self) -> bool:
        with self._lock:
            if self.used >= MAX_HELD:
                return False
            self.used += 1
            return True

    def give(self) -> None:
        with self._lock:
            self.used -= 1


_SLOTS = _Slots()


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
        parse_cache: ParseCache | None = None,
    ) -> None:
        self.path = os.fspath(path)
        self.parse_cache = parse_cache
        self.resumed_at: int | None = None  # the offset the parse cache let this generation start reading from
        self._saved: tuple[int, int] | None = None  # (generation, offset) last written to the parse cache
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
        self.caught_up = False  # this generation was read to its end once (False: its first read is under way)
        self.failed: str | None = None  # why following stopped for good (size limit, internal error)
        self.refused: str | None = None  # why the file at the path is not read now (it leads outside root)
        self._notes: list[str] = []
        self._head = b""
        self._tail = b""
        self._sig: tuple[int, int, int, int] | None = None
        self._skip_key: tuple[int, int, int] | None = None
        self._held: int | None = None  # the current generation's file, kept open between looks
        self._held_at = 0.0
        self._dir: str | None = None  # the real directory of the current generation's file
        self._name = os.path.basename(self.path)  # and its real name there
        self._read_mtime = 0  # its st_mtime_ns after the last read
        self._ended: dict[int, tuple[float, list[Run]]] = {}  # generation -> (when it ended, its runs)
        self.parser = self._new_parser()

    # -- what readers use ------------------------------------------------------------------------------
    @property
    def runs(self) -> list[Run]:
        """The parser's runs for the current generation; hold ``lock`` while reading them."""
        return self.parser.runs

    @property
    def notes(self) -> list[str]:
        return list(self._notes)

    def ended_runs(self, generation: int) -> list[Run] | None:
        """The runs of an ended ``generation`` as it ended (what was read into it before the restart included),
        or None when it is not one of the last ``ENDED_KEPT`` ended generations, or ended more than
        ``ENDED_KEEP_SECONDS`` ago; hold ``lock``."""
        kept = self._ended.get(generation)
        return kept[1] if kept is not None else None

    def read_whole(self, st: os.stat_result) -> bool:
        """Whether the last look read everything of the file that ``st`` describes (the same device, inode, size
        and mtime as when that look reached its end): nothing of it is left unread, in the current generation."""
        return self._sig is not None and self._sig == (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns) \
            and self._sig[2] == self.offset

    @property
    def parse_saved(self) -> bool:
        """Whether the parse cache holds this generation's parse as it is now (``save_parse`` wrote it, or it was
        loaded from there and nothing was read since)."""
        return self._saved == (self.generation, self.offset)

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
        if self._ended:
            self._forget_ended()
        try:
            st = os.stat(self.path)
        except (FileNotFoundError, NotADirectoryError):
            self._left()
            return
        except OSError as e:
            self._note(f"cannot stat the file: {e.strerror or e}")
            return
        if not _stat.S_ISREG(st.st_mode):
            self._left()
            return
        sig = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
        if sig == self._sig and not force:
            self._release_if_idle()
            return
        try:
            fd = open_inside(self.path, self.root)
        except UnsafePath as e:
            self._refuse(str(e), sig)
            return
        except (FileNotFoundError, NotADirectoryError):
            self._left()
            return
        except OSError as e:
            self._note(f"cannot open the file: {e.strerror or e}")
            return
        self.refused = None
        try:
            post = self._look(fd, sig)
        except OSError as e:  # ESTALE and friends: the next look starts over
            os.close(fd)
            self._note(f"reading failed: {e.strerror or e}; will retry")
            self._sig = None
            return
        except BaseException:
            os.close(fd)
            raise
        self._hold(fd, post[0].st_mtime_ns if post is not None else sig[3])
        if post is None:
            return
        post_stat, complete = post
        self.size = post_stat.st_size
        self._read_mtime = post_stat.st_mtime_ns
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
            reason, detail = why
            # What the ending generation still holds is read into it first (module docstring).
            more = self._finish_old() if reason == "replaced" else self._finish_from_copy(reason)
            self._restart(reason, detail + more)
        if ident != self.inode:
            self.inode = ident
            where = opened_path(fd) or os.path.realpath(self.path)
            self._dir, self._name = os.path.dirname(where), os.path.basename(where)
        if self.skipped is not None:
            key = (ident[0], ident[1], fst.st_size)
            if self._skip_key is not None and (key[:2] != self._skip_key[:2] or key[2] < self._skip_key[2]):
                self.skipped = None  # replaced or truncated: look at the new content
            else:
                self._skip_key = key
                self.size = fst.st_size
                self._sig = sig
                return None
        if self.offset == 0 and self.parse_cache is not None and self.parser.lines == 0 and not self.parser.runs:
            self._resume(fd, fst)
        complete = self._read(fd)
        return os.fstat(fd), complete

    # -- the parse cache ------------------------------------------------------------------------------
    def _resume(self, fd: int, fst: os.stat_result) -> None:
        """A generation's first read: take the parser's state from the parse cache when it has this file's, and
        read on from its offset (through ``fd``, the descriptor ``open_inside`` checked)."""
        if fst.st_size < self.parse_cache.min_bytes:
            return
        got = self.parse_cache.load(self.path, fd, fst, self.parser.settings)
        if got is None:
            return
        head = os.pread(fd, FINGERPRINT_BYTES, 0)
        tail = os.pread(fd, FINGERPRINT_BYTES, max(got.offset - FINGERPRINT_BYTES, 0))[:got.offset]
        with self.lock:
            self.parser = got.parser
            self.offset = got.offset
            self._head = head[:got.offset]
            self._tail = tail
            self.resumed_at = got.offset
            self._saved = (self.generation, got.offset)
            self.version += 1

    def save_parse(self) -> bool:
        """Write this generation's parse to the parse cache when it was read to the end of the file as last seen
        and holds more than the last write; True when written. Any thread may call it (the parser is pickled
        under ``lock``, written outside it)."""
        cache = self.parse_cache
        if cache is None or self.skipped is not None or self.failed is not None or not self.caught_up:
            return False
        with self.lock:
            sig = self._sig  # set only when the last look read everything: (dev, ino, size == offset, mtime)
            if (sig is None or sig[2] != self.offset or self.offset < cache.min_bytes or self.parser.is_gzip
                    or self._saved == (self.generation, self.offset)):
                return False
            saved = cache.pack(self.path, self.parser, (sig[0], sig[1]), self.offset, sig[3], self._head,
                               self._tail)
            before, self._saved = self._saved, (self.generation, self.offset)  # one writer per state
        if not cache.write(saved):
            with self.lock:
                self._saved = before
            return False
        return True

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
                self._ended[self.generation] = (self._clock(), self.parser.runs)
                self._ended.pop(self.generation - ENDED_KEPT, None)
                self.restart_count += 1
                self.generation += 1
                self.parser = self._new_parser()
            self.offset = 0
            self.caught_up = False
            self._head = b""
            self._tail = b""
            self.skipped = None
            self._skip_key = None
            self.version += 1

    def _forget_ended(self) -> None:
        old = self._clock() - ENDED_KEEP_SECONDS
        with self.lock:
            for g in [g for g, (at, _) in self._ended.items() if at < old]:
                del self._ended[g]

    def _left(self) -> None:
        """Nothing (or no regular file) is at the path now: the file was deleted, or renamed by a rotation whose
        new file is not there yet. What it still holds is read first, then the generation ends."""
        more = self._finish_old() if self.inode is not None else ""
        self._gone("the file was deleted or moved away" + more)

    def _gone(self, detail: str = "the file was deleted or moved away") -> None:
        self._release()
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

    # -- finishing a generation that ends ------------------------------------------------------------
    def _finish_old(self) -> str:
        """The current generation's file left the path (renamed, deleted, replaced): read what it holds past
        ``offset`` into the generation, before it ends. Returns words for the restart's detail."""
        if self.skipped is not None or self.failed is not None:
            self._release()
            return ""
        known = self.size
        fd, how = self._old_file()
        if fd is None:
            self._release()
            if how is not None:
                return self._missed(f"the old file {how}", known, always=True)
            return self._missed("the old file was not found in its directory", known, always=False)
        start = self.offset
        try:
            complete = self._read(fd, to_end=True)
        finally:
            if fd == self._held:
                self._release()
            else:
                os.close(fd)
        more = f"; the old file was read to its end first ({self.offset - start} more bytes, {how})"
        if not complete:
            more += self._missed(f"reading the old file ({how}) failed", max(known, self.offset), always=True)
        return more

    def _old_file(self) -> tuple[int | None, str | None]:
        """The file of the current generation, wherever a rotation put it: (descriptor, how it was found), or
        (None, why it is not read) / (None, None) when it is not found."""
        held = self._held
        if held is not None:
            try:
                fst = os.fstat(held)
                same = (fst.st_dev, fst.st_ino) == self.inode
            except OSError:
                same = False
            if same:
                inside = still_in(held, self._dir) if self._dir is not None else None
                if inside:
                    now = opened_path(held)
                    return held, f"as {os.path.basename(now)}" if now else "deleted, through its descriptor"
                if inside is False:
                    return None, "was moved out of its directory and is not read"
        found = self._find_by_inode()
        if found is None:
            return None, None
        return found, f"found by its inode as {os.path.basename(opened_path(found) or '?')}"

    def _find_by_inode(self) -> int | None:
        """Open the regular file (never a symlink) with the current generation's ``(st_dev, st_ino)`` in its
        directory, inside that directory (``open_inside``), or None."""
        if self._dir is None or self.inode is None:
            return None
        try:
            with os.scandir(self._dir) as it:
                names = [e.name for e in it if e.inode() == self.inode[1] and not e.is_symlink()]
        except OSError:
            return None
        for name in names:
            try:
                fd = open_inside(os.path.join(self._dir, name), self._dir)
            except (UnsafePath, OSError):
                continue
            fst = os.fstat(fd)
            if (fst.st_dev, fst.st_ino) == self.inode:
                return fd
            os.close(fd)
        return None

    def _finish_from_copy(self, reason: str) -> str:
        """Truncated or rewritten in place (copytruncate) after ``offset`` bytes were read: read the bytes past
        ``offset`` from the rotated copy into the generation, before it ends. Words for the restart's detail."""
        if not self.offset or self.skipped is not None or self.failed is not None:
            return ""
        known = self.size
        found = self._find_copy()
        if found is None:
            return self._missed(f"{reason} and no rotated copy was found", known, always=True)
        fd, name = found
        start = self.offset
        try:
            complete = self._read(fd, to_end=True)
        finally:
            os.close(fd)
        more = f"; the {self.offset - start} bytes past byte {start} were read from the rotated copy {name} first"
        if not complete:
            more += self._missed(f"reading the rotated copy {name} failed", max(known, self.offset), always=True)
        return more

    def _find_copy(self) -> tuple[int, str] | None:
        """The rotated copy of what was read (see the module docstring), opened inside the log's directory."""
        if self._dir is None or not self._head:
            return None
        candidates = []
        try:
            with os.scandir(self._dir) as it:
                for e in it:
                    if e.name == self._name or not e.name.startswith(self._name) or e.is_symlink():
                        continue
                    try:
                        st = e.stat(follow_symlinks=False)
                    except OSError:
                        continue
                    if (not _stat.S_ISREG(st.st_mode) or st.st_size < self.offset
                            or (st.st_dev, st.st_ino) == self.inode or st.st_mtime_ns < self._read_mtime):
                        continue  # not a file, too short, the log itself, or written before what was read
                    candidates.append((st.st_mtime_ns, e.name))
        except OSError:
            return None
        for _, name in sorted(candidates, reverse=True)[:COPY_CANDIDATES]:
            try:
                fd = open_inside(os.path.join(self._dir, name), self._dir)
            except (UnsafePath, OSError):
                continue
            try:
                same = (os.pread(fd, len(self._head), 0) == self._head
                        and os.pread(fd, len(self._tail), self.offset - len(self._tail)) == self._tail)
            except OSError:
                same = False
            if same:
                return fd, name
            os.close(fd)
        return None

    def _missed(self, why: str, known: int, *, always: bool) -> str:
        """A note that the bytes between ``offset`` and ``known`` (the size last seen) were not read (with
        ``always`` also when that is none: what was written after the last look cannot be counted); the same
        words for the restart's detail, or "" when nothing is said."""
        n = max(known - self.offset, 0)
        if not (n or always):
            return ""
        text = (f"{why}: {n} bytes may have been missed (the size last seen, {known}, minus the {self.offset} "
                "bytes read), and so may whatever was written after the last look")
        self._note(text)
        return "; " + text

    # -- the descriptor kept between looks -------------------------------------------------------------
    def _hold(self, fd: int, mtime_ns: int) -> None:
        """Keep ``fd`` (the current file, just read; last written at ``mtime_ns``) open until the next look, so
        that a rotation can be read to its end through it; the one kept before is closed. A file not written
        for ``HOLD_IDLE_SECONDS`` is not kept (a rotation of it is found by its inode)."""
        idle = time.time() - mtime_ns / 1e9 > HOLD_IDLE_SECONDS  # file times are wall-clock times
        if self.skipped is not None or self.failed is not None or not self.exists or idle:
            os.close(fd)
            self._release()
            return
        if self._held is not None:
            os.close(self._held)
        elif not _SLOTS.take():
            os.close(fd)
            return
        self._held = fd
        self._held_at = self._clock()

    def _release(self) -> None:
        if self._held is not None:
            fd, self._held = self._held, None
            os.close(fd)
            _SLOTS.give()

    def _release_if_idle(self) -> None:
        if self._held is not None:
            last = max(self.last_growth_at or 0.0, self._held_at)
            if self._clock() - last > HOLD_IDLE_SECONDS:
                self._release()

    def close(self) -> None:
        """Close the descriptor kept open; call it only when no look runs (the next look reopens the file)."""
        self._release()

    def __del__(self) -> None:
        try:
            self._release()
        except Exception:
            pass

    # -- reading ------------------------------------------------------------------------------------
    def _read(self, fd: int, *, to_end: bool = False) -> bool:
        """Feed bytes from ``offset`` to the end; True when the end was reached (then ``caught_up``: a reader
        knows the first read of this generation is over). ``behind`` says whether it stopped at the per-look
        budget with more to read (the watcher then looks again at once); ``to_end`` reads on past the budget (a
        file that is leaving the path)."""
        done = self._read_pass(fd, to_end=to_end)
        if done:
            if not self.caught_up and self.offset - (self.resumed_at or 0) >= BIG_READ:
                give_back()  # what parsing a big log left freed (``live.memory``)
            self.caught_up = True
        return done

    def _read_pass(self, fd: int, *, to_end: bool) -> bool:
        budget = MAX_READ_PER_POLL
        self.behind = False
        while budget > 0 or to_end:
            try:
                data = os.pread(fd, min(self.read_chunk, budget) if not to_end else self.read_chunk, self.offset)
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
                notes_before = len(self.parser.notes)
                try:
                    self.parser.feed(data)
                except SizeLimitExceeded as e:
                    self.failed = str(e)
                    self._note(f"stopped following: {e}")
                    self.version += 1
                    return True
                for note in self.parser.notes[notes_before:]:  # damaged gzip data, ... (once each)
                    self._note(note)
                self.offset += len(data)
                if len(self._head) < FINGERPRINT_BYTES:
                    self._head = (self._head + data[:FINGERPRINT_BYTES])[:FINGERPRINT_BYTES]
                self._tail = (self._tail + data[-FINGERPRINT_BYTES:])[-FINGERPRINT_BYTES:]  # not a copy of data
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
