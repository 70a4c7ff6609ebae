"""Typed records a parsed training log is made of.

Invariants:
- A ``Run`` owns its records; nothing is shared between runs.
- Train records are stored column-wise (``TrainTable``) because a long run has millions of them:
  one ``array('d')`` per field costs 8 bytes a value, a dict per record about 100 times that. The integer
  columns (iteration, N, epoch, line number, ...) are ``array('i')`` (4 bytes) while every value fits 32 bits,
  and a column turns into ``array('q')`` (int64) by itself when a value needs it: read them with
  ``int_column`` (int64, whatever the storage), never as raw int64 bytes.
  ``TrainTable.records()`` materialises ``TrainRecord`` objects on demand for code that wants rows.
- Every column of a ``TrainTable`` has exactly ``len(table)`` entries once read through the
  public accessors; a field absent from a line is NaN in that row.
- Unknown values are ``None`` (or NaN inside numeric columns), never guessed.
"""

from __future__ import annotations

import math
from array import array
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

NAN = math.nan

#: How many not-understood lines a run keeps verbatim; the count itself is always exact.
MAX_UNPARSED_EXAMPLES = 50

#: The largest count (iteration, N, epoch, samples, ...) a record keeps: its integer columns hold int64.
INT64_MAX = (1 << 63) - 1
#: What an int32 column holds; past it the column is widened to int64.
_INT32_MIN, _INT32_MAX = -(1 << 31), (1 << 31) - 1
#: The integer columns of a ``TrainTable``, in ``append``'s order.
INT_COLUMNS = ("iters", "max_iters", "epochs", "iters_in_epoch", "iters_per_epoch", "line_nos")


class OutOfRange(ValueError):
    """A number on a line does not fit where it goes (a count beyond ``INT64_MAX``, a float beyond a double):
    the parser takes the line as unparsed."""


def in_range(value: int) -> int:
    """``value`` when it fits a record's int64 columns; else ``OutOfRange``."""
    if -INT64_MAX <= value <= INT64_MAX:
        return value
    raise OutOfRange(f"{len(str(abs(value)))}-digit number")


@dataclass(frozen=True)
class TrainRecord:
    """One logged training iteration (a row of ``TrainTable``)."""

    iter: int  # global iteration, 1-based: for epoch-style lines (epoch-1)*iters_per_epoch + i
    max_iters: int | None  # N in ``Iter(train) [n/N]``; for epoch lines max_epochs*iters_per_epoch when known
    epoch: int | None
    iter_in_epoch: int | None
    iters_per_epoch: int | None
    timestamp: float | None  # seconds since the epoch of the log's own wall clock (naive, no time zone)
    eta_seconds: float | None  # MMEngine's / mmcv's own logged eta
    values: dict[str, float]  # every numeric field by its logged name (lr, time, data_time, memory, loss, ...)
    line_no: int  # 1-based physical line in the file (0 when unknown)


@dataclass(frozen=True)
class EvalRecord:
    """A validation or test summary (the line with the metrics, not the progress lines)."""

    mode: str  # "val" or "test"
    epoch: int | None  # from ``Epoch(val) [e]...`` or the json record
    train_iter: int | None  # last train iteration seen before it (the step of iteration-based runs)
    metrics: dict[str, float]
    text: dict[str, str]  # non-numeric values, e.g. ``bbox_mAP_copypaste: 0.383 0.428 ...``
    timestamp: float | None
    line_no: int
    batches: int | None = None  # n in ``[n/n]`` (number of val/test iterations)

    @property
    def step(self) -> int | None:
        """Epoch for epoch-based evaluation, else the train iteration it followed."""
        return self.epoch if self.epoch is not None else self.train_iter


@dataclass(frozen=True)
class Event:
    """Something the log says happened: a checkpoint, a resume, a warning, a traceback...

    ``kind`` is one of the names in ``EVENT_KINDS``; ``data`` holds typed values (iteration, epoch,
    path, ...); ``text`` is the log text as written (tracebacks: all their lines joined by newlines).
    ``timestamp``: seconds of the log's clock, or None when unknown (a line without a time, or one whose time is
    not a date: NaN is made None here, so two parses of the same bytes give equal events; NaN is unequal to
    itself).
    """

    kind: str
    line_no: int
    timestamp: float | None
    text: str
    data: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.timestamp is not None and self.timestamp != self.timestamp:
            object.__setattr__(self, "timestamp", None)


