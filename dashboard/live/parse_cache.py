"""A big log's parse kept on disk, so a restarted server does not parse it again: it loads the parser's state and
reads on from where that state ends.

One file per log in the user cache directory (``platformdirs.user_cache_dir("mmdash")/parses``, or
``$MMDASH_CACHE_DIR/parses``; ``MMDASH_CACHE_DIR=off`` turns it off), named by a hash of the log's path. An entry
holds a JSON header and the pickled ``parsers.LogParser`` as it was after ``offset`` bytes of the file (everything it
needs to go on reading from that offset: the runs with their record columns, the line count, a partial last line).
The header says which file and state it is: the path, the file's device and inode, ``offset`` and the file's mtime
(ns) when it was that long, SHA-256 of the file's first KiB and of the KiB before ``offset``, the code version (a
hash of the source of ``parsers/``: any change to the parser makes every entry stale), and the payload's length and
SHA-256.

``load`` gives the parser back only when all of these hold, checked on the descriptor the tailer opened (inside its
root, ``roots.open_inside``): the same path, device and inode; the file is at least ``offset`` long; at exactly
``offset`` bytes it has the same mtime (else it was rewritten to the same size: parsed again); its first KiB and
the KiB before ``offset`` are the ones hashed (so a longer file is the same file with lines appended, the tailer's
own rule for an append); the payload has its length and hash (a damaged file is never unpickled); and the parser's
``settings`` (year reference, epoch hint, size limit) equal those a new parser of this file gets now. Anything
else is a miss and the log is parsed from its start; a damaged entry is ignored with a note. Then the tailer reads
on from ``offset``: a fresh parse and a resumed one feed the parser the same bytes in the same order (chunking
never changes the result), so they give the same records.

Not kept: logs below ``MIN_BYTES`` (parsed again in well under a second), gzip logs (a decompressor's state cannot
be saved), logs skipped as binary or given up (size limit). Writes are atomic (a temporary file, then
``os.replace``); the directory is the user's alone (mode 0700), and a payload is unpickled only when its SHA-256 is
the one its header records, as for the summary cache. Entries not used for ``MAX_AGE_DAYS`` are deleted, and the
least recently used ones beyond ``MAX_TOTAL_BYTES`` in all.
"""

from __future__ import annotations

import gc
import hashlib
import json
import os
import pickle
import struct
import sys
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from parsers.trust import untrusted

ENV_CACHE_DIR = "MMDASH_CACHE_DIR"
FORMAT = 1
MAGIC = b"mmdash parse cache\n"
MIN_BYTES = 16 << 20
MAX_TOTAL_BYTES = 4 << 30
MAX_AGE_DAYS = 60
MAX_NOTES = 20
FINGERPRINT_BYTES = 1024
_OFF = ("0", "off", "no", "false", "none")
_REPO = Path(__file__).resolve().parents[2]
_HEADER_MAX = 1 << 16


def cache_base(environ: Mapping[str, str] | None = None) -> Path | None:
    """The dashboard's cache directory: ``$MMDASH_CACHE_DIR``, else the user cache dir; None when it is off."""
    env = os.environ if environ is None else environ
    given = (env.get(ENV_CACHE_DIR) or "").strip()
    if given.lower() in _OFF:
        return None
    if given:
        return Path(os.path.expanduser(given))
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("mmdash", appauthor=False))


def private_dir(directory: Path, what: str, note) -> bool:
    """Create ``directory`` private (mode 0700) when missing; True when a cache may use it (``parsers.trust``: only
    this user can have written what is in it), else False with a ``note`` saying why. For both caches."""
    try:
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        why = untrusted(os.stat(directory))
    except OSError as e:
        note(f"{what}: cannot create {directory}: {e.strerror or e}; not used")
        return False
    if why:
        note(f"{what}: {directory} is {why}; not used (its entries would run as code)")
    return not why


@lru_cache(maxsize=8)
def code_hash(dirs: Sequence[str], salt: str, repo: Path = _REPO) -> str:
    """A hash of the source files (``.py``, ``.c``) under ``dirs`` (relative to ``repo``, this repository) with
    ``salt`` and the Python version: what makes a cache entry stale when the code that made it changes."""
    h = hashlib.sha256(f"{salt} python {sys.version_info[0]}.{sys.version_info[1]}".encode())
    for d in dirs:
        for p in sorted(q for q in (repo / d).rglob("*") if q.suffix in (".py", ".c")):
            h.update(p.relative_to(repo).as_posix().encode() + b"\0")
            try:
                h.update(p.read_bytes())
            except OSError:
                h.update(b"?")
    return h.hexdigest()[:24]


def code_version() -> str:
    """The parser's code version: a hash of the source of ``parsers/`` (its C scanner included) and this module's
    ``FORMAT``."""
    return code_hash(("parsers",), f"parse cache format {FORMAT}")


