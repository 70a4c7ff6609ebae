"""The upload store: finished logs people upload, kept so a link (``?upload=<id>``) can be shared.

Invariants:
- Content-addressed: the id is derived from the bytes only (sha256 of each file, then of the sorted
  list for a group), so the same bytes uploaded twice give the same id and are stored once.
- Nothing is stored unless every file of an upload is a training log: empty, binary, over the size
  limit, a gzip that expands past the limit (decompression stops at the cap) and text without a
  single MMEngine / mmcv line are rejected with ``UploadRejected`` and a clear message.
- Writes are atomic: an upload is assembled in a temporary folder inside the store and renamed into
  place, so a reader never sees half an upload; a crash leaves only a ``.tmp-*`` folder that the
  next retention pass removes.
- Retention (total size and age, oldest last-opened first) never deletes an upload that is open:
  pinned in this process, or opened less than ``open_grace`` seconds ago.
- Ids are 24 lowercase hex characters; anything else is refused before touching the disk.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from parsers import LogParser, SizeLimitExceeded, sniff

DEFAULT_MAX_BYTES = 500 * 1024 * 1024
DEFAULT_MAX_TOTAL_BYTES = 5 * 1024 * 1024 * 1024
DEFAULT_MAX_AGE_DAYS = 90.0
ID_RE = re.compile(r"^[0-9a-f]{24}$")
ALLOWED_SUFFIXES = (".log", ".txt", ".json", ".gz")
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


class UploadRejected(ValueError):
    """An upload that is not stored, with the reason a person can act on."""


def default_store_dir() -> Path:
    env = os.environ.get("MMDASH_UPLOAD_DIR")
    if env:
        return Path(env)
    from platformdirs import user_data_dir

    return Path(user_data_dir("mmdash")) / "uploads"


def safe_name(name: str) -> str:
    """A file name that cannot leave its folder (no separators, no leading dots)."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    base = _SAFE_NAME.sub("_", base).lstrip(".") or "upload.log"
    return base[:120]


@dataclass(frozen=True)
class StoredUpload:
    id: str
    folder: Path
    names: list[str]  # the stored (safe) file names, in upload order
    original_names: list[str]
    sizes: list[int]
    created: float
    last_opened: float

    @property
    def files(self) -> list[Path]:
        return [self.folder / "files" / n for n in self.names]

    @property
    def total_bytes(self) -> int:
        return sum(self.sizes)


@dataclass(frozen=True)
class Checked:
    """What validation learnt about one file."""

    name: str
    data: bytes
    format: str | None
    records: int


def check_log(name: str, data: bytes, max_bytes: int = DEFAULT_MAX_BYTES) -> Checked:
    """Validate one uploaded file; raise ``UploadRejected`` with the reason."""
    label = safe_name(name)
    if name.lower().endswith(".csv"):
        return check_gpu_log(label, data, max_bytes)
    if not name.lower().endswith(ALLOWED_SUFFIXES):
        raise UploadRejected(f"{label}: only .log, .txt, .json and their .gz are accepted, and a GPU log (.csv)")
    if len(data) == 0:
        raise UploadRejected(f"{label}: the file is empty")
    if len(data) > max_bytes:
        raise UploadRejected(f"{label}: {len(data):,} bytes is over the upload limit of {max_bytes:,} bytes")
    head = sniff.sniff_head(data, window=_SNIFF_WINDOW)
    if head.damaged:
        raise UploadRejected(f"{label}: a damaged gzip file")
    if head.kind == sniff.BINARY or (head.kind == sniff.UNDECIDED and head.leading_nuls):
        # (the whole file is here: NUL bytes and nothing after them are no text log either)
        raise UploadRejected(f"{label}: this looks like a binary file, not a text log")
    parser = LogParser(max_bytes=max_bytes)
    try:
        # Feed in pieces so a gzip bomb stops at the cap instead of filling memory.
        for i in range(0, len(data), 1 << 20):
            parser.feed(data[i:i + (1 << 20)])
        parser.close()
    except SizeLimitExceeded:
        raise UploadRejected(f"{label}: it expands to more than the limit of {max_bytes:,} bytes") from None
    runs = parser.runs
    understood = sum(sum(v for k, v in r.line_kinds.items() if k in _LOG_KINDS) for r in runs)
    if not understood:
        raise UploadRejected(f"{label}: this is not an MMEngine / mmcv training log (no log line was recognised)")
    records = sum(len(r.train) + len(r.evals) for r in runs)
    return Checked(label, data, parser.format, records)


