"""Discovery for one log root: which files under it are logs to follow, found by listing and by events.

A ``RootScan`` walks its root (``discovery.walk``), judges each candidate (``discovery.sniff_file`` and the
work_dir layout) and hands every log to ``follow`` (the registry). It remembers, between looks:

- ``dirs``: every directory listed, with its mtime then; a poll lists again only directories whose mtime moved
  (a *shallow* scan), and every ``full_rescan_interval`` seconds the whole root (a file added by a tool that
  keeps directory mtimes, or a directory whose listing failed once);
- ``pending``: text files not yet decided (no MMEngine line within the sniff window so far), with their
  (device, inode, size): judged again when that changes;
- ``rejected``: files judged not to be logs (binary, not a log, a ``vis_data`` duplicate): not judged again
  until replaced or truncated;
- ``notes``: what was skipped and why (bounded, no repeats), for the status panel.

Invariants: a path is judged only while it is not followed (``skip``); a file symlink is followed only when its
target is inside the root, and a file is read for judging only through ``roots.open_inside`` (inside the root at
that open, whatever it was when listed); checkpoints are skipped by name without being opened; a single-file root
(``LogRoot.single_file``) follows exactly that file, whatever its content, and lists nothing. Nothing here raises
for a file that vanished or cannot be read (it is forgotten or noted).

Failure modes: a file created within the same mtime tick as the last listing of its directory (coarse mtimes,
NFS attribute caching) is found by its event, or else only by the next full rescan, up to
``full_rescan_interval`` later. A rejected file is not judged again while it only grows (same inode, size not
smaller), so a log whose first 16 KiB look binary or carry no MMEngine line is not followed.
"""

from __future__ import annotations

import os
import stat as _stat
from collections.abc import Callable

from dashboard.live import discovery as disc
from dashboard.live.roots import LogRoot, UnsafePath, resolve_under_root

MAX_ROOT_NOTES = 100

FollowFn = Callable[[LogRoot, str, str, disc.Verdict, "disc.Layout | None"], None]


