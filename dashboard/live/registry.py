"""The registry of followed logs: one ``Source`` per log file found under a root, each with its own tailer.

The tailer is made by a factory the watcher is given (``tailer_factory(path, root=bound)``, ``tailer.Tailer`` by
default), as TensorBoard's ``DirectoryWatcher`` takes a ``loader_factory``; ``bound`` is the real path every open
of the file must stay inside (``LogRoot.bound``). The registry needs only what ``FollowedFile`` lists, so tests can
hand in a small fake that reads nothing.

Invariants:

- A source id is ``<root label>/<path relative to the root>`` (``LogRoot.source_id``), never absolute. One id
  and one path give one ``Source`` and one tailer for the life of the watcher: a file that is deleted stays
  registered (``exists`` False, no runs) and, when it comes back, is the same source, whose tailer starts a new
  generation; so its id and ``version`` keep counting.
- Only the watcher's worker adds sources or calls ``look`` (so each file has one reader); any thread may list
  or get them. A reader of a source's ``runs`` holds that source's ``lock``.
- ``on_change`` (the watcher's global version) is called after a source's own version grew, never before.
- A tailer that refuses its file (``refused``: the path now leads outside the root) has it dropped: no runs,
  ``exists`` False, so it is not listed; ``on_note(source, reason)`` tells the watcher, whose notes show it.

Failure mode: a tailer that raises from ``poll`` would stop the worker's pass at that file; the real
``Tailer.poll`` never raises (it keeps the error as a note), and a fake must not either.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from dashboard.live.discovery import Layout, Verdict
from dashboard.live.roots import LogRoot
from dashboard.live.tailer import Restart
from parsers import Run


class FollowedFile(Protocol):
    """What the watcher and its readers use of a tailer (``tailer.Tailer`` has all of it)."""

    lock: threading.RLock
    version: int  # grows whenever what a reader sees changes
    generation: int  # grows when the file is replaced, truncated or rewritten
    size: int
    exists: bool
    last_growth_at: float | None
    restarts: list[Restart]
    behind: bool  # the last look stopped at its read budget with more to read
    refused: str | None  # why the file at the path is not read now (it leads outside the root), else None

    @property
    def runs(self) -> list[Run]: ...

    @property
    def notes(self) -> list[str]: ...

    def poll(self, *, force: bool = False) -> bool:
        """Look at the file once; True when ``version`` changed. Never raises."""


TailerFactory = Callable[..., FollowedFile]  # (path, *, root=bound) -> FollowedFile


@dataclass
class Source:
    """One followed log file and where it sits. The live state is in ``tailer`` (see properties)."""

    id: str
    root: LogRoot
    relative: str  # "/"-separated, relative to the root
    path: str  # absolute; for opening, never for URLs
    kind: str | None  # discovery's verdict kind: mmengine-text, mmcv-text, scalars-json, mmcv-json, text
    gzip: bool
    layout: Layout | None
    tailer: FollowedFile
    discovered_at: float = field(default_factory=time.time)

    @property
    def lock(self) -> threading.RLock:
        return self.tailer.lock

    @property
    def runs(self) -> list[Run]:
        """The parser's runs (current generation); hold ``lock`` while reading them."""
        return self.tailer.runs

    @property
    def version(self) -> int:
        return self.tailer.version

    @property
    def generation(self) -> int:
        return self.tailer.generation

    @property
    def size(self) -> int:
        return self.tailer.size

    @property
    def exists(self) -> bool:
        return self.tailer.exists

    @property
    def last_growth_at(self) -> float | None:
        return self.tailer.last_growth_at

    @property
    def restarts(self) -> list[Restart]:
        return list(self.tailer.restarts)

    @property
    def notes(self) -> list[str]:
        """What went wrong or was skipped while following (read errors, binary content, size limit)."""
        return self.tailer.notes

    @property
    def parse_errors(self) -> int:
        """Lines of the current generation no parser rule understood."""
        with self.lock:
            return sum(r.unparsed.count for r in self.tailer.runs)


class Registry:
    """The followed logs by id and by path; see the module docstring."""

    def __init__(self, tailer_factory: TailerFactory, on_change: Callable[[], None],
                 on_note: Callable[[Source, str], None] | None = None) -> None:
        self._factory = tailer_factory
        self._on_change = on_change
        self._on_note = on_note
        self._lock = threading.Lock()  # guards the two maps for readers on other threads
        self._by_id: dict[str, Source] = {}
        self._by_path: dict[str, Source] = {}

    # -- any thread --
    def get(self, source_id: str) -> Source | None:
        with self._lock:
            return self._by_id.get(source_id)

    def all(self, *, include_missing: bool = False) -> list[Source]:
        """Every source, sorted by id; deleted files only with ``include_missing``."""
        with self._lock:
            items = list(self._by_id.values())
        return sorted((s for s in items if include_missing or s.exists), key=lambda s: s.id)

    # -- the worker --
    def at(self, path: str) -> Source | None:
        return self._by_path.get(path)

    def paths(self) -> list[str]:
        """Every followed path, in the order they were found."""
        return list(self._by_path)

    def under(self, root: LogRoot, directory: str) -> list[Source]:
        """The sources of ``root`` at ``directory`` or below it."""
        prefix = directory.rstrip(os.sep) + os.sep
        with self._lock:
            return [s for s in self._by_id.values()
                    if s.root is root and (s.path == directory or s.path.startswith(prefix))]

    def roots_behind(self) -> list[LogRoot]:
        """Roots with a source whose last look stopped at its read budget."""
        with self._lock:
            return [s.root for s in self._by_id.values() if s.tailer.behind]

    def follow(self, root: LogRoot, path: str, relative: str, verdict: Verdict, layout: Layout | None) -> None:
        """Register the log at ``path`` (unless its id is known) and read it for the first time."""
        source_id = root.source_id(relative)
        if self.get(source_id) is not None:  # only the worker adds: nothing can come in between
            return
        src = Source(id=source_id, root=root, relative=relative, path=path, kind=verdict.kind, gzip=verdict.gzip,
                     layout=layout, tailer=self._factory(path, root=root.bound(path)))
        with self._lock:
            self._by_id[source_id] = src
            self._by_path[path] = src
        src.tailer.poll(force=True)
        self._check_refused(src)
        self._on_change()

    def look(self, src: Source, *, force: bool) -> bool:
        """Let the source's tailer look at its file; True (and ``on_change``) when its version changed."""
        changed = src.tailer.poll(force=force)
        self._check_refused(src)
        if changed:
            self._on_change()
        return changed

    def close(self) -> None:
        """Let every tailer close the descriptor it keeps between looks (call once the worker has stopped)."""
        with self._lock:
            items = list(self._by_id.values())
        for src in items:
            close = getattr(src.tailer, "close", None)
            if close is not None:
                close()

    def _check_refused(self, src: Source) -> None:
        why = getattr(src.tailer, "refused", None)
        if why and self._on_note is not None:
            self._on_note(src, why)
