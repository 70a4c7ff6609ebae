"""The run's health: status with its reason, the first non-finite value, loss spikes.

Status rules, first match wins:
- finished: a checkpoint saved at the last iteration (or the last epoch), or the last record within
  one log interval of N with no error after it; a test-only log with its summary.
- crashed: a traceback or ERROR line after the last record.
- running / stalled (only for a live file): stalled when no new record arrived for longer than
  max(``stall_factor`` x the median wall time between log lines, ``stall_floor`` seconds).
- stopped: ended early with no error and the file no longer grows.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from parsers import Run

from .smoothing import debiased_ema
from .timing import column, iters

STALL_FACTOR = 5.0
STALL_FLOOR = 120.0
SPIKE_Z = 6.0


@dataclass(frozen=True)
class Health:
    status: str  # finished | crashed | running | stalled | stopped
    reason: str
    first_nonfinite_iter: int | None
    nonfinite_fields: list[str] = field(default_factory=list)
    spikes: list[int] = field(default_factory=list)  # iterations of loss spikes
    error_text: str | None = None


def first_nonfinite(run: Run) -> tuple[int | None, list[str]]:
    """The first iteration where any loss or grad_norm is NaN or inf, and which fields."""
    names = [n for n in run.train.field_names if "loss" in n or n == "grad_norm"]
    it = iters(run)
    first, fields = None, []
    for name in names:
        col = column(run, name)
        # A NaN in the column can also mean "absent on that line"; only values the log wrote count.
        idx = np.flatnonzero(~np.isfinite(col) & run.train.present(name))
        if not idx.size:
            continue
        i = int(it[idx[0]])
        if first is None or i < first:
            first, fields = i, [name]
        elif i == first:
            fields.append(name)
    return first, fields


def loss_spikes(run: Run, name: str = "loss", z: float = SPIKE_Z, limit: int = 20) -> list[int]:
    """Iterations where the loss jumps far above its smoothed trend (robust z-score of residuals)."""
    col = column(run, name)
    if col is None or len(col) < 20:
        return []
    y = col.copy()
    ok = np.isfinite(y)
    if ok.sum() < 20:
        return []
    it = iters(run)[ok]
    y = y[ok]
    smooth = debiased_ema(y, 0.4)
    resid = y[1:] - smooth[:-1]
    med = np.median(resid)
    mad = np.median(np.abs(resid - med)) or 1e-12
    zs = 0.6745 * (resid - med) / mad
    idx = np.nonzero(zs > z)[0]
    order = idx[np.argsort(-zs[idx])][:limit]
    return sorted(int(it[i + 1]) for i in order)


def health(run: Run, *, live: bool = False, now: float | None = None, last_growth_at: float | None = None,
           median_record_gap: float | None = None, stall_factor: float = STALL_FACTOR,
           stall_floor: float = STALL_FLOOR) -> Health:
    nonfinite_iter, nonfinite_fields = first_nonfinite(run)
    spikes = loss_spikes(run)
    errors = [e for e in run.events if e.kind in ("traceback", "error")]
    last_line = run.train.line_nos[-1] if len(run.train) else 0
    N = run.max_iters
    last = run.last_iter
    interval = run.header.log_interval or 1

    def make(status: str, reason: str, err: str | None = None) -> Health:
        if nonfinite_iter is not None:  # whatever else happened, a loss that turned NaN is the news
            reason = (f"{', '.join(nonfinite_fields) or 'a loss'} not finite (NaN/inf) from iteration "
                      f"{nonfinite_iter}; {reason}")
        return Health(status, reason, nonfinite_iter, nonfinite_fields, spikes, err)

    ckpts = [e for e in run.events if e.kind == "checkpoint"]
    end_ckpt = None
    for e in ckpts:
        if (N and e.data.get("iter") == N) or (e.data.get("unit") == "epochs" and run.header.max_epochs
                                               and e.data.get("n") == run.header.max_epochs):
            end_ckpt = e
    late_errors = [e for e in errors if e.line_no > last_line]
    if end_ckpt is not None:
        return make("finished", f"checkpoint saved at the end ({end_ckpt.text})")
    if N and last is not None and N - last < interval and not late_errors:
        return make("finished", f"last record at iteration {last} is within one log interval ({interval}) of N={N}")
    if not len(run.train) and any(e.mode == "test" for e in run.evals) and not late_errors:
        return make("finished", "test run with its summary")
    if late_errors:
        e = late_errors[-1]
        first_line = e.text.splitlines()[-1] if e.text else e.kind
        where = f"after iteration {last}" if last is not None else "before the first logged iteration"
        return make("crashed", f"{e.kind} at line {e.line_no} {where}: {first_line[:200]}", e.text)
    if live and now is not None and last_growth_at is not None:
        threshold = max(stall_factor * (median_record_gap or 0.0), stall_floor)
        idle = now - last_growth_at
        if idle > threshold:
            return make("stalled", f"no new record for {idle:.0f} s (threshold {threshold:.0f} s)")
        return make("running", f"last update {idle:.0f} s ago")
    of_n = f" of {N}" if N else " (N unknown)"
    where = f"at iteration {last}{of_n}" if last is not None else "before any train record"
    return make("stopped", f"the log ends {where} with no error and is not growing")
