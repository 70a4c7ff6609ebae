"""Which files under a log root are training logs, decided from their names and first few KiB.

Rules, in order:

1. Names: only ``.log``, ``.txt``, ``.json`` and ``.gz`` files are candidates (``.log.json``,
   ``.log.gz`` included). Checkpoints and other binaries by extension (``.pth``, ``.pt``,
   ``.safetensors``, ``.bin``, ...) are skipped without being opened. Hidden directories and
   ``__pycache__`` are not entered; directory symlinks are not followed; a file symlink counts only
   when its target is inside the root.
2. Layout: MMEngine's work_dir layout is recognised by its names alone:
   ``<work_dir>/<YYYYMMDD_HHMMSS>/<YYYYMMDD_HHMMSS>.log`` and
   ``<work_dir>/<YYYYMMDD_HHMMSS>/vis_data/scalars.json``. Such files are logs even while they are
   still empty (a run that just started). ``vis_data/<stamp>.json`` is MMEngine's copy of
   ``scalars.json`` and is skipped when ``scalars.json`` is there.
3. Content: at most ``SNIFF_BYTES`` from the start of the file are read (for gzip, at most
   ``GZIP_SNIFF_INPUT`` compressed bytes, decompressed to at most ``SNIFF_BYTES``), and judged by
   ``parsers.sniff``: binary content is skipped, with a note. Leading NUL bytes (left by a crash)
   are read past, up to ``parsers.sniff.MAX_LEADING_NULS``, and the window after them is judged; a
   file of NUL bytes only is ``undecided``. A line with an MMEngine or mmcv logger
   prefix (``parsers.grammar.PREFIX_PATTERNS``) or a run header makes a text log; a first line
   that is a JSON object with MMEngine ``scalars.json`` or mmcv ``.log.json`` keys makes a JSON log.
4. A text file shorter than the sniff window without any of those is ``undecided``: it may still
   become a log (a ``tee`` file whose training has not printed yet), so callers sniff it again
   when it grows. Once the window is full without a sign, it is ``not_log`` for good (until the
   file is replaced or truncated).

Nothing here reads more than the sniff window of a file (after its leading NUL bytes), and nothing
raises for a file that vanished or cannot be read: that is a verdict (``gone`` / ``unreadable``).
"""

from __future__ import annotations

import json
import os
import re
import stat as _stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from dashboard.live.roots import UnsafePath, open_inside
from parsers import sniff
from parsers.grammar import BARE_PATTERNS, PREFIX_PATTERNS
from parsers.sniff import GZIP_SNIFF_INPUT, SNIFF_BYTES

LOG_SUFFIXES = (".log", ".txt", ".json", ".gz")
BINARY_SUFFIXES = frozenset({
    ".pth", ".pt", ".ckpt", ".safetensors", ".bin", ".npy", ".npz", ".pkl", ".pickle", ".onnx", ".h5",
    ".hdf5", ".engine", ".trt", ".tar", ".zip", ".7z", ".xz", ".bz2", ".zst", ".png", ".jpg", ".jpeg",
    ".gif", ".bmp", ".webp", ".mp4", ".avi", ".so", ".o", ".pyc", ".parquet", ".arrow", ".tfevents",
})
SKIP_DIRS = frozenset({"__pycache__", "node_modules"})
MAX_DEPTH = 8  # levels below a root that discovery enters

_STAMP_DIR = re.compile(r"^\d{8}_\d{6}$")  # a folder name, not a log line: MMEngine's run timestamp
_PREFIXES = tuple(p.compiled.match for p in PREFIX_PATTERNS)
_HEADER_LINES = tuple(p.compiled.match for p in BARE_PATTERNS if p.name == "system_env_start")
_JSON_SCALAR_KEYS = ("iter", "step")
_JSON_MMCV_KEYS = ("mode", "env_info", "hook_msgs", "mmcv_version", "mmdet_version", "exp_name")

LOG = "log"
UNDECIDED = "undecided"
NOT_LOG = "not_log"
BINARY = "binary"
SKIPPED = "skipped"
GONE = "gone"
UNREADABLE = "unreadable"


@dataclass(frozen=True)
class Layout:
    """Where a file sits in an MMEngine work_dir (paths relative to the root, ``/``-separated)."""

    work_dir: str  # the folder that holds the timestamped run folders ("" = the root itself)
    timestamp: str  # the run folder's name, YYYYMMDD_HHMMSS
    role: str  # "text" (<stamp>.log) or "scalars" (vis_data/scalars.json)