EVENT_KINDS = (
    "checkpoint",  # Saving checkpoint at N iterations|epochs        data: n, unit, iter
    "best_checkpoint",  # The best checkpoint with ... is saved       data: metric, value, n, unit, path
    "resume",  # resumed epoch: e, iter: i                           data: epoch, iter
    "auto_resume",  # Auto resumed from the latest checkpoint P        data: path
    "load_checkpoint",  # Load checkpoint from P                        data: path
    "advance_dataloader",  # Advance dataloader N steps                 data: steps
    "epoch_wrap",  # xtuner / IterBasedTrainLoop "Reach the end of the dataloader"  data: iter
    "exp_name",  # Exp name: X                                        data: name
    "work_dir",  # Checkpoints will be saved to P                      data: path
    "dataset_size",  # Num train samples N                              data: samples
    "launch",  # a shell line that starts a training (wrapper scripts)   data: command
    "warning",  # a WARNING-level line (first line of the message)
    "error",  # an ERROR/CRITICAL-level line
    "traceback",  # a Python traceback                                   data: exception, message, lines
)


@dataclass
class HeaderFacts:
    """What the run header and config dump say about the setup.

    ``sources`` names where each fact came from (``"config: train_dataloader.batch_size"``,
    ``"runtime env: GPU number"``) so the dashboard can show it.
    """

    gpu_names: list[str] = field(default_factory=list)  # one entry per listed GPU index
    gpus_listed: int | None = None  # how many GPUs the System environment lists
    cuda_available: bool | None = None
    pytorch_version: str | None = None
    mmengine_version: str | None = None
    distributed: bool | None = None
    launcher: str | None = None
    world_size: int | None = None  # processes (MMEngine "GPU number", mmcv len(gpu_ids))
    batch_size: int | None = None  # per process
    accumulative_counts: int | None = None
    max_epochs: int | None = None
    max_iters: int | None = None
    train_loop: str | None = None  # e.g. EpochBasedTrainLoop, IterBasedTrainLoop, xtuner TrainLoop, EpochBasedRunner
    by_epoch: bool | None = None  # whether the train loop counts epochs
    sampler: str | None = None  # sampler type as written in the config
    per_device_batch_size: int | None = None
    drop_last: bool | None = None
    log_interval: int | None = None
    log_by_epoch: bool | None = None  # log_processor.by_epoch
    val_interval: int | None = None
    val_begin: int | None = None  # train_cfg.val_begin: the first epoch (or iteration) that is validated
    checkpoint_interval: int | None = None
    checkpoint_by_epoch: bool | None = None  # default_hooks.checkpoint.by_epoch
    dataset_size: int | None = None
    iters_per_epoch: int | None = None  # mmcv .log.json: from its text twin or a checkpoint meta line
    work_dir: str | None = None
    exp_name: str | None = None
    config_text: str | None = None
    # Year-less (console) lines: where the year their time stamps got came from, and whether it is a guess
    # (``timestamps.Clock``); None when the run has no year-less line.
    year_source: str | None = None
    year_assumed: bool | None = None
    sources: dict[str, str] = field(default_factory=dict)

    def set(self, name: str, value: Any, source: str, *, override: bool = False) -> None:
        """Record a fact unless it is already known (the first, most specific source wins)."""
        if value is None:
            return
        if getattr(self, name) is None or override:
            setattr(self, name, value)
            self.sources[name] = source

    def as_dict(self, *, with_config: bool = False) -> dict[str, Any]:
        out = {k: v for k, v in self.__dict__.items() if k not in ("config_text", "sources")}
        out["sources"] = dict(self.sources)
        if with_config:
            out["config_text"] = self.config_text
        return out


