"""Placeholder plumbing shared by the pages until the watcher (``dashboard.watcher``) and the root
checks (``dashboard.roots``) are wired in: configured roots, log listing, safe id resolution, and a
parse cache keyed on ``(path, size, mtime)``.

Security invariant: ``resolve`` returns a file only when the id passes
``url_state.check_source_id`` *and* its realpath lies inside the realpath of the named root
(``os.path.commonpath``, not a string prefix) *and* it is a regular file with a log suffix.
Symlinks are followed by realpath, so a link that points out of its root is refused.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import numpy as np
import pandas as pd
import streamlit as st

from dashboard.url_state import check_source_id
from parsers import ParsedLog, Run, parse_path

REPO = Path(__file__).resolve().parents[2]
DEFAULT_ROOT = REPO / "sample_logs"
LOG_SUFFIXES = (".log", ".json", ".log.gz", ".json.gz")
MAX_FILES = 2000


@dataclass(frozen=True)
class Root:
    label: str  # first component of every source id under this root
    path: str  # realpath of the directory
    exists: bool


@dataclass(frozen=True)
class LogFile:
    id: str  # "<root label>/<relative posix path>"
    path: str  # realpath
    size: int
    mtime_ns: int


def configured_roots() -> list[Root]:
    """Roots from ``MMDASH_ROOTS`` (``os.pathsep``-separated), default ``sample_logs`` of the repo.

    Each root is labelled by its directory name; repeated names get ``-2``, ``-3``...
    """
    raw = os.environ.get("MMDASH_ROOTS", "")
    entries = [e for e in raw.split(os.pathsep) if e.strip()] or [str(DEFAULT_ROOT)]
    roots: list[Root] = []
    seen: set[str] = set()
    for entry in entries:
        real = os.path.realpath(os.path.expanduser(entry))
        base = os.path.basename(real.rstrip(os.sep)) or "root"
        label, k = base, 2
        while label in seen:
            label, k = f"{base}-{k}", k + 1
        seen.add(label)
        roots.append(Root(label=label, path=real, exists=os.path.isdir(real)))
    return roots


def _inside(root: str, path: str) -> bool:
    try:
        return os.path.commonpath([root, path]) == root
    except ValueError:  # different drives, or a mix of absolute and relative paths
        return False


def is_log_name(name: str) -> bool:
    return name.lower().endswith(LOG_SUFFIXES)


def list_logs(roots: list[Root]) -> list[LogFile]:
    """Log files under the roots (hidden directories skipped, symlinks leaving a root skipped)."""
    out: list[LogFile] = []
    for root in roots:
        if not root.exists:
            continue
        for dirpath, dirnames, filenames in os.walk(root.path, followlinks=False):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
            for name in sorted(filenames):
                if not is_log_name(name) or name.startswith("."):
                    continue
                full = os.path.join(dirpath, name)
                real = os.path.realpath(full)
                if not _inside(root.path, real):
                    continue
                try:
                    st_ = os.stat(real)
                except OSError:
                    continue
                rel = os.path.relpath(full, root.path).replace(os.sep, "/")
                out.append(LogFile(f"{root.label}/{rel}", real, st_.st_size, st_.st_mtime_ns))
                if len(out) >= MAX_FILES:
                    return out
    return out


def resolve(source_id: str, roots: list[Root]) -> tuple[LogFile | None, str | None]:
    """The log file a source id names, or ``(None, reason)``. See the module invariant."""
    reason = check_source_id(source_id)
    if reason:
        return None, f"the run id {reason}"
    label, _, rel = source_id.partition("/")
    if not rel:
        return None, "the run id names no file inside a root"
    root = next((r for r in roots if r.label == label and r.exists), None)
    if root is None:
        return None, "the run id does not start with a configured root"
    real = os.path.realpath(os.path.join(root.path, rel))
    if not _inside(root.path, real):
        return None, "the run id leads outside its root"
    if not is_log_name(os.path.basename(real)) or not os.path.isfile(real):
        return None, "the run id is not a log file"
    try:
        st_ = os.stat(real)
    except OSError:
        return None, "the log file cannot be read"
    return LogFile(source_id, real, st_.st_size, st_.st_mtime_ns), None


@st.cache_data(max_entries=64, show_spinner="Parsing log…")
def parse_cached(path: str, size: int, mtime_ns: int) -> ParsedLog:
    """``parse_path`` cached on (path, size, mtime): a changed file is parsed again."""
    del size, mtime_ns  # cache key only
    return parse_path(path)


@st.cache_data(max_entries=4096, show_spinner=False)
def file_summary(path: str, size: int, mtime_ns: int) -> dict[str, object]:
    """format, runs, N and last iteration of one file (errors reported, not raised)."""
    try:
        parsed = parse_cached(path, size, mtime_ns)
    except Exception as e:  # any unreadable or hostile file must not break the list
        return {"format": f"error: {type(e).__name__}", "runs": 0, "N": None, "last iter": None}
    run = main_run(parsed)
    return {
        "format": parsed.format or "unknown",
        "runs": len(parsed.runs),
        "N": run.max_iters if run is not None else None,
        "last iter": run.last_iter if run is not None else None,
    }


def main_run(parsed: ParsedLog) -> Run | None:
    """The run shown by default: the last one with train records, else the last one."""
    for run in reversed(parsed.runs):
        if len(run.train):
            return run
    return parsed.runs[-1] if parsed.runs else None


def run_link(source_id: str) -> str:
    """Relative URL of the run page for a source id."""
    return "run?run=" + quote(source_id, safe="/")


def epoch_end_iters(frame: pd.DataFrame) -> list[int]:
    """Last logged iteration of every epoch that was followed by another (placeholder for the
    analysis module's exact ``epoch_ends``)."""
    if frame.empty:
        return []
    ep = frame["epoch"].to_numpy(dtype=np.float64)
    it = frame["iter"].to_numpy()
    change = np.flatnonzero(np.isfinite(ep[1:]) & np.isfinite(ep[:-1]) & (ep[1:] > ep[:-1]))
    return [int(it[i]) for i in change]
