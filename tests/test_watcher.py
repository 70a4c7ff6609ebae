"""The process-wide LogWatcher on real temp dirs, once with inotify events and once with the stat() poll.

In ``inotify`` mode the safety poll is pushed out to a minute, so what passes there passed on events.
Waiting is done with ``wait_until`` (generous timeouts, polling a condition), never a fixed sleep.
"""

from __future__ import annotations

import errno
import functools
import itertools
import os
from pathlib import Path

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from dashboard.live import fsmode
from dashboard.live.inbox import EventInbox
from dashboard.live.roots import make_roots
from dashboard.live.watcher import LogWatcher
from parsers import parse_bytes
from tests.conftest import SAMPLE_LOGS, SHARED_LOGS
from tests.helpers import WAIT_TIMEOUT, append, copytruncate, rotate, wait_until
from tests.helpers import train_line as _train_line

TIMEOUT = WAIT_TIMEOUT


def train_line(i: int, n: int = 1000) -> bytes:
    """This file's train lines (data_time=False)."""
    return _train_line(i, n, data_time=False)


def make_watcher(roots, mode: str, **kw) -> LogWatcher:
    kw.setdefault("poll_interval", 0.05)
    kw.setdefault("safety_interval", 60.0 if mode == "inotify" else 0.05)
    return LogWatcher(roots, mode=mode, **kw)


def train_count(src) -> int:
    return src.tailer.counts()[0] if src is not None else -1


def test_existing_logs_are_found_at_start(root, mode):
    append(root / "a.log", train_line(1))
    (root / "wd" / "20240101_000000").mkdir(parents=True)
    append(root / "wd" / "20240101_000000" / "20240101_000000.log", train_line(1) + train_line(2))
    with make_watcher([root], mode) as w:
        assert [s.id for s in w.sources()] == ["logs/a.log", "logs/wd/20240101_000000/20240101_000000.log"]
        assert train_count(w.get("logs/wd/20240101_000000/20240101_000000.log")) == 2
        assert w.effective_mode == mode


def test_new_file_appears(root, mode):
    with make_watcher([root], mode) as w:
        assert w.sources() == []
        append(root / "later.log", train_line(1))
        assert wait_until(lambda: train_count(w.get("logs/later.log")) == 1)


def test_new_timestamped_folder_appears(root, mode):
    """A resume writes a new <timestamp>/ folder into the same work_dir."""
    first = root / "wd" / "20240101_000000"
    first.mkdir(parents=True)
    append(first / "20240101_000000.log", train_line(1))
    with make_watcher([root], mode) as w:
        second = root / "wd" / "20240102_000000"
        (second / "vis_data").mkdir(parents=True)
        append(second / "20240102_000000.log", b"")  # a run that just started: empty, still a log
        append(second / "vis_data" / "scalars.json", b'{"lr": 0.1, "loss": 1.0, "iter": 10, "step": 10}\n')
        sid = "logs/wd/20240102_000000/20240102_000000.log"
        assert wait_until(lambda: w.get(sid) is not None and w.get(sid.replace("20240102_000000.log",
                                                                               "vis_data/scalars.json")))
        src = w.get(sid)
        assert src.layout.work_dir == "wd" and src.layout.timestamp == "20240102_000000"
        append(second / "20240102_000000.log", train_line(11))
        assert wait_until(lambda: train_count(w.get(sid)) == 1)


def test_growth_raises_the_version(root, mode):
    append(root / "a.log", train_line(1))
    with make_watcher([root], mode) as w:
        src = w.get("logs/a.log")
        v_src, v_all = src.version, w.version
        append(root / "a.log", train_line(2))
        assert wait_until(lambda: src.version > v_src)
        assert wait_until(lambda: w.version > v_all)  # bumped right after the source's own version
        assert train_count(src) == 2
        assert src.last_growth_at is not None