class TrainTable:
    """Column-wise store of a run's train records (see module docstring for the invariants)."""

    __slots__ = (
        "iters", "max_iters", "epochs", "iters_in_epoch", "iters_per_epoch",
        "timestamps", "_etas", "line_nos", "_fields", "logged_nan",
    )

    def __init__(self) -> None:
        # int32 until a value needs int64 (``_widen``); read with ``int_column``.
        self.iters = array("i")
        self.max_iters = array("i")  # -1 = unknown
        self.epochs = array("i")  # -1 = not an epoch-style line
        self.iters_in_epoch = array("i")
        self.iters_per_epoch = array("i")
        self.timestamps = array("d")  # NaN = no timestamp
        self._etas = array("d")
        self.line_nos = array("i")
        self._fields: dict[str, array] = {}
        # A logged ``nan`` and an absent field are both NaN in a column; this side set of
        # (field, row) pairs keeps them apart. It stays tiny: NaN values are rare.
        self.logged_nan: set[tuple[str, int]] = set()

    def __len__(self) -> int:
        return len(self.iters)

    def append(
        self,
        it: int,
        max_iters: int,
        epoch: int,
        iter_in_epoch: int,
        iters_per_epoch: int,
        timestamp: float,
        eta: float,
        line_no: int,
        values: dict[str, float],
    ) -> None:
        """One row; a row whose integers do not fit int64 is not added (``OutOfRange``, nothing changed)."""
        row = len(self.iters)
        try:
            self.iters.append(it)
            self.max_iters.append(max_iters)
            self.epochs.append(epoch)
            self.iters_in_epoch.append(iter_in_epoch)
            self.iters_per_epoch.append(iters_per_epoch)
            self.line_nos.append(line_no)
        except OverflowError:
            self._append_wide(row, (it, max_iters, epoch, iter_in_epoch, iters_per_epoch, line_no))
        self.timestamps.append(timestamp)
        self._etas.append(eta)
        fields = self._fields
        for key, value in values.items():
            col = fields.get(key)
            if col is None or len(col) < row:
                col = self._column_to(key, row)
            col.append(value)
            if value != value:
                self.logged_nan.add((key, row))

    def _append_wide(self, row: int, ints: tuple[int, ...]) -> None:
        """``append``'s integers when one did not fit its column: undo the row, widen the columns that need it to
        int64 and append again; ``OutOfRange`` (nothing changed) for a value beyond int64."""
        for name in INT_COLUMNS:
            del getattr(self, name)[row:]
        for name, value in zip(INT_COLUMNS, ints):
            if not -INT64_MAX - 1 <= value <= INT64_MAX:
                raise OutOfRange(f"{len(str(abs(value)))}-digit number")
            if not _INT32_MIN <= value <= _INT32_MAX:
                self._widen(name)
        for name, value in zip(INT_COLUMNS, ints):
            getattr(self, name).append(value)

    def _widen(self, name: str) -> array:
        """Integer column ``name`` as int64 from now on (the values kept)."""
        col = getattr(self, name)
        if col.typecode != "q":
            col = array("q", col)
            setattr(self, name, col)
        return col

    def extend(
        self,
        iters: np.ndarray,
        max_iters: np.ndarray,
        epochs: np.ndarray,
        iters_in_epoch: np.ndarray,
        iters_per_epoch: np.ndarray,
        timestamps: np.ndarray,
        etas: np.ndarray,
        line_nos: np.ndarray,
        columns: dict[str, np.ndarray],
        *,
        nan: bool = True,
    ) -> None:
        """Append many rows at once: contiguous int64 arrays for the integer columns, float64 for the
        others, all of the same length.

        Equivalent to calling ``append`` row by row with ``values`` = that row of each column
        (a NaN value is recorded in ``logged_nan`` the same way). ``nan=False`` says no value in
        ``columns`` is NaN (the caller checked them at once), which spares a check per column.
        """
        row = len(self.iters)
        for name, values in zip(INT_COLUMNS, (iters, max_iters, epochs, iters_in_epoch, iters_per_epoch, line_nos)):
            values = np.ascontiguousarray(values, dtype=np.int64)
            col = getattr(self, name)
            if col.typecode == "i" and values.size and (values.min() < _INT32_MIN or values.max() > _INT32_MAX):
                col = self._widen(name)
            col.frombytes(_raw(values, np.dtype(col.typecode)))  # exact: every value fits the column's type
        self.timestamps.frombytes(_raw(timestamps, np.float64))
        self._etas.frombytes(_raw(etas, np.float64))
        fields = self._fields
        for key, values in columns.items():
            col = fields.get(key)
            if col is None or len(col) < row:
                col = self._column_to(key, row)
            col.frombytes(_raw(values, np.float64))
            if not nan:
                continue
            nans = np.isnan(values)
            if nans.any():
                for i in np.flatnonzero(nans).tolist():
                    self.logged_nan.add((key, row + i))

    def _column_to(self, key: str, rows: int) -> array:
        """Field ``key``'s column, created or NaN-padded (rows without the field) to ``rows`` values."""
        col = self._fields.get(key)
        if col is None:
            col = self._fields[key] = array("d", [NAN]) * rows if rows else array("d")
        elif len(col) < rows:
            col.extend(array("d", [NAN]) * (rows - len(col)))
        return col

    @property
    def etas(self) -> array:
        """MMEngine's logged eta in seconds per row (NaN where the line had none)."""
        return self._etas

    @property
    def field_names(self) -> list[str]:
        """Numeric field names in the order they first appeared."""
        return list(self._fields)

    def column(self, name: str) -> array:
        """The values of one field, NaN where a row lacks it (length == len(self))."""
        self._fields[name]  # KeyError for a field the run never logged
        return self._column_to(name, len(self.iters))

    def columns(self) -> dict[str, array]:
        return {name: self.column(name) for name in self._fields}

    def present(self, name: str) -> np.ndarray:
        """Per row, whether the line had field ``name`` (True for a value the log wrote as ``nan`` too):
        a bool array of ``len(self)``, all False for a field the run never logged."""
        n = len(self.iters)
        if name not in self._fields or not n:
            return np.zeros(n, dtype=bool)
        out = ~np.isnan(np.frombuffer(self.column(name), dtype=np.float64, count=n))
        rows = [row for key, row in self.logged_nan if key == name and row < n]
        if rows:
            out[rows] = True
        return out

    def is_present(self, name: str, i: int) -> bool:
        """Whether row ``i`` (negative counts from the end) had field ``name``; see ``present``."""
        if i < 0:
            i += len(self.iters)
        col = self._fields.get(name)
        if col is None or not 0 <= i < len(self.iters):
            return False
        v = col[i] if i < len(col) else NAN
        return v == v or (name, i) in self.logged_nan

    def optional(self, name: str) -> np.ma.MaskedArray:
        """A copy of an integer column with its unknown rows masked: ``max_iters``, ``epochs``,
        ``iters_in_epoch`` or ``iters_per_epoch`` (stored with -1 for unknown; an N or an epoch length of
        0 is unknown too)."""
        below = _KNOWN_FROM[name]
        data = int_column(getattr(self, name), len(self.iters))
        return np.ma.MaskedArray(data, mask=data < below)

    def row(self, i: int) -> TrainRecord:
        values = {}
        for name in self._fields:
            if self.is_present(name, i):
                values[name] = self._fields[name][i]
        return TrainRecord(
            iter=self.iters[i],
            max_iters=_opt_int(self.max_iters[i], _KNOWN_FROM["max_iters"]),
            epoch=_opt_int(self.epochs[i], _KNOWN_FROM["epochs"]),
            iter_in_epoch=_opt_int(self.iters_in_epoch[i], _KNOWN_FROM["iters_in_epoch"]),
            iters_per_epoch=_opt_int(self.iters_per_epoch[i], _KNOWN_FROM["iters_per_epoch"]),
            timestamp=_opt_float(self.timestamps[i]),
            eta_seconds=_opt_float(self.etas[i]),
            values=values,
            line_no=self.line_nos[i],
        )

    def records(self) -> Iterator[TrainRecord]:
        for i in range(len(self.iters)):
            yield self.row(i)

    def last(self) -> TrainRecord | None:
        return self.row(len(self.iters) - 1) if len(self.iters) else None


