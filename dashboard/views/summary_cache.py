"""The Runs page's summaries kept on disk, so a restart neither parses nor summarizes a log that did not change.

One file per log in the user cache directory (``platformdirs.user_cache_dir("mmdash")/summaries``, or
``MMDASH_CACHE_DIR``; ``MMDASH_CACHE_DIR=off`` turns the cache off), named by a hash of the log's path. An entry
holds the log's path, its source id, its size and mtime (nanoseconds) when it was summarized, the code version,
and every run's ``(RunSummary, median seconds between log lines)`` as ``AppState.run_summaries`` returns them
(computed with ``live=False``: they do not depend on the clock).

An entry is used only when all of these match: the path, the file's size and mtime now, and ``code_version()``:
a hash of the source of ``parsers/`` and ``dashboard/analysis/`` (everything that turns bytes into a summary)
with this module's ``FORMAT`` and the Python version, so any change to the parser or the analysis makes every
entry stale by itself. Writes are atomic (a temporary file in the same directory, then ``os.replace``), so a
crash leaves the old entry or the new one, never half of one. An entry that cannot be read (truncated, not a
pickle, another format) is ignored, with a note, and written again later.

The entries are pickles (the classes of ``dashboard.analysis``) in a directory created for the user alone
(mode 0700): loading one is as safe as running the user's own code, as for any cache of this user's. Entries
not used for ``MAX_AGE_DAYS`` are deleted when the cache is opened.
"""

from __future__ import annotations

import os
import pickle
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from dashboard.live.parse_cache import CacheFolder, cache_base, code_hash
from parsers.trust import untrusted

FORMAT = 1
MAX_AGE_DAYS = 60
_CODE_DIRS = ("parsers", "dashboard/analysis")


def code_version() -> str:
    """A hash of what turns a log into its summaries: the source of ``parsers/`` and ``dashboard/analysis/``."""
    return code_hash(_CODE_DIRS, f"format {FORMAT}")


@dataclass(frozen=True)
class Entry:
    path: str
    source_id: str
    size: int
    mtime_ns: int
    summaries: tuple  # ((RunSummary, float | None), ...)


def default_dir(environ: Mapping[str, str] | None = None) -> Path | None:
    """Where the cache lives (None: off)."""
    base = cache_base(environ)
    return None if base is None else base / "summaries"


class SummaryCache(CacheFolder):
    """Entries by log path; see the module docstring. Thread-safe."""

    what = "summary cache"
    suffix = ".pkl"

    def __init__(self, directory: str | os.PathLike, *, version: str | None = None) -> None:
        super().__init__(directory, version if version is not None else code_version())
        if self.usable:
            self._prune()

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> SummaryCache | None:
        d = default_dir(environ)
        return None if d is None else cls(d)


    def get(self, path: str, st: os.stat_result) -> Entry | None:
        """The entry of the log at ``path`` when it is still valid for its stat ``st``, else None."""
        f = self._file(path)
        if not self.usable:
            self.misses += 1
            return None
        try:
            with open(f, "rb") as fh:
                why = untrusted(os.fstat(fh.fileno()))
                if why:
                    self._note(f"summary cache: {f.name} is {why}: not loaded, the log is read again")
                    self.misses += 1
                    return None
                data = pickle.load(fh)
        except FileNotFoundError:
            self.misses += 1
            return None
        except Exception as e:  # noqa: BLE001 - anything a damaged file can raise: ignore it, say so
            self._note(f"summary cache: {f.name} could not be read ({type(e).__name__}): ignored, the log is "
                       "read again")
            self.misses += 1
            return None
        ok = (isinstance(data, dict) and data.get("format") == FORMAT and data.get("version") == self.version
              and data.get("path") == path and data.get("size") == st.st_size
              and data.get("mtime_ns") == st.st_mtime_ns and isinstance(data.get("summaries"), (list, tuple)))
        if not ok:
            self.misses += 1
            return None
        self._hit(f)
        return Entry(path, str(data.get("source_id")), st.st_size, st.st_mtime_ns, tuple(data["summaries"]))

    def put(self, path: str, source_id: str, st: os.stat_result, summaries: Sequence) -> bool:
        """Store the summaries of the log at ``path`` as it was at stat ``st`` (atomically); False on failure."""
        if not self.usable:
            return False
        data = {"format": FORMAT, "version": self.version, "path": path, "source_id": source_id,
                "size": st.st_size, "mtime_ns": st.st_mtime_ns, "summaries": list(summaries),
                "written_at": time.time()}
        # False on a full disk or a read-only cache: the page works without it.
        return self._replace(self._file(path), lambda fh: pickle.dump(data, fh, protocol=pickle.HIGHEST_PROTOCOL))

    def _prune(self) -> None:
        """Delete entries not used for ``MAX_AGE_DAYS`` and temporary files a crash left behind."""
        cutoff = time.time() - MAX_AGE_DAYS * 86400
        try:
            names = os.listdir(self.dir)
        except OSError:
            return
        for name in names:
            p = self.dir / name
            try:
                st = p.stat()
                if (name.startswith(".tmp-") and st.st_mtime < time.time() - 3600) or st.st_mtime < cutoff:
                    p.unlink()
            except OSError:
                pass

