"""Damaged gzip gives the same records and the same note however its bytes arrive (issue 16, item 9).

zlib raises for a call that meets a bad byte and returns nothing of that call, so the text of the bytes before
it depended on where the chunks were cut (a sample log with one bit flipped: 0 lines read whole, 295 read a byte
at a time); and after the error, the next chunks went to a fresh decompressor. Now the text is what zlib makes of
the bytes before the one it rejects, then nothing more is read, and ``ParsedLog.notes`` says what happened:
damaged data, bytes after the last member that are not gzip (ignored, as ``gzip -d`` does), a stream that ends
inside a member. Checked with hypothesis: random damage, random chunkings, the snapshot and the notes of a whole
parse.
"""

from __future__ import annotations

import gzip

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from parsers import LogParser, SizeLimitExceeded, parse_bytes

from .conftest import SAMPLE_LOGS
from .helpers import snapshot

TEXT = (SAMPLE_LOGS / "llm_sft_len_grouped" / "20260314_090000" / "20260314_090000.log").read_bytes()
GZ = gzip.compress(TEXT, mtime=0)
HEADER, TRAILER = 10, 8


def fed(data: bytes, cuts: list[int], max_bytes: int | None = None):
    """(snapshot, lines, notes) of a parse of ``data`` fed in the pieces ``cuts`` make; or the size error."""
    p = LogParser(max_bytes=max_bytes)
    try:
        prev = 0
        for c in [*sorted(set(cuts)), len(data)]:
            p.feed(data[prev:c])
            prev = c
        p.close()
    except SizeLimitExceeded as e:
        return "size limit", str(e)
    r = p.result()
    return snapshot(r), r.lines, r.notes


def whole(data: bytes, max_bytes: int | None = None):
    return fed(data, [], max_bytes)


def flipped(data: bytes, at: int, bits: int) -> bytes:
    return data[:at] + bytes([data[at] ^ bits]) + data[at + 1:]


@st.composite
def damaged(draw):
    kind = draw(st.sampled_from(["truncated", "flipped", "garbage after", "garbage after two members",
                                 "a damaged second member", "overwritten"]))
    if kind == "truncated":
        return GZ[:draw(st.integers(1, len(GZ) - 1))]
    if kind == "flipped":
        return flipped(GZ, draw(st.integers(HEADER, len(GZ) - 1)), draw(st.integers(1, 255)))
    if kind == "garbage after":
        return GZ + draw(st.binary(min_size=1, max_size=64))
    if kind == "garbage after two members":
        return GZ + GZ + draw(st.binary(min_size=1, max_size=64))
    if kind == "a damaged second member":
        return GZ + flipped(GZ, draw(st.integers(0, len(GZ) - 1)), draw(st.integers(1, 255)))
    at = draw(st.integers(HEADER, len(GZ) - 1))
    junk = draw(st.binary(min_size=1, max_size=256))
    return GZ[:at] + junk + GZ[at + len(junk):]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=damaged(), cuts=st.lists(st.integers(0, 2 * len(GZ) + 300), max_size=40))
def test_any_chunking_of_damaged_gzip_gives_the_records_and_notes_of_a_whole_parse(data, cuts):
    assert fed(data, [c for c in cuts if c < len(data)]) == whole(data)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=damaged(), cuts=st.lists(st.integers(0, 2 * len(GZ) + 300), max_size=20),
       limit=st.integers(1, 2 * len(TEXT)))
def test_the_size_limit_stops_damaged_gzip_however_it_is_fed(data, cuts, limit):
    assert fed(data, [c for c in cuts if c < len(data)], limit) == whole(data, limit)


@pytest.mark.parametrize(("data", "note"), [
    pytest.param(flipped(GZ, len(GZ) // 2, 0x10), "damaged gzip data", id="a bit flipped in the middle"),
    pytest.param(flipped(GZ, 40, 0xFF), "damaged gzip data", id="a byte flipped near the start"),
    pytest.param(GZ[:len(GZ) // 2], "the gzip data ends inside a member", id="cut in half"),
    pytest.param(GZ + b"garbage after the member\n", "bytes after the last gzip member are not gzip",
                 id="garbage after the member"),
    pytest.param(GZ + b"\x1f", "bytes after the last gzip member are not gzip", id="half a magic after it"),
    pytest.param(GZ + b"\x1f\x8b\x09garbage", "damaged gzip data (unknown compression method)",
                 id="a second member with a bad header"),
])
def test_a_byte_at_a_time_reads_what_the_whole_file_reads(data, note):
    one = whole(data)
    assert fed(data, list(range(1, len(data)))) == one
    assert len(one[2]) == 1 and one[2][0].startswith(note), one[2]


def test_the_text_before_a_bad_byte_is_read():
    bad = flipped(GZ, len(GZ) // 2, 0x10)
    parsed = parse_bytes(bad)
    assert parsed.lines > 100  # not 0: what zlib made of the bytes before the bad one
    assert parsed.notes and parsed.notes[0].startswith("damaged gzip data")


def test_sound_gzip_has_no_note_and_the_text_of_the_log():
    for data in (GZ, GZ + GZ):
        parsed = parse_bytes(data)
        assert parsed.notes == []
        assert snapshot(parsed) == snapshot(parse_bytes(TEXT * (len(data) // len(GZ))))


def test_the_tailer_reads_what_a_whole_parse_reads_and_says_why_it_stopped(tmp_path):
    from dashboard.live.tailer import Tailer

    from .helpers import append

    bad = flipped(GZ, len(GZ) // 2, 0x10)
    path = tmp_path / "train.log.gz"
    t = Tailer(path)
    for k in range(0, len(bad), 1000):  # written a KB at a time
        append(path, bad[k:k + 1000])
        t.poll()
    want = parse_bytes(bad)
    with t.lock:
        assert [list(r.train.iters) for r in t.runs] == [list(r.train.iters) for r in want.runs]
    assert [n for n in t.notes if n.startswith("damaged gzip data")] == want.notes
