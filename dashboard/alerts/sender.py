"""Delivering alerts through Apprise, in the background, with retries.

One daemon thread per channel takes that channel's queue, so a slow or failing endpoint delays only its own
alerts and never the watcher or the rule checks (``send`` only enqueues). A failed try is retried after
``first``, ``2 x first``, ``4 x first`` ... seconds (at most ``max_delay``), up to ``attempts`` tries; then the
alert is given up on that channel with a note. What a person reads (notes, history) names a channel by
``Channel.shown`` only, and Apprise's own log lines are never copied (only an HTTP status found in them), so no
secret of a URL reaches a page or a log. Apprise is imported here, in the threads, not at module import.
"""

from __future__ import annotations

import collections
import logging
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from dashboard.alerts.config import Channel

HISTORY = 20
NOTES = 20


@dataclass
class Alert:
    run: str  # the run's name, as on the Runs page
    event: str  # crashed, stalled, nonfinite, finished or a threshold rule's text
    title: str
    body: str
    notify_type: str = "info"  # Apprise's info | success | warning | failure
    created: float = field(default_factory=time.time)
    outcome: dict[str, str] = field(default_factory=dict)  # channel shown -> "queued" | "sent" | "retrying ..." | ...


class _Worker:
    def __init__(self, sender: Sender, channel: Channel) -> None:
        self.sender = sender
        self.channel = channel
        self.queue: collections.deque[tuple[Alert, int, float]] = collections.deque()
        self.cond = threading.Condition()
        self.thread = threading.Thread(target=self.run, name=f"mmdash-alerts-{channel.shown}", daemon=True)
        self._apprise = None

    def _notify(self, alert: Alert) -> tuple[bool, str]:
        import apprise

        if self._apprise is None:
            # Apprise's own log lines stay out of the process's log (a plugin may name its URL there); the
            # result's captured lines are read for an HTTP status only.
            logging.getLogger(apprise.LOGGER_NAME).propagate = False
            self._apprise = apprise.Apprise()
            self._apprise.add(self.channel.url)
        try:
            result = self._apprise.notify(alert.body, title=alert.title, notify_type=alert.notify_type,
                                          body_format=apprise.NotifyFormat.TEXT)
        except Exception as e:  # noqa: BLE001 - a plugin's bug must not end the thread
            return False, type(e).__name__
        if result:
            return True, "sent"
        why = "no answer or refused"
        for r in getattr(result, "results", []) or []:
            for line in r.logs():
                m = re.search(r"error=(\d{3})\b", str(line))
                if m:
                    why = f"HTTP {m.group(1)}"
        return False, why

    def run(self) -> None:
        s = self.sender
        while not s.stopped.is_set():
            with self.cond:
                while not s.stopped.is_set():
                    now = time.monotonic()
                    due = [i for i, (_, _, at) in enumerate(self.queue) if at <= now]
                    if due:
                        alert, attempt, _ = self.queue[due[0]]
                        del self.queue[due[0]]
                        break
                    wait = min((at for _, _, at in self.queue), default=now + 3600) - now
                    self.cond.wait(max(0.01, wait))
                else:
                    return
            ok, why = self._notify(alert)
            shown = self.channel.shown
            if ok:
                alert.outcome[shown] = "sent" if attempt == 1 else f"sent (try {attempt})"
                s.sent += 1
                continue
            if attempt >= s.attempts:
                alert.outcome[shown] = f"given up after {attempt} tries ({why})"
                s.note(f"{shown}: gave up on the {alert.event} alert of {alert.run} after {attempt} tries ({why})")
                s.failed += 1
                continue
            delay = min(s.first * 2 ** (attempt - 1), s.max_delay)
            alert.outcome[shown] = f"retrying: try {attempt} of {s.attempts} failed ({why})"
            s.note(f"{shown}: try {attempt} of {s.attempts} failed ({why}); next in {delay:g} s")
            with self.cond:
                self.queue.append((alert, attempt + 1, time.monotonic() + delay))
                self.cond.notify()


class Sender:
    """``send(alert)`` enqueues it for every channel; see the module docstring."""

    def __init__(self, channels: tuple[Channel, ...], *, attempts: int, first: float, max_delay: float,
                 on_note: Callable[[str], None] | None = None) -> None:
        self._on_note = on_note
        self.attempts, self.first, self.max_delay = attempts, first, max_delay
        self.stopped = threading.Event()
        self.history: collections.deque[Alert] = collections.deque(maxlen=HISTORY)
        self.notes: collections.deque[str] = collections.deque(maxlen=NOTES)
        self.sent = 0
        self.failed = 0
        self._workers = [_Worker(self, c) for c in channels]
        for w in self._workers:
            w.thread.start()

    def note(self, text: str) -> None:
        self.notes.append(f"{time.strftime('%H:%M:%S')} {text}")
        if self._on_note is not None:
            self._on_note(text)

    def send(self, alert: Alert) -> None:
        self.history.append(alert)
        for w in self._workers:
            alert.outcome[w.channel.shown] = "queued"
            with w.cond:
                w.queue.append((alert, 1, 0.0))
                w.cond.notify()

    def pending(self) -> int:
        return sum(len(w.queue) for w in self._workers)

    def stop(self, timeout: float = 5.0) -> None:
        self.stopped.set()
        for w in self._workers:
            with w.cond:
                w.cond.notify_all()
        for w in self._workers:
            w.thread.join(timeout)