def _unpickle(payload: bytes):
    """``pickle.loads`` with the cyclic garbage collector paused: the collections its many new objects set off
    took about a third of the load (a 112 MB entry: 0.18 -> 0.12 s), and found nothing (every object made is
    kept). Nothing is lost: the collector runs on afterwards."""
    was_on = gc.isenabled()
    gc.disable()
    try:
        return pickle.loads(payload)
    finally:
        if was_on:
            gc.enable()


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class Resumed:
    """A parser loaded from the cache and the offset of the file its state ends at."""

    parser: object  # parsers.LogParser
    offset: int


@dataclass(frozen=True)
class Saved:
    """A parser's state ready to be written (``ParseCache.pack``, under the tailer's lock; ``write`` outside it)."""

    path: str
    ident: tuple[int, int]  # (st_dev, st_ino)
    offset: int
    mtime_ns: int
    head: bytes  # the file's first KiB
    tail: bytes  # the KiB before offset
    payload: bytes


class CacheFolder:
    """What the parse cache and the summary cache share: a private folder (``private_dir``) of one entry file per
    log, named by a hash of the log's path, with hit/miss/store counters and the notes shown in the watcher panel
    (the last ``MAX_NOTES``, each once). ``usable`` False: the folder could not be made or is not private; every
    read is a miss and nothing is written."""

    what = "cache"
    suffix = ""

    def __init__(self, directory: str | os.PathLike, version: str) -> None:
        self.dir = Path(directory)
        self.version = version
        self.notes: list[str] = []
        self.hits = 0
        self.misses = 0
        self.stores = 0
        self._lock = threading.Lock()
        self.usable = private_dir(self.dir, self.what, self._note)

    def _file(self, path: str) -> Path:
        return self.dir / (hashlib.sha256(os.fsencode(path)).hexdigest()[:40] + self.suffix)

    def _note(self, text: str) -> None:
        with self._lock:
            if text not in self.notes:
                self.notes.append(text)
                del self.notes[:-MAX_NOTES]

    def _replace(self, entry: Path, write) -> bool:
        """Write ``entry`` atomically with ``write(file)`` (a temporary file in the folder, then ``os.replace``: a
        reader sees the old entry or the new one, never half of one) and count the store; False on failure,
        noted (the temporary file removed)."""
        try:
            fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=self.suffix, dir=self.dir)
            try:
                with os.fdopen(fd, "wb") as fh:
                    write(fh)
                os.replace(tmp, entry)
            except BaseException:
                try:
                    os.unlink(tmp)
                except OSError:
                    pass
                raise
        except Exception as e:  # noqa: BLE001 - anything writing can raise: the cache is an optimisation
            self._note(f"{self.what}: cannot write {entry.name}: {type(e).__name__}: {e}")
            return False
        self.stores += 1
        return True

    def _hit(self, entry: Path) -> None:
        """Count a hit and mark the entry used (``_prune`` keeps what was used lately)."""
        self.hits += 1
        try:
            os.utime(entry)
        except OSError:
            pass