def test_a_partial_line_does_not_raise_the_version(root, mode):
    append(root / "a.log", train_line(1))
    with make_watcher([root], mode) as w:
        src = w.get("logs/a.log")
        v = src.version
        append(root / "a.log", train_line(2)[:20])
        assert wait_until(lambda: src.tailer.offset == os.path.getsize(root / "a.log"))
        assert src.version == v and train_count(src) == 1
        append(root / "a.log", train_line(2)[20:])
        assert wait_until(lambda: src.version > v and train_count(src) == 2)


def test_missing_root_gives_a_message_while_other_roots_work(root, tmp_path, mode):
    missing = tmp_path / "nfs_not_mounted"
    with make_watcher([missing, root], mode) as w:
        status = {s.label: s for s in w.root_status()}
        assert not status["nfs_not_mounted"].ok
        assert "does not exist" in status["nfs_not_mounted"].message
        assert any("nfs_not_mounted" in n and "does not exist" in n for n in w.notes)
        assert status["logs"].ok
        append(root / "a.log", train_line(1))
        assert wait_until(lambda: train_count(w.get("logs/a.log")) == 1)
        # The missing root is checked again: once it exists, its logs show up.
        missing.mkdir()
        append(missing / "b.log", train_line(5))
        assert wait_until(lambda: train_count(w.get("nfs_not_mounted/b.log")) == 1)
        assert wait_until(lambda: {s.label: s for s in w.root_status()}["nfs_not_mounted"].ok)


def test_a_root_that_is_removed_and_recreated_is_watched_again(root, mode):
    import shutil

    append(root / "a.log", train_line(1))
    with make_watcher([root], mode) as w:
        src = w.get("logs/a.log")
        shutil.rmtree(root)
        assert wait_until(lambda: not src.exists)
        assert wait_until(lambda: not w.root_status()[0].ok)
        assert "does not exist" in w.root_status()[0].message
        root.mkdir()
        append(root / "b.log", train_line(2))
        assert wait_until(lambda: train_count(w.get("logs/b.log")) == 1)
        append(root / "b.log", train_line(3))
        assert wait_until(lambda: train_count(w.get("logs/b.log")) == 2)


def test_a_file_as_root_gives_a_message(root, tmp_path, mode):
    f = tmp_path / "notadir.log"
    f.write_text("x\n")
    with make_watcher([make_roots([f])[0], root], mode) as w:
        assert "not a directory" in w.root_status()[0].message
        assert w.root_status()[1].ok


def test_binary_file_under_a_root_is_skipped_with_a_note(root, mode):
    append(root / "core.log", b"\x7fELF\x00\x00\x00" + os.urandom(2048))
    (root / "epoch_1.pth").write_bytes(b"\x00" * 1024)
    append(root / "a.log", train_line(1))
    with make_watcher([root], mode) as w:
        assert [s.id for s in w.sources()] == ["logs/a.log"]
        assert any("core.log" in n and "binary" in n for n in w.notes)
        assert not any("epoch_1.pth" in n for n in w.notes)


def test_deleted_file_keeps_its_id_and_comes_back(root, mode):
    append(root / "a.log", train_line(1) + train_line(2))
    with make_watcher([root], mode) as w:
        src = w.get("logs/a.log")
        v = src.version
        os.unlink(root / "a.log")
        # Version first: the tailer sets exists before it raises the version (a reader that sees the new
        # version sees exists False, not the other way round).
        assert wait_until(lambda: src.version > v)
        assert not src.exists
        assert w.sources() == [] and w.sources(include_missing=True) == [src]
        assert src.restarts[-1].reason == "deleted"
        append(root / "a.log", train_line(7))
        assert wait_until(lambda: src.exists and train_count(src) == 1)
        assert w.get("logs/a.log") is src


def test_rotation_restarts_the_source(root, mode):
    append(root / "a.log", train_line(1) + train_line(2))
    with make_watcher([root], mode) as w:
        src = w.get("logs/a.log")
        rotate(root / "a.log", root / "a.log.1")
        append(root / "a.log", train_line(1) + train_line(2) + train_line(3))
        assert wait_until(lambda: train_count(src) == 3 and src.restarts)
        assert src.restarts[-1].reason in ("replaced", "deleted")


