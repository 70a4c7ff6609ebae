"""A line the parser cannot take is an unparsed line: nothing escapes it (issue 16, item 5).

An iteration of 2^63 or more raised OverflowError (the int64 columns), more than 4300 digits ValueError (``int()``),
a config line of 1,000 ``+`` terms RecursionError and 20,000 unary minus signs MemoryError (Python's own parser),
nested ``[rank0]:`` prefixes RecursionError, a JSON line nested too deep RecursionError. Then ``parsers
inspect/export`` and ``dashboard report`` exited 1 with a traceback, the tailer stopped following the file for good
and an upload was refused. Each hostile line goes into a real sample log here: the commands exit 0 and count it
as unparsed (a config line as config, its value unknown), a parser fed the file in chunks reads every record after
it, the tailer goes on following the file, and the upload is taken.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from dashboard.cli.main import main as dashboard_main
from dashboard.live.tailer import Tailer
from dashboard.uploads.store import UploadStore
from parsers import parse_bytes, parse_path, train_kernel
from parsers.cli import main as parsers_main

from .conftest import ROOT, SAMPLE_LOGS
from .helpers import append, parse_in_chunks, snapshot

LLM = SAMPLE_LOGS / "llm_sft_len_grouped" / "20260314_090000" / "20260314_090000.log"
SCALARS = SAMPLE_LOGS / "llm_sft_len_grouped" / "20260314_090000" / "vis_data" / "scalars.json"
P = "2026/03/14 09:05:00 - mmengine - INFO - "

# Lines that go after a train record: each is one unparsed line.
RECORD_LINES = {
    "iteration 2^66": P + "Iter(train) [99999999999999999999/100000]  lr: 1.0e-05  time: 1.0  loss: 1.0",
    "N 2^66": P + "Iter(train) [10/99999999999999999999]  lr: 1.0e-05  time: 1.0  loss: 1.0",
    "iteration 2^63": P + f"Iter(train) [{1 << 63}/{1 << 63}]  lr: 1.0e-05  loss: 1.0",
    "epoch x length past int64": P + "Epoch(train) [9999999999][1/9999999999999]  lr: 1.0e-05  loss: 1.0",
    "5000 digits": P + "Iter(train) [" + "9" * 5000 + "/100]  lr: 1.0e-05  loss: 1.0",
    "eval epoch of 5000 digits": P + "Epoch(val) [" + "9" * 5000 + "][10/10]  accuracy/top1: 1.0",
    "eval progress of 20 digits": P + "Iter(val) [99999999999999999999/10]  eta: 0:00:01  time: 0.1",
    "checkpoint of 5000 digits": P + "Saving checkpoint at " + "9" * 5000 + " iterations",
    "resume of 20 digits": P + "resumed epoch: 1, iter: 99999999999999999999",
    "dataset of 5000 digits": P + "Num train samples " + "9" * 5000,
    "20000 nested rank prefixes": "[rank0]: " * 20000 + "x",
    "rank prefixes between colour codes": "[rank0]: \x1b[0m" * 20000 + "x",
}
# Lines that go into the config dump: read as config, the value unknown, every other fact still read.
CONFIG_LINES = {
    "1,000 terms": "hostile = " + "+".join(["1"] * 1000),
    "20,000 unary minus signs": "hostile = " + "-" * 20000 + "1",
    "nested 10,000 deep": "hostile = " + "[" * 10000 + "]" * 10000,
    "squares past int64": "h0 = 99999999\n" + "\n".join(f"h{k + 1} = h{k} * h{k}" for k in range(40)),
    "a range of 10^15": "hostile = range(10 ** 15) + range(1000000000000000)",
    "an integer of 4500 digits": "hostile = " + "9" * 4500,
}
JSON_LINES = {
    "iter 2^66": '{"iter": 99999999999999999999, "step": 5, "loss": 1.0}',
    "step 2^66": '{"step": 99999999999999999999, "accuracy": 1.0}',
    "a value beyond a double": '{"iter": 5, "step": 5, "loss": ' + "9" * 400 + "}",
    "nested 100,000 deep": "[" * 100000,
}


def _lines(path) -> list[bytes]:
    return path.read_bytes().split(b"\n")


def with_record_line(line: str) -> bytes:
    """LLM with ``line`` after its fifth train record."""
    lines = _lines(LLM)
    at = [k for k, ln in enumerate(lines) if b"Iter(train)" in ln][4] + 1
    return b"\n".join(lines[:at] + [line.encode()] + lines[at:])


def with_config_line(line: str) -> bytes:
    lines = _lines(LLM)
    at = next(k for k, ln in enumerate(lines) if ln.endswith(b"Config:")) + 1
    return b"\n".join(lines[:at] + [line.encode()] + lines[at:])


def with_json_line(line: str) -> bytes:
    lines = _lines(SCALARS)
    return b"\n".join(lines[:5] + [line.encode()] + lines[5:])


def same_records(got, want) -> None:
    assert [len(r.train) for r in got.runs] == [len(r.train) for r in want.runs]
    assert [list(r.train.iters) for r in got.runs] == [list(r.train.iters) for r in want.runs]
    assert [len(r.evals) for r in got.runs] == [len(r.evals) for r in want.runs]



def cases():
    for name, line in RECORD_LINES.items():
        yield pytest.param(with_record_line(line), LLM, 1, id="record: " + name)
    for name, line in CONFIG_LINES.items():
        yield pytest.param(with_config_line(line), LLM, 0, id="config: " + name)
    for name, line in JSON_LINES.items():
        yield pytest.param(with_json_line(line), SCALARS, 1, id="json: " + name)


@pytest.mark.parametrize(("data", "source", "unparsed"), list(cases()))
def test_a_hostile_line_is_counted_and_every_record_is_read(data, source, unparsed):
    base = parse_path(source)
    got = parse_bytes(data)
    same_records(got, base)
    assert got.unparsed_count == base.unparsed_count + unparsed
    assert got.lines == base.lines + data.count(b"\n") - source.read_bytes().count(b"\n")
    # Fed as a live log is: the same, whatever the chunks.
    for size in (97, 4096):
        assert snapshot(parse_in_chunks(data, size)) == snapshot(got)


@pytest.mark.parametrize(("data", "source", "unparsed"), list(cases()))
def test_inspect_export_and_report_exit_0_on_a_hostile_line(data, source, unparsed, tmp_path, capsys):
    path = tmp_path / source.name
    path.write_bytes(data)
    base = json.loads(_inspect(source, capsys))
    got = json.loads(_inspect(path, capsys))
    assert got["unparsed_lines"] == base["unparsed_lines"] + unparsed
    assert [r["train_records"] for r in got["runs"]] == [r["train_records"] for r in base["runs"]]
    for out in ("rows.csv", "rows.parquet", "rows.jsonl"):
        assert parsers_main(["export", str(path), "-o", str(tmp_path / out)]) == 0
    for fmt in ([], ["--json"], ["--markdown"]):
        assert dashboard_main(["report", str(path), *fmt]) == 0
    report = capsys.readouterr()
    assert "Traceback" not in report.err


def _inspect(path, capsys) -> str:
    capsys.readouterr()
    assert parsers_main(["inspect", str(path), "--json"]) == 0
    return capsys.readouterr().out


def test_the_commands_as_processes_exit_0_on_an_iteration_past_int64(tmp_path):
    path = tmp_path / "hostile.log"
    path.write_bytes(with_record_line(RECORD_LINES["iteration 2^66"]))
    for args in (["parsers", "inspect", str(path)], ["parsers", "export", str(path), "-o", str(tmp_path / "r.csv")],
                 ["dashboard", "report", str(path)]):
        p = subprocess.run([sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, timeout=120)
        assert p.returncode == 0, (args, p.stderr)
        assert "Traceback" not in p.stderr and "error:" not in p.stderr, (args, p.stderr)


@pytest.mark.parametrize("name", ["iteration 2^66", "5000 digits", "20000 nested rank prefixes"])
def test_the_tailer_goes_on_following_after_a_hostile_line(name, tmp_path):
    data = with_record_line(RECORD_LINES[name])
    cut = data.index(RECORD_LINES[name].encode()[:60])
    path = tmp_path / "train.log"
    t = Tailer(path)
    append(path, data[:cut + len(RECORD_LINES[name]) + 1])  # up to and with the hostile line
    t.poll()
    before = t.counts()[0]
    append(path, data[cut + len(RECORD_LINES[name]) + 1:])  # the records after it
    t.poll()
    assert t.failed is None, t.failed
    assert t.counts()[0] > before
    with t.lock:
        same_records(t.parser.result(), parse_path(LLM))


@pytest.mark.parametrize("name", ["iteration 2^66", "eval epoch of 5000 digits"])
def test_an_upload_with_a_hostile_line_is_taken(name, tmp_path):
    stored = UploadStore(tmp_path / "uploads").add([("hostile.log", with_record_line(RECORD_LINES[name]))])
    assert stored is not None


def test_the_compiled_scanner_leaves_products_past_int64_to_the_line_rules():
    """The scanner reads 18-digit numbers; (epoch - 1) x length may still overflow, where numpy would wrap."""
    if not train_kernel.warm_up():
        pytest.skip("the compiled scanner is not available here")
    lines = [f"{P}Epoch(train) [999999999999][{i}/999999999999]  lr: 1.0e-05  loss: 1.0" for i in range(1, 101)]
    parsed = parse_bytes(("\n".join(lines) + "\n").encode())
    assert parsed.unparsed_count == 100
    assert sum(len(r.train) for r in parsed.runs) == 0


def test_a_row_that_does_not_fit_is_not_half_added():
    from parsers import TrainTable
    from parsers.records import OutOfRange

    t = TrainTable()
    t.append(1, 10, -1, -1, -1, 0.0, 0.0, 1, {"loss": 1.0})
    with pytest.raises(OutOfRange):
        t.append(2, 1 << 64, -1, -1, -1, 0.0, 0.0, 2, {"loss": 1.0})
    assert (len(t.iters), len(t.max_iters), len(t.line_nos), len(t.timestamps)) == (1, 1, 1, 1)
