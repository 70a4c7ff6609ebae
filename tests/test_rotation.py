"""Nothing lost across rotations and copytruncates, in poll mode too (issue 16, item 7).

A stat() poll sees a file at intervals, so the lines written between its last look and a rotation (rename, new
file) or a copytruncate (copy, truncate in place) are no longer at the path when it looks again. The tailer
reads the renamed file to its end first (through the descriptor it kept open, else the file with the old
(st_dev, st_ino) in the same directory), and after a truncation reads the missing tail from the rotated copy
(same directory, a name that starts with the log's, the same first KiB); when neither can be found a note says
how many bytes may have been missed. A consumer (``tail``'s ``RecordPrinter``) finishes an ended generation
before it prints the next one, so every record is delivered exactly once.

Real files, real renames and copies (``tests.helpers``); waiting is for states, never for a fixed time.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import pytest

from dashboard.cli.tail import RecordPrinter
from dashboard.live import tailer as tailer_mod
from dashboard.live.tailer import Tailer
from dashboard.live.watcher import LogWatcher
from tests.helpers import append, copytruncate, rotate, train_line, wait_until
from tests.test_tail_cli import Tail

SECRET = "SECRETMARKER"


def lines(a: int, b: int) -> bytes:
    return b"".join(train_line(i) for i in range(a, b))


def iters_of(runs) -> list[int]:
    return [it for run in runs for it in run.train.iters]


def logrotate(log: Path, how: str) -> None:
    """What logrotate does with ``rotate N``: shift ``log.1`` -> ``log.2`` ..., then ``rotate`` or
    ``copytruncate`` the log to ``log.1``."""
    for j in range(8, 0, -1):
        old = log.with_name(f"{log.name}.{j}")
        if old.exists():
            os.replace(old, log.with_name(f"{log.name}.{j + 1}"))
    (rotate if how == "rotate" else copytruncate)(log, log.with_name(f"{log.name}.1"))


def fds_on(where: Path) -> list[str]:
    """The paths this process has open at or below ``where`` (Linux ``/proc/self/fd``)."""
    if not os.path.isdir("/proc/self/fd"):
        pytest.skip("no /proc/self/fd")
    out = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target == str(where) or target.startswith(str(where) + os.sep):
            out.append(target)
    return out


class _Out:
    """A text stream that keeps what was written, line by line."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def write(self, s: str) -> None:
        self.lines.extend(x for x in s.split("\n") if x)

    def flush(self) -> None:
        pass


class Consumer:
    """``python -m dashboard tail --json --from-start`` in-process: the CLI's ``RecordPrinter`` on its own
    thread, woken by the watcher's version as the CLI's loop is."""

    def __init__(self, watcher: LogWatcher) -> None:
        self.w = watcher
        self.out, self.err = _Out(), _Out()
        self.printer = RecordPrinter(self.out, self.err, as_json=True)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            version = self.w.version
            self.printer.emit_new(self.w.sources(include_missing=True))
            self.w.wait_for_change(version, timeout=0.1)

    def iters(self) -> list[int]:
        return [json.loads(x)["iter"] for x in list(self.out.lines)]

    def __enter__(self) -> Consumer:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(10)


def make_watcher(root: Path, mode: str) -> LogWatcher:
    # A poll slow enough that "append, rotate, append" always falls between two looks.
    return LogWatcher([root], mode=mode, poll_interval=0.3, safety_interval=60.0 if mode == "inotify" else 0.3)


# ------------------------------------------------------------------------------------ every record exactly once


@pytest.mark.parametrize("how", ["rotate", "copytruncate"])
def test_three_quick_rotations_deliver_every_record_once(root, mode, how):
    """Each time: every record so far delivered, then 50 lines written, the log rotated (or copy-truncated) at
    once, and 10 lines written to the new file, all before the next look. The 50 lines are only in the
    rotated file when the watcher looks."""
    log = root / "train.log"
    append(log, lines(1, 11))
    expected = list(range(1, 11))
    with make_watcher(root, mode) as w, Consumer(w) as c:
        for _ in range(3):
            assert wait_until(lambda want=list(expected): c.iters() == want), (c.iters(), c.err.lines)
            n = expected[-1]
            before, after = list(range(n + 1, n + 51)), list(range(n + 51, n + 61))
            append(log, lines(before[0], before[-1] + 1))
            logrotate(log, how)
            append(log, lines(after[0], after[-1] + 1))
            expected += before + after
            # The new file's lines arrived: whatever the rotated file held was delivered before them.
            assert wait_until(lambda want=after: c.iters()[-10:] == want), (c.iters(), c.err.lines)
            assert c.iters() == expected, c.err.lines
        assert w.get("logs/train.log").tailer.notes == []
    assert sorted(p.name for p in root.iterdir()) == ["train.log", "train.log.1", "train.log.2", "train.log.3"]


