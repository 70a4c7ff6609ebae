"""The one export table (``parsers.export``) behind ``python -m parsers export`` and the dashboard downloads.

Every sample and real log goes through the command line's ``main`` in all three formats, and each cell is
checked against the log itself: a train row's fields are looked up in the raw line the row came from
(``name: value`` in a text line, a key of a JSON line), so "missing" and "the log wrote nan" are told
apart by the file, not by the parser's bookkeeping. Base columns and evaluations come from the parser's
row-wise records (``TrainTable.records()``, ``Run.evals``).
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from dashboard.reports.exports import records_csv, records_parquet
from parsers import Run, parse_bytes, parse_path
from parsers.cli import main as parsers_main
from parsers.export import BASE_COLUMNS, INT_COLUMNS, export_table
from parsers.jsonout import json_line

from .conftest import ROOT, SAMPLE_LOGS, corpus_params, sample_log_files

NAN_LOG = SAMPLE_LOGS / "seg_nan_loss" / "20260318_132000" / "20260318_132000.log"
CLS_LOG = SAMPLE_LOGS / "cls_epoch_val" / "20260315_140000" / "20260315_140000.log"

CASES = [pytest.param(p, id=str(p.relative_to(SAMPLE_LOGS))) for p in sample_log_files()] + [
    pytest.param(*p.values, id=p.id, marks=[*p.marks, pytest.mark.corpus]) for p in corpus_params()]


# -- the reference, from the log file ---------------------------------------------------------------------------
def _in_line(line: str, name: str) -> tuple[bool, float | None]:
    """Whether the raw log line has field ``name``, and its value (read without the parser)."""
    text = line.strip()
    if text.startswith("{"):
        v = json.loads(text).get(name)
        ok = isinstance(v, (int, float)) and not isinstance(v, bool)
        return ok, float(v) if ok else None
    m = re.search(r"(?:\s\s|\t|, )" + re.escape(name) + r": ([^\s,]+)", line)
    return (True, float(m.group(1))) if m else (False, None)


def _column_name(name: str) -> str:
    return f"{name} (field)" if name in BASE_COLUMNS else name


def _eval_name(mode: str, name: str) -> str:
    return f"{mode}/{name}" if name in ("time", "data_time") else name


def expected(path: Path, runs: list[Run]) -> tuple[list[str], list[dict], list[set[str]]]:
    """(columns, rows, the keys of each row's JSON object) as the README describes the export."""
    lines = path.read_bytes().decode("utf-8", "replace").split("\n")
    columns = list(BASE_COLUMNS)
    rows, keys = [], []
    for run in runs:
        train_cols = [_column_name(n) for n in run.train.field_names]
        eval_cols = list(dict.fromkeys(_column_name(_eval_name(e.mode, k)) for e in run.evals for k in e.metrics))
        columns = list(dict.fromkeys(columns + train_cols + eval_cols))
        for rec in run.train.records():
            row = {"run": run.index, "kind": "train", "iter": rec.iter, "max_iters": rec.max_iters,
                   "epoch": rec.epoch, "timestamp": rec.timestamp, "eta_seconds": rec.eta_seconds,
                   "line": rec.line_no}
            for name, col in zip(run.train.field_names, train_cols):
                found, value = _in_line(lines[rec.line_no - 1], name)
                row[col] = value if found else None
            rows.append(row)
            keys.append(set(BASE_COLUMNS) | set(train_cols))
        for e in run.evals:
            row = {"run": run.index, "kind": e.mode, "iter": e.train_iter, "max_iters": None, "epoch": e.epoch,
                   "timestamp": e.timestamp, "eta_seconds": None, "line": e.line_no}
            row.update({_column_name(_eval_name(e.mode, k)): v for k, v in e.metrics.items()})
            rows.append(row)
            keys.append(set(BASE_COLUMNS) | set(eval_cols))
    return columns, rows, keys


def same(got, want) -> bool:
    if want is None or isinstance(want, str):
        return got == want
    if isinstance(want, float) and math.isnan(want):
        return isinstance(got, float) and math.isnan(got)
    return type(got) in (int, float) and got == want


# -- readers of the three formats, each by its own means ----------------------------------------------------------
def read_csv(data: bytes, columns: list[str]) -> list[dict]:
    reader = csv.reader(io.StringIO(data.decode("utf-8"), newline=""))
    assert next(reader) == columns
    rows = []
    for cells in reader:
        row = {}
        for col, cell in zip(columns, cells, strict=True):
            if col == "kind":
                row[col] = cell
            elif cell == "":
                row[col] = None
            else:
                row[col] = int(cell) if col in INT_COLUMNS else float(cell)
        rows.append(row)
    return rows


def read_jsonl(text: str) -> list[dict]:
    spelled = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}
    rows = []
    for line in text.splitlines():
        obj = json.loads(line, parse_constant=lambda token: pytest.fail(f"{token} is not JSON"))
        rows.append({k: spelled.get(v, v) if k != "kind" else v for k, v in obj.items()})
    return rows


def check(rows: list[dict], want_rows: list[dict], columns: list[str]) -> None:
    assert len(rows) == len(want_rows)
    for i, (got, want) in enumerate(zip(rows, want_rows)):
        for col in columns:
            assert same(got.get(col), want.get(col)), (i, col, got.get(col), want.get(col))