@dataclass(frozen=True)
class Verdict:
    """What discovery concluded about one file."""

    status: str  # LOG, UNDECIDED, NOT_LOG, BINARY, SKIPPED, GONE, UNREADABLE
    kind: str | None = None  # "mmengine-text", "mmcv-text", "scalars-json", "mmcv-json", "text" (layout only)
    gzip: bool = False
    reason: str = ""

    @property
    def is_log(self) -> bool:
        return self.status == LOG


def has_log_suffix(name: str) -> bool:
    return name.lower().endswith(LOG_SUFFIXES)


def has_binary_suffix(name: str) -> bool:
    lower = name.lower()
    dot = lower.rfind(".")
    return dot >= 0 and lower[dot:] in BINARY_SUFFIXES


def layout_of(relative: str) -> Layout | None:
    """The work_dir layout ``relative`` (``/``-separated, relative to a root) follows, if any."""
    parts = relative.split("/")
    if len(parts) >= 2 and _STAMP_DIR.match(parts[-2]) and parts[-1] == parts[-2] + ".log":
        return Layout("/".join(parts[:-2]), parts[-2], "text")
    if len(parts) >= 3 and parts[-1] == "scalars.json" and parts[-2] == "vis_data" and _STAMP_DIR.match(parts[-3]):
        return Layout("/".join(parts[:-3]), parts[-3], "scalars")
    return None


def is_vis_data_duplicate(path: str) -> bool:
    """``vis_data/<stamp>.json`` next to ``scalars.json``: MMEngine writes the same records to both."""
    parent, name = os.path.split(path)
    if os.path.basename(parent) != "vis_data" or not name.endswith(".json"):
        return False
    if not _STAMP_DIR.match(name[:-5]):
        return False
    return os.path.exists(os.path.join(parent, "scalars.json"))


def sniff_text(text: bytes, *, complete: bool) -> Verdict:
    """Classify the (decompressed) first bytes of a file. ``complete``: they are the whole file."""
    s = sniff.judge(text, window=SNIFF_BYTES)
    if s.kind == sniff.BINARY:
        return Verdict(BINARY, reason=f"binary content ({s.reason})")
    if s.leading_nuls and s.kind == sniff.UNDECIDED:
        return Verdict(UNDECIDED, reason=f"{s.reason}: looked at again when it grows")
    text = s.text
    lines = text.split(b"\n")
    if not complete and len(lines) > 1:
        lines = lines[:-1]  # the last line may be cut by the window
    if s.kind == sniff.JSON:
        return _sniff_json(lines, text, complete)
    for raw in lines:
        line = raw.decode("utf-8", "replace").rstrip("\r")
        if any(m(line) for m in _PREFIXES):
            kind = "mmcv-text" if _PREFIXES[1](line) and not _PREFIXES[0](line) else "mmengine-text"
            return Verdict(LOG, kind=kind, reason="logger prefix")
        if any(m(line.strip()) for m in _HEADER_LINES):
            return Verdict(LOG, kind="mmengine-text", reason="run header")
    if complete and len(text) < SNIFF_BYTES:
        return Verdict(UNDECIDED, reason="no MMEngine or mmcv line yet")
    return Verdict(NOT_LOG, reason=f"no MMEngine or mmcv line in the first {SNIFF_BYTES // 1024} KiB")


def _sniff_json(lines: list[bytes], text: bytes, complete: bool) -> Verdict:
    objects = 0
    for raw in lines[:20]:
        s = raw.strip()
        if not s:
            continue
        try:
            rec = json.loads(s)
        except ValueError:
            rec = None
        if not isinstance(rec, dict):
            return Verdict(NOT_LOG, reason="JSON that is not one object per line")
        objects += 1
        if any(k in rec for k in _JSON_MMCV_KEYS):
            return Verdict(LOG, kind="mmcv-json", reason="mmcv .log.json keys")
        if any(k in rec for k in _JSON_SCALAR_KEYS):
            return Verdict(LOG, kind="scalars-json", reason="scalars.json keys")
    if not objects:
        # One long first line (an mmcv meta line with the whole config): look for its keys.
        head = text[:SNIFF_BYTES]
        if any(b'"%s":' % k.encode() in head for k in ("env_info", "mmcv_version", "mmdet_version", "hook_msgs")):
            return Verdict(LOG, kind="mmcv-json", reason="mmcv .log.json meta line")
    if complete and len(text) < SNIFF_BYTES:
        return Verdict(UNDECIDED, reason="JSON lines without training keys yet")
    return Verdict(NOT_LOG, reason="JSON without MMEngine or mmcv training keys")


