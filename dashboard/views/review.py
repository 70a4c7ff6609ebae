"""Logs reviewed as runs: an upload, or a log file under a root opened by reference (Compare, Calculator). Pure:
no Streamlit here.

- Which files of an upload are reviewed, and how: a text log is preferred over a ``scalars.json`` /
  ``.log.json`` that holds the same records; several files (or the runs of one ``tee -a`` file) are
  joined into one run with ``dashboard.analysis.combine``.
- Parsing stored files in chunks with a progress callback; a small thread-safe LRU for parsed logs.
- Run references of the Compare page: ``<source id>[::k]`` for a file under a log root and
  ``upload:<id>[::k]`` for an upload (a source id always has a ``/``, an upload reference never).
- ``Review.model``: the run model (``views.run_model``) of one view of a review, as the Run page draws it.

Invariants:
- A reference from a URL is only ever resolved through ``resolve_root_file`` (``dashboard.live.roots``:
  realpath + ``os.path.commonpath`` inside a configured root) or ``UploadStore.get`` (24 hex digits), and a
  log under a root is opened only by ``roots.open_inside`` (still inside the root at the open, and the very
  file that was resolved: same device and inode), so a file swapped for a symlink since is refused.
- Everything here that takes log text returns it unchanged; pages show it with ``st.text`` /
  ``st.code`` / ``st.dataframe`` only (plotly text goes through ``text.plotly_text``).
"""

from __future__ import annotations

import datetime as _dt
import math
import os
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dashboard.analysis import RunSummary, combine
from dashboard.live import discovery
from dashboard.live.roots import LogRoot, UnsafePath, open_inside, resolve_source_id, split_source_id
from dashboard.uploads.settings import MB
from dashboard.views.gpu_view import GpuInput
from dashboard.views.run_model import FileRow, RunModel, RunSource, build_run_model, run_label
from dashboard.views.url_state import RunRef
from parsers import LogParser, ParsedLog, Reference, Run, parse_path, reference_of, sniff
from parsers.gpu_csv import is_gpu_header, parse_gpu_path
from parsers.timestamps import name_reference, time_reference
from parsers.twins import epoch_hint_for

UPLOAD_TYPES = ("log", "txt", "json", "gz", "csv")
PARSE_CHUNK = 4 * MB
UPLOAD_PREFIX = "upload:"
_UPLOAD_ID = re.compile(r"[0-9a-f]{24}")
_UPLOAD_IN_TEXT = re.compile(r"(?:^|[?&]upload=|upload:)([0-9a-f]{24})(?![0-9a-f])")

ProgressFn = Callable[[float, str], None]


# ------------------------------------------------------------------------------------------ file plan

TEXT = "text"
JSON = "json"
GPU = "gpu log"


def sniff_kind(head: bytes) -> str:
    """``json`` when the first non-blank line is a JSON object (scalars.json, mmcv .log.json), ``gpu log`` when the
    first line is a GPU log's header (``parsers.gpu_csv``), else ``text``."""
    if is_gpu_header(head.split(b"\n", 1)[0]):
        return GPU
    return JSON if sniff.sniff_head(head, window=64 * 1024).kind == sniff.JSON else TEXT


@dataclass(frozen=True)
class PlannedFile:
    name: str  # as uploaded
    size: int
    kind: str  # TEXT or JSON
    used: bool
    note: str


def plan_files(files: Sequence[tuple[str, int, str]]) -> tuple[list[PlannedFile], str | None]:
    """Which of ``(name, size, kind)`` to review, and a sentence explaining the choice (or None).

    A ``scalars.json`` (or mmcv ``.log.json``) holds the same records as the text log written next
    to it, while the text log also has the header, the config, events and errors. So when at least
    one text log is given, JSON files are kept in the upload but not reviewed; when only JSON files
    are given, they are reviewed.
    """
    has_text = any(k == TEXT for _, _, k in files)
    plan = []
    gpu_used = False
    for name, size, kind in files:
        if kind == GPU:
            plan.append(PlannedFile(name, size, kind, False,
                                    "other GPU log: not used (one GPU log per run)" if gpu_used else
                                    "GPU log: matched to the run by clock, drawn under its charts"))
            gpu_used = True
        elif kind == JSON and has_text:
            plan.append(PlannedFile(name, size, kind, False,
                                    "not used: the text log holds the same records and also the setup and events"))
        else:
            plan.append(PlannedFile(name, size, kind, True, "reviewed"))
    used = [p for p in plan if p.used]
    skipped = [p for p in plan if not p.used and p.kind == JSON]
    parts = []
    if skipped:
        parts.append(f"{len(skipped)} JSON file(s) (scalars.json / .log.json) were stored but not reviewed: "
                     "MMEngine writes the same records to them as to the text log, and the text log also "
                     "has the run header, the config, events and errors. Upload a JSON file alone to review it.")
    if len(used) > 1:
        parts.append(f"The {len(used)} reviewed files are treated as one experiment: their runs are joined in time "
                     "order into one run; records a resume rolled back are dropped.")
    return plan, " ".join(parts) or None


