"""``TrainTable`` says whether a value is present (``present``, ``is_present``) and gives its optional
integers masked (``optional``): checked against the raw lines of real logs and against hand-made tables."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

from dashboard.analysis import combine
from dashboard.analysis.health import first_nonfinite
from parsers import TrainTable, parse_bytes, parse_path
from parsers.records import INT_COLUMNS, int_column

from .conftest import SAMPLE_LOGS, corpus_params, sample_log_files

NAN_LOG = SAMPLE_LOGS / "seg_nan_loss" / "20260318_132000" / "20260318_132000.log"
TEXT_LOGS = [p for p in sample_log_files() if p.suffix == ".log"]


def _has_field(line: str, name: str) -> bool:
    return re.search(r"(?:\s\s|\t|, )" + re.escape(name) + r": \S", line) is not None


@pytest.mark.parametrize("path", [pytest.param(p, id=p.name) for p in TEXT_LOGS] + [
    pytest.param(*p.values, id=p.id, marks=[*p.marks, pytest.mark.corpus]) for p in corpus_params()
    if p.values[0] is None or p.values[0].suffix == ".log"])  # JSON logs: test_export_table reads their keys
def test_present_is_true_exactly_where_the_line_has_the_field(path):
    lines = path.read_bytes().decode("utf-8", "replace").split("\n")
    for run in parse_path(path).runs:
        t = run.train
        rows = [lines[n - 1] for n in t.line_nos]
        for name in t.field_names:
            want = [_has_field(line, name) for line in rows]
            assert t.present(name).tolist() == want, name
            assert [t.is_present(name, i) for i in range(len(t))] == want, name


def test_a_logged_nan_is_present_and_an_absent_field_is_not():
    log = (
        b"2025/01/01 00:00:00 - mmengine - INFO - Iter(train) [10/100]  lr: 1.0e-04  loss: 1.0\n"
        b"2025/01/01 00:00:05 - mmengine - INFO - Iter(train) [20/100]  lr: 1.0e-04  loss: nan  grad_norm: inf\n"
        b"2025/01/01 00:00:09 - mmengine - INFO - Iter(train) [30/100]  lr: 1.0e-04  loss: 0.5\n"
    )
    t = parse_bytes(log).runs[0].train
    assert t.present("loss").tolist() == [True, True, True]
    assert t.present("grad_norm").tolist() == [False, True, False]
    assert t.is_present("loss", 1) and not t.is_present("grad_norm", -1) and t.is_present("grad_norm", -2)
    assert not t.present("never_logged").any() and len(t.present("never_logged")) == 3
    assert not t.is_present("loss", 3) and not t.is_present("never_logged", 0)
    row = t.row(1).values
    assert list(row) == ["lr", "loss", "grad_norm"] and math.isnan(row["loss"]) and row["grad_norm"] == math.inf
    assert list(t.row(0).values) == ["lr", "loss"]


def test_an_empty_table():
    t = TrainTable()
    assert t.present("loss").tolist() == [] and not t.is_present("loss", 0)
    assert t.optional("max_iters").tolist() == []


def test_optional_integers_mask_the_unknown_rows():
    t = TrainTable()
    t.append(10, 100, -1, -1, -1, math.nan, math.nan, 1, {})
    t.append(20, -1, 2, 5, 0, math.nan, math.nan, 2, {})
    assert t.optional("max_iters").tolist() == [100, None]
    assert t.optional("epochs").tolist() == [None, 2]
    assert t.optional("iters_in_epoch").tolist() == [None, 5]
    assert t.optional("iters_per_epoch").tolist() == [None, None]  # 0 iterations per epoch is not known
    assert (t.row(1).max_iters, t.row(1).epoch, t.row(1).iters_per_epoch, t.row(0).max_iters) == (None, 2, None, 100)
    masked = t.optional("max_iters")
    t.append(30, 100, -1, -1, -1, math.nan, math.nan, 3, {})  # a copy: the table still grows
    assert masked.tolist() == [100, None] and len(t) == 3
    with pytest.raises(KeyError):
        t.optional("iters")


def test_the_callers_keep_a_logged_nan_apart_from_an_absent_one():
    run = parse_path(NAN_LOG).runs[0]
    t = run.train
    first = next(i for i in range(len(t)) if math.isnan(t.column("loss")[i]))
    assert first_nonfinite(run)[0] == t.iters[first] == 200
    joined = combine([run])
    assert joined.train.present("loss").all()  # every line had a loss, NaN or not
    assert np.isnan(np.asarray(joined.train.column("loss"))[first:]).all()


# ------------------------------------------------------------------------------------ compact integer columns

BIG = (1 << 31) + 5  # past int32


def _row(t: TrainTable, it: int, line: int) -> None:
    t.append(it, 1000, -1, -1, -1, 1.0, math.nan, line, {"loss": 0.5})


def test_integer_columns_are_int32_while_their_values_fit_and_widen_by_themselves():
    t = TrainTable()
    _row(t, 10, 3)
    assert {getattr(t, c).itemsize for c in INT_COLUMNS} == {4}
    _row(t, BIG, 4)  # appended one by one
    assert t.iters.itemsize == 8 and t.line_nos.itemsize == 4  # only the column that needed it
    assert list(t.iters) == [10, BIG] and int_column(t.iters).tolist() == [10, BIG]
    t.extend(*(np.array(v, dtype=np.int64) for v in ([5, 6], [7, 7], [-1, -1], [-1, -1], [-1, -1])),
             np.ones(2), np.full(2, np.nan), np.array([1 << 40, 9], dtype=np.int64), {"loss": np.ones(2)})
    assert t.line_nos.itemsize == 8 and list(t.line_nos) == [3, 4, 1 << 40, 9]  # in a batch
    assert t.optional("max_iters").tolist() == [1000, 1000, 7, 7]
    assert t.row(2).line_no == 1 << 40 and t.row(1).iter == BIG


def test_a_row_beyond_int64_is_refused_and_changes_nothing():
    from parsers.records import OutOfRange

    t = TrainTable()
    _row(t, 10, 3)
    with pytest.raises(OutOfRange):
        t.append(11, 1 << 64, -1, -1, -1, 1.0, math.nan, 4, {"loss": 0.5})
    assert len(t) == 1 and all(len(getattr(t, c)) == 1 for c in INT_COLUMNS)
    _row(t, 1 << 62, 5)  # still takes a wide value afterwards
    assert list(t.iters) == [10, 1 << 62]


@pytest.mark.parametrize("path", corpus_params())
def test_real_logs_keep_their_integers_exactly_in_compact_columns(path):
    """What the parse stored reads back as the integers of the export, whatever the storage."""
    for run in parse_path(path).runs:
        t = run.train
        for c in INT_COLUMNS:
            col = getattr(t, c)
            assert col.itemsize == 4 or max(map(abs, col)) > (1 << 31) - 1
            assert int_column(col).tolist() == list(col)