def test_an_undecided_text_file_becomes_a_log_when_mmengine_lines_arrive(root, mode):
    append(root / "console.txt", b"Loading dataset...\n")
    with make_watcher([root], mode) as w:
        assert w.sources() == []
        append(root / "console.txt", train_line(1))
        assert wait_until(lambda: train_count(w.get("logs/console.txt")) == 1)


def test_source_ids_are_never_absolute(root, mode):
    (root / "deep" / "er").mkdir(parents=True)
    append(root / "deep" / "er" / "x.log", train_line(1))
    with make_watcher([root], mode) as w:
        for s in w.sources():
            assert not s.id.startswith("/") and str(root) not in s.id


def test_wait_for_change_wakes_on_growth(root, mode):
    append(root / "a.log", train_line(1))
    with make_watcher([root], mode) as w:
        v = w.version
        append(root / "a.log", train_line(2))
        assert w.wait_for_change(v, timeout=TIMEOUT) != v


def test_auto_polls_a_root_on_a_network_file_system(root, monkeypatch):
    monkeypatch.setattr(fsmode, "filesystem_type", lambda path: "nfs4")
    with LogWatcher([root], mode="auto", poll_interval=0.05) as w:
        assert w.effective_mode == "poll"
        assert "nfs4" in w.mode_note
        append(root / "a.log", train_line(1))
        assert wait_until(lambda: train_count(w.get("logs/a.log")) == 1)


def test_auto_falls_back_to_polling_when_the_inotify_limit_is_hit(root, monkeypatch):
    from watchdog.observers.api import BaseObserver

    def refuse(self, *a, **k):
        raise OSError(errno.ENOSPC, "inotify watch limit reached")

    monkeypatch.setattr(BaseObserver, "schedule", refuse)
    with LogWatcher([root], mode="auto", poll_interval=0.05) as w:
        assert w.effective_mode == "poll"
        assert "max_user_watches" in w.mode_note
        append(root / "a.log", train_line(1))
        assert wait_until(lambda: train_count(w.get("logs/a.log")) == 1)


def test_auto_falls_back_to_polling_when_events_do_not_arrive(root, monkeypatch):
    """A mount that delivers no events (NFS written elsewhere, some bind mounts): the safety poll
    finds the change, no event confirms it, the root is polled from then on and the note says so."""
    monkeypatch.setattr(EventInbox, "record", lambda self, index, event: None)
    append(root / "a.log", train_line(1))
    with LogWatcher([root], mode="auto", poll_interval=0.05, safety_interval=0.1) as w:
        assert w.effective_mode == "inotify"
        append(root / "a.log", train_line(2))
        assert wait_until(lambda: w.effective_mode == "poll")
        assert "no inotify event" in w.mode_note
        append(root / "a.log", train_line(3))
        assert wait_until(lambda: train_count(w.get("logs/a.log")) == 3)


def test_auto_keeps_inotify_when_events_arrive(root):
    append(root / "a.log", train_line(1))
    with LogWatcher([root], mode="auto", poll_interval=0.05, safety_interval=0.1) as w:
        for i in range(2, 12):
            append(root / "a.log", train_line(i))
            assert wait_until(lambda i=i: train_count(w.get("logs/a.log")) == i)
        wait_until(lambda: False, timeout=0.5)  # several safety polls go by
        assert w.effective_mode == "inotify"


def test_a_log_bigger_than_one_look_is_read_to_the_end_at_once(root, mode, monkeypatch):
    """The tailer reads at most MAX_READ_PER_POLL bytes per look (other files get their turn); a file
    left behind is looked at again right away, not at the next poll (here an hour away)."""
    monkeypatch.setattr("dashboard.live.tailer.MAX_READ_PER_POLL", 4096)
    data = b"".join(train_line(i) for i in range(1, 400))
    append(root / "big.log", data)
    with make_watcher([root], mode, poll_interval=3600.0, safety_interval=3600.0) as w:
        assert wait_until(lambda: w.get("logs/big.log") is not None
                          and w.get("logs/big.log").tailer.offset == len(data))
        assert train_count(w.get("logs/big.log")) == 399
        assert w.effective_mode == mode