#: The smallest known value of each optional integer column of a ``TrainTable`` (below it: unknown).
_KNOWN_FROM = {"max_iters": 1, "epochs": 0, "iters_in_epoch": 0, "iters_per_epoch": 1}


def _opt_int(v: int, known_from: int) -> int | None:
    return None if v < known_from else v


def _opt_float(v: float) -> float | None:
    return None if v != v else v


@dataclass
class UnparsedLines:
    """Lines nobody understood: the count is exact, the examples are the first few."""

    count: int = 0
    examples: list[tuple[int, str]] = field(default_factory=list)  # (line_no, text)

    def add(self, line_no: int, text: str) -> None:
        self.count += 1
        if len(self.examples) < MAX_UNPARSED_EXAMPLES:
            self.examples.append((line_no, text))


@dataclass
class Run:
    """One training run found in a log: from one launch/header to the next (or to a resume)."""

    index: int  # 0-based position of the run in its file
    format: str  # "mmengine-text", "mmcv-text", "mmengine-scalars-json", "mmcv-json"
    start_line: int
    end_line: int = 0
    header: HeaderFacts = field(default_factory=HeaderFacts)
    train: TrainTable = field(default_factory=TrainTable)
    evals: list[EvalRecord] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    unparsed: UnparsedLines = field(default_factory=UnparsedLines)
    line_kinds: Counter = field(default_factory=Counter)  # how every line was classified
    started_by: str = "start of file"  # what opened this run: header, launch, iteration went back, ...
    first_timestamp: float | None = None  # the first and last timestamp on any line of the run
    last_timestamp: float | None = None
    # Live evaluation progress: the latest ``Epoch(val) [e][i/n]`` progress line, if any.
    eval_progress: tuple[str, int | None, int, int] | None = None  # (mode, epoch, i, n)

    @property
    def has_content(self) -> bool:
        return bool(len(self.train) or self.evals or self.line_kinds.get("header") or self.line_kinds.get("config"))

    def events_of(self, *kinds: str) -> list[Event]:
        return [e for e in self.events if e.kind in kinds]

    @property
    def first_iter(self) -> int | None:
        return self.train.iters[0] if len(self.train) else None

    @property
    def last_iter(self) -> int | None:
        return self.train.iters[-1] if len(self.train) else None

    @property
    def max_iters(self) -> int | None:
        """N: from the last train line, else from the config."""
        if len(self.train):
            n = self.train.max_iters[-1]
            if n > 0:
                return n
        return self.header.max_iters

    @property
    def iters_per_epoch(self) -> int | None:
        if len(self.train):
            v = self.train.iters_per_epoch[-1]
            if v > 0:
                return v
        return None

    @property
    def resumed_from_iter(self) -> int | None:
        for e in self.events:
            if e.kind == "resume" and e.data.get("iter") is not None:
                return e.data["iter"]
        return None