def test_tail_prints_every_record_once_across_rotations_in_poll_mode(tmp_path):
    """The same through the real command (``tail FILE``: a root of one file; the rotated file beside it)."""
    log = tmp_path / "train.log"
    append(log, lines(1, 3))
    t = Tail(str(log), "--json", "--mode", "poll", "--poll-interval", "0.3")
    try:
        t.wait_started()
        got: list[int] = []
        n = 2
        for _ in range(3):
            append(log, lines(n + 1, n + 31))
            logrotate(log, "rotate")
            append(log, lines(n + 31, n + 36))
            got += [json.loads(x)["iter"] for x in t.lines(35)]
            n += 35
        assert got == list(range(3, n + 1))
        assert t.no_more_lines()
    finally:
        t.close()


# ------------------------------------------------------------------------------------------- one tailer


@pytest.fixture
def log(tmp_path):
    return tmp_path / "train.log"


def test_a_rotation_between_two_looks_reads_the_renamed_file_to_its_end_first(log, tmp_path):
    t = Tailer(log)
    append(log, lines(1, 6))
    t.poll()
    append(log, lines(6, 10))
    rotate(log, tmp_path / "train.log.1")
    append(log, lines(100, 103))
    t.poll()
    assert t.restarts[-1].offset == (tmp_path / "train.log.1").stat().st_size  # all of it was read
    with t.lock:
        assert iters_of(t.ended_runs(0)) == list(range(1, 10))
        assert iters_of(t.runs) == [100, 101, 102]
    assert t.restarts[-1].reason == "replaced"
    assert "train.log.1" in t.restarts[-1].detail
    assert t.notes == []


def test_without_a_kept_descriptor_the_renamed_file_is_found_by_its_inode(log, tmp_path, monkeypatch):
    """Past the process-wide limit of kept descriptors, the old file is looked for in the same directory."""
    monkeypatch.setattr(tailer_mod, "MAX_HELD", 0, raising=False)
    t = Tailer(log)
    append(log, lines(1, 6))
    t.poll()
    append(log, lines(6, 10))
    os.replace(log, tmp_path / "train-20240827.log.old")
    append(log, lines(100, 103))
    t.poll()
    assert t.restarts[-1].offset == (tmp_path / "train-20240827.log.old").stat().st_size
    with t.lock:
        assert iters_of(t.ended_runs(0)) == list(range(1, 10))
    assert "found by its inode as train-20240827.log.old" in t.restarts[-1].detail


def test_an_idle_file_is_not_kept_open_and_its_rotation_is_still_read(log, tmp_path):
    """After ``HOLD_IDLE_SECONDS`` without growth the descriptor is closed (Filebeat's close_inactive); a
    rotation is then read through the file found by its inode."""
    now = [1000.0]
    t = Tailer(log, clock=lambda: now[0])
    append(log, lines(1, 6))
    t.poll()
    assert fds_on(log) == [str(log)]
    now[0] += 301
    t.poll()
    assert fds_on(log) == []
    append(log, lines(6, 10))
    rotate(log, tmp_path / "train.log.1")
    append(log, lines(100, 102))
    t.poll()
    assert t.restarts[-1].offset == (tmp_path / "train.log.1").stat().st_size
    assert "found by its inode as train.log.1" in t.restarts[-1].detail


def test_a_rotation_seen_while_the_new_file_is_not_there_yet_still_reads_the_old_one(log, tmp_path):
    t = Tailer(log)
    append(log, lines(1, 6))
    t.poll()
    append(log, lines(6, 10))
    rotate(log, tmp_path / "train.log.1")
    t.poll()
    assert not t.exists
    assert t.restarts[-1].offset == (tmp_path / "train.log.1").stat().st_size
    with t.lock:
        assert iters_of(t.ended_runs(0)) == list(range(1, 10))
    append(log, lines(100, 102))
    t.poll()
    assert iters_of(t.runs) == [100, 101]


def test_a_late_copytruncate_reads_the_missing_tail_from_the_copy(log, tmp_path):
    t = Tailer(log)
    append(log, lines(1, 30))
    t.poll()
    append(log, lines(30, 40))
    copytruncate(log, tmp_path / "train.log.1")
    append(log, lines(100, 103))
    t.poll()
    assert t.restarts[-1].offset == (tmp_path / "train.log.1").stat().st_size
    with t.lock:
        assert iters_of(t.ended_runs(0)) == list(range(1, 40))
        assert iters_of(t.runs) == [100, 101, 102]
    assert "rotated copy train.log.1" in t.restarts[-1].detail
    assert t.notes == []