def test_catching_up_on_a_big_log_is_not_mistaken_for_missed_events(root, monkeypatch):
    # Reading on through a file that did not change must not look like a change inotify failed to report.
    monkeypatch.setattr("dashboard.live.tailer.MAX_READ_PER_POLL", 4096)
    data = b"".join(train_line(i) for i in range(1, 400))
    append(root / "big.log", data)
    with LogWatcher([root], mode="auto", poll_interval=0.05, safety_interval=0.05) as w:
        assert wait_until(lambda: w.get("logs/big.log").tailer.offset == len(data))
        wait_until(lambda: False, timeout=0.5)  # several safety polls go by
        assert w.effective_mode == "inotify", w.mode_note


def test_bad_watcher_mode_in_the_environment_is_a_note(root):
    w = LogWatcher([root], environ={"MMDASH_WATCHER": "fanotify"})
    assert w.mode == "auto" and "fanotify" in w.mode_note


def test_single_file_root_follows_only_that_file(root, mode):
    append(root / "a.log", train_line(1))
    append(root / "other.log", train_line(1))
    with LogWatcher.for_path(root / "a.log", mode=mode, poll_interval=0.05,
                             safety_interval=60.0 if mode == "inotify" else 0.05) as w:
        assert [s.id for s in w.sources()] == ["logs/a.log"]
        append(root / "a.log", train_line(2))
        assert wait_until(lambda: train_count(w.get("logs/a.log")) == 2)


# -- the stateful guarantee ------------------------------------------------------------------------------

