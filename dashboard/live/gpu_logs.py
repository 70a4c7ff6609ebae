"""GPU logs beside training logs: which one belongs to a run, and following it as it grows.

Which file: ``MMDASH_GPU_LOG`` (a glob relative to the training log's folder, e.g. ``gpu.csv`` or
``../gpu/*.csv``) when set, else every ``*.csv`` in the log's folder (MMEngine's timestamped folder) and in its
parent (the work_dir). Only a file whose first line is a GPU log's header (``parsers.gpu_csv.is_gpu_header``)
counts; of several, the most recently written is used and a note names how many others were left. Every open goes
through ``roots.open_inside`` (inside the log's root, never through a symlink leading out).

Following: ``GpuFollower.poll`` reads the bytes added since the last look through a fresh ``open_inside``
descriptor and feeds them to the incremental parser; a file that shrank or was replaced (another inode) is read
again from its start. Lines are read only once their newline has arrived.
"""

from __future__ import annotations

import glob
import os
import threading

from dashboard.live.roots import UnsafePath, open_inside
from parsers.gpu_csv import GpuCsvParser, is_gpu_header

ENV = "MMDASH_GPU_LOG"
READ_CHUNK = 8 * 1024 * 1024
HEAD_BYTES = 4096


def _is_gpu_log(path: str, bound: str | None) -> bool:
    try:
        fd = open_inside(path, bound)
    except (OSError, UnsafePath):
        return False
    with os.fdopen(fd, "rb") as f:
        head = f.read(HEAD_BYTES)
    return bool(head) and is_gpu_header(head.split(b"\n", 1)[0])


def find_gpu_logs(log_path: str, bound: str | None = None, pattern: str | None = None) -> list[str]:
    """GPU logs for the training log at ``log_path``, newest first (see the module docstring)."""
    folder = os.path.dirname(os.path.abspath(log_path))
    pattern = pattern if pattern is not None else os.environ.get(ENV, "").strip() or None
    if pattern:
        candidates = glob.glob(os.path.join(folder, pattern))
    else:
        candidates = [*glob.glob(os.path.join(folder, "*.csv")),
                      *glob.glob(os.path.join(os.path.dirname(folder), "*.csv"))]
    found = []
    for c in sorted(set(candidates)):
        if os.path.isfile(c) and _is_gpu_log(c, bound):
            try:
                found.append((os.stat(c).st_mtime, c))
            except OSError:
                continue
    return [c for _, c in sorted(found, reverse=True)]


class GpuFollower:
    """One GPU log followed incrementally (thread-safe)."""

    def __init__(self, path: str, bound: str | None = None) -> None:
        self.path = path
        self.bound = bound
        self.parser = GpuCsvParser()
        self.offset = 0
        self.ident: tuple[int, int] | None = None
        self.restarts = 0
        self.error: str | None = None
        self.lock = threading.RLock()

    def poll(self) -> bool:
        """Read what was added; True when rows or notes may have changed."""
        with self.lock:
            try:
                fd = open_inside(self.path, self.bound)
            except (OSError, UnsafePath) as e:
                self.error = f"the GPU log cannot be read: {e}"
                return False
            self.error = None
            with os.fdopen(fd, "rb") as f:
                st = os.fstat(f.fileno())
                ident = (st.st_dev, st.st_ino)
                if self.ident is not None and (ident != self.ident or st.st_size < self.offset):
                    self.parser = GpuCsvParser()
                    self.offset = 0
                    self.restarts += 1
                self.ident = ident
                if st.st_size == self.offset:
                    return False
                f.seek(self.offset)
                while chunk := f.read(READ_CHUNK):
                    self.parser.feed(chunk)
                    self.offset += len(chunk)
            return True

    def snapshot(self) -> tuple:
        """Poll, then ``(rows so far, notes, fingerprint)`` read under the follower's lock."""
        self.poll()
        with self.lock:
            return self.parser.table(), self.notes(), self.fingerprint()

    def fingerprint(self) -> tuple:
        return (self.path, self.ident, self.offset, self.restarts)

    def notes(self) -> list[str]:
        out = self.parser.notes()
        if self.error:
            out.insert(0, self.error)
        return out
