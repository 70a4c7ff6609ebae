"""The shortcuts give exactly what the general rules give.

- The batched hot path (runs of >= 32 train lines, read by the compiled scanner): feeding one line
  per ``feed`` call never batches, so comparing it with a whole-file parse checks the batch path
  against the line path on every real log and on crafted edge cases.
- The line path's own shortcuts (one composed regex for a train line, one for a val/test progress
  line): a parse with both switched off goes through the grammar's prefix and message patterns only.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest

from parsers import LogParser, parse_bytes, train_kernel
from parsers import text_log as tl
from parsers.text_log import BATCH_MIN

from .conftest import corpus_params, sample_log_files
from .helpers import snapshot


def line_by_line(data: bytes, reference=None):
    p = LogParser(reference=reference)
    for line in data.splitlines(keepends=True):
        p.feed(line)
    p.close()
    return p.result()


def same(data: bytes, reference=None) -> None:
    whole = snapshot(parse_bytes(data, reference=reference))
    assert whole == snapshot(line_by_line(data, reference))
    assert whole == snapshot(general_rules_only(data, reference))


@pytest.mark.corpus
@pytest.mark.parametrize("path", corpus_params())
def test_whole_file_equals_line_by_line_and_general_rules_on_real_logs(path):
    same(path.read_bytes(), dt.datetime(2025, 7, 8))


@pytest.mark.parametrize("path", sample_log_files(), ids=lambda p: p.name)
def test_whole_file_equals_line_by_line_and_general_rules_on_sample_logs(path):
    same(path.read_bytes())


def general_rules_only(data: bytes, reference=None):
    """Parse with every shortcut off: no compiled scanner, no composed train/progress regexes."""
    never = re.compile(r"(?!)")
    with pytest.MonkeyPatch.context() as m:
        m.setattr(tl, "_FAST_TRAIN", never)
        m.setattr(tl, "_FAST_EVAL_PROGRESS", never)
        m.setattr(train_kernel, "loaded", lambda: False)
        m.setattr(train_kernel, "LOAD_AFTER_LINES", 1 << 62)
        return parse_bytes(data, reference=reference)


PROGRESS_LINE = re.compile(rb"(Epoch|Iter)\((val|test)\).*\]\s+eta: ")


def logs_with_progress_lines() -> list:
    params = [p for p in corpus_params() if p.values[0] is None]  # the visible skip when ../shared is absent
    for path in [*(p.values[0] for p in corpus_params() if p.values[0] is not None), *sample_log_files()]:
        if PROGRESS_LINE.search(path.read_bytes()):
            params.append(pytest.param(path, id=path.name))
    return params


@pytest.mark.corpus
@pytest.mark.parametrize("path", logs_with_progress_lines())
def test_shortcuts_equal_the_general_rules_in_the_middle_of_a_validation(path):
    # A finished validation resets the progress, so cut the log right after a progress line.
    lines = path.read_bytes().splitlines(keepends=True)
    progress = [k for k, ln in enumerate(lines) if PROGRESS_LINE.search(ln)]
    data = b"".join(lines[: progress[len(progress) // 2] + 1])
    ref = dt.datetime(2025, 7, 8)
    parsed = parse_bytes(data, reference=ref)
    assert parsed.runs[-1].eval_progress is not None
    assert snapshot(parsed) == snapshot(general_rules_only(data, ref))


def _lines(its, fmt="2026/01/01 00:{m:02d}:{s:02d}", extra=lambda i: "", start=0):
    out = []
    for k, i in enumerate(its):
        m, s = divmod(start + k, 60)
        out.append(f"{fmt.format(m=m % 60, s=s)} - mmengine - INFO - Iter(train) [{i:5d}/99999]  lr: 1.0e-04  "
                   f"eta: 1 day, 2:03:04  time: 0.5  loss: {1 + k / 100:.4f}{extra(k)}")
    return out


def test_nan_and_inf_inside_a_batch_are_logged_values():
    lines = _lines(range(10, 10 * (BATCH_MIN + 20), 10))
    lines[5] = lines[5].replace("loss: 1.0500", "loss: nan")
    lines[7] = lines[7].replace("loss: 1.0700", "loss: inf")
    data = ("\n".join(lines) + "\n").encode()
    same(data)
    t = parse_bytes(data).runs[0].train
    assert ("loss", 5) in t.logged_nan and t.column("loss")[7] == float("inf")


def test_a_key_that_appears_mid_batch():
    lines = _lines(range(10, 10 * (BATCH_MIN * 2), 10), extra=lambda k: "  grad_norm: 0.5" if k > 3 else "")
    same(("\n".join(lines) + "\n").encode())


def test_iteration_going_back_inside_a_batch_still_splits_runs():
    its = list(range(10, 10 * (BATCH_MIN + 5), 10)) + list(range(100, 100 + 10 * BATCH_MIN, 10))
    data = ("\n".join(_lines(its)) + "\n").encode()
    same(data)
    assert len(parse_bytes(data).runs) == 2


def test_new_year_inside_a_batch_of_yearless_lines():
    fmt_lines = []
    for k in range(BATCH_MIN * 2):
        day, clock = ("12/31", 23 * 3600 + 59 * 60 + k - 30) if k < 30 else ("01/01", k - 30)
        h, rem = divmod(clock, 3600)
        m, s = divmod(rem, 60)
        fmt_lines.append(f"{day} {h:02d}:{m:02d}:{s:02d} - mmengine - INFO - Iter(train) [{10 * (k + 1):4d}/9999]  "
                         f"lr: 1.0e-04  time: 1.0  loss: 1.0")
    data = ("\n".join(fmt_lines) + "\n").encode()
    ref = dt.datetime(2026, 1, 2)
    same(data, ref)
    ts = list(parse_bytes(data, reference=ref).runs[0].train.timestamps)
    assert ts == sorted(ts)


def test_a_text_value_sends_the_batch_to_the_general_path():
    lines = _lines(range(10, 10 * (BATCH_MIN + 10), 10))
    lines[3] = lines[3].replace("time: 0.5", "time: n/a")
    same(("\n".join(lines) + "\n").encode())