# ------------------------------------------------------------------------------------------- parsing


def reference_for(name: str, created: float | None) -> Reference | None:
    """The date a year-less (console) log is near, and how that is known: a ``YYYYMMDD_HHMMSS`` in its name
    (a fact), else when it was uploaded (assumed)."""
    ref = name_reference(name)
    if ref is not None:
        return ref
    if created is not None and math.isfinite(created):
        return time_reference(created, "upload time")
    return None


def parse_files(files: Sequence[tuple[str, Path, _dt.datetime | Reference | None]], *,
                max_bytes: int | None = None,
                progress: ProgressFn | None = None, opener: Callable[[Path], Any] | None = None) -> list[ParsedLog]:
    """Parse ``(display name, path, reference date)`` files in ``PARSE_CHUNK`` pieces, reporting
    progress over all their bytes. Raises ``SizeLimitExceeded`` when a (decompressed) file is larger
    than ``max_bytes``; ``OSError`` for an unreadable file. ``opener(path)`` returns the binary file to
    read, for the file and for an mmcv JSON log's text twin (default: ``open(path, "rb")``)."""
    sizes = []
    for _, path, _ in files:
        try:
            sizes.append(os.path.getsize(path))
        except OSError:
            sizes.append(0)
    total = max(1, sum(sizes))
    done = 0
    out = []
    for name, path, reference in files:
        def advance(n: int, name: str = name) -> None:
            nonlocal done
            done += n
            if progress is not None:
                progress(min(1.0, done / total), f"Parsing {name}: {done / MB:,.1f} of {total / MB:,.1f} MB")

        if opener is None:
            out.append(parse_path(path, max_bytes, reference=reference, on_chunk=advance, chunk_size=PARSE_CHUNK))
            continue
        parser = LogParser(reference=reference or reference_of(path), max_bytes=max_bytes,
                           epoch_hint=epoch_hint_for(path, opener=opener))
        with opener(path) as f:
            while chunk := f.read(PARSE_CHUNK):
                parser.feed(chunk)
                advance(len(chunk))
        parser.close()
        out.append(parser.result())
    if progress is not None:
        progress(1.0, f"Parsed {len(files)} file(s), {total / MB:,.1f} MB")
    return out


class ParseCache:
    """A small thread-safe LRU of parsed logs (shared by all sessions of a server process).

    Values are returned as they are (no copy): callers must not modify them. ``get_or_compute``
    computes a missing key once even when several sessions ask at the same time.
    """

    def __init__(self, max_entries: int = 8) -> None:
        self.max_entries = max_entries
        self._items: OrderedDict[Any, Any] = OrderedDict()
        self._lock = threading.Lock()
        self._key_locks: dict[Any, threading.Lock] = {}

    def get(self, key: Any) -> Any | None:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        return None

    def put(self, key: Any, value: Any) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.max_entries:
                self._items.popitem(last=False)

    def get_or_compute(self, key: Any, compute: Callable[[], Any]) -> Any:
        found = self.get(key)
        if found is not None:
            return found
        with self._lock:
            key_lock = self._key_locks.setdefault(key, threading.Lock())
        try:
            with key_lock:
                found = self.get(key)
                if found is None:
                    found = compute()
                    self.put(key, found)
            return found
        finally:
            with self._lock:
                self._key_locks.pop(key, None)

    def __len__(self) -> int:
        return len(self._items)


# ------------------------------------------------------------------------------------------- the review