def sniff_file(path: str, *, layout: Layout | None = None, bound: str | None = None) -> Verdict:
    """Read at most the sniff window of ``path`` and classify it (never raises for I/O). The file is opened by
    ``roots.open_inside``: with ``bound`` (a root's real path) a path that leads outside it is ``skipped``
    unread, whatever was true when it was listed."""
    name = os.path.basename(path)
    if has_binary_suffix(name):
        return Verdict(SKIPPED, reason="checkpoint or binary by its extension")
    try:
        try:
            fd = open_inside(path, bound)
        except UnsafePath as e:
            return Verdict(SKIPPED, reason=str(e))
        with open(fd, "rb") as f:  # closes fd
            st = os.fstat(f.fileno())
            if not _stat.S_ISREG(st.st_mode):
                return Verdict(SKIPPED, reason="not a regular file")
            head = f.read(GZIP_SNIFF_INPUT if name.lower().endswith(".gz") else SNIFF_BYTES)
            nuls = 0
            if sniff.is_gzip(head) and len(head) < GZIP_SNIFF_INPUT and st.st_size > len(head):
                head += f.read(GZIP_SNIFF_INPUT - len(head))
            elif head[:1] == b"\x00":  # NUL bytes a crash left: the window is the text after them
                nuls, head = sniff.read_past_nuls(f, head, SNIFF_BYTES)
    except (FileNotFoundError, NotADirectoryError):
        return Verdict(GONE, reason="file disappeared")
    except OSError as e:
        return Verdict(UNREADABLE, reason=f"cannot read: {e.strerror or e}")
    gz = sniff.is_gzip(head)
    if gz:
        text = sniff.sniff_head(head, window=SNIFF_BYTES).text
        complete = len(text) < SNIFF_BYTES and st.st_size <= GZIP_SNIFF_INPUT
    else:
        text = head
        complete = st.st_size <= nuls + len(head)
    v = sniff_text(text, complete=complete)
    if layout is not None and v.status in (UNDECIDED, NOT_LOG):
        kind = "scalars-json" if layout.role == "scalars" else "text"
        return Verdict(LOG, kind=kind, gzip=gz, reason="MMEngine work_dir layout")
    if gz and v.status != BINARY:
        return Verdict(v.status, v.kind, True, v.reason)
    return v


@dataclass(frozen=True)
class Entry:
    """A candidate file met while walking a root."""

    path: str  # the root's real path joined with ``relative``
    relative: str  # ``/``-separated, relative to the root
    is_symlink: bool


def walk(
    top: str,
    root_real: str,
    *,
    max_depth: int = MAX_DEPTH,
    on_dir: Callable[[str, int], None] | None = None,
    on_error: Callable[[str, OSError], None] | None = None,
    enter: Callable[[str], bool] | None = None,
) -> Iterator[Entry]:
    """Candidate files (by name) under ``top``, a directory inside ``root_real``, depth-first.

    ``on_dir(path, mtime_ns)`` is called for every directory entered (the watcher polls their
    mtimes to see entries come and go); ``on_error(path, exc)`` for a directory that cannot be
    listed; ``enter(path)`` may refuse to go into a subdirectory (``top`` itself is always listed).
    Files with a checkpoint extension are not yielded.
    """
    base_depth = 0 if top == root_real else os.path.relpath(top, root_real).count(os.sep) + 1
    stack = [(top, base_depth)]
    while stack:
        d, depth = stack.pop()
        try:
            mtime = os.stat(d).st_mtime_ns  # before listing: a change after it shows up at the next poll
            with os.scandir(d) as it:
                entries = list(it)
            if on_dir is not None:
                on_dir(d, mtime)
        except (FileNotFoundError, NotADirectoryError):
            continue
        except OSError as e:
            if on_error is not None:
                on_error(d, e)
            continue
        for e in sorted(entries, key=lambda x: x.name):
            try:
                if e.is_dir(follow_symlinks=False):
                    if depth + 1 <= max_depth and not e.name.startswith(".") and e.name not in SKIP_DIRS \
                            and (enter is None or enter(e.path)):
                        stack.append((e.path, depth + 1))
                    continue
                if not has_log_suffix(e.name) or has_binary_suffix(e.name):
                    continue
                link = e.is_symlink()
            except OSError:
                continue
            rel = os.path.relpath(e.path, root_real).replace(os.sep, "/")
            yield Entry(e.path, rel, link)
