"""Several runs of one experiment -> one continuous run with restart markers.

Used for the timestamped folders of one work_dir (a crash, then ``resume=True``), several files a
user uploads together, or the runs of one ``tee -a`` file. Runs are taken in time order (first
timestamp, else the given order). When a later run starts at or before the iteration an earlier one
reached (it resumed from an older checkpoint), the earlier run's records from that iteration on
are dropped: they were rolled back and trained again. Every join leaves an Event ``restart`` with
``data = {"iter": first iteration of the new part, "from_run": index, "rolled_back": count}``.
"""

from __future__ import annotations

import copy
import math
from dataclasses import fields

from parsers import Event, Run
from parsers.records import HeaderFacts


def _start_time(run: Run) -> float:
    for ts in run.train.timestamps:
        if ts == ts:
            return ts
    for e in run.evals:
        if e.timestamp is not None:
            return e.timestamp
    return math.inf


def _merge_headers(runs: list[Run]) -> HeaderFacts:
    h = copy.deepcopy(runs[-1].header)
    for older in reversed(runs[:-1]):
        for f in fields(HeaderFacts):
            if f.name in ("sources", "gpu_names"):
                continue
            if getattr(h, f.name) is None and getattr(older.header, f.name) is not None:
                setattr(h, f.name, getattr(older.header, f.name))
                if f.name in older.header.sources:
                    h.sources[f.name] = older.header.sources[f.name]
        if not h.gpu_names:
            h.gpu_names = list(older.header.gpu_names)
    return h


def combine(runs: list[Run], *, sort_by_time: bool = True) -> Run:
    """One run made of ``runs`` (which are not modified)."""
    useful = [r for r in runs if len(r.train) or r.evals or r.events]
    if not useful:
        return copy.deepcopy(runs[0]) if runs else Run(index=0, format="combined", start_line=1)
    if sort_by_time:
        useful = sorted(useful, key=lambda r: (_start_time(r), useful.index(r)))
    out = Run(index=0, format=useful[0].format, start_line=useful[0].start_line, started_by="combined runs")
    out.header = _merge_headers(useful)
    t = out.train
    for k, run in enumerate(useful):
        src = run.train
        first = src.iters[0] if len(src) else None
        rolled = 0
        if k and first is not None and len(t) and first <= t.iters[-1]:
            rolled = _truncate_from(out, first)
        if k:
            out.events.append(Event("restart", run.start_line, _start_time(run) if _start_time(run) < math.inf
                                    else None, f"run {run.index} ({run.started_by}) continues",
                                    {"iter": first, "from_run": run.index, "rolled_back": rolled}))
        cols = src.columns()
        present = {name: src.present(name).tolist() for name in cols}
        for i in range(len(src)):
            values = {}
            for name, col in cols.items():
                if present[name][i]:
                    values[name] = col[i]
            t.append(src.iters[i], src.max_iters[i], src.epochs[i], src.iters_in_epoch[i], src.iters_per_epoch[i],
                     src.timestamps[i], src.etas[i], src.line_nos[i], values)
        out.evals.extend(run.evals)
        out.events.extend(run.events)
        out.unparsed.count += run.unparsed.count
        out.unparsed.examples.extend(run.unparsed.examples[: max(0, 50 - len(out.unparsed.examples))])
        out.line_kinds.update(run.line_kinds)
        out.end_line = run.end_line
    # The combined span: from the earliest first time stamp to the latest last one (timing.span).
    firsts = [r.first_timestamp for r in useful if r.first_timestamp is not None]
    lasts = [r.last_timestamp for r in useful if r.last_timestamp is not None]
    out.first_timestamp, out.last_timestamp = (min(firsts), max(lasts)) if firsts and lasts else (None, None)
    return out


def _truncate_from(run: Run, first_iter: int) -> int:
    """Drop train records with iteration >= first_iter (they were rolled back by a resume)."""
    t = run.train
    keep = 0
    while keep < len(t) and t.iters[keep] < first_iter:
        keep += 1
    dropped = len(t) - keep
    if dropped:
        for arr in (t.iters, t.max_iters, t.epochs, t.iters_in_epoch, t.iters_per_epoch, t.timestamps, t.etas,
                    t.line_nos):
            del arr[keep:]
        for name in t.field_names:
            del t.column(name)[keep:]
        t.logged_nan = {(n, i) for n, i in t.logged_nan if i < keep}
    return dropped