GPU_FORMAT = "gpu-csv"


def check_gpu_log(label: str, data: bytes, max_bytes: int = DEFAULT_MAX_BYTES) -> Checked:
    """A GPU log (``parsers.gpu_csv``) uploaded beside a training log: its first line must be such a header."""
    from parsers.gpu_csv import QUERY, is_gpu_header, parse_gpu_bytes

    if len(data) == 0:
        raise UploadRejected(f"{label}: the file is empty")
    if len(data) > max_bytes:
        raise UploadRejected(f"{label}: {len(data):,} bytes is over the upload limit of {max_bytes:,} bytes")
    if not is_gpu_header(data[:4096].split(b"\n", 1)[0]):
        raise UploadRejected(f"{label}: a .csv must be a GPU log: the CSV of nvidia-smi --query-gpu={QUERY} "
                             "--format=csv (or python -m dashboard gpu-log)")
    return Checked(label, data, GPU_FORMAT, len(parse_gpu_bytes(data).table()))


# Line kinds that only a training log has (a generic text file gets "unparsed" and "blank" only).
_LOG_KINDS = ("train", "eval", "eval_progress", "header", "config", "event", "message")


_SNIFF_WINDOW = 8192  # text (after any leading NUL bytes) judged binary or not


class UploadStore:
    def __init__(self, root: Path | None = None, *, max_bytes: int = DEFAULT_MAX_BYTES,
                 max_total_bytes: int = DEFAULT_MAX_TOTAL_BYTES, max_age_days: float = DEFAULT_MAX_AGE_DAYS,
                 open_grace: float = 3600.0) -> None:
        self.root = Path(root) if root is not None else default_store_dir()
        self.root.mkdir(parents=True, exist_ok=True)
        self.max_bytes = max_bytes
        self.max_total_bytes = max_total_bytes
        self.max_age = max_age_days * 86400
        self.open_grace = open_grace
        self._pins: dict[str, int] = {}
        self._lock = threading.Lock()

    # -- ids ---------------------------------------------------------------------------------------
    @staticmethod
    def id_for(contents: list[bytes]) -> str:
        digests = sorted(hashlib.sha256(c).hexdigest() for c in contents)
        return hashlib.sha256("\n".join(digests).encode()).hexdigest()[:24]

    @staticmethod
    def valid_id(upload_id: str) -> bool:
        return isinstance(upload_id, str) and bool(ID_RE.fullmatch(upload_id))  # match's $ allows a final \n

    # -- writing -----------------------------------------------------------------------------------
    def add(self, files: list[tuple[str, bytes]]) -> StoredUpload:
        """Validate and store one upload (one or several files of one experiment)."""
        if not files:
            raise UploadRejected("no file was uploaded")
        checked = [check_log(name, data, self.max_bytes) for name, data in files]
        if all(c.format == GPU_FORMAT for c in checked):
            raise UploadRejected("a GPU log is shown beside its training log: upload them together")
        upload_id = self.id_for([c.data for c in checked])
        final = self.root / upload_id
        if final.is_dir():
            self.touch(upload_id)
            found = self.get(upload_id)
            if found is not None:
                return found
        tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=self.root))
        try:
            (tmp / "files").mkdir()
            names: list[str] = []
            for c in checked:
                n = c.name
                while n in names:  # two files with the same name in one upload
                    n = "_" + n
                names.append(n)
                with open(tmp / "files" / n, "wb") as f:
                    f.write(c.data)
                    f.flush()
                    os.fsync(f.fileno())
            now = time.time()
            meta = {"id": upload_id, "names": names, "original_names": [name for name, _ in files],
                    "sizes": [len(c.data) for c in checked], "formats": [c.format for c in checked],
                    "created": now, "last_opened": now}
            (tmp / "meta.json").write_text(json.dumps(meta))
            try:
                os.rename(tmp, final)
            except OSError:
                if not final.is_dir():  # not a concurrent upload of the same bytes
                    raise
                shutil.rmtree(tmp, ignore_errors=True)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        self.enforce_retention(protect={upload_id})
        got = self.get(upload_id)
        assert got is not None
        return got

    # -- reading -----------------------------------------------------------------------------------
    def get(self, upload_id: str) -> StoredUpload | None:
        if not self.valid_id(upload_id):
            return None
        folder = self.root / upload_id
        try:
            meta = json.loads((folder / "meta.json").read_text())
        except (OSError, ValueError):
            return None
        return StoredUpload(upload_id, folder, list(meta["names"]), list(meta.get("original_names", meta["names"])),
                            list(meta["sizes"]), float(meta["created"]), float(meta.get("last_opened", 0)))

    def list(self) -> list[StoredUpload]:
        out = []
        for child in list(self.root.iterdir()):
            if child.is_dir() and self.valid_id(child.name):
                u = self.get(child.name)
                if u is not None:
                    out.append(u)
        return sorted(out, key=lambda u: -u.created)

    def touch(self, upload_id: str) -> None:
        """Mark an upload as opened now (retention counts age from the last opening)."""
        folder = self.root / upload_id
        if not self.valid_id(upload_id) or not folder.is_dir():
            return
        meta_path = folder / "meta.json"
        try:
            meta = json.loads(meta_path.read_text())
        except (OSError, ValueError):
            return
        meta["last_opened"] = time.time()
        # A temp name of its own: two sessions opening the same upload must not share one.
        fd, tmp = tempfile.mkstemp(prefix=".meta-", suffix=".tmp", dir=folder)
        try:
            with os.fdopen(fd, "w") as f:
                f.write(json.dumps(meta))
            os.replace(tmp, meta_path)
        except OSError:
            with contextlib.suppress(OSError):
                os.unlink(tmp)

    def pin(self, upload_id: str) -> None:
        with self._lock:
            self._pins[upload_id] = self._pins.get(upload_id, 0) + 1

    def unpin(self, upload_id: str) -> None:
        with self._lock:
            n = self._pins.get(upload_id, 0) - 1
            if n <= 0:
                self._pins.pop(upload_id, None)
            else:
                self._pins[upload_id] = n

    # -- retention ---------------------------------------------------------------------------------
    def enforce_retention(self, now: float | None = None, protect: set[str] | None = None) -> list[str]:
        """Delete the oldest uploads (by last opening) past the age or total-size limit; return their ids."""
        now = time.time() if now is None else now
        protect = set(protect or ()) | set(self._pins)
        for child in self.root.iterdir():  # leftovers of interrupted writes
            if not child.name.startswith(".tmp-"):
                continue
            try:
                stale = now - child.stat().st_mtime > 3600
            except FileNotFoundError:  # another upload just finished with it
                continue
            if stale:
                shutil.rmtree(child, ignore_errors=True)
        uploads = sorted(self.list(), key=lambda u: u.last_opened)
        total = sum(u.total_bytes for u in uploads)
        removed = []
        for u in uploads:
            is_open = u.id in protect or now - u.last_opened < self.open_grace
            too_old = now - u.last_opened > self.max_age
            too_big = total > self.max_total_bytes
            if (too_old or too_big) and not is_open:
                shutil.rmtree(u.folder, ignore_errors=True)
                total -= u.total_bytes
                removed.append(u.id)
        return removed