class RootScan:
    """Discovery state of one root; see the module docstring. Used by the watcher's worker only."""

    def __init__(self, root: LogRoot, index: int, *, full_rescan_interval: float,
                 skip: Callable[[str], bool], follow: FollowFn) -> None:
        self.root = root
        self.index = index
        self.full_rescan_interval = full_rescan_interval
        self._skip = skip  # True for a path that must not be judged (followed already, or stopping)
        self._follow = follow
        self.real = ""
        self.ident: tuple[int, int] | None = None
        self.problem: str | None = "not scanned yet"
        self.next_full = 0.0
        self.dirs: dict[str, int] = {}  # directory -> mtime_ns when last listed
        self.pending: dict[str, tuple[int, int, int]] = {}  # undecided file -> (dev, ino, size)
        self.rejected: dict[str, tuple[int, int, int]] = {}
        self.notes: list[str] = []

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)
            del self.notes[:-MAX_ROOT_NOTES]

    def inside(self, path: str) -> bool:
        return path.startswith(self.real.rstrip(os.sep) + os.sep)

    # -- the root directory itself --
    def enclosing(self, others: list[RootScan]) -> RootScan | None:
        """Another directory root that contains this one (or is the same directory and comes first)."""
        if self.root.single_file is not None:
            return None
        real = self.root.realpath()
        for other in others:
            if other is self or other.root.single_file is not None:
                continue
            other_real = other.root.realpath()
            if not os.path.isdir(other_real):
                continue
            if (real == other_real and other.index < self.index) or real.startswith(other_real.rstrip(os.sep) + os.sep):
                return other
        return None

    def start_over(self, now: float) -> None:
        """Take the root as it is now (real path, identity), forgetting the directories listed before; the
        caller then lists it (``scan(real)``), after its events are scheduled so that nothing falls between."""
        self.real = self.root.realpath()
        st = os.stat(self.real)
        self.ident = (st.st_dev, st.st_ino)
        self.problem = None
        self.dirs.clear()
        self.next_full = now + self.full_rescan_interval

    def moved(self) -> bool:
        """The root's path no longer leads to the directory listed (deleted, replaced, unmounted)."""
        try:
            st = os.stat(self.real)
            ident = (st.st_dev, st.st_ino)
        except OSError:
            ident = None
        return ident != self.ident

    # -- looking again --
    def rescan(self, now: float) -> None:
        """The poll's listing: the whole root when a full rescan is due, else the directories whose mtime moved."""
        if self.root.single_file is not None:
            return
        if now >= self.next_full:
            self.next_full = now + self.full_rescan_interval
            self.scan(self.real)
            return
        changed = []
        for d, mtime in list(self.dirs.items()):
            try:
                m = os.stat(d).st_mtime_ns
            except OSError:
                self.dirs.pop(d, None)
                continue
            if m != mtime:
                changed.append(d)
        for d in changed:
            self.scan(d, shallow=True)

    def recheck_pending(self) -> None:
        """Judge again the undecided files that changed (grew, or were replaced); forget vanished ones."""
        for p, key in list(self.pending.items()):
            try:
                st = os.stat(p)
            except OSError:
                self.pending.pop(p, None)
                continue
            if (st.st_dev, st.st_ino, st.st_size) != key:
                self.consider(p)

    def dir_appeared(self, d: str) -> None:
        """An event said directory ``d`` was created or moved in."""
        if self.problem is None and self.root.single_file is None and self.inside(d):
            self.scan(d)

    def dir_gone(self, d: str) -> None:
        """An event said directory ``d`` was deleted or moved away: forget it and what is below it."""
        prefix = d.rstrip(os.sep) + os.sep
        for p in [p for p in self.dirs if p == d or p.startswith(prefix)]:
            del self.dirs[p]

    def path_changed(self, p: str) -> None:
        """An event named ``p``, which is not followed: a new directory is listed, a file judged."""
        if not self.inside(p):
            return
        if os.path.isdir(p):
            if self.root.single_file is None:
                self.scan(p)
        else:
            self.consider(p)

    # -- listing and judging --
    def scan(self, top: str, *, shallow: bool = False) -> None:
        """Judge every candidate file under ``top``; ``shallow`` does not enter directories listed before."""
        if self.root.single_file is not None:
            self.consider(os.path.join(self.real, self.root.single_file))
            return
        known = set(self.dirs) if shallow else set()

        def on_dir(d: str, mtime: int) -> None:
            self.dirs[d] = mtime

        def on_error(d: str, e: OSError) -> None:
            rel = os.path.relpath(d, self.real)
            self.note(f"{self.root.label}: cannot list {rel}: {e.strerror or e}")

        for entry in disc.walk(top, self.real, on_dir=on_dir, on_error=on_error,
                               enter=(lambda d: d not in known) if shallow else None):
            self.consider(entry.path, entry)

    def consider(self, path: str, entry: disc.Entry | None = None) -> None:
        """Decide whether a file is a log to follow; remembers undecided and rejected files."""
        if self._skip(path):
            return
        rel = entry.relative if entry is not None else os.path.relpath(path, self.real).replace(os.sep, "/")
        name = os.path.basename(path)
        single = self.root.single_file
        if single is not None:
            if name != single or os.path.dirname(path) != self.real.rstrip(os.sep):
                return
            self._follow(self.root, path, rel, disc.Verdict(disc.LOG, kind=None, reason="named on the command line"),
                         None)
            return
        if not disc.has_log_suffix(name) or disc.has_binary_suffix(name):
            return
        is_link = entry.is_symlink if entry is not None else os.path.islink(path)
        if is_link:
            try:
                resolve_under_root(self.real, rel)
            except UnsafePath:
                self.note(f"{self.root.label}: skipped {rel}: a symlink that leads outside the root")
                return
        try:
            st = os.stat(path)
        except OSError:
            self.pending.pop(path, None)
            return
        if not _stat.S_ISREG(st.st_mode):
            return
        key = (st.st_dev, st.st_ino, st.st_size)
        rejected = self.rejected.get(path)
        if rejected is not None:
            if rejected[:2] == key[:2] and key[2] >= rejected[2]:
                return
            del self.rejected[path]
        if self.pending.get(path) == key:
            return
        if disc.is_vis_data_duplicate(path):
            self.rejected[path] = key
            return
        layout = disc.layout_of(rel)
        verdict = disc.sniff_file(path, layout=layout, bound=self.real)
        status = verdict.status
        if status == disc.LOG:
            self.pending.pop(path, None)
            self._follow(self.root, path, rel, verdict, layout)
        elif status == disc.UNDECIDED:
            self.pending[path] = key
        elif status == disc.GONE:
            self.pending.pop(path, None)
        else:
            self.pending.pop(path, None)
            self.rejected[path] = key
            if status in (disc.BINARY, disc.UNREADABLE):
                self.note(f"{self.root.label}: skipped {rel}: {verdict.reason}")
