"""One followed file, on real files: every complete line parsed once, restarts detected and marked.

One scenario per test, pygtail style: write with ``tests.helpers.append`` / ``copytruncate`` /
``rotate``, call ``poll()``, look at what the parser holds.
"""

from __future__ import annotations

import errno
import gzip
import os

import pytest

from dashboard.live import tailer as tailer_mod
from dashboard.live.tailer import Tailer
from tests.helpers import append, copytruncate, rotate, train_line


def lines(a: int, b: int) -> bytes:
    return b"".join(train_line(i) for i in range(a, b))


def iters(t: Tailer) -> list[int]:
    with t.lock:
        return [it for run in t.runs for it in run.train.iters]


@pytest.fixture
def log(tmp_path):
    return tmp_path / "train.log"


def test_appended_lines_are_parsed_once(log):
    t = Tailer(log)
    append(log, lines(1, 4))
    assert t.poll()
    append(log, lines(4, 6))
    t.poll()
    t.poll(force=True)
    assert iters(t) == [1, 2, 3, 4, 5]
    assert t.offset == os.path.getsize(log)


def test_partial_line_waits_for_its_newline(log):
    t = Tailer(log)
    whole = train_line(1)
    append(log, whole[:50])
    t.poll()
    assert iters(t) == []
    assert t.offset == 50  # held back by the parser, never read again
    append(log, whole[50:])
    t.poll()
    assert iters(t) == [1]


def test_byte_by_byte_writes_parse_each_line_once(log):
    t = Tailer(log)
    data = lines(1, 4)
    for k in range(len(data)):
        with open(log, "ab") as f:
            f.write(data[k:k + 1])
        t.poll(force=True)
    assert iters(t) == [1, 2, 3]


def test_unchanged_file_costs_one_stat_and_keeps_the_version(log):
    t = Tailer(log)
    append(log, lines(1, 3))
    t.poll()
    v = t.version
    assert not t.poll()
    assert t.version == v


def test_version_grows_with_new_records_only(log):
    t = Tailer(log)
    append(log, lines(1, 2))
    t.poll()
    v1 = t.version
    append(log, train_line(2)[:10])  # no complete line: nothing new to show
    t.poll()
    assert t.version == v1
    append(log, train_line(2)[10:])
    t.poll()
    assert t.version > v1
    assert t.last_growth_at is not None


def test_truncation_restarts_from_the_new_content(log):
    t = Tailer(log)
    append(log, lines(1, 6))
    t.poll()
    with open(log, "r+b") as f:
        f.truncate(0)
    append(log, lines(100, 102))
    t.poll()
    assert iters(t) == [100, 101]
    assert [r.reason for r in t.restarts] == ["truncated"]
    assert t.generation == 1


def test_copytruncate_is_detected_by_the_fingerprint(log, tmp_path):
    """Truncated and written past the old offset between two looks: only the first KiB tells."""
    t = Tailer(log)
    append(log, lines(1, 6))
    t.poll()
    old = t.offset
    copytruncate(log, tmp_path / "train.log.1")
    append(log, lines(500, 520))
    assert os.path.getsize(log) > old
    t.poll()
    assert iters(t) == list(range(500, 520))
    assert t.restarts[-1].reason == "rewritten"
    assert "first KiB" in t.restarts[-1].detail


def test_rewrite_after_the_first_kib_is_detected_by_the_tail_fingerprint(log):
    t = Tailer(log)
    append(log, lines(1, 30))
    t.poll()
    data = log.read_bytes()
    keep = data[: data.rindex(b"\n", 0, 2000) + 1]
    with open(log, "r+b") as f:  # same first KiB, different bytes just before the old offset
        f.truncate(0)
        f.write(keep + lines(700, 740))
    t.poll()
    assert t.restarts[-1].reason == "rewritten"
    assert "before the read offset" in t.restarts[-1].detail
    assert iters(t) == list(range(1, keep.count(b"\n") + 1)) + list(range(700, 740))


def test_rotation_is_detected_by_the_inode(log, tmp_path):
    t = Tailer(log)
    append(log, lines(1, 6))
    t.poll()
    rotate(log, tmp_path / "train.log.1")
    append(log, lines(1, 30))  # bigger than before, same first KiB: only the inode differs
    t.poll()
    assert iters(t) == list(range(1, 30))
    assert t.restarts[-1].reason == "replaced"