@dataclass
class Review:
    """An upload (or a log file) ready to show: its files, its runs and the run shown by default.

    ``run(None)`` is the default view: the only run, or all runs joined into one (several files of
    one experiment, or a resumed run appended to one file). ``run(k)`` is the k-th run on its own.
    """

    title: str
    files: list[PlannedFile]
    note: str | None
    parsed: list[ParsedLog]  # of the reviewed files, in upload order
    runs: list[Run]  # every run of the reviewed files, in file order (for one file: runs[k].index == k)
    run_files: list[str]  # the file each run comes from
    joined: Run | None = None
    summaries: dict[int | None, RunSummary] = field(default_factory=dict)  # filled lazily by pages
    models: dict[tuple[int | None, RunSource], RunModel] = field(default_factory=dict)  # filled lazily by pages
    gpu: GpuInput | None = None  # the GPU log uploaded with the training log
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def format(self) -> str:
        formats = sorted({p.format for p in self.parsed if p.format})
        return ", ".join(formats) or "unknown"

    def valid_index(self, index: int | None) -> bool:
        return index is None or 0 <= index < len(self.runs)

    def run(self, index: int | None = None) -> Run | None:
        if index is not None and 0 <= index < len(self.runs):
            return self.runs[index]
        if self.joined is not None:
            return self.joined
        return self.runs[0] if self.runs else None

    def choices(self) -> list[tuple[int | None, str]]:
        """(index, label) of every view: None first (joined) when there are several runs."""
        several_files = len(set(self.run_files)) > 1
        labels = [run_label(r, i, len(self.runs), f if several_files else None)
                  for i, (r, f) in enumerate(zip(self.runs, self.run_files))]
        if len(self.runs) <= 1:
            return [(None, labels[0])] if self.runs else []
        return [(None, f"all {len(self.runs)} runs joined into one"), *enumerate(labels)]

    def model(self, index: int | None, source: RunSource,
              summarize_fn: Callable[[Run], RunSummary]) -> RunModel | None:
        """The run model of one view (``index`` None: the default view), built once per view and source."""
        run = self.run(index)
        if run is None:
            return None
        key = (index if (index is not None and 0 <= index < len(self.runs)) else None, source)
        with self._lock:
            if key not in self.models:
                files = [FileRow(f.name, f.size, f.kind, f.note) for f in self.files] if len(self.files) > 1 else []
                self.models[key] = build_run_model(
                    run, source, run_index=key[0], choices=self.choices(),
                    summarize_fn=lambda r: self._summary_locked(key[0], r, summarize_fn),
                    files=files, files_note=self.note, gpu=self.gpu)
            return self.models[key]

    def _summary_locked(self, key: int | None, run: Run, summarize_fn: Callable[[Run], RunSummary]) -> RunSummary:
        if key not in self.summaries:
            self.summaries[key] = summarize_fn(run)
        return self.summaries[key]

    def summary(self, index: int | None, summarize_fn: Callable[[Run], RunSummary]) -> RunSummary | None:
        """The run's summary, computed once per view."""
        run = self.run(index)
        if run is None:
            return None
        key = index if (index is not None and 0 <= index < len(self.runs)) else None
        with self._lock:
            if key not in self.summaries:
                self.summaries[key] = summarize_fn(run)
            return self.summaries[key]


def build_review(title: str, plan: Sequence[PlannedFile], note: str | None, parsed: Sequence[ParsedLog]) -> Review:
    """A ``Review`` of the used files of ``plan`` (``parsed`` holds their parses, in the same order)."""
    used = [p for p in plan if p.used]
    if len(used) != len(parsed):
        raise ValueError("parsed must hold one ParsedLog per used file")
    runs, run_files = [], []
    for p, log in zip(used, parsed):
        for r in log.runs:  # all of them, so that for one file runs[k].index == k (the run page's r=k)
            runs.append(r)
            run_files.append(p.name)
    joined = combine(runs) if len(runs) > 1 else None  # combine leaves out runs without records
    return Review(title, list(plan), note, list(parsed), runs, run_files, joined)


def upload_title(names: Sequence[str]) -> str:
    if not names:
        return "upload"
    return names[0] if len(names) == 1 else f"{names[0]} + {len(names) - 1} more"


def review_upload(stored, *, max_bytes: int | None = None, progress: ProgressFn | None = None) -> Review:
    """Parse a ``StoredUpload`` and build its ``Review``."""
    kinds = []
    for path in stored.files:
        with open(path, "rb") as f:
            kinds.append(sniff_kind(f.read(64 * 1024)))
    names = list(stored.original_names) if len(stored.original_names) == len(stored.names) else list(stored.names)
    plan, note = plan_files([(n, s, k) for n, s, k in zip(names, stored.sizes, kinds)])
    used = [(p.name, path, reference_for(p.name, stored.created)) for p, path in zip(plan, stored.files) if p.used]
    parsed = parse_files(used, max_bytes=max_bytes, progress=progress)
    rev = build_review(upload_title(names), plan, note, parsed)
    gpu_files = [(p.name, path) for p, path in zip(plan, stored.files) if p.kind == GPU]
    if gpu_files:
        name, path = gpu_files[0]
        g = parse_gpu_path(str(path))
        rev.gpu = GpuInput(name, g.table(), tuple(g.notes()), ("upload", name))
    return rev


