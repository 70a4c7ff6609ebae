"""A work_dir's timestamped folders that are one resumed run (a crash, then ``resume=True``: MMEngine starts a new
``<work_dir>/<YYYYMMDD_HHMMSS>/`` folder and log), from their names and first runs alone: no watcher, no pandas,
so ``python -m dashboard report`` uses it too (``dashboard.views.joined`` joins the groups for the pages).

Which folders are one run (``resumed_groups``): the text logs (``<stamp>/<stamp>.log``) of one work_dir in time
order; a folder whose first run resumed (it logs MMEngine's ``resumed ... iter`` line) continues the folder before
it; a folder that did not resume starts a new run. Only groups of two or more folders are joined.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from dashboard.live.discovery import layout_of
from parsers import Run, parse_path


@dataclass(frozen=True)
class Folder:
    """The text log of one timestamped run folder."""

    source_id: str
    work_dir: str
    timestamp: str
    resumed: bool  # its first run resumed an earlier one


def resumed_groups(folders: Sequence[Folder]) -> list[list[str]]:
    """Source ids of the folders that are one resumed run, each group in time order (see the module docstring)."""
    by_dir: dict[str, list[Folder]] = defaultdict(list)
    for f in folders:
        by_dir[f.work_dir].append(f)
    out: list[list[str]] = []
    for work_dir in sorted(by_dir):
        group: list[Folder] = []
        for f in sorted(by_dir[work_dir], key=lambda f: (f.timestamp, f.source_id)):
            if group and not f.resumed:
                out.append([g.source_id for g in group])
                group = []
            group.append(f)
        out.append([g.source_id for g in group])
    return [g for g in out if len(g) > 1]


def earlier_launches(path: str | os.PathLike, resumed: bool) -> list[Run]:
    """The runs of the earlier launches that the log at ``path`` (``<work_dir>/<stamp>/<stamp>.log``, whose first
    run ``resumed`` or not) continues, oldest first, read from disk (``report``; the dashboard takes them from its
    watcher instead, ``AppState``): ``walk_back`` over its work_dir's earlier timestamped folders. [] when the log
    is not in a work_dir's timestamped layout or did not resume."""
    p = Path(path)
    layout = layout_of(f"{p.parent.parent.name}/{p.parent.name}/{p.name}")
    if not resumed or layout is None or layout.role != "text":
        return []
    work_dir = p.parent.parent
    stamps = sorted((d.name for d in work_dir.iterdir()
                     if d.name < layout.timestamp and (d / f"{d.name}.log").is_file()
                     and layout_of(f"x/{d.name}/{d.name}.log") is not None), reverse=True)

    def loader(stamp: str):
        def load() -> list[Run] | None:
            try:
                return parse_path(work_dir / stamp / f"{stamp}.log").runs
            except (OSError, ValueError):
                return None
        return load

    return walk_back(resumed, [loader(s) for s in stamps])


def walk_back(resumed: bool, earlier_folders: Sequence) -> list[Run]:
    """The one rule for which earlier folders a log continues (``resumed_groups``' rule, walked backwards): given
    loaders of its work_dir's earlier timestamped folders, newest first, the runs of each folder, oldest first
    overall, up to and including the first folder whose first run did not resume; a loader that returns None (a
    folder that cannot be read, or is not read yet) ends the walk there. [] when the log did not resume."""
    if not resumed:
        return []
    out: list[Run] = []
    for load in earlier_folders:
        runs = load()
        if runs is None:
            break
        out[:0] = runs
        if not (runs and runs[0].resumed_from_iter is not None):
            break
    return out


def earlier_of(runs: Sequence[Run], index: int, folders: Sequence[Run]) -> list[Run]:
    """The earlier launches of run ``index`` of one log, whose measured pauses its ETA uses: the earlier folders'
    runs (``folders``, for the log's first run) and the log's own earlier runs, when that run resumed."""
    if (index == 0 and folders) or runs[index].resumed_from_iter is not None:
        return [*folders, *runs[:index]]
    return []
