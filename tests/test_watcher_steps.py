"""LogWatcher's coordination, driven one step at a time: no thread, no sleep, no real time.

The test calls the two steps the worker runs (``first_scan()`` once, then ``look()``) and moves a fake clock
between them. The tailer is a fake that reads nothing (``tailer_factory``), and in inotify mode the observer is a
fake whose events the test sends (``observer_factory``). Files and directories are real: discovery reads them.
Each test is one scenario, named by the behaviour, with its exact outcome (what was followed, how each tailer was
asked to look, the mode). ``test_watcher.py`` runs the same watcher for real: real tailer, events and time.
"""

from __future__ import annotations

import errno
import os
import threading
from pathlib import Path

import pytest
from watchdog.events import FileCreatedEvent, FileModifiedEvent

from dashboard.live import fsmode
from dashboard.live.inbox import MISS_WINDOW, EventInbox, MissedEvents
from dashboard.live.tailer import Tailer
from dashboard.live.watcher import FULL_RESCAN_INTERVAL, LogWatcher
from tests.helpers import append

POLL = 1.0
SAFETY = 5.0
LINE = (b"2024/08/27 06:00:01 - mmengine - INFO - Iter(train) [  10/1000]  lr: 1.0000e-04  eta: 1:00:00  "
        b"time: 1.0000  loss: 0.5000\n")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class FakeTailer:
    """Reads nothing. A look reports a change when the file's (inode, size) moved since the previous look; another
    inode is a new generation; a missing file is ``exists`` False. With ``budget_looks`` > 0 it acts as a big file
    read one budget per look: that many looks each report a change, all but the last one with ``behind``."""

    def __init__(self, path: str, budget_looks: int = 0) -> None:
        self.path = path
        self.lock = threading.RLock()
        self.runs: list = []
        self.notes: list[str] = []
        self.restarts: list = []
        self.version = self.generation = self.size = 0
        self.exists = False
        self.behind = False
        self.last_growth_at: float | None = None
        self.looks: list[bool] = []  # the ``force`` flag of every look, in order
        self._budget_looks = budget_looks
        self._seen: tuple[int, int] | None = None

    def poll(self, *, force: bool = False) -> bool:
        self.looks.append(force)
        try:
            st = os.stat(self.path)
            seen = (st.st_ino, st.st_size)
        except FileNotFoundError:
            seen = None
        if self._budget_looks:
            self._budget_looks -= 1
            self.behind = self._budget_looks > 0
            self._seen, self.exists = seen, True
            self.version += 1
            return True
        if seen == self._seen:
            return False
        if seen is not None and self._seen is not None and seen[0] != self._seen[0]:
            self.generation += 1
        self._seen, self.exists, self.size = seen, seen is not None, seen[1] if seen else 0
        self.version += 1
        return True


class Tailers:
    """The ``tailer_factory``: makes fake tailers and keeps them, in order."""

    def __init__(self, budget_looks: int = 0) -> None:
        self.made: list[FakeTailer] = []
        self.budget_looks = budget_looks

    def __call__(self, path: str, root: str | None = None) -> FakeTailer:
        tailer = FakeTailer(path, self.budget_looks)
        self.made.append(tailer)
        return tailer


class FakeObserver:
    """watchdog's observer as ``EventFeed`` uses it; ``send`` hands an event to the handlers of its path."""

    def __init__(self) -> None:
        self.made = 0
        self.stopped = False
        self.refuse: OSError | None = None
        self.watches: dict[object, tuple[object, str]] = {}

    def __call__(self) -> FakeObserver:  # the observer_factory
        self.made += 1
        return self

    def start(self) -> None:
        pass

    def schedule(self, handler, path: str, recursive: bool = False, event_filter=None) -> object:
        if self.refuse is not None:
            raise self.refuse
        handle = object()
        self.watches[handle] = (handler, path)
        return handle

    def unschedule(self, handle: object) -> None:
        del self.watches[handle]

    def stop(self) -> None:
        self.stopped = True

    def join(self, timeout: float | None = None) -> None:
        pass

    def send(self, event) -> None:
        for handler, path in list(self.watches.values()):
            if event.src_path.startswith(path):
                handler.dispatch(event)


class Rig:
    def __init__(self, root: Path, mode: str, tailers: Tailers | None = None) -> None:
        self.root = root
        self.clock = Clock()
        self.tailers = tailers or Tailers()
        self.observer = FakeObserver()
        self.watcher = LogWatcher([root], mode=mode, tailer_factory=self.tailers, observer_factory=self.observer,
                                  clock=self.clock, poll_interval=POLL, safety_interval=SAFETY)

    def path(self, name: str) -> str:
        return str(self.root / name)

    def looks(self, name: str) -> list[list[bool]]:
        """How each tailer made for ``name`` was asked to look."""
        return [t.looks for t in self.tailers.made if t.path == self.path(name)]

    def after(self, seconds: float) -> None:
        """Let ``seconds`` pass, then one pass of the worker."""
        self.clock.advance(seconds)
        self.watcher.look()