def test_deletion_is_not_an_error(log):
    t = Tailer(log)
    append(log, lines(1, 4))
    t.poll()
    os.unlink(log)
    assert t.poll()
    assert not t.exists
    assert iters(t) == []
    assert t.restarts[-1].reason == "deleted"
    assert t.notes == []
    assert not t.poll()  # still gone: nothing changes


def test_a_deleted_file_that_comes_back_is_read_from_its_start(log):
    t = Tailer(log)
    append(log, lines(1, 4))
    t.poll()
    os.unlink(log)
    t.poll()
    append(log, lines(10, 12))
    t.poll()
    assert t.exists and iters(t) == [10, 11]


def test_a_file_that_does_not_exist_yet_is_waited_for(log):
    t = Tailer(log)
    assert not t.poll()
    assert not t.exists
    append(log, lines(1, 2))
    assert t.poll() and iters(t) == [1]


def test_file_disappears_mid_read(log, monkeypatch):
    """Deleted between two chunks of one read: the open handle finishes the read, the next look sees it gone."""
    append(log, lines(1, 50))
    t = Tailer(log, read_chunk=512)
    real_pread = os.pread
    calls = []

    def pread(fd, n, off):
        calls.append(off)
        if len(calls) == 2 and log.exists():
            os.unlink(log)
        return real_pread(fd, n, off)

    monkeypatch.setattr(tailer_mod.os, "pread", pread)
    t.poll()
    assert iters(t) == list(range(1, 50))
    monkeypatch.setattr(tailer_mod.os, "pread", real_pread)
    t.poll()
    assert not t.exists and t.restarts[-1].reason == "deleted"


def test_a_read_error_mid_file_is_retried_without_double_counting(log, monkeypatch):
    """NFS answers ESTALE when the file vanished on the server: a note, then the next look goes on."""
    append(log, lines(1, 50))
    t = Tailer(log, read_chunk=512)
    real_pread = os.pread
    calls = []

    def pread(fd, n, off):
        calls.append(off)
        if len(calls) == 3:
            raise OSError(errno.ESTALE, "Stale file handle")
        return real_pread(fd, n, off)

    monkeypatch.setattr(tailer_mod.os, "pread", pread)
    t.poll()
    assert any("Stale file handle" in n for n in t.notes)
    partial = iters(t)
    assert partial == list(range(1, len(partial) + 1)) and len(partial) < 49
    monkeypatch.setattr(tailer_mod.os, "pread", real_pread)
    t.poll()
    assert iters(t) == list(range(1, 50))


def test_binary_file_is_skipped(log):
    append(log, b"\x00\x01\x02\x03" * 256 + b"\n")
    t = Tailer(log)
    t.poll()
    assert t.skipped and "binary" in t.skipped
    assert t.runs == []
    append(log, lines(1, 3))
    t.poll()
    assert t.runs == []  # still the same binary file


def test_gzip_log_is_followed(tmp_path):
    p = tmp_path / "train.log.gz"
    blob = gzip.compress(lines(1, 40))
    append(p, blob[:100])
    t = Tailer(p)
    t.poll()
    append(p, blob[100:])
    t.poll()
    assert iters(t) == list(range(1, 40))


def test_restart_records_say_what_was_read(log):
    t = Tailer(log)
    append(log, lines(1, 3))
    t.poll()
    n = t.offset
    with open(log, "r+b") as f:
        f.truncate(10)
    t.poll()
    r = t.restarts[-1]
    assert (r.reason, r.generation, r.offset) == ("truncated", 0, n)


def test_readers_hold_the_lock_while_the_worker_feeds(log):
    """The worker feeds under ``lock``: a reader holding it sees a consistent table."""
    import threading

    append(log, lines(1, 200))
    t = Tailer(log, read_chunk=300)
    seen = []
    stop = threading.Event()

    def reader():
        while not stop.is_set():
            with t.lock:
                for run in t.runs:
                    tt = run.train
                    seen.append(len(tt.iters) == len(tt.timestamps) == len(tt.line_nos))

    th = threading.Thread(target=reader)
    th.start()
    t.poll()
    stop.set()
    th.join()
    assert all(seen)
    assert iters(t) == list(range(1, 200))
