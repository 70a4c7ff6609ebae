"""What a GPU log says about a run: per-GPU utilization while training, peak memory, power and energy, and the
banners tied to the iteration audit (idle GPUs, independent copies, a starved GPU).

How the two clocks are aligned: both files carry the local wall clock without a zone (MMEngine's
``YYYY/MM/DD HH:MM:SS``, nvidia-smi's ``YYYY/MM/DD HH:MM:SS.mmm``), and both parsers read them the same way
(seconds of the naive clock, as if UTC), so a sample and a log line written at the same moment on the same
machine have the same number. No shift is applied: a GPU log written on another machine with another clock or
zone does not overlap the run, and the note says so (with the offset when it is whole hours, a time zone).

The run's span is its first to its last time-stamped line. "While training" is narrower: the stretches between
consecutive train records whose gap is at most ``TRAIN_GAP_FACTOR`` x the median gap (so validation,
checkpoint saves, stalls and the time before the first record are left out), plus one median gap before the
first record of a stretch (the iterations the first record covers).

Energy: the trapezoid integral of each GPU's power draw over the run's span, a gap between two samples longer
than ``MAX_SAMPLE_GAP_FACTOR`` x the GPU log's median interval (the sampler was stopped) not bridged; the
kWh of all GPUs together. Per 1,000 samples: divided by the samples trained in the span the GPU log covers
(iterations there, interpolated from the train records' times, x batch x world size).
"""

from __future__ import annotations

import datetime as _dt
import math
from dataclasses import asdict, dataclass, field

import numpy as np

from parsers.gpu_csv import GpuTable

TRAIN_GAP_FACTOR = 3.0
MAX_SAMPLE_GAP_FACTOR = 5.0
IDLE_UTIL = 5.0  # % mean utilization while training at or below which a GPU counts as idle
BUSY_UTIL = 20.0  # % at or above which it counts as busy
STARVED_UTIL = 50.0  # % mean utilization of the busy GPUs below which data loading may starve them
STARVED_DATA_SHARE = 0.3  # data_time / time at or above which data loading is the suspect
MIN_COVERAGE = 0.9  # below this share of the run's span, the coverage note is shown


@dataclass(frozen=True)
class GpuStats:
    index: int
    name: str
    samples: int  # samples in the run's span
    mean_util_training: float | None  # % while training
    peak_memory_mib: float | None
    memory_total_mib: float | None
    mean_power_w: float | None  # over the run's span
    power_limit_w: float | None
    energy_kwh: float | None


@dataclass(frozen=True)
class GpuBanner:
    level: str  # "warning" | "info"
    title: str  # our words and numbers only


@dataclass
class GpuReport:
    gpus: list[GpuStats]
    energy_kwh: float | None
    energy_kwh_per_1000_samples: float | None
    samples_trained: float | None  # in the span the GPU log covers
    coverage: float | None  # share of the run's span the GPU log covers, 0..1
    covered_from: float | None  # naive clock seconds
    covered_to: float | None
    alignment: str  # how the clocks were matched, in one sentence
    notes: list[str] = field(default_factory=list)  # coverage, file notes (may quote the file: text only)
    banners: list[GpuBanner] = field(default_factory=list)

    def as_dict(self) -> dict:
        d = asdict(self)
        d["covered_from"] = _iso(self.covered_from)
        d["covered_to"] = _iso(self.covered_to)
        return d


def _iso(seconds: float | None) -> str | None:
    if seconds is None or not math.isfinite(seconds):
        return None
    return _dt.datetime.fromtimestamp(seconds, _dt.timezone.utc).replace(tzinfo=None).isoformat(timespec="seconds")


def _mean(a: np.ndarray) -> float | None:
    a = a[np.isfinite(a)]
    return float(a.mean()) if a.size else None


def _max(a: np.ndarray) -> float | None:
    a = a[np.isfinite(a)]
    return float(a.max()) if a.size else None


