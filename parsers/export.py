"""The export table of parsed runs: what ``python -m parsers export`` writes and the dashboard downloads.

One row per train record (``kind=train``) and per validation/test summary (``kind=val|test``), columns
``run, kind, iter, max_iters, epoch, timestamp, eta_seconds, line`` (``BASE_COLUMNS``) and then every
field / metric by its logged name in first-seen order (an eval ``time`` / ``data_time`` becomes
``val/time`` / ``val/data_time``; a field named like a base column gets a `` (field)`` suffix).

Invariants:
- Built column-wise from the runs' ``TrainTable`` arrays, a block of rows per run's train records and
  per run's evaluations (no dict per row), into numpy copies: the table is a snapshot that a run
  still growing does not change. ``export_table(runs, snapshot=False)`` (the command line, whose runs are
  done) reads the columns in place instead: no copy, but the runs must not grow while the table lives.
- Every cell is a value or missing. Missing = the log did not have it (unknown N, a field absent from
  a line, no timestamp): empty in CSV, null in Parquet and JSON Lines. A value the log itself wrote as
  ``nan`` / ``inf`` stays that: ``nan`` / ``inf`` / ``-inf`` in CSV, NaN / +-inf in Parquet, the strings
  ``"nan"`` / ``"inf"`` / ``"-inf"`` in JSON Lines (``parsers.jsonout``).
- Types: ``run, iter, max_iters, epoch, line`` int64, ``kind`` string, everything else float64.
- ``timestamp`` is seconds of the log's own naive wall clock (no time zone), as in the parser.
- A JSON Lines row holds the base columns and the columns of its block: a train row every field its
  run's train records have, an eval row every metric of its run's evaluations.

pyarrow (imported only when writing) does the CSV and Parquet encoding; floats are written in their
shortest round-trip form.
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import IO, Any

import numpy as np

from .jsonout import json_line
from .records import Run, TrainTable, int_column

BASE_COLUMNS: tuple[str, ...] = ("run", "kind", "iter", "max_iters", "epoch", "timestamp", "eta_seconds", "line")
INT_COLUMNS: tuple[str, ...] = ("run", "iter", "max_iters", "epoch", "line")
SUFFIXES: tuple[str, ...] = (".csv", ".parquet", ".jsonl")
_JSON_BATCH = 4096  # rows turned into Python objects at a time by the JSON Lines writer
PARQUET_DICTIONARY_BYTES = 64 << 10  # a Parquet column's dictionary at most (see ``write_parquet``)


@dataclass(frozen=True)
class Column:
    """The cells of one column in one block: ``values`` (int64 or float64) where ``valid`` is True,
    missing elsewhere; ``valid`` None means every row has a value."""

    values: np.ndarray
    valid: np.ndarray | None = None


@dataclass(frozen=True)
class Block:
    """Consecutive rows of the table: one run's train records, or one run's evaluations."""

    size: int
    kind: str | list[str]  # "train" for every row, or each row's mode
    base: dict[str, Column]  # every base column but ``kind``, int64 or float64 as ``INT_COLUMNS`` says
    values: dict[str, Column]  # the block's value columns by export name, in first-seen order

    def kinds(self) -> list[str]:
        return [self.kind] * self.size if isinstance(self.kind, str) else self.kind


class ExportTable:
    """The export rows of some runs (build it with ``export_table``)."""

    def __init__(self, columns: Sequence[str], blocks: Sequence[Block]) -> None:
        self.columns: tuple[str, ...] = tuple(columns)
        self.blocks: tuple[Block, ...] = tuple(blocks)

    def __len__(self) -> int:
        return sum(b.size for b in self.blocks)

    def column(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """All rows of one column (not ``kind``): (values, valid). Values of missing cells are
        unspecified (0 or NaN)."""
        is_int = name in INT_COLUMNS
        parts, valid = [], []
        for b in self.blocks:
            col = b.base.get(name) or b.values.get(name)
            if col is None:
                parts.append(np.zeros(b.size, dtype=np.int64 if is_int else np.float64))
                valid.append(np.zeros(b.size, dtype=bool))
            else:
                parts.append(col.values)
                valid.append(np.ones(b.size, dtype=bool) if col.valid is None else col.valid)
        dtype = np.int64 if is_int else np.float64
        return (np.concatenate(parts) if parts else np.zeros(0, dtype=dtype),
                np.concatenate(valid) if valid else np.zeros(0, dtype=bool))

    def kinds(self) -> list[str]:
        return [k for b in self.blocks for k in b.kinds()]

    # -- Arrow ------------------------------------------------------------------------------------------
    def schema(self):
        import pyarrow as pa

        return pa.schema([(c, pa.string() if c == "kind" else pa.int64() if c in INT_COLUMNS else pa.float64())
                          for c in self.columns])

    def record_batches(self) -> Iterator[Any]:
        """One ``pyarrow.RecordBatch`` per block, in the table's schema. The arrays are made from the
        numpy buffers (``pa.array`` would import pandas, a quarter of a second)."""
        import pyarrow as pa

        schema = self.schema()
        for b in self.blocks:
            nulls: dict[Any, Any] = {}  # one all-null array per type, shared by the columns the block lacks
            arrays = []
            for field in schema:
                name = field.name
                if name == "kind":
                    arrays.append(_arrow_strings(b.kind, b.size))
                    continue
                col = b.base.get(name) or b.values.get(name)
                if col is None:
                    if field.type not in nulls:
                        nulls[field.type] = pa.nulls(b.size, field.type)
                    arrays.append(nulls[field.type])
                else:
                    arrays.append(_arrow_numbers(col, field.type))
            yield pa.RecordBatch.from_arrays(arrays, schema=schema)

    def to_arrow(self):
        """The whole table as a ``pyarrow.Table`` (the blocks' batches, not copied)."""
        import pyarrow as pa

        return pa.Table.from_batches(list(self.record_batches()), schema=self.schema())

    # -- writers ----------------------------------------------------------------------------------------
    def write_csv(self, sink: IO[bytes]) -> None:
        """CSV, UTF-8, a header row, ``\\n`` line ends. Only the header can need quoting (a metric name
        with a comma); the body holds numbers, ``nan`` / ``inf`` and ``train`` / ``val`` / ``test``."""
        import csv

        import pyarrow.csv as pacsv

        head = io.StringIO()
        csv.writer(head, lineterminator="\n").writerow(self.columns)
        sink.write(head.getvalue().encode("utf-8"))
        if len(self):
            options = pacsv.WriteOptions(include_header=False, quoting_style="none")
            with pacsv.CSVWriter(sink, self.schema(), write_options=options) as writer:
                for batch in self.record_batches():
                    writer.write_batch(batch)

    def write_parquet(self, sink: IO[bytes] | str) -> None:
        """Parquet, snappy-compressed (what every reader takes), with statistics. A column's values are
        dictionary-encoded while their dictionary stays under ``PARQUET_DICTIONARY_BYTES``: the columns with
        few distinct values (run, kind, N, epoch, lr, memory, ...) keep the small encoding, and one with
        many (losses, times) falls back to plain after 8,192 distinct values instead of after 131,072
        (pyarrow's 1 MB default): on the 1M-line bench log writing takes 0.28 s instead of 0.39 s of CPU,
        for a file of 41.9 MB instead of 36.7 MB (without any dictionary: 0.25 s, 49.7 MB)."""
        import pyarrow.parquet as pq

        pq.write_table(self.to_arrow(), sink, dictionary_pagesize_limit=PARQUET_DICTIONARY_BYTES)

    def write_jsonl(self, sink: IO[str]) -> None:
        """One JSON object per row (see the module docstring for its keys), exactly as ``json_line`` writes
        the row's dict, but put together column by column: a million rows take seconds, not a minute."""
        for b in self.blocks:
            names = list(BASE_COLUMNS) + list(b.values)
            keys = [json_line(name) + ": " for name in names]
            kinds = [json_line(k) for k in b.kinds()] if not isinstance(b.kind, str) else None
            for start in range(0, b.size, _JSON_BATCH):
                stop = min(start + _JSON_BATCH, b.size)
                texts = []
                for name, key in zip(names, keys):
                    if name == "kind":
                        cells = [json_line(b.kind)] * (stop - start) if kinds is None else kinds[start:stop]
                    else:
                        cells = _json_texts(b.base.get(name) or b.values[name], start, stop)
                    texts.append([key + c for c in cells])
                sink.write("".join(f"{{{', '.join(row)}}}\n" for row in zip(*texts)))

    def write(self, path: str) -> int:
        """Write to ``path`` in the format its suffix names (``SUFFIXES``); returns the number of rows."""
        lower = path.lower()
        if lower.endswith(".jsonl"):
            with open(path, "w", encoding="utf-8") as f:
                self.write_jsonl(f)
        elif lower.endswith(".csv"):
            with open(path, "wb") as f:
                self.write_csv(f)
        elif lower.endswith(".parquet"):
            self.write_parquet(path)
        else:
            raise ValueError("output must end in " + ", ".join(SUFFIXES))
        return len(self)

    def csv_bytes(self) -> bytes:
        buf = io.BytesIO()
        self.write_csv(buf)
        return buf.getvalue()

    def parquet_bytes(self) -> bytes:
        buf = io.BytesIO()
        self.write_parquet(buf)
        return buf.getvalue()


def _arrow_numbers(col: Column, type_: Any) -> Any:
    """A pyarrow array over ``col.values`` (no copy), null where ``col.valid`` is False."""
    import pyarrow as pa

    n = len(col.values)
    data = pa.py_buffer(np.ascontiguousarray(col.values))
    if col.valid is None or col.valid.all():
        return pa.Array.from_buffers(type_, n, [None, data], null_count=0)
    bitmap = pa.py_buffer(np.packbits(col.valid, bitorder="little"))
    return pa.Array.from_buffers(type_, n, [bitmap, data], null_count=n - int(np.count_nonzero(col.valid)))


def _arrow_strings(values: str | list[str], n: int) -> Any:
    """A pyarrow string array: ``values`` repeated ``n`` times, or one string per row."""
    import pyarrow as pa

    if isinstance(values, str):
        raw = values.encode("utf-8")
        data = raw * n
        offsets = np.arange(n + 1, dtype=np.int32) * len(raw)
    else:
        encoded = [v.encode("utf-8") for v in values]
        data = b"".join(encoded)
        offsets = np.zeros(n + 1, dtype=np.int32)
        np.cumsum([len(v) for v in encoded], out=offsets[1:])
    return pa.Array.from_buffers(pa.string(), n, [None, pa.py_buffer(offsets), pa.py_buffer(data)], null_count=0)


def _json_texts(col: Column, start: int, stop: int) -> list[str]:
    """The JSON text of rows ``start:stop``: ``repr`` of a finite number (what ``json`` writes for it),
    ``json_line`` (the rule) for a non-finite one, ``null`` where missing."""
    values = col.values[start:stop]
    cells = values.tolist()
    texts = list(map(repr, cells))
    if values.dtype.kind == "f":
        for i in np.flatnonzero(~np.isfinite(values)).tolist():
            texts[i] = json_line(cells[i])
    if col.valid is not None:
        for i in np.flatnonzero(~col.valid[start:stop]).tolist():
            texts[i] = "null"
    return texts


def _eval_name(mode: str, name: str) -> str:
    return f"{mode}/{name}" if name in ("time", "data_time") else name


def _export_name(name: str) -> str:
    return f"{name} (field)" if name in BASE_COLUMNS else name


def _ints(arr, n: int, snapshot: bool = True) -> np.ndarray:
    """An integer column as int64 (a copy: the columns are stored as int32 while their values fit)."""
    return int_column(arr, n)


def _floats(arr, n: int, snapshot: bool = True) -> np.ndarray:
    if not n:
        return np.zeros(0, dtype=np.float64)
    view = np.frombuffer(arr, dtype=np.float64, count=n)
    return view.copy() if snapshot else view


def _known(values: np.ndarray) -> Column:
    """A float column whose NaN means "not known" (timestamps, etas)."""
    valid = ~np.isnan(values)
    return Column(values, None if valid.all() else valid)


def _optional(t: TrainTable, name: str) -> Column:
    col = t.optional(name)
    mask = np.ma.getmaskarray(col)
    return Column(col.data, ~mask if mask.any() else None)


def _train_block(run: Run, snapshot: bool = True) -> Block:
    t = run.train
    n = len(t)
    values = {}
    for name in t.field_names:
        present = t.present(name)  # pads the column to n rows first (before a view of it is taken)
        values[_export_name(name)] = Column(_floats(t.column(name), n, snapshot),
                                            None if present.all() else present)
    return Block(n, "train", {
        "run": Column(np.full(n, run.index, dtype=np.int64)),
        "iter": Column(_ints(t.iters, n, snapshot)),
        "max_iters": _optional(t, "max_iters"),
        "epoch": _optional(t, "epochs"),
        "timestamp": _known(_floats(t.timestamps, n, snapshot)),
        "eta_seconds": _known(_floats(t.etas, n, snapshot)),
        "line": Column(_ints(t.line_nos, n, snapshot)),
    }, values)


def _eval_block(run: Run) -> Block:
    evals = run.evals
    n = len(evals)

    def ints(attr: str) -> Column:
        raw = [getattr(e, attr) for e in evals]
        valid = np.array([v is not None for v in raw], dtype=bool)
        return Column(np.array([0 if v is None else v for v in raw], dtype=np.int64), None if valid.all() else valid)

    timestamps = np.array([np.nan if e.timestamp is None else e.timestamp for e in evals], dtype=np.float64)
    values: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for i, e in enumerate(evals):
        for k, v in e.metrics.items():
            name = _export_name(_eval_name(e.mode, k))
            if name not in values:
                values[name] = (np.full(n, np.nan), np.zeros(n, dtype=bool))
            values[name][0][i] = v
            values[name][1][i] = True
    return Block(n, [e.mode for e in evals], {
        "run": Column(np.full(n, run.index, dtype=np.int64)),
        "iter": ints("train_iter"),
        "max_iters": Column(np.zeros(n, dtype=np.int64), np.zeros(n, dtype=bool)),
        "epoch": ints("epoch"),
        "timestamp": _known(timestamps),
        "eta_seconds": Column(np.full(n, np.nan), np.zeros(n, dtype=bool)),
        "line": ints("line_no"),
    }, {name: Column(v, None if ok.all() else ok) for name, (v, ok) in values.items()})


def export_table(runs: Sequence[Run], *, snapshot: bool = True) -> ExportTable:
    """The export rows of ``runs``: each run's train records, then its evaluations. ``snapshot=False``: the
    train columns are read in place, not copied (see the module docstring)."""
    columns = list(BASE_COLUMNS)
    seen = set(columns)
    blocks = []
    for run in runs:
        for block in ((_train_block(run, snapshot) if len(run.train) else None),
                      (_eval_block(run) if run.evals else None)):
            if block is None:
                continue
            blocks.append(block)
            for name in block.values:
                if name not in seen:
                    seen.add(name)
                    columns.append(name)
    return ExportTable(columns, blocks)
