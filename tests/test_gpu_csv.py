"""The GPU log parser (``parsers.gpu_csv``): nvidia-smi's CSV in, numpy columns out, incrementally, never raising."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from parsers.gpu_csv import HEADER, GpuCsvParser, is_gpu_header, parse_gpu_bytes
from tools.gen_logs.gpu import gpu_lines

# Written by hand in the format nvidia-smi 550 prints for QUERY (two GPUs, the second without power readings).
LITERAL = (
    b"timestamp, index, name, utilization.gpu [%], memory.used [MiB], memory.total [MiB], power.draw [W], "
    b"power.limit [W], temperature.gpu, clocks.current.sm [MHz]\n"
    b"2026/11/30 13:27:03.123, 0, NVIDIA GeForce RTX 4090, 97 %, 18756 MiB, 24564 MiB, 168.84 W, 350.00 W, 61, "
    b"2520 MHz\n"
    b"2026/11/30 13:27:03.125, 1, NVIDIA GeForce RTX 4090, 0 %, 3 MiB, 24564 MiB, [N/A], [N/A], 34, [Not Supported]\n"
    b"2026/11/30 13:27:08.124, 0, NVIDIA GeForce RTX 4090, 98 %, 22001 MiB, 24564 MiB, 166.02 W, 350.00 W, 62, "
    b"2520 MHz\n"
    b"2026/11/30 13:27:08.126, 1, NVIDIA GeForce RTX 4090, 0 %, 3 MiB, 24564 MiB, [N/A], [N/A], 34, [Not Supported]\n"
)
T0 = dt.datetime(2026, 11, 30, 13, 27, 3, 123000).replace(tzinfo=dt.timezone.utc).timestamp()


def fixture(samples=50, **kw) -> bytes:
    return (HEADER + "\n" + "".join(gpu_lines(dt.datetime(2026, 11, 30, 12, 0), samples, **kw))).encode()


def test_the_literal_nvidia_smi_lines_give_their_numbers():
    p = parse_gpu_bytes(LITERAL)
    tab = p.table()
    assert len(tab) == 4 and tab.gpus == [0, 1]
    assert tab.names == {0: "NVIDIA GeForce RTX 4090", 1: "NVIDIA GeForce RTX 4090"}
    assert tab.t[0] == pytest.approx(T0, abs=1e-6)  # the naive clock read as UTC, like the training log's
    assert tab.values["util"].tolist() == [97, 0, 98, 0]
    assert tab.values["mem_used"].tolist() == [18756, 3, 22001, 3]
    assert tab.values["power"][0] == np.float32(168.84)
    assert np.isnan(tab.values["power"][1]) and np.isnan(tab.values["sm_clock"][3])
    assert tab.values["sm_clock"][0] == 2520 and tab.values["temp"][1] == 34
    assert p.na_readings == 6 and p.bad_lines == 0
    assert any("6 readings the GPU could not give" in n for n in p.notes())
    assert is_gpu_header(LITERAL.splitlines()[0])


def test_generated_fixture_has_the_exact_header_and_reads_four_gpus_three_idle():
    data = fixture(samples=30, gpus=4, busy=(0,), na_gpus=(2,))
    assert data.splitlines()[0].decode() == HEADER
    tab = parse_gpu_bytes(data).table()
    assert len(tab) == 120 and tab.gpus == [0, 1, 2, 3]
    means = [float(np.nanmean(tab.of(g).values["util"])) for g in range(4)]
    assert means[0] > 90 and means[1:] == [0.0, 0.0, 0.0]
    assert np.isnan(tab.of(2).values["power"]).all() and not np.isnan(tab.of(3).values["power"]).any()


@given(st.lists(st.integers(min_value=1, max_value=400), min_size=1, max_size=30))
def test_any_chunking_gives_the_same_rows_counts_and_notes_as_the_whole(sizes):
    data = LITERAL + b"garbage line\n" + fixture(samples=5, na_gpus=(1,)).split(b"\n", 1)[1] + b"2026/11/30 1"
    whole = parse_gpu_bytes(data)
    p = GpuCsvParser()
    pos, k = 0, 0
    while pos < len(data):
        n = sizes[k % len(sizes)]
        p.feed(data[pos:pos + n])
        pos += n
        k += 1
    p.finish()
    a, b = whole.table(), p.table()
    assert np.array_equal(a.t, b.t) and np.array_equal(a.gpu, b.gpu)
    for name in a.values:
        assert np.array_equal(a.values[name], b.values[name], equal_nan=True)
    assert (p.lines, p.bad_lines, p.na_readings, p.notes()) == (whole.lines, whole.bad_lines, whole.na_readings,
                                                                whole.notes())


def test_a_csv_of_another_tool_reads_no_row_and_says_why():
    p = parse_gpu_bytes(b"epoch,loss,acc\n1,0.5,0.9\n2,0.4,0.92\n")
    assert len(p.table()) == 0 and p.readable is False
    (note,) = p.notes()
    assert "not a GPU log of nvidia-smi's format" in note and "timestamp" in note
    assert not is_gpu_header(b"epoch,loss,acc")


def test_missing_columns_and_other_units_are_named_and_the_rest_is_read():
    data = (b"timestamp, index, utilization.gpu [%], memory.used [GiB], power.draw [W], fan.speed [%]\n"
            b"2026/11/30 13:00:00.000, 0, 50 %, 3 GiB, 100.00 W, 30 %\n")
    p = parse_gpu_bytes(data)
    tab = p.table()
    assert len(tab) == 1 and tab.values["util"][0] == 50 and tab.values["power"][0] == 100
    assert np.isnan(tab.values["mem_used"][0])
    notes = " | ".join(p.notes())
    assert "memory.used is in [GiB], nvidia-smi writes [MiB]" in notes
    assert "columns missing" in notes and "memory.total" in notes and "clocks.current.sm" in notes
    assert "fan.speed [%]" in notes


def test_a_value_in_other_units_than_its_header_is_a_bad_line_counted_and_shown():
    lines = LITERAL.splitlines(keepends=True)
    bad = lines[1].replace(b"18756 MiB", b"18.3 GiB")
    p = parse_gpu_bytes(b"".join([lines[0], bad, *lines[2:]]))
    assert len(p.table()) == 3 and p.bad_lines == 1 and p.bad_examples[0][0] == 2
    assert any("1 line is not a row" in n or "1 line is not rows" in n for n in p.notes())


def test_rows_out_of_order_are_counted_and_sorted():
    lines = LITERAL.splitlines(keepends=True)
    p = parse_gpu_bytes(b"".join([lines[0], lines[3], lines[4], lines[1], lines[2]]))
    tab = p.table()
    assert p.rows_back_in_time == 2 and np.all(np.diff(tab.t) >= 0)
    assert any("go back in time" in n for n in p.notes())


def test_a_truncated_last_line_is_waited_for_then_counted_when_the_file_ends():
    cut = LITERAL[:-20]
    p = GpuCsvParser()
    p.feed(cut)
    assert len(p.table()) == 3 and p.pending_bytes > 0 and p.bad_lines == 0  # may still be written
    p.feed(LITERAL[-20:])
    assert len(p.table()) == 4 and p.pending_bytes == 0
    q = parse_gpu_bytes(cut)
    assert len(q.table()) == 3 and q.bad_lines == 1 and any("cut short" in n for n in q.notes())
    r = parse_gpu_bytes(LITERAL[:-1])  # only the newline missing: the row is whole
    assert len(r.table()) == 4 and any("no newline" in n for n in r.notes())


def test_a_growing_file_adds_rows_and_a_repeated_header_is_no_row():
    p = GpuCsvParser()
    p.feed(LITERAL)
    n = len(p.table())
    p.feed(LITERAL)  # a restarted sampler appends its header again
    assert len(p.table()) == 2 * n and p.bad_lines == 0


def test_crlf_nounits_and_empty_input():
    crlf = LITERAL.replace(b"\n", b"\r\n")
    assert len(parse_gpu_bytes(crlf).table()) == 4
    nounits = (b"timestamp, index, utilization.gpu [%], power.draw [W]\n"
               b"2026/11/30 13:00:00.000, 0, 50, 100.5\n2026/11/30 13:00:01.000, 0, [N/A], N/A\n")
    tab = parse_gpu_bytes(nounits).table()
    assert tab.values["util"][0] == 50 and tab.values["power"][0] == np.float32(100.5)
    assert np.isnan(tab.values["power"][1])
    assert parse_gpu_bytes(b"").notes() == ["the GPU log is empty"]


@given(st.binary(max_size=600))
def test_no_bytes_make_it_raise(junk):
    p = parse_gpu_bytes(LITERAL + junk)
    p.notes()
    assert len(p.table()) >= 4


def test_a_table_handed_out_does_not_change_when_the_log_grows():
    p = GpuCsvParser()
    p.feed(LITERAL)
    before = p.table()
    t, util = before.t.copy(), before.values["util"].copy()
    for _ in range(300):  # past the first capacity: the arrays are moved
        p.feed(LITERAL.split(b"\n", 1)[1])
    assert len(p.table()) == 4 * 301 and len(before) == 4
    assert np.array_equal(before.t, t) and np.array_equal(before.values["util"], util)
    assert p.rows_back_in_time == 300 * 2  # each repeat of the literal goes back 5 s for both GPUs