@pytest.mark.parametrize("path", CASES)
def test_cli_export_has_every_value_of_the_log_in_csv_parquet_and_jsonl(path, tmp_path, capsys):
    runs = parse_path(path).runs
    columns, want, keys = expected(path, runs)

    for fmt in ("csv", "parquet", "jsonl"):
        assert parsers_main(["export", str(path), "-o", str(tmp_path / f"out.{fmt}")]) == 0
        assert capsys.readouterr().err.strip() == f"wrote {len(want)} rows to {tmp_path / f'out.{fmt}'}"

    csv_bytes = (tmp_path / "out.csv").read_bytes()
    check(read_csv(csv_bytes, columns), want, columns)

    table = pq.read_table(tmp_path / "out.parquet")
    assert table.column_names == columns
    for field in table.schema:
        assert str(field.type) == ("string" if field.name == "kind" else
                                   "int64" if field.name in INT_COLUMNS else "double"), field
    check(table.to_pylist(), want, columns)

    text = (tmp_path / "out.jsonl").read_text(encoding="utf-8")
    assert all(json_line(json.loads(line)) == line for line in text.splitlines())  # spelled as json writes it
    jsonl = read_jsonl(text)
    assert [set(r) for r in jsonl] == keys
    check(jsonl, want, columns)

    # The dashboard's download buttons give the same table.
    assert records_csv(runs) == csv_bytes
    check(pq.read_table(io.BytesIO(records_parquet(runs))).to_pylist(), want, columns)


def test_a_logged_nan_and_a_missing_value_stay_apart_in_every_format(tmp_path):
    # Row of iteration 200 of the NaN sample: "loss: nan" on an Iter line (no epoch).
    for fmt in ("csv", "parquet", "jsonl"):
        out = tmp_path / f"nan.{fmt}"
        p = subprocess.run([sys.executable, "-m", "parsers", "export", str(NAN_LOG), "-o", str(out)], cwd=ROOT,
                           capture_output=True, text=True, timeout=120)
        assert p.returncode == 0, p.stderr
    text = (tmp_path / "nan.csv").read_text().splitlines()
    header = text[0].split(",")
    row = next(r.split(",") for r in text[1:] if r.split(",")[header.index("iter")] == "200")
    assert row[header.index("loss")] == "nan" and row[header.index("epoch")] == ""
    table = pq.read_table(tmp_path / "nan.parquet").to_pydict()
    k = table["iter"].index(200)
    assert math.isnan(table["loss"][k]) and table["epoch"][k] is None
    obj = next(o for o in map(json.loads, (tmp_path / "nan.jsonl").read_text().splitlines()) if o["iter"] == 200)
    assert obj["loss"] == "nan" and obj["epoch"] is None and obj["decode.acc_seg"] == 22.2656


def test_an_absent_field_is_missing_and_a_base_named_field_gets_a_suffix():
    log = (
        b"2025/01/01 00:00:00 - mmengine - INFO - Iter(train) [10/100]  lr: 1.0000e-04  time: 0.5000  loss: 1.0\n"
        b"2025/01/01 00:00:05 - mmengine - INFO - Iter(train) [20/100]  lr: 1.0000e-04  time: 0.5000  loss: inf  "
        b"grad_norm: 3.0  epoch: 7\n"
    )
    table = export_table(parse_bytes(log).runs)
    assert table.columns == (*BASE_COLUMNS, "lr", "time", "loss", "grad_norm", "epoch (field)")
    values, valid = table.column("grad_norm")
    assert valid.tolist() == [False, True] and values[1] == 3.0
    assert table.column("epoch")[1].tolist() == [False, False]  # the base column: no epoch-style line
    assert table.column("epoch (field)")[0][1] == 7.0
    assert table.csv_bytes().decode().splitlines()[1:] == [
        "0,train,10,100,,1735689600,,1,0.0001,0.5,1,,", "0,train,20,100,,1735689605,,2,0.0001,0.5,inf,3,7"]


def test_no_runs_give_the_header_and_an_empty_typed_parquet():
    table = export_table([])
    assert len(table) == 0 and table.csv_bytes() == (",".join(BASE_COLUMNS) + "\n").encode()
    back = pq.read_table(io.BytesIO(table.parquet_bytes()))
    assert back.num_rows == 0 and back.column_names == list(BASE_COLUMNS)
    assert str(back.schema.field("iter").type) == "int64" and str(back.schema.field("kind").type) == "string"


def test_the_table_is_a_snapshot_and_leaves_the_run_free_to_grow():
    run = parse_path(CLS_LOG).runs[0]
    table = export_table([run])
    n = len(table)
    before = table.csv_bytes()
    run.train.append(10_000, 300, 9, 1, 30, math.nan, math.nan, 9999, {"loss": 0.5})  # no BufferError
    assert len(table) == n and table.csv_bytes() == before
    assert len(export_table([run])) == n + 1


def test_a_table_read_in_place_is_the_snapshot_table():
    for path in sample_log_files():
        runs = parse_path(path).runs
        snapshot = export_table(runs)
        in_place = export_table(runs, snapshot=False)
        assert in_place.csv_bytes() == snapshot.csv_bytes(), path
        assert in_place.parquet_bytes() == snapshot.parquet_bytes(), path


def test_bad_output_suffix_is_a_one_line_error(tmp_path):
    p = subprocess.run([sys.executable, "-m", "parsers", "export", str(CLS_LOG), "-o", str(tmp_path / "x.xlsx")],
                       cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert p.returncode == 2 and p.stderr.startswith("error: ") and len(p.stderr.splitlines()) == 1
    assert not (tmp_path / "x.xlsx").exists()


def test_kind_and_run_columns_follow_the_blocks():
    runs = parse_path(CLS_LOG).runs
    table = export_table(runs)
    kinds = np.array(table.kinds())
    n_train = sum(len(r.train) for r in runs)
    assert (kinds[:n_train] == "train").all() and set(kinds[n_train:]) == {"val"}
    run_col, valid = table.column("run")
    assert valid.all() and (run_col == runs[0].index).all()
