"""Downloads of a run: its records as CSV / Parquet, and the Markdown run report. Pure (no Streamlit).

The record table has the columns of ``python -m parsers export`` (README "Command line"): one row
per train record (``kind=train``) and per validation/test summary (``kind=val|test``), columns
``run, kind, iter, max_iters, epoch, timestamp, eta_seconds, line`` and then every field / metric by
its logged name in first-seen order (an eval ``time`` / ``data_time`` becomes ``val/time`` /
``val/data_time``; a field whose name collides with a base column gets a `` (field)`` suffix).

Invariants:
- Built column-wise from the runs' ``TrainTable`` arrays (no per-row Python for train records), so a
  run with a million records exports in seconds.
- A value the log did not have is empty in CSV and null in Parquet. A value the log itself wrote
  as ``nan`` / ``inf`` stays that: ``nan`` / ``inf`` / ``-inf`` in CSV, NaN / +-inf in Parquet. So a
  NaN loss is never mistaken for a missing one.
- ``timestamp`` is seconds of the log's own naive wall clock (no time zone), as in the parser.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from dashboard.analysis import RunSummary
from dashboard.reports.markdown import markdown_report
from parsers import Run

BASE_COLUMNS: tuple[str, ...] = ("run", "kind", "iter", "max_iters", "epoch", "timestamp", "eta_seconds", "line")
_INT_BASE = ("run", "iter", "max_iters", "epoch", "line")
_FLOAT_BASE = ("timestamp", "eta_seconds")
_NAME_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass
class RecordTable:
    """The export rows of some runs, column-wise.

    ``frame`` has one row per record; base integer columns are pandas ``Int64`` (nullable), value
    columns ``float64``. ``present[col]`` is True where the log had the value (NaN in ``frame``
    where ``present`` is True means the log said ``nan``).
    """

    frame: pd.DataFrame
    present: dict[str, np.ndarray]

    def __len__(self) -> int:
        return len(self.frame)


def _eval_key(mode: str, name: str) -> str:
    return f"{mode}/{name}" if name in ("time", "data_time") else name


def _column_name(name: str) -> str:
    return f"{name} (field)" if name in BASE_COLUMNS else name


def record_table(runs: Sequence[Run]) -> RecordTable:
    """The export rows of ``runs`` (train records of a run first, then its evaluations)."""
    order: list[str] = []  # value columns, first-seen order across rows (like DataFrame.from_records)
    seen: set[str] = set()

    def see(col: str) -> None:
        if col not in seen:
            seen.add(col)
            order.append(col)

    sizes = []
    for run in runs:
        for name in run.train.field_names:
            see(_column_name(name))
        for e in run.evals:
            for k in e.metrics:
                see(_column_name(_eval_key(e.mode, k)))
        sizes.append(len(run.train) + len(run.evals))
    total = sum(sizes)

    ints = {c: np.zeros(total, dtype=np.int64) for c in _INT_BASE}
    int_ok = {c: np.zeros(total, dtype=bool) for c in _INT_BASE}
    floats = {c: np.full(total, np.nan) for c in _FLOAT_BASE}
    kinds = np.empty(total, dtype=object)
    values = {c: np.full(total, np.nan) for c in order}
    present = {c: np.zeros(total, dtype=bool) for c in order}

    pos = 0
    for run in runs:
        t = run.train
        n = len(t)
        if n:
            sl = slice(pos, pos + n)
            ints["run"][sl] = run.index
            int_ok["run"][sl] = True
            kinds[sl] = "train"
            for col, arr, positive in (("iter", t.iters, False), ("max_iters", t.max_iters, True),
                                       ("epoch", t.epochs, False), ("line", t.line_nos, False)):
                a = np.frombuffer(arr, dtype=np.int64, count=n).copy()
                ints[col][sl] = a
                int_ok[col][sl] = a > 0 if positive else a >= 0
            floats["timestamp"][sl] = np.frombuffer(t.timestamps, dtype=np.float64, count=n)
            floats["eta_seconds"][sl] = np.frombuffer(t.etas, dtype=np.float64, count=n)
            logged: dict[str, list[int]] = {}
            for name, row in t.logged_nan:
                if row < n:
                    logged.setdefault(name, []).append(row)
            for name in t.field_names:
                col = _column_name(name)
                v = np.frombuffer(t.column(name), dtype=np.float64, count=n).copy()
                values[col][sl] = v
                ok = ~np.isnan(v)
                if name in logged:
                    ok[np.asarray(logged[name], dtype=np.int64)] = True
                present[col][sl] = ok
            pos += n
        for e in run.evals:
            ints["run"][pos], int_ok["run"][pos] = run.index, True
            kinds[pos] = e.mode
            for col, v in (("iter", e.train_iter), ("epoch", e.epoch), ("line", e.line_no)):
                if v is not None:
                    ints[col][pos], int_ok[col][pos] = v, True
            if e.timestamp is not None:
                floats["timestamp"][pos] = e.timestamp
            for k, v in e.metrics.items():
                col = _column_name(_eval_key(e.mode, k))
                values[col][pos] = v
                present[col][pos] = True
            pos += 1

    data: dict[str, object] = {}
    for c in BASE_COLUMNS:
        if c == "kind":
            data[c] = pd.array(kinds, dtype="string") if total else pd.array([], dtype="string")
        elif c in ints:
            data[c] = pd.arrays.IntegerArray(ints[c], ~int_ok[c])
        else:
            data[c] = floats[c]
    for c in order:
        data[c] = values[c]
    frame = pd.DataFrame(data)
    for c in _FLOAT_BASE:  # a NaN timestamp / eta is always "not known", never a logged value
        present[c] = ~np.isnan(floats[c])
    return RecordTable(frame, present)


def _arrow_table(table: RecordTable):
    """The record table as Arrow: nullable int64 base columns, ``kind`` as string, float64 values with
    null where the log had no value (NaN / +-inf where it said so)."""
    import pyarrow as pa

    frame = table.frame
    arrays, names = [], []
    for col in frame.columns:
        s = frame[col]
        if col == "kind":
            arr = pa.array(s.astype(object).to_numpy(), type=pa.string())
        elif col in _INT_BASE:
            arr = pa.array(s.to_numpy(dtype=np.int64, na_value=0), type=pa.int64(), mask=s.isna().to_numpy())
        else:
            arr = pa.array(s.to_numpy(dtype=np.float64), type=pa.float64(), mask=~table.present[col])
        arrays.append(arr)
        names.append(col)
    return pa.Table.from_arrays(arrays, names=names)


def records_csv(runs: Sequence[Run]) -> bytes:
    """CSV bytes (UTF-8, header row, ``\\n`` line ends).

    Floats are written in their shortest round-trip form (read back, they are the parsed doubles);
    empty = not in the log, ``nan`` / ``inf`` = the log said so. Only the header can need quoting
    (a metric name with a comma); the body holds numbers, ``nan``/``inf`` and ``train``/``val``/``test``.
    """
    import csv

    import pyarrow.csv as pacsv

    table = _arrow_table(record_table(runs))
    head = io.StringIO()
    csv.writer(head, lineterminator="\n").writerow(table.column_names)
    body = io.BytesIO()
    if table.num_rows:
        pacsv.write_csv(table, body, pacsv.WriteOptions(include_header=False, quoting_style="none"))
    return head.getvalue().encode("utf-8") + body.getvalue()


def records_parquet(runs: Sequence[Run]) -> bytes:
    """Parquet bytes (the schema of ``_arrow_table``)."""
    import pyarrow.parquet as pq

    buf = io.BytesIO()
    pq.write_table(_arrow_table(record_table(runs)), buf)
    return buf.getvalue()


def report_markdown_bytes(label: str, runs: Sequence[Run], summaries: Sequence[RunSummary]) -> bytes:
    """The Markdown run report (``dashboard.reports.markdown``) as UTF-8 bytes."""
    return markdown_report(label, list(runs), list(summaries)).encode("utf-8")


def download_name(label: str, suffix: str) -> str:
    """A file name for a download: ``label`` without its log extensions, made safe, plus ``suffix``.

    >>> download_name("work/20260314_090000.log.gz", ".records.csv")
    '20260314_090000.records.csv'
    """
    base = label.replace("\\", "/").rsplit("/", 1)[-1]
    for ext in (".gz", ".json", ".log", ".txt"):
        if base.lower().endswith(ext):
            base = base[: -len(ext)]
    base = _NAME_SAFE.sub("_", base).strip("._") or "run"
    return base[:100] + suffix