def training_mask(t: np.ndarray, train_ts: np.ndarray) -> np.ndarray:
    """Which sample times fall while the run trained (see the module docstring)."""
    ts = train_ts[np.isfinite(train_ts)]
    if ts.size < 2:
        return np.zeros(t.shape, bool)
    ts = np.sort(ts)
    gaps = np.diff(ts)
    pos = gaps[gaps > 0]
    if not pos.size:
        return np.zeros(t.shape, bool)
    med = float(np.median(pos))
    limit = TRAIN_GAP_FACTOR * med
    # stretch starts and ends: a gap above the limit splits the records
    cut = np.flatnonzero(gaps > limit)
    starts = np.concatenate([[ts[0]], ts[cut + 1]]) - med
    ends = np.concatenate([ts[cut], [ts[-1]]])
    k = np.searchsorted(starts, t, side="right") - 1
    ok = k >= 0
    kk = np.clip(k, 0, None)
    return ok & (t <= ends[kk])


def energy_kwh(t: np.ndarray, watts: np.ndarray, max_gap: float) -> float | None:
    """Trapezoid integral of power over time (samples with a reading; gaps above ``max_gap`` not bridged)."""
    ok = np.isfinite(watts)
    t, w = t[ok], watts[ok].astype(np.float64)
    if t.size < 2:
        return None
    dt = np.diff(t)
    use = (dt > 0) & (dt <= max_gap)
    joules = float(((w[1:] + w[:-1]) * 0.5 * dt)[use].sum())
    return joules / 3.6e6


def _fmt_clock(s: float) -> str:
    return _iso(s).replace("T", " ") if _iso(s) else "?"


def _hours_offset(g0: float, g1: float, r0: float, r1: float) -> int | None:
    """A whole number of hours that would move the GPU log onto the run (another time zone), else None."""
    for h in range(-14, 15):
        if h and g0 + h * 3600 <= r1 and g1 + h * 3600 >= r0:
            mid_g = (g0 + g1) / 2 + h * 3600
            if r0 <= mid_g <= r1:
                return h
    return None


def gpu_report(table: GpuTable, *, train_ts: np.ndarray, train_iters: np.ndarray, run_from: float | None,
               run_to: float | None, samples_per_iter: float | None, data_time_share: float | None,
               fitting_world_sizes: list[int] | None = None, logged_max_iters: int | None = None,
               file_notes: list[str] | None = None) -> GpuReport:
    """The report of ``table`` for one run (see the module docstring for every rule)."""
    alignment = ("clocks matched as written: the log's and nvidia-smi's local times (no zone) are compared "
                 "directly, no shift applied")
    notes = list(file_notes or [])
    empty = GpuReport([], None, None, None, None, None, None, alignment, notes)
    if not len(table):
        notes.append("the GPU log has no rows yet")
        return empty
    g_span = table.span()
    assert g_span is not None
    g0, g1 = g_span
    if run_from is None or run_to is None or not (math.isfinite(run_from) and math.isfinite(run_to)):
        notes.append("the run has no time stamps: the GPU log cannot be matched to it")
        return empty
    r0, r1 = run_from, run_to
    lo, hi = max(g0, r0), min(g1, r1)
    if lo > hi:
        off = _hours_offset(g0, g1, r0, r1)
        zone = (f" Shifted by {off:+d} h it would overlap: written with another time zone or clock?"
                if off is not None else "")
        notes.append(f"the GPU log ({_fmt_clock(g0)} to {_fmt_clock(g1)}) does not overlap the run "
                     f"({_fmt_clock(r0)} to {_fmt_clock(r1)}): no GPU numbers for this run.{zone}")
        empty.coverage = 0.0
        return empty
    span = max(r1 - r0, 1e-9)
    coverage = min(1.0, (hi - lo) / span) if r1 > r0 else 1.0
    if coverage < MIN_COVERAGE:
        notes.append(f"the GPU log covers {coverage:.0%} of the run ({_fmt_clock(lo)} to {_fmt_clock(hi)} of "
                     f"{_fmt_clock(r0)} to {_fmt_clock(r1)}): its numbers are for that part only")
    in_run = (table.t >= r0) & (table.t <= r1)
    t_all = table.t
    train = training_mask(t_all, train_ts) & in_run
    first = table.t[table.gpu == table.gpus[0]]
    dts = np.diff(first)
    dts = dts[dts > 0]
    interval = float(np.median(dts)) if dts.size else 1.0  # the sampling interval
    max_gap = MAX_SAMPLE_GAP_FACTOR * max(interval, 1.0)
    stats = []
    total = 0.0
    any_energy = False
    for g in table.gpus:
        sel = (table.gpu == g) & in_run
        t = t_all[sel]
        v = {k: a[sel] for k, a in table.values.items()}
        util_train = table.values["util"][(table.gpu == g) & train]
        e = energy_kwh(t, v["power"], max_gap)
        if e is not None:
            total += e
            any_energy = True
        stats.append(GpuStats(
            g, table.names.get(g, ""), int(sel.sum()), _mean(util_train), _max(v["mem_used"]), _max(v["mem_total"]),
            _mean(v["power"]), _max(v["power_limit"]), e))
    samples = None
    ts_ok = np.isfinite(train_ts)
    if samples_per_iter and ts_ok.sum() >= 2:
        order = np.argsort(train_ts[ts_ok], kind="stable")
        tx, ix = train_ts[ts_ok][order], train_iters[ts_ok][order].astype(np.float64)
        samples = float(np.interp(hi, tx, ix) - np.interp(lo, tx, ix)) * samples_per_iter
    per_1000 = (total / samples * 1000.0) if any_energy and samples and samples > 0 else None
    rep = GpuReport(stats, total if any_energy else None, per_1000, samples, coverage, lo, hi, alignment, notes)
    rep.banners = banners(rep, data_time_share, fitting_world_sizes, logged_max_iters, train.any())
    return rep