def open_root_file(rf: RootFile):
    """The log ``rf`` names, opened by ``roots.open_inside`` (inside its root now) and checked to be the very file
    ``resolve_root_file`` found (same device and inode); ``UnsafePath`` otherwise, ``OSError`` when it is gone."""
    fd = open_inside(rf.path, rf.bound)
    st = os.fstat(fd)
    if (st.st_dev, st.st_ino) != rf.ident:
        os.close(fd)
        raise UnsafePath("the file at this path is not the file that was checked (replaced since)")
    return os.fdopen(fd, "rb")


def review_root_file(rf: RootFile, *, progress: ProgressFn | None = None) -> Review:
    """A ``Review`` of one log file under a root (parsed like ``parsers.parse_path``), opened by
    ``open_root_file``: ``UnsafePath`` when the file was swapped since it was resolved."""
    def opener(path: Path):
        if os.fspath(path) == rf.path:
            return open_root_file(rf)
        return open(open_inside(path, rf.bound), "rb")  # its text twin: inside the same root

    parsed = parse_files([(rf.id, Path(rf.path), reference_of(rf.path))], progress=progress, opener=opener)[0]
    kind = JSON if (parsed.format or "").endswith("json") else TEXT
    return build_review(rf.id, [PlannedFile(rf.id, rf.size, kind, True, "reviewed")], None, [parsed])


# --------------------------------------------------------------------------------------- run references


@dataclass(frozen=True)
class Target:
    """What a run reference points at: a file under a log root, or an upload; ``combine``: a log under a root joined
    with the earlier timestamped folders of its resumed run (``views.joined``)."""

    kind: str  # "root" or "upload"
    id: str  # source id, or upload id
    index: int | None = None
    combine: bool = False

    @property
    def ref(self) -> RunRef:
        return RunRef(self.id if self.kind == "root" else UPLOAD_PREFIX + self.id, self.index, self.combine)

    def __str__(self) -> str:
        return str(self.ref)


def target_of(ref: RunRef) -> Target | None:
    """The target of a reference; None for ``upload:`` followed by something that is not an upload id, or an
    upload with ``::combine`` (an upload of several files is one run already)."""
    if ref.source.startswith(UPLOAD_PREFIX):
        uid = ref.source[len(UPLOAD_PREFIX):]
        return Target("upload", uid, ref.index) if _UPLOAD_ID.fullmatch(uid) and not ref.combine else None
    return Target("root", ref.source, ref.index, ref.combine)


def upload_id_in(text: str) -> str | None:
    """An upload id pasted as itself, as ``upload:<id>``, or inside a permalink (``...?upload=<id>``)."""
    m = _UPLOAD_IN_TEXT.search(text.strip())
    return m.group(1) if m else None


@dataclass(frozen=True)
class RootFile:
    id: str  # source id: <root label>/<relative path>
    path: str  # real path, for opening only (``open_root_file``)
    size: int
    mtime_ns: int
    bound: str  # the real path of its root: every open stays inside it
    ident: tuple[int, int]  # (st_dev, st_ino) when it was resolved: what is opened must be this file


def resolve_root_file(source_id: str, roots: Sequence[LogRoot]) -> tuple[RootFile | None, str | None]:
    """The log file a source id names inside a configured root, or ``(None, reason)``."""
    try:
        root, _ = split_source_id(source_id, roots)
        real = resolve_source_id(source_id, roots)
    except UnsafePath as e:
        return None, str(e)
    if not discovery.has_log_suffix(os.path.basename(real)) or discovery.has_binary_suffix(os.path.basename(real)):
        return None, "it is not a log file (.log, .txt, .json, .gz)"
    try:
        st = os.lstat(real)  # the real path: a symlink here now was put there since it was resolved
    except OSError:
        return None, "the file cannot be read"
    import stat as _stat

    if not _stat.S_ISREG(st.st_mode):
        return None, "it is not a file"
    return RootFile(source_id, real, st.st_size, st.st_mtime_ns, root.realpath(), (st.st_dev, st.st_ino)), None


def list_root_logs(roots: Sequence[LogRoot], limit: int = 2000) -> list[RootFile]:
    """Log files under the roots (by name; ``vis_data/<stamp>.json`` duplicates of scalars.json left out)."""
    out: list[RootFile] = []
    for root in roots:
        real = root.realpath()
        if not os.path.isdir(real):
            continue
        for entry in discovery.walk(real, real):
            if discovery.is_vis_data_duplicate(entry.path):
                continue
            found, _ = resolve_root_file(root.source_id(entry.relative), [root])
            if found is not None:
                out.append(found)
                if len(out) >= limit:
                    return out
    return out