class ParseCache(CacheFolder):
    """Entries by log path; see the module docstring. Thread-safe; ``min_bytes`` is the smallest log kept."""

    what = "parse cache"
    suffix = ".parse"

    def __init__(self, directory: str | os.PathLike, *, version: str | None = None,
                 min_bytes: int = MIN_BYTES, max_total: int = MAX_TOTAL_BYTES) -> None:
        super().__init__(directory, version if version is not None else code_version())
        self.min_bytes = min_bytes
        self.max_total = max_total
        if self.usable:
            self._prune()

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ParseCache | None:
        base = cache_base(environ)
        return None if base is None else cls(base / "parses")

    # -- reading ---------------------------------------------------------------------------------------------
    def load(self, path: str, fd: int, st: os.stat_result, settings: tuple) -> Resumed | None:
        """The saved parser of the log at ``path`` when it fits the file open at ``fd`` (``fstat`` ``st``) and a new
        parser's ``settings``; else None (a miss, or a damaged entry: noted)."""
        f = self._file(path)
        if not self.usable:
            self.misses += 1
            return None
        try:
            fh = open(f, "rb")
        except FileNotFoundError:
            self.misses += 1
            return None
        except OSError as e:
            self._note(f"parse cache: cannot open {f.name}: {e.strerror or e}; the log is parsed from its start")
            self.misses += 1
            return None
        with fh:
            why = untrusted(os.fstat(fh.fileno()))
            if why:
                self._note(f"parse cache: {f.name} is {why}: not loaded, the log is parsed from its start")
                self.misses += 1
                return None
            try:
                header = self._header(fh)
            except (ValueError, OSError, UnicodeDecodeError, struct.error) as e:
                return self._damaged(f, e)
            if not self._fits(header, path, fd, st):
                self.misses += 1
                return None
            try:
                payload = fh.read(header["payload_bytes"] + 1)
            except OSError as e:
                return self._damaged(f, e)
        if len(payload) != header["payload_bytes"] or _sha(payload) != header["payload_sha256"]:
            return self._damaged(f, ValueError("its data is not what its header says (damaged or cut short)"))
        try:
            saved_settings, parser = _unpickle(payload)
        except Exception as e:  # noqa: BLE001 - the hash matched, so this is an incompatible object: ignore it
            return self._damaged(f, e)
        from parsers import LogParser

        if not isinstance(parser, LogParser) or saved_settings != settings or parser.settings != settings:
            self.misses += 1
            return None
        self._hit(f)
        return Resumed(parser, int(header["offset"]))

    @staticmethod
    def _header(fh) -> dict:
        if fh.read(len(MAGIC)) != MAGIC:
            raise ValueError("not a parse cache file")
        (n,) = struct.unpack("<I", fh.read(4))
        if n > _HEADER_MAX:
            raise ValueError("header too long")
        header = json.loads(fh.read(n).decode("utf-8"))
        if not isinstance(header, dict):
            raise ValueError("header is not an object")
        for key, kind in (("format", int), ("version", str), ("path", str), ("offset", int), ("payload_bytes", int),
                          ("mtime_ns", int), ("payload_sha256", str), ("head_sha256", str), ("tail_sha256", str),
                          ("dev", int), ("ino", int)):
            if not isinstance(header.get(key), kind):
                raise ValueError(f"header field {key} missing")
        return header

    def _fits(self, h: dict, path: str, fd: int, st: os.stat_result) -> bool:
        if (h.get("format") != FORMAT or h.get("version") != self.version or h.get("path") != path
                or (h["dev"], h["ino"]) != (st.st_dev, st.st_ino) or not 0 < h["offset"] <= st.st_size):
            return False
        offset = h["offset"]
        if st.st_size == offset and st.st_mtime_ns != h["mtime_ns"]:
            return False  # rewritten to the same size
        try:
            head = os.pread(fd, min(FINGERPRINT_BYTES, offset), 0)
            tail = os.pread(fd, min(FINGERPRINT_BYTES, offset), offset - min(FINGERPRINT_BYTES, offset))
        except OSError:
            return False
        return _sha(head) == h["head_sha256"] and _sha(tail) == h["tail_sha256"]

    def _damaged(self, f: Path, e: BaseException) -> None:
        self._note(f"parse cache: {f.name} could not be read ({type(e).__name__}: {e}): ignored, the log is parsed "
                   "from its start")
        self.misses += 1
        return None

    # -- writing ---------------------------------------------------------------------------------------------
    @staticmethod
    def pack(path: str, parser, ident: tuple[int, int], offset: int, mtime_ns: int, head: bytes,
             tail: bytes) -> Saved:
        """The state to write; call it where ``parser`` does not change (the tailer's lock)."""
        payload = pickle.dumps((parser.settings, parser), protocol=pickle.HIGHEST_PROTOCOL)
        return Saved(path, ident, offset, mtime_ns, head[:FINGERPRINT_BYTES], tail[-FINGERPRINT_BYTES:], payload)

    def write(self, saved: Saved) -> bool:
        """Store ``saved`` atomically (replacing the log's entry); False on failure (noted)."""
        if not self.usable:
            return False
        header = {"format": FORMAT, "version": self.version, "path": saved.path, "dev": saved.ident[0],
                  "ino": saved.ident[1], "offset": saved.offset, "mtime_ns": saved.mtime_ns,
                  "head_sha256": _sha(saved.head), "tail_sha256": _sha(saved.tail),
                  "payload_bytes": len(saved.payload), "payload_sha256": _sha(saved.payload),
                  "written_at": time.time()}
        raw = json.dumps(header).encode()
        f = self._file(saved.path)

        def write(fh) -> None:
            fh.write(MAGIC + struct.pack("<I", len(raw)) + raw)
            fh.write(saved.payload)

        if not self._replace(f, write):  # a full disk or a read-only cache: the log is parsed at the next start
            return False
        self._prune(keep=f)
        return True

    def _prune(self, keep: Path | None = None) -> None:
        """Delete temporary files a crash left, entries not used for ``MAX_AGE_DAYS``, then the least recently
        used ones until the rest hold at most ``max_total`` bytes (never ``keep``, just written)."""
        now = time.time()
        cutoff = now - MAX_AGE_DAYS * 86400
        try:
            names = os.listdir(self.dir)
        except OSError:
            return
        kept = []
        for name in names:
            p = self.dir / name
            try:
                st = p.stat()
                if (name.startswith(".tmp-") and st.st_mtime < now - 3600) or st.st_mtime < cutoff:
                    p.unlink()
                elif name.endswith(".parse") and p != keep:
                    kept.append((st.st_mtime, st.st_size, p))
            except OSError:
                pass
        total = sum(size for _, size, _ in kept)
        try:
            total += keep.stat().st_size if keep is not None else 0
        except OSError:
            pass
        for _, size, p in sorted(kept):
            if total <= self.max_total:
                break
            try:
                p.unlink()
                total -= size
            except OSError:
                pass