def banners(rep: GpuReport, data_time_share: float | None, fitting_world_sizes: list[int] | None,
            logged_max_iters: int | None, trained: bool) -> list[GpuBanner]:
    """Idle GPUs while training; all busy while N says one process; data loading starving the GPUs."""
    out: list[GpuBanner] = []
    known = [s for s in rep.gpus if s.mean_util_training is not None]
    if not trained or not known:
        return out
    idle = [s for s in known if s.mean_util_training <= IDLE_UTIL]  # type: ignore[operator]
    busy = [s for s in known if s.mean_util_training >= BUSY_UTIL]  # type: ignore[operator]
    fits = sorted(set(fitting_world_sizes or []))
    n_says = f" The log's N = {logged_max_iters} fits world size{'s' if len(fits) != 1 else ''} " \
             f"{', '.join(map(str, fits))}." if fits and logged_max_iters else ""
    if idle and busy:
        which = ", ".join(str(s.index) for s in idle)
        out.append(GpuBanner("warning", f"{len(idle)} of {len(known)} GPUs sat idle while the run trained "
                                        f"(mean utilization at most {IDLE_UTIL:.0f} %: GPU {which}): the run used "
                                        f"{len(busy)} GPU{'s' if len(busy) != 1 else ''}.{n_says}"))
    if len(busy) >= 2 and fits and 1 in fits and len(busy) not in fits:
        out.append(GpuBanner("warning", f"All {len(busy)} busy GPUs worked while N says one process saw the data: "
                                        f"likely {len(busy)} independent copies of the run, each training on the "
                                        f"whole data, not one {len(busy)}-GPU run.{n_says}"))
    if busy or known:
        pool = busy or known
        mean_busy = float(np.mean([s.mean_util_training for s in pool]))
        if mean_busy < STARVED_UTIL and data_time_share is not None and data_time_share >= STARVED_DATA_SHARE:
            out.append(GpuBanner("warning", f"Data loading starves the GPU: mean utilization {mean_busy:.0f} % "
                                            f"while waiting for data takes {data_time_share:.0%} of each "
                                            "iteration (data_time / time). More loader workers, faster storage "
                                            "or pinned memory may help."))
    return out