@functools.cache
def _pool() -> tuple[list[bytes], list[bytes], dict[bytes, int]]:
    """Real log lines: train lines (each parses alone as one train record) and other lines."""
    files = []
    for base in (SHARED_LOGS, SAMPLE_LOGS):
        if base.is_dir():
            files += sorted(p for p in base.rglob("*.log") if p.is_file())
    train: list[bytes] = []
    other: list[bytes] = []
    iters: dict[bytes, int] = {}
    for path in files:
        for raw in path.read_bytes().split(b"\n")[:1500:3]:
            line = raw + b"\n"
            body = raw[:-1] if raw.endswith(b"\r") else raw
            if b"\r" in body or body.lstrip().startswith(b"{") or len(line) > 600:
                continue  # a bare CR splits a line; a leading "{" would make the file a JSON log
            parsed = parse_bytes(line)
            n = sum(len(r.train) for r in parsed.runs)
            if n == 1:
                iters[line] = parsed.runs[-1].train.iters[0]
                train.append(line)
            elif n == 0:
                other.append(line)
    # Fixed, spread-out samples keep the examples stable and small.
    return train[:: max(1, len(train) // 200)], other[:: max(1, len(other) // 200)], iters


NO_LINES = "no real logs (../shared/real_logs and sample_logs are absent): the stateful test needs real lines"


class TailingMachine(RuleBasedStateMachine):
    """Random appends (in random byte pieces), truncations, rotations and deletions of one live log;
    after each step the parsed train records are exactly the complete train lines of the file's
    current generation, each once, at its line number."""

    watcher: LogWatcher
    root: Path
    train_lines: list[bytes]
    other_lines: list[bytes]
    line_iter: dict[bytes, int]
    counter = itertools.count()

    def _line(self, is_train: bool, k: int) -> bytes:
        pool = self.train_lines if is_train or not self.other_lines else self.other_lines
        return pool[k % len(pool)]

    def __init__(self) -> None:
        super().__init__()
        n = next(self.counter)
        stamp = f"20240101_{n:06d}"
        folder = self.root / f"wd{n}" / stamp
        folder.mkdir(parents=True)
        self.path = folder / f"{stamp}.log"
        self.sid = f"{self.root.name}/wd{n}/{stamp}/{stamp}.log"
        self.written = b""  # bytes of the current generation
        self.queue = b""  # what the writer still has to write

    # -- actions --
    @rule(picks=st.lists(st.tuples(st.booleans(), st.integers(0, 10_000)), min_size=1, max_size=5))
    def queue_lines(self, picks):
        for is_train, k in picks:
            self.queue += self._line(is_train, k)

    @rule(fraction=st.floats(0, 1), cuts=st.lists(st.floats(0, 1), max_size=4))
    def write_some(self, fraction, cuts):
        """A prefix of the queue, in pieces: lines cut anywhere, even inside a UTF-8 character."""
        k = int(len(self.queue) * fraction)
        self._write(self.queue[:k], cuts)
        self.queue = self.queue[k:]

    @rule()
    def write_byte_by_byte(self):
        line, sep, rest = self.queue.partition(b"\n")
        chunk = line + sep
        for i in range(len(chunk)):
            append(self.path, chunk[i:i + 1])
        self.written += chunk
        self.queue = rest

    @rule(action=st.sampled_from(["copytruncate", "truncate", "rotate", "delete"]),
          then_write=st.booleans())
    def restart_file(self, action, then_write):
        if not self._restart(action):
            return
        if then_write and self.queue:  # race the watcher: new content before it looked
            self._write(self.queue, [0.5])
            self.queue = b""

    @rule(action=st.sampled_from(["copytruncate", "truncate", "rotate"]),
          picks=st.lists(st.tuples(st.booleans(), st.integers(0, 10_000)), min_size=1, max_size=5))
    def rewrite_past_the_old_size(self, action, picks):
        """Replaced by other lines that reach past the old size at once: only the inode or the
        fingerprints can tell (the size never looks smaller)."""
        old = len(self.written)
        if not self._restart(action):
            return
        lines = [self._line(is_train, k) for is_train, k in picks]
        data = b""
        for line in itertools.cycle(lines):
            if len(data) > old:
                break
            data += line
        self._write(data, [0.5])

    def _restart(self, action: str) -> bool:
        if not self.path.exists():
            return False
        if action == "copytruncate":
            copytruncate(self.path, self.path.with_name(self.path.name + ".1"))
        elif action == "truncate":
            with open(self.path, "r+b") as f:
                f.truncate(0)
        elif action == "rotate":
            rotate(self.path, self.path.with_name(self.path.name + ".1"))
        else:
            os.unlink(self.path)
        self.written = b""
        if b"\n" in self.queue:  # the writer's unfinished line went with the old file
            self.queue = self.queue[self.queue.index(b"\n") + 1:]
        else:
            self.queue = b""
        return True

    def _write(self, data: bytes, cuts: list[float]) -> None:
        points = sorted({int(len(data) * c) for c in cuts} | {0, len(data)})
        for a, b in itertools.pairwise(points):
            if b > a:
                append(self.path, data[a:b])
        self.written += data

    # -- the guarantee --
    def expected(self) -> list[tuple[int, int]]:
        out = []
        for no, raw in enumerate(self.written.split(b"\n")[:-1], start=1):
            it = self.line_iter.get(raw + b"\n")
            if it is not None:
                out.append((no, it))
        return out

    def parsed(self) -> list[tuple[int, int]]:
        src = self.watcher.get(self.sid)
        if src is None:
            return []
        with src.lock:
            return [(no, it) for run in src.runs for no, it in zip(run.train.line_nos, run.train.iters)]

    @invariant()
    def every_complete_train_line_is_parsed_exactly_once(self):
        want = self.expected()
        wait_until(lambda: self.parsed() == want)
        assert self.parsed() == want


@pytest.mark.corpus
def test_every_complete_line_is_parsed_exactly_once(tmp_path, mode):
    train, other, line_iter = _pool()
    if not train:
        pytest.skip(NO_LINES)
    TailingMachine.train_lines, TailingMachine.other_lines, TailingMachine.line_iter = train, other, line_iter
    root = tmp_path / "live"
    root.mkdir()
    with make_watcher([root], mode) as w:
        TailingMachine.watcher = w
        TailingMachine.root = root
        run_state_machine_as_test(
            TailingMachine, settings=settings(max_examples=10, stateful_step_count=25, deadline=None))
