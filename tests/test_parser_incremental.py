"""Incremental parsing: any chunking gives the records of a whole parse; nothing raises on any input.

Invariants checked here (parsers/stream.py, parsers/lines.py):
- feed(c1) ... feed(cn); close() == parse_bytes(whole), for any split, including inside a UTF-8
  character, inside CRLF, inside the gzip magic;
- a trailing line without newline is held back until its newline arrives;
- arbitrary bytes and mutated real lines never raise;
- the unparsed count is exact.
"""

from __future__ import annotations

import datetime as dt
import gzip
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from parsers import LogParser, SizeLimitExceeded, parse_bytes

from .conftest import SAMPLE_LOGS, SHARED_LOGS, corpus_files
from .helpers import snapshot


def _files() -> list:
    names = ["xtuner-nursingai-deepseek-lora64-multirun-oom.log", "mmdet3-test-only-balloon-epoch-test.log",
             "xtuner-internlm-chat-7b-qlora-epoch-based.log", "mmdet2-mmcv1-maskrcnn-balloon-bbox-segm.log",
             "mmseg0x-mmcv1-potato-None.log.json", "mmdet3-camp-balloon-rtmdet-scalars.json"]
    found = [SHARED_LOGS / n for n in names if (SHARED_LOGS / n).exists()]
    found += [SAMPLE_LOGS / "det_crash_resume" / "console_tee.log"]
    return found


CHUNK_SOURCES = _files()


def parse_chunked(data: bytes, cuts: list[int], reference=None):
    p = LogParser(reference=reference)
    prev = 0
    for c in sorted(set(cuts)):
        p.feed(data[prev:c])
        prev = c
    p.feed(data[prev:])
    p.close()
    return p.result()


@settings(max_examples=25)
@given(data=st.data())
@pytest.mark.parametrize("path", CHUNK_SOURCES, ids=lambda p: p.name)
def test_any_chunking_gives_the_records_of_a_whole_parse(path, data):
    raw = path.read_bytes()
    # Keep it quick: a window of the file, cut anywhere (often inside CRLF / UTF-8 sequences).
    start = data.draw(st.integers(0, max(0, len(raw) - 60000)))
    raw = raw[start:start + 60000]
    cuts = data.draw(st.lists(st.integers(0, len(raw)), max_size=40))
    ref = dt.datetime(2025, 7, 8)
    assert snapshot(parse_chunked(raw, cuts, ref)) == snapshot(parse_bytes(raw, reference=ref))


def test_byte_by_byte_feeding_of_a_crlf_file_with_multibyte_text():
    raw = "07/07 11:47:18 - mmengine - INFO - Iter(train) [ 10/240]  lr: 1.0e-04  loss: 1.5\r\n" \
          "07/07 11:47:19 - mmengine - INFO - 样本输出：完成\r\n" \
          "07/07 11:47:20 - mmengine - INFO - Iter(train) [ 20/240]  lr: 1.0e-04  loss: 1.25\r\n"
    data = raw.encode()
    assert snapshot(parse_chunked(data, list(range(len(data))))) == snapshot(parse_bytes(data))
    assert len(parse_bytes(data).runs[0].train) == 2