def test_an_older_rotated_file_is_not_taken_for_the_copy(log, tmp_path):
    """``train.log.2`` holds an earlier generation that starts with the same lines: its mtime is older than
    what was read, so it is not the copy; nothing else is, so a note says what may be missing."""
    append(tmp_path / "train.log.2", lines(1, 50))
    os.utime(tmp_path / "train.log.2", ns=(0, 0))
    t = Tailer(log)
    append(log, lines(1, 30))
    t.poll()
    with open(log, "r+b") as f:
        f.truncate(0)
    append(log, lines(100, 102))
    t.poll()
    assert t.restarts[-1].offset == len(lines(1, 30))  # nothing was taken from train.log.2
    assert any("may have been missed" in n for n in t.notes), t.notes
    with t.lock:
        assert iters_of(t.ended_runs(0)) == list(range(1, 30))


def test_a_truncation_with_no_copy_to_find_says_how_many_bytes_may_be_missed(log, monkeypatch):
    """The last look read 4096 of the bytes it saw (its read budget); then the file was truncated in place,
    with no copy anywhere: the note counts the bytes seen but not read."""
    monkeypatch.setattr(tailer_mod, "MAX_READ_PER_POLL", 4096)
    t = Tailer(log)
    append(log, lines(1, 100))
    size = log.stat().st_size
    t.poll()
    assert t.offset == 4096 and t.behind
    with open(log, "r+b") as f:
        f.truncate(0)
    append(log, lines(500, 502))
    t.poll()
    assert iters_of(t.runs) == [500, 501]
    missed = [n for n in t.notes if "may have been missed" in n]
    assert len(missed) == 1, t.notes
    assert f"{size - 4096} bytes may have been missed" in missed[0]
    assert t.restarts[-1].reason == "truncated"


def test_the_kept_descriptors_are_closed_when_the_watcher_stops(root):
    log = root / "train.log"
    append(log, lines(1, 5))
    with make_watcher(root, "poll") as w:
        assert wait_until(lambda: w.get("logs/train.log") is not None)
        assert fds_on(root) == [str(log)]
    assert fds_on(root) == []


# ---------------------------------------------------------------------------------------------- containment


def test_a_rotated_copy_that_is_a_symlink_out_of_the_root_is_not_read(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    outside = tmp_path / "outside"
    outside.mkdir()
    log = root / "train.log"
    append(log, lines(1, 6))
    t = Tailer(log, root=root)
    t.poll()
    secret = outside / "secret.log"
    secret.write_bytes(log.read_bytes() + lines(6, 9)
                       + f"2024/08/27 07:00:00 - mmengine - ERROR - {SECRET}\n".encode())
    (root / "train.log.1").symlink_to(secret)
    with open(log, "r+b") as f:
        f.truncate(0)
    append(log, lines(100, 102))
    t.poll()
    assert t.restarts[-1].offset == len(lines(1, 6))  # nothing was read through the link
    assert any("may have been missed" in n for n in t.notes), t.notes
    with t.lock:
        assert iters_of(t.ended_runs(0)) == [1, 2, 3, 4, 5]
        seen = repr(t.ended_runs(0)) + repr(t.runs) + repr(t.restarts) + repr(t.notes)
    assert SECRET not in seen


def test_a_rotated_file_moved_out_of_its_directory_is_not_read_through_the_kept_descriptor(tmp_path):
    root = tmp_path / "root"
    (root / "run").mkdir(parents=True)
    outside = tmp_path / "outside"
    outside.mkdir()
    log = root / "run" / "train.log"
    append(log, lines(1, 6))
    t = Tailer(log, root=root)
    t.poll()
    os.replace(log, outside / "moved.log")
    append(outside / "moved.log", f"2024/08/27 07:00:00 - mmengine - ERROR - {SECRET}\n".encode())
    append(log, lines(100, 102))
    t.poll()
    assert t.restarts[-1].offset == len(lines(1, 6))
    assert any("moved out of its directory" in n for n in t.notes), t.notes
    with t.lock:
        assert iters_of(t.ended_runs(0)) == [1, 2, 3, 4, 5]
        assert iters_of(t.runs) == [100, 101]
        seen = repr(t.ended_runs(0)) + repr(t.runs) + repr(t.restarts) + repr(t.notes)
    assert SECRET not in seen and "outside" not in " ".join(t.notes)
