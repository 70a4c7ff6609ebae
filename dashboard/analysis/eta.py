"""MMDash's own ETA, next to MMEngine's logged one.

MMEngine's eta is (time spent since start or resume) / (iterations since then) x (iterations left): a cumulative
average that carries warm-up forever, follows neither a slow-down nor a speed-up, and leaves out the validations
and checkpoint saves still to come.

Ours knows the schedule. As of the last train record (all times on the log's own clock):

    ETA = iterations left x (pace + overhead per iteration)
          + validations to come x measured validation length
          + checkpoint saves to come x measured save length

- **Pace** (seconds per iteration) comes from the logged ``time`` of the *ordinary* records: those whose interval
  (the lines since the previous train record) holds no validation, no checkpoint save and no resume (MMEngine
  counts a save, and the end of a validation, into the next iteration's ``time``). Without a ``time`` field, from
  the time stamps of the same records. Values beyond 3 x the median (a stall) are left out.
  - *warm-up*: the leading records slower than 1.15 x the median (kernels compiling, caches warming, a resume
    skipping batches), up to 5 records or the first 10% of them, are left out, so a slow start does not weigh on
    the rest of the run (a longer one is a stretch of its own, which the typical pace leaves out);
  - *stretches*: the remaining pace series is cut into stretches of constant pace by binary segmentation on its
    logarithm (a split is kept when its two sides differ by at least 3% and by at least 5 standard errors, the
    noise measured robustly from consecutive differences). The *current* pace is the mean of the last stretch,
    the *typical* pace the mean of the stretch at the length-weighted median of all stretches (a finished
    slow-down is not typical, the pace most of the run had is);
  - *a change is followed once it has lasted*: a stretch that has lasted d iterations is expected to last d more
    (it has lasted as long as it will, on average, when nothing else is known); then the typical pace returns.
    So pace = (min(d, left) x current + max(left - d, 0) x typical) / left: a temporary slow-down is projected
    over about its own length, not over the whole remaining run, and a lasting change is followed fully once it
    has lasted as long as what remains.
- **Overhead per iteration**: wall-clock time of the ordinary records beyond their ``time`` (logging, the start of
  each epoch's data loader), summed over all of them since warm-up and divided by their iterations.
- **Validations and checkpoint saves to come** are counted on the schedule: MMEngine validates after every
  ``val_interval``-th epoch (epoch loops) or iteration (iteration loops) from ``val_begin`` on, and after the last
  one; CheckpointHook saves every ``interval`` epochs or iterations and at the end (``save_last``). The intervals
  come from the config dump, else from the spacing of the validations and saves the log shows. Their lengths are
  measured in the log: the wall-clock of the interval that holds one, beyond its iterations at the pace around
  it (the median of the last five). Pauses at positions at or after the last record are to come (a save at
  iteration 500 follows the record of iteration 500). A validation counts only when the config dump sets one
  up (``val_dataloader``, ``val_cfg``, mmcv's ``evaluation``) or the log shows one.
  - *earlier launches* (``earlier``): a resumed launch has not paused yet; the lengths measured in the earlier
    launches of the run (the work_dir's earlier timestamped folders, ``dashboard.live.launches``) count too.
  - *in progress*: a validation never measured whose pass the log is in (its ``Epoch(val) [e][i/n]`` progress
    lines after the last train record): the time it has taken so far x n / i;
  - *a guess*: a kind never measured is ``VAL_SHARE`` (``CKPT_SHARE``) of the training time between two of them,
    the median share in real MMEngine logs; ``Pauses.val_source`` / ``ckpt_source`` and the method text say so.
- **Band** (low-high): the same sum with the fastest and slowest of the typical pace, the current pace and the
  mean pace of each of the last three stretches of 10 ordinary records, each measured pause at its shortest and
  longest length and each guessed one from none to its high share; and, for a change of pace not seen yet,
  the pace of the iterations left ``PACE_DRIFT`` x sqrt(left / seen) either side of the estimate's.

The method text says which parts made the number. Without time stamps (JSON logs) pauses and overhead are 0.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from parsers import Run
from parsers.records import int_column

from .timing import column, iteration_steps, iters, timestamps

LONG_GAP = 3600.0  # an interval longer than this is a restart or a suspended job, not a pause of the schedule
OUTLIER = 3.0  # a pace beyond OUTLIER x the median is a stall
WARMUP_FACTOR = 1.15  # leading records slower than this x the median are warm-up ...
WARMUP_MAX_RECORDS = 5  # ... up to 5 records or the first 10% of them (a longer slow start is a stretch)
MIN_SHIFT = 0.03  # a change of pace smaller than 3% is not a new stretch
MIN_T = 5.0  # ... nor one smaller than 5 standard errors
MIN_STRETCH = 3  # records
TYPICAL_BAND = 0.12  # stretches within 12% of the median stretch make the typical pace
BAND_BLOCK = 10  # records per block of the band's recent-pace spread
BAND_BLOCKS = 3
PAUSE_SAMPLES = 5  # the last measured pauses of a kind that give its length
# A pause of a kind never measured (no validation yet, in this launch or an earlier one) is a guess: a share of
# the training time between two of them (every x pace), from the real MMEngine logs in ../shared/real_logs
# (tests/test_eta.py checks these against them): a validation took 0.8-23% of it (median 4.4%, 9 runs), a
# checkpoint save 0-7.6% (median 0.2%) in 6 of 7 runs (the 7th, a save every 45 iterations of a 7B model, 175%).
# The band runs from no pause to the high share.
VAL_SHARE, VAL_SHARE_HIGH = 0.05, 0.25
CKPT_SHARE, CKPT_SHARE_HIGH = 0.002, 0.10
# A change of pace still to come is unseen: the band's pace runs PACE_DRIFT x sqrt(iterations left / iterations
# seen) either side of the estimate's (wide early, narrow late). On the real logs (cut at 10/25/50/75% of their
# records), the pace of the rest of the run fell within it at 90% of the cuts (tests/test_eta.py checks this).
PACE_DRIFT = 0.05


@dataclass(frozen=True)
class Pace:
    """The pace found in the ordinary records (seconds per iteration)."""

    pace: float  # what the ETA uses: the current pace for d iterations, then the typical pace
    current: float
    typical: float
    current_since: int  # iteration where the current stretch started
    current_iters: int  # d: iterations the current stretch has lasted
    warmup_records: int
    stretches: int
    low: float
    high: float


@dataclass(frozen=True)
class Pauses:
    """Validations and checkpoint saves still to come, and their measured lengths (seconds)."""

    vals_left: int = 0
    val_seconds: float | None = None  # measured length of one validation (median of the last ones)
    val_range: tuple[float, float] | None = None
    ckpts_left: int = 0
    ckpt_seconds: float | None = None
    ckpt_range: tuple[float, float] | None = None
    val_includes_ckpt: bool = False  # saves only ever came with validations: their length is in val_seconds
    notes: list[str] = field(default_factory=list)
    # Where a length comes from: "measured" (in this log), "earlier launch" (measured in an earlier launch of the
    # run), "in progress" (a validation: from the pass the log is in), "guess" (never measured: a share of the
    # training time between two of them, see VAL_SHARE), None.
    val_source: str | None = None
    ckpt_source: str | None = None
    val_every_iters: int | None = None  # iterations between two validations (None: only at the end)
    ckpt_every_iters: int | None = None

    def total(self, which: str = "mid") -> float:
        def part(n: int, mid: float | None, rng: tuple[float, float] | None) -> float:
            if not n or mid is None:
                return 0.0
            v = {"mid": mid, "low": rng[0] if rng else mid, "high": rng[1] if rng else mid}[which]
            return n * v
        return part(self.vals_left, self.val_seconds, self.val_range) + part(self.ckpts_left, self.ckpt_seconds,
                                                                             self.ckpt_range)


@dataclass(frozen=True)
class Eta:
    eta_seconds: float | None
    finish_at: float | None  # log-clock seconds when the run is expected to end (its last validation/save done)
    iter_seconds: float | None  # the pace the ETA uses
    overhead_per_iter: float | None
    logged_eta_seconds: float | None  # the log's own eta on its last train line
    logged_finish_at: float | None
    method: str
    low_seconds: float | None = None  # the band (see the module docstring)
    high_seconds: float | None = None
    finish_low_at: float | None = None
    finish_high_at: float | None = None
    pace: Pace | None = None
    pauses: Pauses | None = None


def _g(x: float) -> str:
    return f"{x:.4g} s"


# ------------------------------------------------------------------------------------------------- the pace


def stretches(x: np.ndarray, min_len: int = MIN_STRETCH) -> list[int]:
    """Start indices of the stretches of constant pace in ``x`` (positive values), by binary segmentation.

    A split is kept when the mean log pace of its two sides differs by at least ``MIN_SHIFT`` and by at least
    ``MIN_T`` standard errors; the noise is estimated from consecutive differences (robust to the level shifts
    it looks for). Always starts with 0.
    """
    n = len(x)
    if n < 2 * min_len:
        return [0]
    y = np.log(x)
    # The noise: the spread of the whole series (MAD), not of consecutive differences: a pace that swings
    # smoothly within a few records (a length-grouped sampler's mega-batches, long then short) is noise here.
    sigma = max(1.4826 * float(np.median(np.abs(y - np.median(y)))), 1e-3)
    starts = [0]

    def split(lo: int, hi: int, depth: int) -> None:
        m = hi - lo
        if m < 2 * min_len or depth > 12:
            return
        cs = np.cumsum(y[lo:hi])
        total = cs[-1]
        k = np.arange(min_len, m - min_len + 1)
        m1 = cs[k - 1] / k
        m2 = (total - cs[k - 1]) / (m - k)
        diff = np.abs(m1 - m2)
        t = diff / (sigma * np.sqrt(1.0 / k + 1.0 / (m - k)))
        j = int(np.argmax(t))
        if t[j] < MIN_T or diff[j] < MIN_SHIFT:
            return
        s = lo + int(k[j])
        starts.append(s)
        split(lo, s, depth + 1)
        split(s, hi, depth + 1)

    split(0, n, 0)
    return sorted(starts)


def find_pace(p: np.ndarray, steps: np.ndarray, at: np.ndarray, left: int, last_iter: int) -> Pace | None:
    """The pace for the ``left`` iterations to come, from ordinary records' pace ``p`` covering ``steps``
    iterations each and logged at iterations ``at`` (in record order), as of ``last_iter``."""
    ok = np.isfinite(p) & (p > 0)
    p, steps, at = p[ok], steps[ok], at[ok]
    if not len(p):
        return None
    med = float(np.median(p))
    warm = 0
    while warm < max(WARMUP_MAX_RECORDS, len(p) // 10) and warm < len(p) // 2 and p[warm] > WARMUP_FACTOR * med:
        warm += 1
    p, steps, at = p[warm:], steps[warm:], at[warm:]
    keep = p <= OUTLIER * np.median(p)
    p, steps, at = p[keep], steps[keep], at[keep]
    starts = stretches(p)
    bounds = [*starts, len(p)]
    means = [float(np.mean(p[a:b])) for a, b in zip(bounds, bounds[1:])]
    lengths = [float(steps[a:b].sum()) for a, b in zip(bounds, bounds[1:])]
    current = means[-1]
    since = int(at[starts[-1]] - steps[starts[-1]])
    d = max(last_iter - since, 0)  # pause records inside the stretch count too
    order = np.argsort(means)
    cum = np.cumsum(np.asarray(lengths)[order])
    mid = means[int(order[int(np.searchsorted(cum, cum[-1] / 2))])]
    # Typical: the mean of the stretches near the pace most of the run had (a finished slow-down is left out).
    near = [i for i, m in enumerate(means) if abs(np.log(m / mid)) <= TYPICAL_BAND]
    typical = float(np.average([means[i] for i in near], weights=[lengths[i] for i in near]))
    if left > 0:
        pace = (min(d, left) * current + max(left - d, 0) * typical) / left
    else:
        pace = current
    recent = [float(np.mean(p[max(0, len(p) - (i + 1) * BAND_BLOCK):len(p) - i * BAND_BLOCK]))
              for i in range(BAND_BLOCKS) if len(p) - i * BAND_BLOCK > 0]
    cands = [pace, current, typical, *recent]
    return Pace(pace, current, typical, since, d, warm, len(starts), min(cands), max(cands))


# ----------------------------------------------------------------------------------------------- the pauses


def to_come(every: int | None, unit_iters: int, first: int, N: int, last_iter: int) -> int:
    """How many times a schedule still acts at or after ``last_iter``: every ``every`` units (of ``unit_iters``
    iterations) from unit ``first`` on, and at the end N (MMEngine validates after the last epoch/iteration and
    saves the last checkpoint). ``every`` <= 0 or None: only the end (CheckpointHook's ``interval=-1``)."""
    end = 1 if N >= last_iter else 0
    if not every or every <= 0 or unit_iters <= 0:
        return end
    lo = max(first, 1, -(-last_iter // unit_iters))
    hi = N // unit_iters
    n = max(0, hi // every - (lo - 1) // every) if hi >= lo else 0
    at_end = N % unit_iters == 0 and hi % every == 0 and hi >= max(first, 1)
    return n + (0 if at_end else end)


def _interval_from(seen: list[int]) -> int | None:
    """A schedule's interval from the positions (in its unit) where the log shows it acted."""
    if not seen:
        return None
    if len(seen) == 1:
        return seen[0] if seen[0] > 0 else None
    gaps = np.diff(sorted(set(seen)))
    return int(np.median(gaps)) if len(gaps) else None


def _pause_lengths(samples: list[float]) -> tuple[float | None, tuple[float, float] | None]:
    s = [x for x in samples if np.isfinite(x)][-PAUSE_SAMPLES:]
    if not s:
        return None, None
    s = [max(0.0, x) for x in s]
    return float(np.median(s)), (min(s), max(s))


# ---------------------------------------------------------------------------------------------- estimate


@dataclass
class _Records:
    """What the first ``k`` train records of one launch show: per-record arrays and the pace, overhead and pause
    lengths measured in them."""

    it: np.ndarray
    ts: np.ndarray
    last_iter: int
    vals: list
    ckpts: list
    pace: Pace
    overhead: float
    source: str
    measured: list[tuple[int, float]]  # (kind: 1 save, 2 validation, 3 both; wall-clock beyond the pace) in order


def _records(run: Run, k: int, N: int) -> _Records | None:
    it = iters(run)[:k].astype(np.int64)
    ts = timestamps(run)[:k]
    lines = int_column(run.train.line_nos, k)
    t_col = column(run, "time")
    t = t_col[:k] if t_col is not None else None
    last_iter = int(it[-1])
    left = max(N - last_iter, 0)

    # Where each validation and event falls among the records: by line number in one file; in a run combined
    # from several files (a resumed experiment, ``combine``) line numbers start again in each, so by time.
    by_line = bool(np.all(np.diff(lines) >= 0))
    keys = lines.astype(float) if by_line else ts

    def key(e) -> float:
        if by_line:
            return float(e.line_no)
        return float(e.timestamp) if e.timestamp is not None else np.nan

    last_key = float(keys[-1])
    seen = [(e, key(e)) for e in [*run.evals, *run.events]]
    seen = [(e, x) for e, x in seen if np.isfinite(x) and x <= last_key]
    vals = [e for e, _ in seen if getattr(e, "mode", None) == "val"]
    ckpts = [e for e, _ in seen if getattr(e, "kind", None) == "checkpoint"]
    other_kinds = ("resume", "auto_resume", "load_checkpoint", "advance_dataloader", "restart")
    steps = iteration_steps(run)[:k].astype(float)

    # What each record's interval (the lines since the previous train record) holds.
    kind = np.zeros(k, dtype=np.int8)  # 0 ordinary, 1 checkpoint, 2 validation, 3 both, 4 other (first, resume)
    kind[0] = 4

    def mark(at: list[float], bit: int) -> None:
        if not at:
            return
        r = np.searchsorted(keys, np.asarray(at), side="right")  # the record after it
        r = r[r < k]
        if bit == 4:
            kind[r] = 4
        else:
            kind[r] |= bit

    mark([x for e, x in seen if getattr(e, "kind", None) == "checkpoint"], 1)
    mark([x for e, x in seen if getattr(e, "mode", None) == "val"], 2)
    mark([x for e, x in seen if getattr(e, "kind", None) in other_kinds], 4)
    dts = np.diff(ts, prepend=np.nan)
    has_ts = np.isfinite(dts) & (dts >= 0) & (dts < LONG_GAP)
    ordinary = kind == 0

    # Pace samples, per record.
    if t is not None and np.isfinite(t[ordinary]).sum() < 3:
        # Every interval holds a pause (e.g. one log line per epoch): their logged time is all there is.
        ordinary = (kind != 4) & np.isfinite(t)
        ordinary[0] = False
    if t is not None and np.isfinite(t[ordinary]).any():
        p = np.where(ordinary, t, np.nan)
        source = "logged time"
    else:
        p = np.where(ordinary & has_ts & (steps > 0), dts / np.maximum(steps, 1), np.nan)
        source = "time stamps"
    pace = find_pace(p[ordinary], steps[ordinary], it[ordinary], left, last_iter)
    if pace is None:
        return None

    # Overhead per iteration: ordinary wall-clock beyond the logged time, after warm-up. Summed, because
    # MMEngine's time window lags the wall-clock interval: what one interval shows too much, the next one's
    # time holds (a hook's pause).
    overhead = 0.0
    if t is not None and source == "logged time":
        ok = ordinary & has_ts & np.isfinite(t)
        idx = np.nonzero(ok)[0][pace.warmup_records:]
        if len(idx) >= 3 and steps[idx].sum() > 0:
            overhead = max(0.0, float((dts[idx].sum() - (t[idx] * steps[idx]).sum()) / steps[idx].sum()))

    # Measured pause lengths: an interval's wall-clock beyond its iterations at the pace around it.
    ord_idx = np.nonzero(np.isfinite(p) & (p > 0))[0]
    measured: list[tuple[int, float]] = []  # (kind, excess) in record order
    for r in np.nonzero((kind >= 1) & (kind <= 3) & has_ts)[0]:
        j = np.searchsorted(ord_idx, r)
        near = p[ord_idx[max(0, j - 5):j + 5]]
        local = float(np.median(near)) if len(near) else pace.typical
        measured.append((int(kind[r]), float(dts[r] - steps[r] * (local + overhead))))
    return _Records(it, ts, last_iter, vals, ckpts, pace, overhead, source, measured)


_VAL_CONFIG = re.compile(r"^(val_dataloader|val_cfg|evaluation)\s*=", re.MULTILINE)


def _validates(config_text: str | None) -> bool | None:
    """Whether the config dump sets up a validation (MMEngine's ``val_dataloader`` / ``val_cfg``, mmcv's
    ``evaluation``); None without a config dump. A ``val_interval`` alone does not: MMEngine has no val loop
    without them."""
    if not config_text:
        return None
    return bool(_VAL_CONFIG.search(config_text))


def _pass_in_progress(run: Run, at_end: bool, last_ts: float | None, last_iter: int, every: int | None,
                      per_iter: float) -> float | None:
    """The length of a validation from the pass the log is in (its latest ``Epoch(val) [e][i/n]`` progress line
    after the last train record): the time since the pass began (the last record's time, plus the iterations up
    to the validation point at the pace) x n / i. Its metric computation after the last batch is not in it."""
    prog = run.eval_progress
    if not at_end or prog is None or prog[0] != "val" or last_ts is None or run.last_timestamp is None:
        return None
    _, _, i, n = prog
    began = last_ts + ((-last_iter) % every if every else 0) * per_iter
    if not (0 < i <= n) or run.last_timestamp <= began:
        return None
    return (run.last_timestamp - began) * n / i


def _guess(share: float, high: float, every_iters: int, per_iter: float) -> tuple[float, tuple[float, float]]:
    """A pause never measured: ``share`` of the training time between two of them, the band from none to ``high``."""
    between = every_iters * per_iter
    return share * between, (0.0, high * between)


def estimate(run: Run, max_iters: int | None = None, upto: int | None = None,
             earlier: Sequence[Run] = ()) -> Eta:
    """ETA after the first ``upto`` train records (all when None), towards ``max_iters`` (the run's N by default).

    With ``upto``, validations and events after that record's line are not seen (a cut log). ``earlier``: the
    earlier launches of the same run (the work_dir's earlier timestamped folders it resumed): the validations
    and saves measured in them give their lengths too (a resumed launch has not paused yet).
    """
    from .epochs import epoch_info

    n_total = len(run.train)
    k = n_total if upto is None else min(upto, n_total)
    N = max_iters or run.max_iters
    if k == 0 or not N:
        return Eta(None, None, None, None, None, None, "no train records or unknown N")
    last_iter = int(iters(run)[k - 1])
    left = max(N - last_iter, 0)
    logged = float(run.train.etas[k - 1])
    logged = logged if np.isfinite(logged) else None
    ts_last = float(timestamps(run)[k - 1])
    last_ts = ts_last if np.isfinite(ts_last) else None
    logged_finish = last_ts + logged if (logged is not None and last_ts is not None) else None
    if left == 0:
        return Eta(0.0, last_ts, None, None, logged, logged_finish, "finished")
    rec = _records(run, k, N)
    if rec is None:
        return Eta(None, None, None, None, logged, logged_finish, "no iteration times")
    pace, overhead, source, vals, ckpts = rec.pace, rec.overhead, rec.source, rec.vals, rec.ckpts
    before: list[tuple[int, float]] = []
    for older in earlier:
        if len(older.train):
            got = _records(older, len(older.train), N)
            before += got.measured if got is not None else []

    def lengths(kinds: tuple[int, ...], minus: float | None = None) -> tuple[float | None, tuple | None, str | None]:
        own = [x - (minus if kd == 3 and minus is not None else 0.0) for kd, x in rec.measured if kd in kinds]
        old = [x - (minus if kd == 3 and minus is not None else 0.0) for kd, x in before if kd in kinds]
        mid, rng = _pause_lengths(old + own)
        return mid, rng, (None if mid is None else "measured" if own else "earlier launch")

    ckpt_len, ckpt_rng, ckpt_src = lengths((1,))
    val_includes_ckpt = ckpt_len is None and any(kd == 3 for kd, _ in [*before, *rec.measured])
    val_len, val_rng, val_src = lengths((2, 3), ckpt_len)

    # The schedule still to come.
    h = run.header
    ipe = epoch_info(run).iters_per_epoch
    by_epoch_loop = bool(h.by_epoch) if h.by_epoch is not None else bool(run.train.epochs and run.train.epochs[0] > 0)
    per_iter = pace.pace + overhead
    notes: list[str] = []
    vals_left = 0
    val_every = None
    if vals or (h.val_interval and _validates(h.config_text) is not False):
        if by_epoch_loop and ipe:
            seen = [e.epoch if e.epoch else -(-e.train_iter // ipe) for e in vals if (e.epoch or e.train_iter)]
            every = h.val_interval or _interval_from(seen) or 1
            vals_left = to_come(every, ipe, h.val_begin or 1, N, last_iter)
            val_every = every * ipe
        else:
            seen = [e.train_iter for e in vals if e.train_iter]
            every = h.val_interval or _interval_from(seen)
            vals_left = to_come(every, 1, h.val_begin or 1, N, last_iter) if every else 0
            val_every = every
        if vals_left and val_len is None:
            val_len, val_rng = _guess(VAL_SHARE, VAL_SHARE_HIGH, min(val_every or N, N), per_iter)
            val_src = "guess"
            passing = _pass_in_progress(run, k == n_total, last_ts, last_iter, val_every, per_iter)
            if passing is not None:
                val_len, val_rng, val_src = passing, (passing, max(passing, val_rng[1])), "in progress"
    ckpts_left = 0
    ckpt_every = None
    if ckpts or h.checkpoint_interval:
        units = {e.data.get("unit") for e in ckpts}
        by_epoch_ckpt = ("epochs" in units or "epoch" in units) if units else (
            h.checkpoint_by_epoch if h.checkpoint_by_epoch is not None else by_epoch_loop)
        if by_epoch_ckpt and ipe:
            seen = [int(e.data["n"]) for e in ckpts if e.data.get("n")]
            every = h.checkpoint_interval or _interval_from(seen) or 1
            ckpts_left = to_come(every, ipe, 1, N, last_iter)
            ckpt_every = every * ipe if every > 0 else None
        else:
            seen = [int(e.data["n"]) for e in ckpts if e.data.get("n") and e.data.get("n") != N]
            every = h.checkpoint_interval or _interval_from(seen)
            ckpts_left = to_come(every, 1, 1, N, last_iter)
            ckpt_every = every if every and every > 0 else None
        if ckpts_left and ckpt_len is None and not val_includes_ckpt:
            ckpt_len, ckpt_rng = _guess(CKPT_SHARE, CKPT_SHARE_HIGH, min(ckpt_every or N, N), per_iter)
            ckpt_src = "guess"
    pauses = Pauses(vals_left, val_len, val_rng, ckpts_left, ckpt_len if not val_includes_ckpt else None, ckpt_rng,
                    val_includes_ckpt, notes, val_src, ckpt_src if not val_includes_ckpt else None, val_every,
                    ckpt_every)

    # A change of pace not seen yet: the band spreads the pace by PACE_DRIFT x sqrt(iterations left / seen).
    drift = PACE_DRIFT * float(np.sqrt(left / max(last_iter - int(rec.it[0]) + 1, 1)))
    pace_low, pace_high = min(pace.low, pace.pace * max(1.0 - drift, 0.0)), max(pace.high, pace.pace * (1.0 + drift))
    eta = left * per_iter + pauses.total("mid")
    low = left * (pace_low + overhead) + pauses.total("low")
    high = left * (pace_high + overhead) + pauses.total("high")
    finish = last_ts + eta if last_ts is not None else None
    method = _method(left, pace, overhead, pauses, source, last_iter)
    return Eta(eta, finish, pace.pace, overhead, logged, logged_finish, method, low, high,
               last_ts + low if last_ts is not None else None, last_ts + high if last_ts is not None else None,
               pace, pauses)


def _method(left: int, pace: Pace, overhead: float, pauses: Pauses, source: str, last_iter: int) -> str:
    if pace.stretches > 1 and abs(pace.current - pace.typical) <= 0.01 * pace.typical:
        parts = [f"{left} iterations left x {_g(pace.pace)} (the pace since iteration {pace.current_since}, the "
                 f"typical one; {pace.stretches - 1} change(s) of pace before; from {source})"]
    elif pace.stretches > 1:
        if pace.current_iters >= left:
            how = (f"the current pace {_g(pace.current)} (changed {pace.current_iters} iterations ago, "
                   f"as long as what is left: followed)")
        else:
            how = (f"the current pace {_g(pace.current)} for the {pace.current_iters} iterations it has lasted, "
                   f"then the typical {_g(pace.typical)}")
        parts = [f"{left} iterations left x {_g(pace.pace)} ({how}; from {source})"]
    else:
        parts = [f"{left} iterations left x {_g(pace.pace)} (steady pace, from {source})"]
    if pace.warmup_records:
        parts[0] += f", warm-up of {pace.warmup_records} records left out"
    if overhead > 0:
        parts.append(f"{left} x {_g(overhead)} overhead per iteration")
    if pauses.vals_left and pauses.val_seconds is not None:
        also = " (with the checkpoint save it includes)" if pauses.val_includes_ckpt else ""
        parts.append(f"{pauses.vals_left} validation(s) x {_g(pauses.val_seconds)}{also}"
                     + _source_text(pauses.val_source, "validations", VAL_SHARE, VAL_SHARE_HIGH, pauses.val_range))
    if pauses.ckpts_left and pauses.ckpt_seconds is not None:
        parts.append(f"{pauses.ckpts_left} checkpoint save(s) x {_g(pauses.ckpt_seconds)}"
                     + _source_text(pauses.ckpt_source, "saves", CKPT_SHARE, CKPT_SHARE_HIGH, pauses.ckpt_range))
    text = " + ".join(parts)
    if pauses.notes:
        text += "; " + "; ".join(pauses.notes)
    return text


def _source_text(source: str | None, what: str, share: float, high: float, rng: tuple[float, float] | None) -> str:
    if source == "earlier launch":
        return " (measured in an earlier launch of this run)"
    if source == "in progress":
        return " (from the validation in progress: its batches so far, at that rate to its last one)"
    if source == "guess":
        top = f", up to {_g(rng[1])} in the band" if rng else ""
        return (f" (a guess, not measured yet: {share:.1%} of the training time between {what}, the median share "
                f"in real MMEngine logs; between none and {high:.0%} of it{top})")
    return ""