@dataclass
class ParsedLog:
    """Everything parsed from one log (one file or one stream)."""

    format: str | None  # None until the first line decides it
    runs: list[Run]
    lines: int  # physical lines consumed (complete ones; a trailing partial line is counted at close)
    bytes_consumed: int  # bytes of input (compressed bytes for gzip) handed to the parser so far
    unparsed_before_first_run: int = 0
    # What happened to the bytes before they were lines: damaged gzip data, trailing garbage, a gzip stream cut
    # short (``lines.LineSplitter.notes``); the same however the bytes were fed.
    notes: list[str] = field(default_factory=list)

    @property
    def unparsed_count(self) -> int:
        return sum(r.unparsed.count for r in self.runs)


def int_column(arr: array, n: int | None = None) -> np.ndarray:
    """The first ``n`` (default: all) values of an integer column of a ``TrainTable`` (int32 or int64 storage) as a
    new int64 array. A copy: a view would keep the column from growing (BufferError) for as long as it lives."""
    n = len(arr) if n is None else min(n, len(arr))
    if not n:
        return np.zeros(0, dtype=np.int64)
    view = np.frombuffer(arr, dtype=np.dtype(arr.typecode), count=n)
    out = view.astype(np.int64)  # always a copy
    del view
    return out


def _raw(values: np.ndarray, dtype: type) -> memoryview:
    """The bytes of ``values`` as a contiguous array of ``dtype``, as ``array.frombytes`` takes them
    (no copy when it already is one)."""
    return memoryview(np.ascontiguousarray(values, dtype=dtype)).cast("B")
