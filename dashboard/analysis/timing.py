"""Time and throughput figures of a run, from its columnar train records.

Definitions:
- the run's span (``span``): from its first to its last time-stamped line (the log's own clock), header,
  validation and a crash's last words included; without any (a JSON log has none): from the first to the last
  train record with a time stamp. ``started_ts`` / ``ended_ts`` are its ends.
- ``wall_seconds``: ``ended_ts - started_ts``, the same span (None when it is empty).
- ``compute_seconds``: sum over records of ``time`` x iterations since the previous record: MMEngine's
  ``time`` is a mean over the window of iterations since the last log line, so this approximates the
  seconds spent in iterations. The first record counts ``time`` x its iteration count since the run's
  first iteration (or one interval after a resume).
- ``gap_seconds`` = wall - compute: validation, checkpoint saving, restarts.
- per-iteration statistics (median, p90) are over the logged ``time`` values.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from parsers import Run
from parsers.records import int_column


def column(run: Run, name: str) -> np.ndarray | None:
    """A zero-copy float64 view of a train field (None when the run never logged it)."""
    if name not in run.train.field_names:
        return None
    return np.frombuffer(run.train.column(name), dtype=np.float64)


def iters(run: Run) -> np.ndarray:
    return int_column(run.train.iters)


def timestamps(run: Run) -> np.ndarray:
    return np.frombuffer(run.train.timestamps, dtype=np.float64)


def span(run: Run) -> tuple[float | None, float | None]:
    """The first and last time stamp of the run (see the module docstring); (None, None) without any."""
    t0, t1 = run.first_timestamp, run.last_timestamp
    if t0 is None or t1 is None:
        ts = timestamps(run) if len(run.train) else np.empty(0)
        ts = ts[np.isfinite(ts)]
        if not len(ts):
            return None, None
        t0, t1 = float(ts[0]), float(ts[-1])
    return t0, t1


@dataclass(frozen=True)
class TimeStats:
    started_ts: float | None  # the run's span (``span``)
    ended_ts: float | None
    wall_seconds: float | None
    compute_seconds: float | None
    gap_seconds: float | None
    median_iter_seconds: float | None
    p90_iter_seconds: float | None
    recent_iter_seconds: float | None  # median of the last RECENT records: what the run does now
    data_time_share: float | None  # median data_time / time
    data_bound: bool | None  # waiting for data is more than 20% of an iteration
    peak_memory_mb: float | None
    latest_memory_mb: float | None
    median_record_gap_seconds: float | None  # wall time between consecutive log lines


RECENT = 20
DATA_BOUND_SHARE = 0.2


def _finite(a: np.ndarray | None) -> np.ndarray:
    if a is None:
        return np.empty(0)
    return a[np.isfinite(a)]


def _opt(x) -> float | None:
    return None if x is None or not np.isfinite(x) else float(x)


def iteration_steps(run: Run) -> np.ndarray:
    """Iterations covered by each record (the first one: since the start of the run or the resume)."""
    it = iters(run)
    if not len(it):
        return np.empty(0, dtype=np.int64)
    steps = np.diff(it, prepend=it[0])
    if len(steps):
        first = it[0]
        resumed = run.resumed_from_iter
        base = resumed if resumed is not None and resumed < first else 0
        if base == 0 and len(steps) > 1:
            # Without a resume marker a run that starts high (an excerpt) counts one interval.
            typical = int(np.median(steps[1:])) if len(steps) > 1 else first
            steps[0] = first if first <= max(typical, 1) * 2 else typical
        else:
            steps[0] = first - base
    return steps


def time_stats(run: Run) -> TimeStats:
    n = len(run.train)
    # Wall time spans the whole run (header to its last line), not only the train lines: the
    # first train line comes after its first ``interval`` iterations and the last validation.
    t0, t1 = span(run)
    wall = float(t1 - t0) if (t0 is not None and t1 is not None and t1 > t0) else None
    if n == 0:
        return TimeStats(t0, t1, wall, *([None] * 10))
    ts = timestamps(run)
    fin_ts = ts[np.isfinite(ts)]
    t = column(run, "time")
    compute = None
    med = p90 = recent = None
    if t is not None:
        ok = np.isfinite(t)
        steps = iteration_steps(run)
        if ok.any():
            compute = float(np.sum(t[ok] * steps[ok]))
            vals = t[ok]
            med = float(np.median(vals))
            p90 = float(np.percentile(vals, 90))
            recent = float(np.median(vals[-RECENT:]))
    gap = (wall - compute) if (wall is not None and compute is not None) else None
    dt = column(run, "data_time")
    share = None
    if dt is not None and t is not None:
        ok = np.isfinite(dt) & np.isfinite(t) & (t > 0)
        if ok.any():
            share = float(np.median(dt[ok] / t[ok]))
    mem = _finite(column(run, "memory"))
    rec_gap = None
    if len(fin_ts) >= 3:
        rec_gap = float(np.median(np.diff(fin_ts)))
    return TimeStats(
        started_ts=t0, ended_ts=t1, wall_seconds=wall, compute_seconds=compute, gap_seconds=gap,
        median_iter_seconds=med, p90_iter_seconds=p90, recent_iter_seconds=recent,
        data_time_share=share, data_bound=None if share is None else share > DATA_BOUND_SHARE,
        peak_memory_mb=float(mem.max()) if len(mem) else None,
        latest_memory_mb=float(mem[-1]) if len(mem) else None,
        median_record_gap_seconds=rec_gap,
    )


def recent_median(run: Run, name: str, k: int = RECENT) -> float | None:
    col = column(run, name)
    if col is None:
        return None
    vals = _finite(col[-k * 4:])[-k:]
    return float(np.median(vals)) if len(vals) else None
