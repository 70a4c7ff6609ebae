"""Downloads of a run: CSV / Parquet records (the table of ``python -m parsers export``, checked cell by cell
in test_export_table.py), logged NaN kept apart from missing values, the Markdown report, download names."""

from __future__ import annotations

import io

import pandas as pd
import pytest

from dashboard.analysis import combine, summarize
from dashboard.reports.exports import download_name, records_csv, records_parquet, report_markdown_bytes
from parsers import Run, parse_bytes, parse_path
from parsers.export import BASE_COLUMNS

from .conftest import SAMPLE_LOGS

NAN_LOG = SAMPLE_LOGS / "seg_nan_loss" / "20260318_132000" / "20260318_132000.log"
CLS_LOG = SAMPLE_LOGS / "cls_epoch_val" / "20260315_140000" / "20260315_140000.log"
DET = sorted((SAMPLE_LOGS / "det_crash_resume").glob("2026*/2026*.log"))


def test_base_columns_come_first_and_are_typed():
    parsed = parse_path(CLS_LOG)
    frame = pd.read_parquet(io.BytesIO(records_parquet(parsed.runs)), dtype_backend="numpy_nullable")
    assert tuple(frame.columns[: len(BASE_COLUMNS)]) == BASE_COLUMNS
    assert str(frame["iter"].dtype) == "Int64" and str(frame["max_iters"].dtype) == "Int64"
    assert set(frame["kind"]) == {"train", "val"}
    val = frame[frame["kind"] == "val"]
    assert val["max_iters"].isna().all() and val["accuracy/top1"].notna().all()
    assert "val/time" not in frame or frame.loc[frame["kind"] == "train", "val/time"].isna().all()


def test_a_logged_nan_stays_nan_and_a_missing_value_stays_empty():
    parsed = parse_path(NAN_LOG)
    text = records_csv(parsed.runs).decode()
    header = text.splitlines()[0].split(",")
    row_200 = next(line.split(",") for line in text.splitlines()[1:] if line.split(",")[2] == "200")
    assert row_200[header.index("loss")] == "nan"  # the log says loss: nan
    assert row_200[header.index("epoch")] == ""  # not an epoch-style line: unknown, not nan
    import pyarrow.parquet as papq

    table = papq.read_table(io.BytesIO(records_parquet(parsed.runs))).to_pydict()
    row = table["iter"].index(200)
    assert table["loss"][row] != table["loss"][row]  # NaN, not null: the log had a value there
    assert table["epoch"][row] is None


def test_absent_fields_are_null_in_parquet():
    log = (
        b"2025/01/01 00:00:00 - mmengine - INFO - Iter(train) [10/100]  lr: 1.0000e-04  time: 0.5000  loss: 1.0\n"
        b"2025/01/01 00:00:05 - mmengine - INFO - Iter(train) [20/100]  lr: 1.0000e-04  time: 0.5000  loss: nan  "
        b"grad_norm: 3.0\n"
    )
    parsed = parse_bytes(log)
    import pyarrow.parquet as papq

    table = papq.read_table(io.BytesIO(records_parquet(parsed.runs))).to_pydict()
    assert table["grad_norm"] == [None, 3.0]
    assert table["loss"][0] == 1.0 and table["loss"][1] != table["loss"][1]  # NaN
    csv = records_csv(parsed.runs).decode().splitlines()
    assert csv[1].endswith(",1,") and csv[2].endswith(",nan,3")


def test_a_field_named_like_a_base_column_gets_a_suffix():
    run = Run(index=0, format="mmengine-text", start_line=1)
    run.train.append(10, 100, -1, -1, -1, float("nan"), float("nan"), 1, {"iter": 7.0, "loss": 1.0})
    frame = pd.read_csv(io.BytesIO(records_csv([run])))
    assert list(frame["iter"]) == [10] and list(frame["iter (field)"]) == [7.0]


def test_no_records_give_a_header_only():
    assert records_csv([]).decode().strip() == ",".join(BASE_COLUMNS)
    assert pd.read_parquet(io.BytesIO(records_parquet([]))).empty


def test_a_joined_run_exports_once_per_kept_record():
    runs = [parse_path(p).runs[0] for p in DET]
    joined = combine(runs)
    frame = pd.read_csv(io.BytesIO(records_csv([joined])))
    train = frame[frame["kind"] == "train"]
    assert train["iter"].is_monotonic_increasing and train["iter"].is_unique
    assert train["iter"].iloc[-1] == 600 and len(train) == len(joined.train)


def test_markdown_report_bytes_are_the_run_report():
    parsed = parse_path(CLS_LOG)
    s = [summarize(r) for r in parsed.runs]
    md = report_markdown_bytes("cls <script>.log", parsed.runs, s).decode()
    assert md.startswith("# Run report: cls \\<script\\>.log\n")
    assert "### Iteration arithmetic" in md and "accuracy/top1" in md


@pytest.mark.parametrize(("label", "suffix", "expected"), [
    ("20260314_090000.log", ".records.csv", "20260314_090000.records.csv"),
    ("work/run/20260314_090000.log.gz", ".report.md", "20260314_090000.report.md"),
    ("scalars.json", ".records.parquet", "scalars.records.parquet"),
    ("../../etc/passwd", ".csv", "passwd.csv"),
    ("<img src=x>.log", ".csv", "img_src_x.csv"),
    ("...", ".csv", "run.csv"),
])
def test_download_names_are_safe(label, suffix, expected):
    assert download_name(label, suffix) == expected


def test_a_metric_name_with_a_comma_is_quoted_in_the_header():
    run = Run(index=0, format="mmengine-text", start_line=1)
    run.train.append(10, 100, -1, -1, -1, float("nan"), float("nan"), 1, {"loss, total": 0.5})
    text = records_csv([run]).decode()
    assert text.splitlines()[0].endswith(',"loss, total"')
    assert pd.read_csv(io.StringIO(text))["loss, total"].tolist() == [0.5]