@pytest.fixture
def root(tmp_path, monkeypatch) -> Path:
    monkeypatch.setattr(fsmode, "filesystem_type", lambda path: "ext4")  # whatever the test machine's /tmp is on
    r = tmp_path / "logs"
    r.mkdir()
    return r


def test_a_log_found_at_the_first_scan_is_followed_once(root):
    append(root / "a.log", LINE)
    rig = Rig(root, "poll")
    rig.watcher.first_scan()
    rig.after(POLL)
    rig.after(FULL_RESCAN_INTERVAL)  # the whole root is listed again
    rig.watcher.refresh()
    rig.watcher.look()
    assert [s.id for s in rig.watcher.sources()] == ["logs/a.log"]
    assert rig.looks("a.log") == [[True, False, False, False]]  # read once when found, then one look a poll


def test_a_log_created_after_the_first_scan_is_followed_at_the_next_poll(root):
    rig = Rig(root, "poll")
    rig.watcher.first_scan()
    append(root / "b.log", LINE)
    rig.watcher.look()  # no poll is due yet
    assert rig.watcher.sources() == []
    rig.after(POLL)
    assert [s.id for s in rig.watcher.sources()] == ["logs/b.log"]
    assert rig.looks("b.log") == [[True, False]]  # read when found, then the same poll's look at every log


def test_a_file_that_is_not_a_log_is_never_given_a_tailer(root):
    append(root / "notes.txt", b"shopping list\n" * 2000)  # past the sniff window without an MMEngine line
    (root / "epoch_1.pth").write_bytes(b"\0" * 64)
    rig = Rig(root, "poll")
    rig.watcher.first_scan()
    rig.after(POLL)
    assert rig.tailers.made == []


def test_a_removed_log_is_dropped_from_the_list_but_keeps_its_source(root):
    append(root / "a.log", LINE)
    rig = Rig(root, "poll")
    rig.watcher.first_scan()
    src = rig.watcher.get("logs/a.log")
    version = rig.watcher.version
    os.unlink(root / "a.log")
    rig.after(POLL)
    assert rig.watcher.sources() == []
    assert rig.watcher.sources(include_missing=True) == [src]
    assert rig.watcher.get("logs/a.log") is src
    assert rig.watcher.version == version + 1


def test_a_removed_log_that_comes_back_is_the_same_source_with_the_same_tailer(root):
    append(root / "a.log", LINE)
    rig = Rig(root, "poll")
    rig.watcher.first_scan()
    src = rig.watcher.get("logs/a.log")
    os.unlink(root / "a.log")
    rig.after(POLL)
    append(root / "a.log", LINE)
    rig.after(POLL)
    assert rig.watcher.sources() == [src]
    assert rig.looks("a.log") == [[True, False, False]]


def test_a_replaced_log_keeps_its_source_and_starts_a_new_generation(root):
    append(root / "a.log", LINE)
    rig = Rig(root, "poll")
    rig.watcher.first_scan()
    src = rig.watcher.get("logs/a.log")
    append(root / "new.tmp", LINE)
    os.replace(root / "new.tmp", root / "a.log")  # an atomic replace: another inode at the path
    rig.after(POLL)
    assert rig.watcher.get("logs/a.log") is src
    assert (src.generation, len(rig.tailers.made)) == (1, 1)


def test_growth_raises_the_watcher_version_once_per_changed_look(root):
    append(root / "a.log", LINE)
    rig = Rig(root, "poll")
    rig.watcher.first_scan()
    version = rig.watcher.version
    append(root / "a.log", LINE)
    rig.after(POLL)
    rig.after(POLL)  # nothing new
    assert (rig.watcher.get("logs/a.log").version, rig.watcher.version) == (2, version + 1)


def test_a_log_left_behind_by_its_read_budget_is_read_on_without_waiting_for_a_poll(root):
    append(root / "big.log", LINE)
    rig = Rig(root, "poll", Tailers(budget_looks=3))
    rig.watcher.first_scan()
    rig.watcher.look()
    rig.watcher.look()
    rig.watcher.look()  # read to the end: nothing is due any more
    assert rig.looks("big.log") == [[True, False, False]]


def test_an_event_makes_the_watcher_look_at_the_followed_file_at_once(root):
    append(root / "a.log", LINE)
    rig = Rig(root, "inotify")
    rig.watcher.first_scan()
    append(root / "a.log", LINE)
    rig.observer.send(FileModifiedEvent(rig.path("a.log")))
    rig.watcher.look()  # the safety poll is seconds away
    assert rig.looks("a.log") == [[True, True]]
    assert rig.watcher.events_seen == 1


