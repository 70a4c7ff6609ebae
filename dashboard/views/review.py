"""Page models of the Upload, Compare and Calculator pages. Pure: no Streamlit here.

- Upload settings from the environment (size limit, store folder, retention).
- Which files of an upload are reviewed, and how: a text log is preferred over a ``scalars.json`` /
  ``.log.json`` that holds the same records; several files (or the runs of one ``tee -a`` file) are
  joined into one run with ``dashboard.analysis.combine``.
- Parsing stored files in chunks with a progress callback; a small thread-safe LRU for parsed logs.
- Run references of the Compare page: ``<source id>[::k]`` for a file under a log root and
  ``upload:<id>[::k]`` for an upload (a source id always has a ``/``, an upload reference never).
- The compare table and the calculator's numbers (all arithmetic comes from
  ``dashboard.analysis.audit``; nothing here adds a formula).

Invariants:
- A reference from a URL is only ever opened through ``resolve_root_file`` (``dashboard.live.roots``:
  realpath + ``os.path.commonpath`` inside a configured root) or ``UploadStore.get`` (24 hex digits).
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
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from dashboard.analysis import RunSummary, combine, setup_for
from dashboard.analysis.audit import SAMPLERS, Audit, Setup, WhatIf, audit, what_if
from dashboard.analysis.summary import LOWER_IS_BETTER
from dashboard.charts.figures import classify_key, group_keys
from dashboard.charts.series import train_frame
from dashboard.live import discovery
from dashboard.live.roots import LogRoot, UnsafePath, resolve_source_id
from dashboard.uploads.store import DEFAULT_MAX_AGE_DAYS, DEFAULT_MAX_TOTAL_BYTES, UploadStore, default_store_dir
from dashboard.views.formatting import fmt_duration, fmt_num
from dashboard.views.run_model import FileRow, RunModel, RunSource, build_run_model, run_label
from dashboard.views.url_state import CalculatorInputs, RunRef
from parsers import ParsedLog, Run, parse_path, reference_time_for, sniff
from parsers.timestamps import stamp_in_name

MB = 1024 * 1024
ENV_MAX_UPLOAD_MB = "MMDASH_MAX_UPLOAD_MB"
ENV_MAX_TOTAL_MB = "MMDASH_UPLOAD_MAX_TOTAL_MB"
ENV_MAX_AGE_DAYS = "MMDASH_UPLOAD_MAX_AGE_DAYS"
DEFAULT_MAX_UPLOAD_MB = 500
UPLOAD_TYPES = ("log", "txt", "json", "gz")
PARSE_CHUNK = 4 * MB
#: The url_path of every page of the app (to build links from ``st.context.url``).
UPLOAD_PREFIX = "upload:"
_UPLOAD_ID = re.compile(r"[0-9a-f]{24}")
_UPLOAD_IN_TEXT = re.compile(r"(?:^|[?&]upload=|upload:)([0-9a-f]{24})(?![0-9a-f])")

ProgressFn = Callable[[float, str], None]


# --------------------------------------------------------------------------------------------- settings


@dataclass(frozen=True)
class UploadSettings:
    """Where uploads go and how big they may be (``MMDASH_*`` environment variables)."""

    root: Path
    max_upload_mb: int
    max_total_mb: int
    max_age_days: float
    notes: tuple[str, ...] = ()

    @property
    def max_bytes(self) -> int:
        return self.max_upload_mb * MB

    def store(self) -> UploadStore:
        return UploadStore(self.root, max_bytes=self.max_bytes, max_total_bytes=self.max_total_mb * MB,
                           max_age_days=self.max_age_days)


def _env_number(environ: Mapping[str, str], key: str, default: float, lo: float, notes: list[str],
                integer: bool = True) -> float:
    raw = environ.get(key)
    if raw is None or not raw.strip():
        return default
    try:
        v = int(raw) if integer else float(raw)
    except ValueError:
        v = None
    if v is None or not math.isfinite(v) or v < lo:
        notes.append(f"{key}={raw[:40]!r} is not a number of at least {lo:g}: using {default:g}")
        return default
    return v


def upload_settings(environ: Mapping[str, str] | None = None, server_max_mb: int | None = None) -> UploadSettings:
    """Settings from the environment.

    ``MMDASH_MAX_UPLOAD_MB`` (default 500) is the per-file limit; the file uploader cannot take more
    than Streamlit's ``server.maxUploadSize`` (``server_max_mb``), so the smaller of the two is used
    and a note says so when they differ. ``MMDASH_UPLOAD_DIR`` moves the store;
    ``MMDASH_UPLOAD_MAX_TOTAL_MB`` (default 5120) and ``MMDASH_UPLOAD_MAX_AGE_DAYS`` (default 90)
    are the retention limits.
    """
    env = os.environ if environ is None else environ
    notes: list[str] = []
    limit = int(_env_number(env, ENV_MAX_UPLOAD_MB, DEFAULT_MAX_UPLOAD_MB, 1, notes))
    if server_max_mb is not None and server_max_mb >= 1 and server_max_mb != limit:
        notes.append(f"server.maxUploadSize is {server_max_mb} MB and {ENV_MAX_UPLOAD_MB} is {limit} MB: "
                     f"the smaller, {min(limit, server_max_mb)} MB, is used. Set both to the same value.")
        limit = min(limit, server_max_mb)
    total = int(_env_number(env, ENV_MAX_TOTAL_MB, DEFAULT_MAX_TOTAL_BYTES // MB, 1, notes))
    age = float(_env_number(env, ENV_MAX_AGE_DAYS, DEFAULT_MAX_AGE_DAYS, 0.001, notes, integer=False))
    root = Path(env["MMDASH_UPLOAD_DIR"]) if env.get("MMDASH_UPLOAD_DIR") else default_store_dir()
    return UploadSettings(root, limit, total, age, tuple(notes))


# ------------------------------------------------------------------------------------------ file plan

TEXT = "text"
JSON = "json"


def sniff_kind(head: bytes) -> str:
    """``json`` when the first non-blank line is a JSON object (scalars.json, mmcv .log.json), else ``text``."""
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
    for name, size, kind in files:
        if kind == JSON and has_text:
            plan.append(PlannedFile(name, size, kind, False,
                                    "not used: the text log holds the same records and also the setup and events"))
        else:
            plan.append(PlannedFile(name, size, kind, True, "reviewed"))
    used = [p for p in plan if p.used]
    skipped = [p for p in plan if not p.used]
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


def reference_for(name: str, created: float | None) -> _dt.datetime | None:
    """The date a year-less (console) log is near: a ``YYYYMMDD_HHMMSS`` in its name, else when it was uploaded."""
    stamp = stamp_in_name(name)
    if stamp is not None:
        return stamp
    if created is not None and math.isfinite(created):
        return _dt.datetime.fromtimestamp(created)
    return None


def parse_files(files: Sequence[tuple[str, Path, _dt.datetime | None]], *, max_bytes: int | None = None,
                progress: ProgressFn | None = None) -> list[ParsedLog]:
    """Parse ``(display name, path, reference date)`` files in ``PARSE_CHUNK`` pieces, reporting
    progress over all their bytes. Raises ``SizeLimitExceeded`` when a (decompressed) file is larger
    than ``max_bytes``; ``OSError`` for an unreadable file."""
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

        out.append(parse_path(path, max_bytes, reference=reference, on_chunk=advance, chunk_size=PARSE_CHUNK))
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
                    files=files, files_note=self.note)
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
    return build_review(upload_title(names), plan, note, parsed)


def review_root_file(rf: RootFile, *, progress: ProgressFn | None = None) -> Review:
    """A ``Review`` of one log file under a root (parsed like ``parsers.parse_path``)."""
    parsed = parse_files([(rf.id, Path(rf.path), reference_time_for(rf.path))], progress=progress)[0]
    kind = JSON if (parsed.format or "").endswith("json") else TEXT
    return build_review(rf.id, [PlannedFile(rf.id, rf.size, kind, True, "reviewed")], None, [parsed])


# --------------------------------------------------------------------------------------- run references


@dataclass(frozen=True)
class Target:
    """What a run reference points at: a file under a log root, or an upload."""

    kind: str  # "root" or "upload"
    id: str  # source id, or upload id
    index: int | None = None

    @property
    def ref(self) -> RunRef:
        return RunRef(self.id if self.kind == "root" else UPLOAD_PREFIX + self.id, self.index)

    def __str__(self) -> str:
        return str(self.ref)


def target_of(ref: RunRef) -> Target | None:
    """The target of a reference; None for ``upload:`` followed by something that is not an upload id."""
    if ref.source.startswith(UPLOAD_PREFIX):
        uid = ref.source[len(UPLOAD_PREFIX):]
        return Target("upload", uid, ref.index) if _UPLOAD_ID.fullmatch(uid) else None
    return Target("root", ref.source, ref.index)


def upload_id_in(text: str) -> str | None:
    """An upload id pasted as itself, as ``upload:<id>``, or inside a permalink (``...?upload=<id>``)."""
    m = _UPLOAD_IN_TEXT.search(text.strip())
    return m.group(1) if m else None


@dataclass(frozen=True)
class RootFile:
    id: str  # source id: <root label>/<relative path>
    path: str  # real path, for opening only
    size: int
    mtime_ns: int


def resolve_root_file(source_id: str, roots: Sequence[LogRoot]) -> tuple[RootFile | None, str | None]:
    """The log file a source id names inside a configured root, or ``(None, reason)``."""
    try:
        real = resolve_source_id(source_id, roots)
    except UnsafePath as e:
        return None, str(e)
    if not discovery.has_log_suffix(os.path.basename(real)) or discovery.has_binary_suffix(os.path.basename(real)):
        return None, "it is not a log file (.log, .txt, .json, .gz)"
    try:
        st = os.stat(real)
    except OSError:
        return None, "the file cannot be read"
    import stat as _stat

    if not _stat.S_ISREG(st.st_mode):
        return None, "it is not a file"
    return RootFile(source_id, real, st.st_size, st.st_mtime_ns), None


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


def short_label(target: Target, upload_names: Sequence[str] | None = None) -> str:
    """A short name for legends and tables: the file's work_dir and name, or the upload's first file."""
    if target.kind == "upload":
        base = "upload " + (upload_title(list(upload_names)) if upload_names else target.id[:8])
    else:
        parts = target.id.split("/")[1:] or [target.id]
        base = parts[0] if len(parts) == 1 else (
            "/".join(parts) if len(parts) == 2 else f"{parts[0]}/…/{parts[-1]}")
    return base if target.index is None else f"{base} #{target.index}"


def unique_labels(labels: Sequence[str]) -> list[str]:
    out: list[str] = []
    for lab in labels:
        cand, k = lab, 2
        while cand in out:
            cand, k = f"{lab} ({k})", k + 1
        out.append(cand)
    return out



# --------------------------------------------------------------------------------------------- compare


def metric_options(runs: Sequence[Run]) -> list[str]:
    """Train fields (grouped like the run page's charts, ``loss`` first) then validation metrics."""
    fields: list[str] = []
    metrics: list[str] = []
    for run in runs:
        for name in run.train.field_names:
            if name not in fields:
                fields.append(name)
        for e in run.evals:
            for k in e.metrics:
                if k not in ("time", "data_time") and k not in metrics:
                    metrics.append(k)
    ordered = [k for group in group_keys(fields).values() for k in group]
    return ordered + [m for m in metrics if m not in fields]


def default_metric(options: Sequence[str]) -> str | None:
    if "loss" in options:
        return "loss"
    return next(iter(options), None)


def metric_frame(run: Run, key: str) -> pd.DataFrame:
    """A frame ``charts.compare_figure`` can draw ``key`` from: the train frame for a train field,
    else the run's validation summaries with ``iter`` = the train iteration they followed,
    ``epoch_progress`` = their epoch and ``relative_seconds`` from the run's start."""
    if key in run.train.field_names:
        return train_frame(run)
    from dashboard.charts.series import eval_frame

    ev = eval_frame(run)
    col = ev.attrs.get("metrics", {}).get(key)
    if col is None or ev.empty:
        return pd.DataFrame({"iter": [], "epoch_progress": [], "relative_seconds": []})
    ev = ev[ev["mode"] == "val"] if (ev["mode"] == "val").any() else ev
    return pd.DataFrame({
        "iter": ev["train_iter"].to_numpy(dtype=np.float64),
        "epoch_progress": ev["epoch"].to_numpy(dtype=np.float64),
        "relative_seconds": ev["relative_seconds"].to_numpy(dtype=np.float64),
        key: ev[col].to_numpy(dtype=np.float64),
    })


def lower_is_better(key: str) -> bool:
    low = key.lower()
    return any(t in low for t in LOWER_IS_BETTER)


def final_and_best(run: Run, summary: RunSummary | None, key: str) -> tuple[float | None, float | None]:
    """The last logged value of ``key`` and its best (min for losses, errors and times; max else).

    Train fields come from the records (the final value may be a logged NaN); validation metrics
    from the summary's ``final_metrics`` / ``best_metrics``. A learning rate has no "best".
    """
    if key in run.train.field_names:
        t = run.train
        col = np.frombuffer(t.column(key), dtype=np.float64, count=len(t))
        present = t.present(key)
        idx = np.flatnonzero(present)
        if not idx.size:
            return None, None
        final = float(col[idx[-1]])
        finite = col[np.isfinite(col)]
        if not finite.size or classify_key(key) == "lr":
            return final, None
        return final, float(finite.min() if lower_is_better(key) else finite.max())
    if summary is not None:
        best = summary.best_metrics.get(key, {}).get("value")
        return summary.final_metrics.get(key), best
    return None, None


def compare_table(items: Sequence[tuple[str, Run, RunSummary]], metrics: Sequence[str]) -> pd.DataFrame:
    """One row per run: status, N, s/iter (median), samples/s (recent), final and best of each metric, wall time."""
    rows = []
    for label, run, s in items:
        row: dict[str, Any] = {
            "run": label, "status": s.status, "N": s.max_iters, "last iter": s.last_iter,
            "s/iter": s.median_iter_seconds, "samples/s": s.samples_per_second,
        }
        for m in metrics:
            final, best = final_and_best(run, s, m)
            row[f"final {m}"] = final
            row[f"best {m}"] = best
        row["wall time"] = fmt_duration(s.wall_seconds)
        rows.append(row)
    cols = ["run", "status", "N", "last iter", "s/iter", "samples/s"]
    for m in metrics:
        cols += [f"final {m}", f"best {m}"]
    cols.append("wall time")
    frame = pd.DataFrame(rows, columns=cols)
    for c in ("N", "last iter"):
        frame[c] = frame[c].astype("Int64")
    for c in cols:
        if c.startswith(("final ", "best ")) or c in ("s/iter", "samples/s"):
            frame[c] = pd.to_numeric(frame[c], errors="coerce").astype("float64")
    return frame


# ------------------------------------------------------------------------------------------ calculator


@dataclass(frozen=True)
class Prefill:
    """Calculator inputs read from a run's header (and its median s/iter), with where each came from."""

    inputs: CalculatorInputs
    sources: dict[str, str]
    logged_n: int | None


def prefill_from(run: Run, summary: RunSummary | None) -> Prefill:
    setup, src = setup_for(run)
    sampler = setup.sampler if setup.sampler in SAMPLERS else "default"
    inputs = CalculatorInputs(
        dataset_size=setup.dataset_size, gpus=setup.world_size, batch_size=setup.batch_size,
        accumulative_counts=setup.accumulative_counts, epochs=setup.epochs, sampler=sampler,
        drop_last=bool(setup.drop_last),
        s_per_iter=_round_sig(summary.median_iter_seconds) if summary is not None else None,
    )
    sources = {_CALC_NAME.get(k, k): v for k, v in src.items()}
    if summary is not None and summary.median_iter_seconds:
        sources["s_per_iter"] = "median time of the run's records"
    if setup.sampler is None:
        sources.setdefault("sampler", "not in the log: MMEngine's DefaultSampler assumed")
    logged_n = summary.max_iters if summary is not None else run.max_iters
    return Prefill(inputs, sources, logged_n)


_CALC_NAME = {"world_size": "gpus"}


def _round_sig(x: float | None, digits: int = 4) -> float | None:
    if x is None or not math.isfinite(x) or x <= 0:
        return None
    return float(f"{x:.{digits}g}")


def merge_inputs(url: CalculatorInputs, prefill: CalculatorInputs | None, url_keys: set[str]) -> CalculatorInputs:
    """The URL's values where the URL has them, else the prefill's."""
    if prefill is None:
        return replace(url)
    out = replace(prefill)
    for k in url_keys:
        if k in CALC_FIELDS:
            setattr(out, k, getattr(url, k))
    return out


CALC_FIELDS = ("dataset_size", "gpus", "batch_size", "accumulative_counts", "epochs", "sampler", "drop_last",
               "s_per_iter")


@dataclass(frozen=True)
class Calculation:
    setup: Setup
    result: WhatIf
    audit: Audit | None  # only with a run (something to compare with)
    logged_n: int | None


def calculator_setup(inputs: CalculatorInputs, run: Run | None = None) -> Setup:
    """The ``Setup`` the calculator computes with: exactly the inputs (an empty input is unknown),
    plus from the run's config what the page has no input for: ``max_iters`` (an infinite sampler's
    N) and the length-grouped sampler's ``per_device_batch_size`` while batch size and accumulation
    are the config's (otherwise xtuner's ``P = B x A`` applies)."""
    setup = Setup(inputs.dataset_size, inputs.gpus, inputs.batch_size, inputs.accumulative_counts, inputs.epochs,
                  inputs.sampler, inputs.drop_last)
    if run is None:
        return setup
    h = run.header
    keep_p = (h.per_device_batch_size and inputs.batch_size == h.batch_size
              and (inputs.accumulative_counts or 1) == (h.accumulative_counts or 1))
    return replace(setup, max_iters=h.max_iters, per_device_batch_size=h.per_device_batch_size if keep_p else None)


def calculate(inputs: CalculatorInputs, run: Run | None = None, logged_n: int | None = None,
              sources: Mapping[str, str] | None = None) -> Calculation:
    setup = calculator_setup(inputs, run)
    result = what_if(setup, inputs.s_per_iter)
    aud = None
    if run is not None:
        shown = {k: f"{getattr(inputs, k)} ({v})" for k, v in (sources or {}).items() if k in CALC_FIELDS}
        aud = audit(logged_n, setup, shown)
    return Calculation(setup, result, aud, logged_n)


def calculation_rows(c: Calculation) -> list[tuple[str, str]]:
    """(quantity, value) rows of the calculator's answer."""
    a = c.result.arithmetic
    dur = c.result.duration_seconds
    return [
        ("samples per GPU (process) per epoch", fmt_num(a.per_rank_samples, 4)),
        ("iterations per epoch", fmt_num(a.iters_per_epoch, 4)),
        ("N (total iterations)", fmt_num(a.max_iters, 4)),
        ("optimizer updates", fmt_num(a.optimizer_updates, 4)),
        ("samples seen (all GPUs)", fmt_num(a.samples_seen, 4)),
        ("samples repeated by the sampler's round-up", fmt_num(a.samples_repeated, 4)),
        ("estimated duration" + (f" at {fmt_num(c.result.seconds_per_iter, 4)} s/iter"
                                 if c.result.seconds_per_iter else ""), fmt_duration(dur)),
    ]


def fits_rows(aud: Audit) -> pd.DataFrame:
    return pd.DataFrame([{"world size (processes)": f.world_size, "sampler": f.sampler,
                          "iterations per epoch": f.iters_per_epoch} for f in aud.fits],
                        columns=["world size (processes)", "sampler", "iterations per epoch"])
