"""One rule for numbers JSON cannot hold (``parsers.jsonout``): nan, inf and -inf are the strings "nan", "inf"
and "-inf" in every JSON output: ``python -m parsers export -o X.jsonl``, ``python -m dashboard tail --json``
and ``python -m dashboard report --json`` (real subprocesses on the NaN sample log)."""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys
import threading

import pytest

from parsers.jsonout import json_line, json_safe

from .conftest import ROOT, SAMPLE_LOGS

NAN_LOG = SAMPLE_LOGS / "seg_nan_loss" / "20260318_132000" / "20260318_132000.log"
TIMEOUT = 120


def strict(text: str):
    """``json.loads`` that refuses the non-JSON tokens NaN, Infinity and -Infinity."""
    def refuse(token):
        raise AssertionError(f"{token} is not JSON")
    return json.loads(text, parse_constant=refuse)


def _nan_lines() -> list[int]:
    """Iterations whose line in the NaN sample says ``loss: nan``, read from the file."""
    out = []
    for line in NAN_LOG.read_text().splitlines():
        if "Iter(train)" in line and "  loss: nan" in line:
            out.append(int(line.split("Iter(train) [", 1)[1].split("/", 1)[0]))
    return out


def test_non_finite_floats_become_strings_at_any_depth():
    tree = {"a": math.nan, "b": [math.inf, (-math.inf, 1.5)], "c": {"d": None, "e": "nan", "f": 3, "g": True}}
    assert json_safe(tree) == {"a": "nan", "b": ["inf", ["-inf", 1.5]], "c": {"d": None, "e": "nan", "f": 3,
                                                                                "g": True}}
    line = json_line(tree)
    assert "\n" not in line
    assert strict(line)["b"][1] == ["-inf", 1.5]
    assert json_line(1e308 * 10) == '"inf"' and json_line(0.1) == "0.1"


def test_parsers_export_jsonl_writes_nan_as_the_string(tmp_path):
    out = tmp_path / "x.jsonl"
    p = subprocess.run([sys.executable, "-m", "parsers", "export", str(NAN_LOG), "-o", str(out)], cwd=ROOT,
                       capture_output=True, text=True, timeout=TIMEOUT)
    assert p.returncode == 0, p.stderr
    rows = [strict(line) for line in out.read_text().splitlines()]
    nan_iters = [r["iter"] for r in rows if r["kind"] == "train" and r["loss"] == "nan"]
    assert nan_iters == _nan_lines() and nan_iters
    assert all(isinstance(r["loss"], float) for r in rows if r["kind"] == "train" and r["iter"] not in nan_iters)


def test_tail_json_writes_nan_as_the_string(tmp_path):
    log = tmp_path / "run.log"
    shutil.copy(NAN_LOG, log)
    want = _nan_lines()
    proc = subprocess.Popen([sys.executable, "-m", "dashboard", "tail", str(log), "--json", "--from-start",
                             "--mode", "poll"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    timer = threading.Timer(TIMEOUT, proc.kill)
    timer.start()
    got = []
    try:
        for line in proc.stdout:
            rec = strict(line)
            if rec["kind"] == "train" and rec["values"].get("loss") == "nan":
                got.append(rec["iter"])
            if rec["kind"] == "train" and rec["iter"] == 400:  # the last record of the file
                break
    finally:
        timer.cancel()
        proc.kill()
        proc.wait()
    assert got == want


def test_report_json_writes_nan_as_the_string():
    p = subprocess.run([sys.executable, "-m", "dashboard", "report", str(NAN_LOG), "--json"], cwd=ROOT,
                       capture_output=True, text=True, timeout=TIMEOUT)
    assert p.returncode == 0, p.stderr
    run = strict(p.stdout)["runs"][0]
    assert run["latest"]["loss"] == "nan"  # the last line of the run says loss: nan
    assert run["first_nonfinite_iter"] == _nan_lines()[0]
    assert isinstance(run["latest"]["lr"], float)


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_the_string_is_what_the_log_prints(value):
    assert json_safe(value) == repr(value)
