"""Which alerts were already raised, per run and event, kept across restarts in one small JSON file.

``{"schema": 1, "runs": {run key: {"seen": t, "events": {event key: {"at": t, "how": "sent" | "start-up"}}}}}``

A run key is ``<source id>|<run index>|<run start>`` (a log replaced by a new run with the same name is a new
run); event keys are a rule's name (``crashed``, ``finished``, a threshold rule's text) or ``stalled@<iter>``.
``how`` is ``start-up`` for what was already true when the run was first seen at start-up (or in an old log):
it pages nobody. The file is written atomically (a temporary file in the same folder, then a rename), only
when something changed; runs not seen for ``KEEP_DAYS`` are dropped. A file that cannot be read is set aside
(``.bad``) with a note, so alerts go on (at the cost of treating every run as new: no old run pages, see
``engine``).
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
import time
from pathlib import Path

SCHEMA = 1
KEEP_DAYS = 60


class AlertStore:
    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.notes: list[str] = []
        self._lock = threading.Lock()
        self._runs: dict[str, dict] = {}
        self._dirty = False
        if path is not None:
            self._load()

    def _load(self) -> None:
        assert self.path is not None
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            if not isinstance(data, dict) or data.get("schema") != SCHEMA or not isinstance(data.get("runs"), dict):
                raise ValueError("not an alerts state file of this version")
            self._runs = {k: v for k, v in data["runs"].items()
                          if isinstance(v, dict) and isinstance(v.get("events"), dict)}
        except FileNotFoundError:
            return
        except (OSError, ValueError) as e:
            bad = self.path.with_suffix(".bad")
            try:
                os.replace(self.path, bad)
            except OSError:
                pass
            self.notes.append(f"the alerts state file could not be read ({type(e).__name__}); it was set aside "
                              f"as {bad.name} and a new one started")

    def knows(self, run: str) -> bool:
        with self._lock:
            return run in self._runs

    def has(self, run: str, event: str) -> bool:
        with self._lock:
            r = self._runs.get(run)
            return r is not None and event in r["events"]

    def seen(self, run: str, now: float) -> None:
        """Note that ``run`` exists (so an event of it later is news, even after a restart)."""
        with self._lock:
            r = self._runs.get(run)
            if r is None:
                self._runs[run] = {"seen": now, "events": {}}
                self._dirty = True
            elif now - r.get("seen", 0) > 3600:  # kept fresh hourly, not at every look
                r["seen"] = now
                self._dirty = True

    def mark(self, run: str, event: str, how: str, now: float) -> None:
        with self._lock:
            r = self._runs.setdefault(run, {"seen": now, "events": {}})
            r["events"][event] = {"at": now, "how": how}
            self._dirty = True

    def save(self, now: float | None = None) -> None:
        """Write the file when something changed (atomically); drop runs not seen for ``KEEP_DAYS``."""
        if self.path is None:
            return
        now = time.time() if now is None else now
        with self._lock:
            if not self._dirty:
                return
            for k in [k for k, r in self._runs.items() if now - r.get("seen", now) > KEEP_DAYS * 86400]:
                del self._runs[k]
            text = json.dumps({"schema": SCHEMA, "runs": self._runs}, sort_keys=True)
            self._dirty = False
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".alerts-", dir=self.path.parent)
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as f:
                    f.write(text)
                    f.flush()
                    os.fsync(f.fileno())
                os.replace(tmp, self.path)
            except BaseException:
                os.unlink(tmp)
                raise
        except OSError as e:
            with self._lock:
                self._dirty = True
            note = f"the alerts state file could not be written: {e.strerror or e}"
            if note not in self.notes:
                self.notes.append(note)