def test_gzip_split_inside_the_magic_and_in_several_members():
    raw = (SAMPLE_LOGS / "det_crash_resume" / "console_tee.log").read_bytes()
    half = len(raw) // 2
    gz = gzip.compress(raw[:half]) + gzip.compress(raw[half:])  # two members, like `cat a.gz b.gz`
    whole = parse_bytes(raw)
    assert snapshot(parse_bytes(gz)) == snapshot(whole)
    assert snapshot(parse_chunked(gz, [1, 2, 3, 500, len(gz) // 2])) == snapshot(whole)


def test_gzip_that_expands_past_the_cap_stops_with_a_clear_error():
    bomb = gzip.compress(b"x" * (20 << 20))
    with pytest.raises(SizeLimitExceeded):
        parse_bytes(bomb, max_bytes=1 << 20)


def test_trailing_line_waits_for_its_newline():
    p = LogParser()
    p.feed(b"2024/08/27 06:33:10 - mmengine - INFO - Iter(train) [  10/2000]  lr: 1e-06  loss: 5.6")
    assert not p.runs or len(p.runs[0].train) == 0
    p.feed(b"116\n")
    assert len(p.runs[0].train) == 1
    assert p.runs[0].train.column("loss")[0] == pytest.approx(5.6116)


def test_close_counts_the_last_line_without_newline():
    data = b"2024/08/27 06:33:10 - mmengine - INFO - Iter(train) [  10/2000]  lr: 1e-06  loss: 5.6"
    assert len(parse_bytes(data).runs[0].train) == 1


@settings(max_examples=80)
@given(st.binary(max_size=4000))
def test_arbitrary_bytes_never_raise(blob):
    parsed = parse_bytes(blob)
    assert parsed.lines >= 0


def _real_lines() -> list[bytes]:
    lines = []
    for p in corpus_files()[:12] + [SAMPLE_LOGS / "det_crash_resume" / "console_tee.log"]:
        lines += [ln for ln in p.read_bytes().splitlines()[:400] if ln.strip()]
    return lines


REAL_LINES = _real_lines()


@settings(max_examples=80)
@given(st.data())
def test_mutated_real_lines_never_raise(data):
    rnd = random.Random(data.draw(st.integers(0, 2**32)))
    picked = [bytearray(rnd.choice(REAL_LINES)) for _ in range(30)]
    for line in picked:
        for _ in range(rnd.randint(0, 4)):
            op = rnd.randint(0, 3)
            pos = rnd.randint(0, max(0, len(line) - 1)) if line else 0
            if op == 0 and line:
                del line[pos]
            elif op == 1:
                line.insert(pos, rnd.randint(0, 255))
            elif op == 2 and line:
                line[pos] = rnd.choice(b"0123456789[]/:( ),.-\t\rnaif")
            else:
                line[pos:pos] = rnd.choice([b"nan", b"inf", b"  ", b"]", b"\xff\xfe", b"\x1b[31m"])
    parse_bytes(b"\n".join(bytes(x) for x in picked) + b"\n")


GARBAGE = st.text(alphabet="abcdefghijklmnopqrstuvwxyz ~#%", min_size=1, max_size=40).map(lambda s: "§" + s)


@settings(max_examples=40)
@given(garbage=st.lists(GARBAGE, min_size=1, max_size=20), data=st.data())
def test_unparsed_count_is_exact(garbage, data):
    base = (SAMPLE_LOGS / "llm_sft_len_grouped" / "20260314_090000" / "20260314_090000.log").read_bytes()
    lines = base.decode().split("\n")
    train_idx = [i for i, ln in enumerate(lines) if "Iter(train)" in ln]
    before = parse_bytes(base).unparsed_count
    # Insert each garbage line right after a train line: no block is open there, so nothing may
    # swallow it as a continuation, and nothing may skip it.
    spots = sorted(data.draw(st.lists(st.sampled_from(train_idx), min_size=len(garbage), max_size=len(garbage))),
                   reverse=True)
    for spot, g in zip(spots, garbage):
        lines.insert(spot + 1, g)
    after = parse_bytes("\n".join(lines).encode())
    assert after.unparsed_count == before + len(garbage)
    assert sum(len(r.train) for r in after.runs) == len(train_idx)


def test_year_less_log_crossing_new_year_does_not_go_back_in_time():
    text = "\n".join([
        "12/31 23:59:40 - mmengine - INFO - Iter(train) [ 10/100]  lr: 1e-04  time: 1.0  loss: 1.0",
        "12/31 23:59:50 - mmengine - INFO - Iter(train) [ 20/100]  lr: 1e-04  time: 1.0  loss: 1.0",
        "01/01 00:00:00 - mmengine - INFO - Iter(train) [ 30/100]  lr: 1e-04  time: 1.0  loss: 1.0",
        "01/01 00:00:10 - mmengine - INFO - Iter(train) [ 40/100]  lr: 1e-04  time: 1.0  loss: 1.0",
    ]) + "\n"
    run = parse_bytes(text.encode(), reference=dt.datetime(2026, 1, 1, 0, 5)).runs[0]
    ts = list(run.train.timestamps)
    assert ts == sorted(ts) and ts[2] - ts[1] == 10
    assert dt.datetime.utcfromtimestamp(ts[0]).year == 2025  # the file was written early in 2026


def test_invalid_utf8_ansi_colours_and_bare_cr_are_handled():
    data = (b"\x1b[4m\x1b[97m2024/08/27 06:33:10\x1b[0m - mmengine - INFO - Iter(train) [  10/2000]  lr: 1e-06  "
            b"loss: 5.6\n"
            b"Loading: 50%|\xe2\x96\x88     | 1/2 [00:01<00:01, 1.0it/s]\rLoading: 100%|\xff| 2/2 [00:02<00:00]\n"
            b"2024/08/27 06:33:20 - mmengine - INFO - \xff\xfe bad bytes\n")
    parsed = parse_bytes(data)
    run = parsed.runs[0]
    assert len(run.train) == 1 and run.unparsed.count == 0
    assert parsed.lines == 3


def test_empty_file_and_header_only_file():
    assert parse_bytes(b"").runs == []
    assert parse_bytes(b"\n\n\n").runs == [] or all(len(r.train) == 0 for r in parse_bytes(b"\n\n").runs)


def test_a_new_header_in_the_same_file_starts_a_new_run():
    one = (SAMPLE_LOGS / "det_crash_resume" / "20260316_214000" / "20260316_214000.log").read_bytes()
    parsed = parse_bytes(one + one)
    assert len(parsed.runs) == 2
    assert len(parsed.runs[0].train) == len(parsed.runs[1].train) > 0


def test_iteration_going_back_without_a_header_starts_a_new_run():
    text = "\n".join(
        f"2024/08/27 06:{m:02d}:10 - mmengine - INFO - Iter(train) [{i:4d}/2000]  lr: 1e-06  loss: 1.0"
        for m, i in enumerate([10, 20, 30, 20, 30, 40])) + "\n"
    runs = parse_bytes(text.encode()).runs
    assert [list(r.train.iters) for r in runs] == [[10, 20, 30], [20, 30, 40]]
    assert runs[1].started_by.startswith("iteration went back")


def test_rank_prefixed_logger_lines_are_parsed():
    data = b"[rank0]: 07/07 11:47:34 - mmengine - INFO - Iter(train) [ 10/240]  lr: 1e-4  loss: 3.0\n"
    run = parse_bytes(data).runs[0]
    assert len(run.train) == 1 and run.unparsed.count == 0


def test_a_log_that_ends_on_a_traceback_shows_it_before_any_further_line():
    crash = (SAMPLE_LOGS / "det_crash_resume" / "20260316_214000" / "20260316_214000.log").read_bytes()
    p = LogParser()
    p.feed(crash)  # a live tail: no close(), nothing after the exception line
    (tb,) = p.runs[-1].events_of("traceback")
    assert tb.data["exception"] == "torch.OutOfMemoryError"
    p.close()
    assert [e.text for e in p.runs[-1].events_of("traceback")] == [tb.text]


def _traceback_then_exception_lines(n: int) -> bytes:
    head = (b"2024/01/01 00:00:00 - mmengine - INFO - Iter(train) [1/10]  lr: 1e-4  eta: 0:00:01  time: 1.0  "
            b"data_time: 0.1  memory: 100  loss: 0.5\nTraceback (most recent call last):\n"
            b'  File "train.py", line 1, in <module>\n')
    return head + b"".join(b"ValueError: thing %d\n" % i for i in range(n))


def test_a_traceback_followed_by_many_exception_lines_keeps_its_head_and_tail():
    from parsers.text_log import TRACEBACK_HEAD_LINES, TRACEBACK_TAIL_LINES

    n = 5000
    (tb,) = parse_bytes(_traceback_then_exception_lines(n)).runs[0].events_of("traceback")
    lines = tb.text.split("\n")
    assert tb.data["lines"] == n + 2  # every line of it counted
    assert len(lines) == TRACEBACK_HEAD_LINES + 1 + TRACEBACK_TAIL_LINES
    assert lines[0] == "Traceback (most recent call last):"
    assert lines[TRACEBACK_HEAD_LINES - 1] == f"ValueError: thing {TRACEBACK_HEAD_LINES - 3}"
    omitted = n + 2 - TRACEBACK_HEAD_LINES - TRACEBACK_TAIL_LINES
    assert lines[TRACEBACK_HEAD_LINES] == f"... {omitted} more traceback lines not kept ..."
    assert lines[-1] == f"ValueError: thing {n - 1}"
    assert tb.data["exception"] == "ValueError" and tb.data["message"] == f"thing {n - 1}"


@pytest.mark.parametrize("n", [2_000, 8_000])
def test_a_long_traceback_costs_linear_work(monkeypatch, n):
    """Each exception-like line republishes the event: the text it joins stays bounded (it grew with n, quadratic)."""
    import parsers.text_log as text_log

    joined = []
    original = text_log.TextLogInterpreter._publish_traceback

    def counting(self, tb):
        original(self, tb)
        joined.append(len(self.cur.events[tb["slot"][1]].text))

    monkeypatch.setattr(text_log.TextLogInterpreter, "_publish_traceback", counting)
    parse_bytes(_traceback_then_exception_lines(n))
    assert len(joined) >= n
    assert max(joined) < 201 * 40  # a bounded text per publication, whatever n is


def test_a_long_traceback_parses_the_same_in_chunks():
    data = _traceback_then_exception_lines(3000)
    cuts = sorted(random.Random(7).sample(range(1, len(data)), 40))
    assert snapshot(parse_chunked(data, cuts)) == snapshot(parse_bytes(data))


@pytest.mark.parametrize("stamp", [b"2025/13/02 10:00:00", b"2025/00/02 10:00:00", b"0000/01/01 10:00:00"])
def test_an_event_on_a_line_whose_time_is_not_a_date_has_no_time_and_parses_equal(stamp):
    """A warning whose prefix is not a date (month 13: damaged bytes, a broken clock) has the time None, not NaN:
    NaN is unequal to itself, so two parses of the same bytes gave unequal events (hypothesis found it, on a
    damaged gzip log, in ``test_any_chunking_of_damaged_gzip_gives_the_records_and_notes_of_a_whole_parse``)."""
    data = b"2025/01/02 10:00:00 - mmengine - INFO - hello\n" + stamp + b" - mmengine - WARNING - a warning\n"
    first, second = parse_bytes(data), parse_bytes(data)
    assert [(e.kind, e.timestamp) for r in first.runs for e in r.events] == [("warning", None)]
    assert [r.events for r in first.runs] == [r.events for r in second.runs]
