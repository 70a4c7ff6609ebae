"""The event inbox (what watchdog reported, waiting for the worker) and missed-event detection.

``EventInbox.record`` runs on watchdog's observer threads: it only files the event's path (a changed file, a
directory that appeared, a directory that went away), remembers when the path last had an event, and wakes
the worker. It never reads, stats or parses. The worker empties the inbox with ``take``.

``MissedEvents`` (one per root watched with events, in auto mode) compares what the safety poll found changed
with the event times: a change with no event for its path within ``MISS_WINDOW`` seconds before it was found is
a *suspect*; a suspect that still has had no event one safety interval later (at least ``2 * MISS_WINDOW``) is
a confirmed miss, and the root should be polled from then on.

Invariants: every event recorded before a ``take`` is in that batch or the next one, never lost and never
reported twice; ``record`` holds the lock only for a few set and dict operations. The event times kept are
bounded (``MAX_EVENT_TIMES``, then only recent ones).

Failure mode: an event delivered later than the confirmation time (an observer thread with a backlog of
thousands of events) looks like a miss. The root is then polled, slower to react but never stuck, the note says
why, and it stays polled until the root directory itself goes away and comes back.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

MISS_WINDOW = 2.0  # an event within this many seconds before a change found by polling announced it
MAX_EVENT_TIMES = 10_000

Key = tuple[int, str]  # (root index, absolute path)


@dataclass(frozen=True)
class Batch:
    """What the observers reported since the last ``take``."""

    paths: frozenset[Key]  # files created, modified, closed after writing, deleted, moved (both ends)
    dirs: frozenset[Key]  # directories created or moved in: to be listed
    gone: frozenset[Key]  # directories deleted or moved away (a root itself included)


class EventInbox:
    """Events waiting for the worker; see the module docstring."""

    def __init__(self, wake: Callable[[], None], *, keep_seconds: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._wake = wake
        self._keep_seconds = keep_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._paths: set[Key] = set()
        self._dirs: set[Key] = set()
        self._gone: set[Key] = set()
        self._last: dict[str, float] = {}
        self.events_seen = 0

    def record(self, index: int, event) -> None:
        """File one watchdog event for root ``index`` and wake the worker (observer threads)."""
        kind = event.event_type
        if kind in ("opened", "closed_no_write"):
            return
        src = os.fsdecode(event.src_path)
        dest = os.fsdecode(getattr(event, "dest_path", "") or "")
        now = self._clock()
        with self._lock:
            self.events_seen += 1
            if event.is_directory:
                if kind == "created":
                    self._dirs.add((index, src))
                elif kind == "moved":
                    self._gone.add((index, src))
                    if dest:
                        self._dirs.add((index, dest))
                elif kind == "deleted":
                    self._gone.add((index, src))
            else:
                for p in (src, dest):
                    if p:
                        self._paths.add((index, p))
                        self._last[p] = now
        self._wake()

    def take(self) -> Batch:
        """Everything recorded so far; the inbox is empty afterwards."""
        with self._lock:
            batch = Batch(frozenset(self._paths), frozenset(self._dirs), frozenset(self._gone))
            self._paths.clear()
            self._dirs.clear()
            self._gone.clear()
            if len(self._last) > MAX_EVENT_TIMES:  # only recent times matter (miss detection)
                cutoff = self._clock() - self._keep_seconds
                self._last = {p: t for p, t in self._last.items() if t >= cutoff}
        return batch

    def last_events(self, paths: Iterable[str]) -> dict[str, float | None]:
        """When each path last had an event (``clock`` time), None for never."""
        with self._lock:
            return {p: self._last.get(p) for p in paths}


class MissedEvents:
    """Suspected and confirmed misses of one root; see the module docstring."""

    def __init__(self, inbox: EventInbox, safety_interval: float) -> None:
        self._inbox = inbox
        self._confirm_after = min(safety_interval, 2 * MISS_WINDOW)
        self.suspects: dict[str, float] = {}  # path -> when polling found a change no event announced

    def check(self, found: list[str], now: float) -> str | None:
        """After a safety poll that found ``found`` changed: the path of a confirmed miss, else None."""
        last = self._inbox.last_events(list(self.suspects) + found)
        for p, t in list(self.suspects.items()):
            seen = last.get(p)
            if seen is not None and seen >= t - MISS_WINDOW:
                del self.suspects[p]
            elif now - t >= self._confirm_after:
                self.suspects.clear()
                return p
        for p in found:
            seen = last.get(p)
            if seen is None or seen < now - MISS_WINDOW:
                self.suspects.setdefault(p, now)
        return None
