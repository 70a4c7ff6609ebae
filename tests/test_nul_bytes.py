"""NUL bytes a crash left in a log lose no record (issue 16, item 8: the parser's side).

A crash or power loss can leave a log's blocks as zeros (the size was written, the data was not); the training,
started again, appends after them. So the first new line follows the NUL bytes directly, often after a piece of a
line the zeros cut short. The sniffer already reads past leading NUL bytes (``parsers/sniff.py``); the parser read
the NUL bytes and the first record after them as one line it did not understand (199 of 200 records), and took a
JSON log after NUL bytes for text (0 of 200). What follows the last NUL byte of a line is the line
(``lines.after_nuls``); a line of nothing but NUL bytes is one unparsed line.
"""

from __future__ import annotations

import json

import pytest

from dashboard.live.tailer import Tailer
from dashboard.uploads.store import check_log
from parsers import parse_bytes

from .helpers import append, parse_in_chunks, snapshot, train_line

RECORDS = b"".join(train_line(i, 2000) for i in range(1, 201))
SCALARS = b"".join(json.dumps({"lr": 1e-4, "loss": 1 / i, "iter": i, "step": i}).encode() + b"\n"
                   for i in range(1, 201))
CUT_SHORT = b"2024/08/27 05:59:59 - mmengine - INFO - Iter(train) [  99/2000]  lr: 1.0000e-04  eta: 1:0"


def records(parsed) -> list[int]:
    return [it for run in parsed.runs for it in run.train.iters]



def same_however_fed(data: bytes):
    whole = parse_bytes(data)
    for size in (1000, 4096, 65536):
        assert snapshot(parse_in_chunks(data, size)) == snapshot(whole)
    return whole


@pytest.mark.parametrize("nuls", [1, 4096, 1 << 20])
def test_every_record_after_leading_nul_bytes_is_read(nuls):
    parsed = same_however_fed(b"\0" * nuls + RECORDS)
    assert records(parsed) == list(range(1, 201))
    assert parsed.unparsed_count == 0
    assert parsed.lines == 200


def test_a_line_of_nothing_but_nul_bytes_is_one_unparsed_line():
    parsed = same_however_fed(b"\0" * 5000 + b"\n" + RECORDS)
    assert records(parsed) == list(range(1, 201))
    assert parsed.unparsed_count == 1
    assert parsed.runs[0].unparsed.examples[0][0] == 1


def test_a_file_of_nothing_but_nul_bytes_is_one_unparsed_line():
    parsed = parse_bytes(b"\0" * 5000)
    assert (parsed.lines, parsed.unparsed_count, records(parsed)) == (1, 1, [])


def test_a_line_cut_short_by_the_zeros_does_not_take_the_next_record_with_it():
    parsed = same_however_fed(CUT_SHORT + b"\0" * 3000 + RECORDS)
    assert records(parsed) == list(range(1, 201))


def test_zeros_in_the_middle_then_the_restarted_writer():
    lines = RECORDS.split(b"\n")
    data = b"\n".join(lines[:100]) + b"\n" + CUT_SHORT + b"\0" * 4096 + b"\n".join(lines[100:])
    parsed = same_however_fed(data)
    assert records(parsed) == list(range(1, 201))


@pytest.mark.parametrize("between", [b"", b"\n"])
def test_a_json_log_after_nul_bytes_is_read_as_json(between):
    parsed = same_however_fed(b"\0" * 5000 + between + SCALARS)
    assert parsed.format == "mmengine-scalars-json"
    assert records(parsed) == list(range(1, 201))
    assert parsed.unparsed_count == len(between)


def test_the_tailer_reads_every_record_written_after_the_nul_bytes(tmp_path):
    path = tmp_path / "train.log"
    t = Tailer(path)
    append(path, b"\0" * 8192)
    t.poll()
    for k in range(0, len(RECORDS), 7000):  # the restarted training writes on
        append(path, RECORDS[k:k + 7000])
        t.poll()
    assert t.skipped is None and t.failed is None
    with t.lock:
        assert [it for run in t.runs for it in run.train.iters] == list(range(1, 201))


def test_an_upload_after_nul_bytes_has_every_record():
    assert check_log("train.log", b"\0" * 8192 + RECORDS).records == 200


def test_the_compiled_scanner_reads_past_nul_bytes_as_the_line_rules_do():
    from parsers import train_kernel

    if not train_kernel.warm_up():
        pytest.skip("the compiled scanner is not available here")
    lines = RECORDS.split(b"\n")
    for data in (b"\0" * 4096 + RECORDS, b"\n".join(lines[:100]) + b"\n" + CUT_SHORT + b"\0" * 4096
                 + b"\n".join(lines[100:])):
        assert records(same_however_fed(data)) == list(range(1, 201))
