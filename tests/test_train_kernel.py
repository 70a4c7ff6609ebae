"""The compiled train-line scanner: what it accepts it reads exactly as the line-by-line path does.

The scanner is only allowed to be faster, never different: a value it reads must be the very double
``float()`` gives, an eta the seconds ``parse_eta`` gives, and a line it cannot read exactly must stop
it (the general path then reads that line). Whole-file equivalence on real logs is in
test_parser_batch_path.py; here the number and eta readers are driven with generated text.
"""

from __future__ import annotations

import math
import os
import struct
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from parsers import parse_bytes, train_kernel
from parsers.fields import parse_eta

from .conftest import ROOT
from .test_parser_batch_path import line_by_line, same

# These test the scanner itself: with MMDASH_SCANNER=none there is none (the parse tests still run).
pytestmark = pytest.mark.skipif(os.environ.get(train_kernel.ENV_SCANNER, "").lower() == "none",
                                reason="MMDASH_SCANNER=none")

PREFIX = "2026/01/02 03:04:05 - mmengine - INFO - Iter(train) [  10/1000]  "


def scan_one(line: str, keys: list[str]):
    """Scan one line; (lines read, head row, values row, eta)."""
    buf = np.frombuffer((line + "\n").encode(), np.uint8)
    encoded = [k.encode() for k in keys]
    head = np.zeros((train_kernel.HEAD_COLUMNS, 1), np.int64)
    values = np.full((len(keys), 1), -12345.0)
    etas = np.zeros(1)
    got, _ = train_kernel.scan(buf, 0, np.frombuffer(b"".join(encoded), np.uint8),
                               np.cumsum([0] + [len(k) for k in encoded], dtype=np.int64),
                               keys.index("eta") if "eta" in keys else -1, head, values, etas)
    return got, head[:, 0], values[:, 0], etas[0]


def bits(x: float) -> bytes:
    return struct.pack("<d", x)


def test_the_scanner_is_available_here():
    # Without a scanner every batch silently takes the general path; CI must notice that.
    assert train_kernel.available(), train_kernel._import_error


@pytest.mark.skipif(os.environ.get(train_kernel.ENV_SCANNER, "auto").lower() != "auto",
                    reason="MMDASH_SCANNER picks the scanner")
def test_the_c_scanner_is_the_one_in_use_here():
    # CI machines have a C compiler: falling back to numba (0.4 s more per big parse) must not go unnoticed.
    assert train_kernel.kind() == "c", train_kernel._import_error


def test_reads_the_head_of_both_loop_styles_and_both_stamp_styles():
    got, head, values, eta = scan_one(PREFIX + "lr: 1.0000e-04  eta: 1 day, 2:03:04  loss: 0.5", ["lr", "eta", "loss"])
    assert got == 1
    assert list(head) == [2026, 1, 2, 3, 4, 5, -1, 10, 1000]
    assert values[0] == 1e-4 and values[2] == 0.5 and eta == 86400 + 2 * 3600 + 3 * 60 + 4
    got, head, values, eta = scan_one(
        "12/31 23:59:58 - mmdet - INFO - Epoch(train)  [3][ 7/50]  lr: 0.1  time: 1.5", ["lr", "time"])
    assert got == 1
    assert list(head) == [-1, 12, 31, 23, 59, 58, 3, 7, 50]
    assert math.isnan(eta)


@pytest.mark.parametrize("line", [
    PREFIX + "lr: 0.1  loss: 1.0 ",  # trailing space
    PREFIX + "lr: 0.1   loss: 1.0",  # three spaces between fields
    PREFIX + "lr: 0.1  loss: 1_0",  # float() reads this; the scanner leaves it to float()
    PREFIX + "lr: 0.1  loss: NaN",
    PREFIX + "lr: 0.1  loss: 12345678901234567890",  # too many digits for one rounding
    PREFIX + "lr: 0.1  loss: 1e400",
    PREFIX + "lr: 0.1  loss: n/a",
    PREFIX + "lr: 0.1  loss:",
    PREFIX + "lr: 0.1  loss: 1.0\x1b[0m",
    PREFIX + "lr: 0.1  Loss: 1.0",  # not this layout's key
    PREFIX + "lr: 0.1",  # a key missing
    PREFIX + "lr: 0.1  loss: 1.0  acc: 2",  # a key more
    PREFIX.replace("INFO", "WARNING") + "lr: 0.1  loss: 1.0",
    PREFIX.replace("mmengine", "mm\u00e9ngine") + "lr: 0.1  loss: 1.0",
    PREFIX.replace("[  10/1000]", "[ 10 /1000]") + "lr: 0.1  loss: 1.0",
    "2026/01/02 03:04 - mmengine - INFO - Iter(train) [10/1000]  lr: 0.1  loss: 1.0",
])
def test_lines_outside_the_subset_stop_the_scan(line):
    got, *_ = scan_one(line, ["lr", "loss"])
    assert got == 0