def test_an_event_for_a_new_log_follows_it_without_waiting_for_a_poll(root):
    rig = Rig(root, "inotify")
    rig.watcher.first_scan()
    append(root / "c.log", LINE)
    rig.observer.send(FileCreatedEvent(rig.path("c.log")))
    rig.watcher.look()
    assert [s.id for s in rig.watcher.sources()] == ["logs/c.log"]


def test_a_change_that_no_event_announced_switches_auto_to_polling(root):
    append(root / "a.log", LINE)
    rig = Rig(root, "auto")
    rig.watcher.first_scan()
    append(root / "a.log", LINE)
    rig.after(SAFETY)  # the safety poll finds the change: a suspect
    assert rig.watcher.effective_mode == "inotify"
    rig.after(SAFETY)  # still no event for it: confirmed
    assert rig.watcher.effective_mode == "poll"
    assert "a change to a.log was found by polling but no inotify event came" in rig.watcher.mode_note
    assert rig.observer.watches == {}  # unscheduled


def test_a_change_announced_by_a_recent_event_keeps_auto_on_inotify(root):
    append(root / "a.log", LINE)
    rig = Rig(root, "auto")
    rig.watcher.first_scan()
    rig.clock.advance(SAFETY - 0.5)
    append(root / "a.log", LINE)
    rig.observer.send(FileModifiedEvent(rig.path("a.log")))
    rig.watcher.look()
    append(root / "a.log", LINE)  # its event is still on the way when the safety poll finds it
    rig.after(1.0)
    rig.after(SAFETY)
    rig.after(SAFETY)
    assert rig.watcher.effective_mode == "inotify"


def test_an_event_that_comes_after_the_poll_clears_the_suspicion(root):
    append(root / "a.log", LINE)
    rig = Rig(root, "auto")
    rig.watcher.first_scan()
    append(root / "a.log", LINE)
    rig.after(SAFETY)  # a suspect
    rig.observer.send(FileModifiedEvent(rig.path("a.log")))
    rig.watcher.look()
    rig.after(SAFETY)
    assert rig.watcher.effective_mode == "inotify"


def test_catching_up_on_a_big_log_is_not_taken_for_a_missed_event(root):
    append(root / "big.log", LINE)
    rig = Rig(root, "auto", Tailers(budget_looks=3))
    rig.watcher.first_scan()
    rig.watcher.look()
    rig.watcher.look()
    rig.after(SAFETY)
    rig.after(SAFETY)
    assert rig.watcher.effective_mode == "inotify"


def test_the_inotify_watch_limit_makes_auto_poll_the_root(root):
    rig = Rig(root, "auto")
    rig.observer.refuse = OSError(errno.ENOSPC, "no space left on device")
    rig.watcher.first_scan()
    assert rig.watcher.effective_mode == "poll"
    assert "the inotify watch limit is reached (raise fs.inotify.max_user_watches" in rig.watcher.mode_note


def test_a_root_on_a_network_file_system_is_polled_without_scheduling_events(root, monkeypatch):
    monkeypatch.setattr(fsmode, "filesystem_type", lambda path: "nfs4")
    rig = Rig(root, "auto")
    rig.watcher.first_scan()
    assert rig.watcher.effective_mode == "poll"
    assert rig.observer.watches == {}


def test_poll_mode_never_makes_an_observer(root):
    rig = Rig(root, "poll")
    rig.watcher.first_scan()
    rig.after(POLL)
    rig.watcher.stop()
    assert rig.observer.made == 0


def test_stop_stops_the_observer(root):
    rig = Rig(root, "inotify")
    rig.watcher.first_scan()
    rig.watcher.stop()
    assert (rig.observer.made, rig.observer.stopped) == (1, True)


def test_the_real_tailer_is_the_default(root):
    append(root / "a.log", LINE)
    w = LogWatcher([root], mode="poll")
    w.first_scan()
    src = w.get("logs/a.log")
    assert type(src.tailer) is Tailer
    assert src.tailer.counts() == (1, 0)


def test_a_change_found_just_after_its_event_is_not_suspected():
    clock = Clock()
    inbox = EventInbox(lambda: None, keep_seconds=60.0, clock=clock)
    misses = MissedEvents(inbox, SAFETY)
    inbox.record(0, FileModifiedEvent("/r/a.log"))
    clock.advance(MISS_WINDOW - 0.5)
    assert misses.check(["/r/a.log", "/r/b.log"], clock()) is None
    assert misses.suspects == {"/r/b.log": clock()}
