"""MMDash's own ETA, next to MMEngine's logged one.

MMEngine's eta is (time spent since start or resume) / (iterations since then) x (iterations left):
a cumulative average that carries warm-up forever, ignores drift and is wrong after a resume.

Ours splits the future into two parts, each measured where it is reliable:
1. iteration seconds: a recency-weighted median of the logged ``time`` over the last records
   (warm-up records, the first 5% of a run, are left out once there is enough after them), so
   a slow-down or speed-up shows within a few log lines;
2. overhead per iteration: wall-clock time the log spent outside iterations (validation,
   checkpoint saving, slow logging) per iteration, measured from the timestamps over the whole run
   since the last restart, with gaps longer than an hour (a restart or a suspended job) left out.
ETA = iterations left x (iteration seconds + overhead per iteration). Without timestamps (JSON logs)
the overhead part is 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from parsers import Run

from .timing import column, iteration_steps, iters, timestamps

LONG_GAP = 3600.0
WARMUP_SHARE = 0.05
RECENT_RECORDS = 15
OUTLIER = 3.0
RECENT_SHARE = 0.5  # the window: the newer half of the records (at least RECENT_RECORDS)


@dataclass(frozen=True)
class Eta:
    eta_seconds: float | None
    finish_at: float | None  # log-clock seconds when the last iteration is expected
    iter_seconds: float | None
    overhead_per_iter: float | None
    logged_eta_seconds: float | None  # the log's own eta on its last train line
    logged_finish_at: float | None
    method: str


def estimate(run: Run, max_iters: int | None = None, upto: int | None = None) -> Eta:
    """ETA after the first ``upto`` records (all when None), towards ``max_iters`` (run's N by default)."""
    n_total = len(run.train)
    k = n_total if upto is None else min(upto, n_total)
    N = max_iters or run.max_iters
    it_all = iters(run)
    if k == 0 or not N:
        return Eta(None, None, None, None, None, None, "no train records or unknown N")
    it = it_all[:k]
    ts = timestamps(run)[:k]
    t_col = column(run, "time")
    last_iter = int(it[-1])
    left = max(N - last_iter, 0)
    logged = float(run.train.etas[k - 1])
    logged = logged if np.isfinite(logged) else None
    last_ts = float(ts[-1]) if np.isfinite(ts[-1]) else None
    logged_finish = last_ts + logged if (logged is not None and last_ts is not None) else None
    if left == 0:
        return Eta(0.0, last_ts, None, None, logged, logged_finish, "finished")

    iter_s = None
    if t_col is not None:
        t = t_col[:k]
        ok = np.isfinite(t) & (t > 0)
        idx = np.nonzero(ok)[0]
        warm = max(1, int(k * WARMUP_SHARE))  # the first record carries start-up / resume cost
        if len(idx) - np.searchsorted(idx, warm) >= 5:
            idx = idx[np.searchsorted(idx, warm):]
        idx = idx[-max(RECENT_RECORDS, int(len(idx) * RECENT_SHARE)):]
        if len(idx):
            # The mean, not the median: the remaining time is a sum, and iteration times are
            # right-skewed (slow batches, long sequences). Outliers beyond OUTLIER x the median
            # (a stall, a checkpoint inside the timing window) are left to the overhead term.
            vals = t[idx]
            vals = vals[vals <= OUTLIER * np.median(vals)]
            iter_s = float(np.mean(vals))

    overhead = None
    fin = np.isfinite(ts)
    if t_col is not None and fin.sum() >= 3:
        steps = iteration_steps(run)[:k].astype(float)
        t = t_col[:k]
        dts = np.diff(ts)
        expect = (t[1:] * steps[1:])
        ok = np.isfinite(dts) & np.isfinite(expect) & (dts >= 0) & (dts < LONG_GAP)
        cut = max(0, int(k * WARMUP_SHARE) - 1)
        if ok[cut:].sum() >= 3:  # leave warm-up out when enough remains
            ok[:cut] = False
        if ok.any():
            wall = dts[ok].sum()
            comp = expect[ok].sum()
            span_iters = steps[1:][ok].sum()
            if span_iters > 0:
                overhead = max(0.0, (wall - comp) / span_iters)
    elif fin.sum() >= 3 and iter_s is None:
        # No ``time`` field: the wall-clock rate over the recent records.
        sel = np.nonzero(fin)[0][-RECENT_RECORDS:]
        d_it = it[sel[-1]] - it[sel[0]]
        if d_it > 0:
            iter_s = float((ts[sel[-1]] - ts[sel[0]]) / d_it)
            overhead = 0.0

    if iter_s is None:
        return Eta(None, None, None, overhead, logged, logged_finish, "no iteration times")
    per_iter = iter_s + (overhead or 0.0)
    eta = left * per_iter
    finish = last_ts + eta if last_ts is not None else None
    method = (f"{left} iterations left x ({iter_s:.4g} s recent median iteration time"
              + (f" + {overhead:.4g} s overhead per iteration" if overhead else "") + ")")
    return Eta(eta, finish, iter_s, overhead, logged, logged_finish, method)