finite = st.floats(allow_nan=False, allow_infinity=False, width=64)


@given(finite, st.sampled_from(["{:.4f}", "{:.4e}", "{!r}", "{:g}", "{:.6g}", "{:.3E}", "{:.0f}", "{:+.2f}"]))
def test_a_number_the_scanner_reads_is_the_double_float_gives(x, fmt):
    text = fmt.format(x)
    got, _, values, _ = scan_one(PREFIX + f"lr: 0.5  loss: {text}", ["lr", "loss"])
    if got:  # text one rounding cannot convert exactly is left to the general path (and float())
        assert bits(values[1]) == bits(float(text)), text


@given(st.floats(min_value=-1e6, max_value=1e6, allow_nan=False).filter(lambda v: abs(v) > 1e-6 or v == 0),
       st.sampled_from(["{:.4f}", "{:.4e}", "{:.6g}", "{:.2f}"]))
def test_the_numbers_training_logs_hold_are_all_read(x, fmt):
    text = fmt.format(x)
    got, _, values, _ = scan_one(PREFIX + f"lr: 0.5  loss: {text}", ["lr", "loss"])
    assert got == 1, text
    assert bits(values[1]) == bits(float(text))


@given(st.text(alphabet="0123456789.eE+-nafi_ x", min_size=1, max_size=12))
def test_any_value_text_is_read_exactly_or_left_alone(text):
    got, _, values, _ = scan_one(PREFIX + f"lr: 0.5  loss: {text}", ["lr", "loss"])
    if got:
        expected = float(text)
        assert bits(values[1]) == bits(expected) or (math.isnan(expected) and math.isnan(values[1]))


@given(st.integers(0, 40), st.integers(0, 99), st.integers(0, 99), st.integers(0, 99),
       st.sampled_from(["", ".5", ".123456"]))
def test_an_eta_the_scanner_reads_is_what_parse_eta_gives(days, h, m, s, frac):
    day_part = "" if days == 0 else f"{days} day{'s' if days > 1 else ''}, "
    text = f"{day_part}{h}:{m:02d}:{s:02d}{frac}"
    got, _, _, eta = scan_one(PREFIX + f"eta: {text}  loss: 1.0", ["eta", "loss"])
    assert got == 1, text
    assert eta == parse_eta(text)


@given(st.lists(st.tuples(st.integers(0, 39), st.integers(0, 300), st.sampled_from("x# :.\t\u00e9e-")),
                min_size=1, max_size=6))
def test_damaged_lines_inside_a_batch_parse_as_the_line_path_parses_them(damage):
    lines = [f"2026/01/02 03:{k // 60:02d}:{k % 60:02d} - mmengine - INFO - Iter(train) [{10 * (k + 1):4d}/9999]  "
             f"lr: 1.0000e-04  eta: 1 day, 2:03:{k % 60:02d}  time: 0.{k:04d}  loss: {1 + k / 100:.4f}"
             for k in range(40)]
    for row, col, ch in damage:
        line = lines[row]
        col = min(col, len(line))
        lines[row] = line[:col] + ch + line[col:]
    data = ("\n".join(lines) + "\n").encode()
    same(data)


def test_a_whole_parse_reads_every_line_of_a_long_batch_through_the_scanner(monkeypatch):
    lines = [f"2026/01/02 03:{k // 60 % 60:02d}:{k % 60:02d} - mmengine - INFO - Iter(train) [{k + 1:5d}/99999]  "
             f"lr: 1.0000e-04  time: 0.5  loss: {1 + k / 1000:.4f}" for k in range(500)]
    calls = []
    real_scan = train_kernel.scan

    def counting_scan(*args):
        got, end = real_scan(*args)
        calls.append(got)
        return got, end

    monkeypatch.setattr(train_kernel, "scan", counting_scan)
    data = ("\n".join(lines) + "\n").encode()
    result = parse_bytes(data)
    assert calls == [500]
    assert len(result.runs[0].train) == 500
    assert list(result.runs[0].train.column("loss")) == [float(f"{1 + k / 1000:.4f}") for k in range(500)]
    monkeypatch.setattr(train_kernel, "scan", real_scan)
    assert len(line_by_line(data).runs[0].train) == 500


def test_loading_the_scanner_leaves_scipy_importable():
    # The loader blocks "import scipy" while numba loads (see train_kernel._numba_without_scipy);
    # afterwards nothing of that may remain. A fresh interpreter, so that the loading really happens.
    code = (
        "import sys, importlib.util\n"
        "from parsers import train_kernel\n"
        "assert train_kernel.warm_up() and train_kernel.kind() == 'numba'\n"
        "assert sys.modules.get('scipy', 0) is not None\n"
        "if importlib.util.find_spec('scipy') is not None:\n"
        "    import scipy.linalg\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=300,
                         env={**os.environ, train_kernel.ENV_SCANNER: "numba"})  # numba's loading is the subject
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr
