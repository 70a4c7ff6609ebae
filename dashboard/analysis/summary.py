"""``summarize(run)``: every number a person opens the dashboard for, in one dataclass.

Each derived number says where its inputs came from (``sources``); a number whose input is
missing is None, never guessed. Timestamps are the log's own wall clock (no time zone).
"""

from __future__ import annotations

import datetime as _dt
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from parsers import Run
from parsers.jsonout import json_safe

from .audit import Audit, Setup, audit, sampler_kind
from .epochs import epoch_info
from .eta import estimate
from .health import health
from .timing import TimeStats, recent_median, time_stats

LOWER_IS_BETTER = ("loss", "err", "nme", "mae", "rmse", "fid", "epe", "time", "wer", "cer")


def iso(ts: float | None) -> str | None:
    if ts is None or not math.isfinite(ts):
        return None
    return _dt.datetime.fromtimestamp(ts, _dt.timezone.utc).replace(tzinfo=None).isoformat(timespec="seconds")


@dataclass
class RunSummary:
    # identity
    path: str | None
    run_index: int
    format: str
    started_by: str
    # records
    train_records: int
    val_records: int
    test_records: int
    # progress
    first_iter: int | None
    last_iter: int | None
    max_iters: int | None
    progress: float | None  # 0..1
    max_epochs: int | None
    current_epoch: int | None
    iters_per_epoch: int | None
    iters_per_epoch_source: str
    epoch_ends: list[int]
    # setup and arithmetic
    world_size: int | None
    batch_size: int | None
    accumulative_counts: int | None
    dataset_size: int | None
    sampler: str | None
    optimizer_updates: int | None
    updates_done: int | None
    resumed_from_iter: int | None
    # health
    status: str
    status_reason: str
    error_text: str | None
    first_nonfinite_iter: int | None
    nonfinite_fields: list[str]
    loss_spikes: list[int]
    # time
    started_at: str | None
    ended_at: str | None
    wall_seconds: float | None
    compute_seconds: float | None
    gap_seconds: float | None
    median_iter_seconds: float | None
    p90_iter_seconds: float | None
    recent_iter_seconds: float | None
    data_time_share: float | None
    data_bound: bool | None
    peak_memory_mb: float | None
    latest_memory_mb: float | None
    # throughput
    samples_per_second: float | None
    samples_per_hour: float | None
    updates_per_second: float | None
    tokens_per_second: float | None
    tflops: float | None
    # eta
    eta_seconds: float | None
    finish_at: str | None
    eta_method: str
    logged_eta_seconds: float | None
    logged_finish_at: str | None
    # the estimate as of the last train record for any run that has not finished or crashed, whatever its live
    # status (a copy of a log taken mid-run), with its low-high band; None for a finished or crashed run
    projected_eta_seconds: float | None
    projected_finish_at: str | None
    projected_eta_low_seconds: float | None
    projected_eta_high_seconds: float | None
    projected_finish_low_at: str | None
    projected_finish_high_at: str | None
    # the parts of the estimate (see dashboard.analysis.eta): iterations_left, pace_seconds, overhead_per_iter,
    # validations_left, validation_seconds, checkpoints_left, checkpoint_seconds, warmup_records, pace_changes
    eta_parts: dict[str, Any]
    # values
    latest: dict[str, float]
    final_metrics: dict[str, float]
    best_metrics: dict[str, dict[str, Any]]
    audit: Audit
    sources: dict[str, str] = field(default_factory=dict)
    # year-less (console) lines: where their year came from and whether it is a guess (None: every line has its
    # year); also in sources["year"]
    year_source: str | None = None
    year_assumed: bool | None = None
    # raw times for callers that compute with them (not in the JSON report)
    last_timestamp: float | None = None
    finish_timestamp: float | None = None

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d.pop("last_timestamp", None)
        d.pop("finish_timestamp", None)
        return json_safe(d)


@dataclass(frozen=True)
class Overrides:
    """What the user says they ran (command-line flags or the calculator); wins over the log."""

    dataset_size: int | None = None
    world_size: int | None = None
    batch_size: int | None = None
    accumulative_counts: int | None = None
    epochs: int | None = None
    sampler: str | None = None
    drop_last: bool | None = None


def setup_for(run: Run, o: Overrides | None = None) -> tuple[Setup, dict[str, str]]:
    """The setup to audit against, and where each input came from."""
    o = o or Overrides()
    h = run.header
    src: dict[str, str] = {}

    def pick(name: str, user, logged, logged_src: str | None):
        if user is not None:
            src[name] = "given by you"
            return user
        if logged is not None:
            src[name] = logged_src or "log"
            return logged
        return None

    L = pick("dataset_size", o.dataset_size, h.dataset_size, h.sources.get("dataset_size"))
    W = pick("world_size", o.world_size, h.world_size, h.sources.get("world_size"))
    B = pick("batch_size", o.batch_size, h.batch_size, h.sources.get("batch_size"))
    A = o.accumulative_counts if o.accumulative_counts is not None else h.accumulative_counts
    if o.accumulative_counts is not None:
        src["accumulative_counts"] = "given by you"
    elif h.accumulative_counts is not None:
        src["accumulative_counts"] = h.sources.get("accumulative_counts", "log")
    elif h.config_text:
        A = 1  # the config dump was read and sets no accumulation: MMEngine's default is 1
        src["accumulative_counts"] = "MMEngine default (the config dump sets none)"
    E = pick("epochs", o.epochs, h.max_epochs, h.sources.get("max_epochs"))
    logged_sampler = sampler_kind(h.sampler)
    S = pick("sampler", o.sampler, logged_sampler, h.sources.get("sampler"))
    drop = o.drop_last if o.drop_last is not None else bool(h.drop_last)
    setup = Setup(L, W, B, A, E, S, drop, h.per_device_batch_size if o.batch_size is None else None, h.max_iters)
    return setup, src


def throughput_world_size(setup: Setup, aud: Audit) -> tuple[int | None, str]:
    """The world size samples/s is computed with, and why when it is not the setup's.

    When the log's N contradicts the setup's world size (the audit is not consistent), the world size that
    reproduces N is used, never the contradicted one: with the setup's sampler when one fits, else the only one
    that fits. When several fit, or none, samples/s stays unknown. ``("", ...)`` text is empty when the setup's
    world size is used as it is.
    """
    W = setup.world_size
    if aud.consistent is not False or not W:
        return W, ""
    same = sorted({f.world_size for f in aud.fits if f.sampler == (setup.sampler or "default")})
    fits = same or sorted(set(aud.fitting_world_sizes))
    if len(fits) == 1:
        return fits[0], (f" (the world size that gives the logged N = {aud.logged_max_iters}; "
                         f"the {W} of the setup contradicts it)")
    if fits:
        return None, (f" the logged N fits world sizes {', '.join(map(str, fits))}, not the setup's {W}: "
                      "samples/s cannot be told")
    return None, f" the logged N fits no world size with this setup, and contradicts the setup's {W}"


def _metric_summaries(run: Run) -> tuple[dict[str, float], dict[str, dict[str, Any]]]:
    final: dict[str, float] = {}
    best: dict[str, dict[str, Any]] = {}
    for e in run.evals:
        for k, v in e.metrics.items():
            if k in ("time", "data_time") or not math.isfinite(v):
                continue
            final[k] = v
            lower = any(t in k.lower() for t in LOWER_IS_BETTER)
            cur = best.get(k)
            if cur is None or (v < cur["value"] if lower else v > cur["value"]):
                best[k] = {"value": v, "step": e.step, "mode": e.mode, "higher_is_better": not lower}
    return final, best


def summarize(run: Run, *, path: str | None = None, overrides: Overrides | None = None, live: bool = False,
              now: float | None = None, last_growth_at: float | None = None,
              earlier: Sequence[Run] = (), timing: TimeStats | None = None) -> RunSummary:
    """``earlier``: the runs of the earlier launches this run resumed (``dashboard.views.joined.earlier_launches``),
    whose measured pauses the ETA uses too. ``timing``: ``time_stats(run)`` when the caller has it already (it
    costs a pass over the run's records)."""
    t = run.train
    n = len(t)
    ts = timing if timing is not None else time_stats(run)
    ep = epoch_info(run)
    N = run.max_iters
    if N is None and ep.iters_per_epoch and run.header.max_epochs:
        N = ep.iters_per_epoch * run.header.max_epochs
    setup, sources = setup_for(run, overrides)
    if ep.current_epoch is not None:
        sources["current_epoch"] = ep.current_epoch_source
    if run.header.year_source is not None:
        sources["year"] = run.header.year_source
    # The audit compares the log's N with what the setup implies.
    aud: Audit = audit(N, setup, {k: f"{getattr(setup, _SETUP_FIELD.get(k, k), None)} ({v})"
                                  for k, v in sources.items()}, logged_iters_per_epoch=ep.iters_per_epoch)
    A = setup.accumulative_counts
    updates = -(-N // A) if (N and A) else None
    last = run.last_iter
    updates_done = None
    if last is not None and A:
        updates_done = last // A + (1 if (N and last == N and N % A) else 0)
    h = health(run, live=live, now=now, last_growth_at=last_growth_at,
               median_record_gap=ts.median_record_gap_seconds)
    eta = estimate(run, N, earlier=earlier)

    B, W = setup.batch_size, setup.world_size
    W_used, why_w = throughput_world_size(setup, aud)
    it_s = ts.recent_iter_seconds
    sps = (B * W_used / it_s) if (B and W_used and it_s) else None
    if sps is not None:
        sources["samples_per_second"] = (f"batch {B} x world size {W_used}{why_w} / {it_s:.4g} s "
                                         f"(median time of the last records)")
    elif W and not W_used:
        sources["samples_per_second"] = f"unknown:{why_w}"
    else:
        missing = [k for k, v in (("batch size", B), ("world size", W), ("iteration time", it_s)) if not v]
        sources["samples_per_second"] = "unknown: no " + ", ".join(missing)
    ups = (1.0 / (A * it_s)) if (A and it_s) else None
    sources["updates_per_second"] = (f"1 / (accumulation {A} x {it_s:.4g} s)" if ups
                                     else "unknown: needs accumulative_counts and iteration time")
    tok = recent_median(run, "tokens_per_sec")
    tfl = recent_median(run, "tflops")

    fin_ts = np.frombuffer(t.timestamps, dtype=np.float64) if n else np.empty(0)
    fin_ts = fin_ts[np.isfinite(fin_ts)]
    latest = {}
    if n:
        for name in t.field_names:
            if t.is_present(name, n - 1):
                latest[name] = t.column(name)[n - 1]
    final, best = _metric_summaries(run)
    eta_seconds = eta.eta_seconds if h.status not in ("finished", "crashed") else (0.0 if h.status == "finished"
                                                                                   else None)
    finish_ts = eta.finish_at if h.status not in ("crashed",) else None
    if h.status == "finished" and len(fin_ts):
        finish_ts = float(fin_ts[-1])

    projected = h.status not in ("finished", "crashed") and eta.eta_seconds is not None
    parts: dict[str, Any] = {}
    if eta.pace is not None and eta.pauses is not None and N and last is not None:
        pz = eta.pauses
        parts = {"iterations_left": max(N - last, 0), "pace_seconds": eta.pace.pace,
                 "overhead_per_iter": eta.overhead_per_iter, "validations_left": pz.vals_left,
                 "validation_seconds": pz.val_seconds, "checkpoints_left": pz.ckpts_left,
                 "checkpoint_seconds": pz.ckpt_seconds, "warmup_records": eta.pace.warmup_records,
                 "pace_changes": eta.pace.stretches - 1, "validation_source": pz.val_source,
                 "checkpoint_source": pz.ckpt_source}

    return RunSummary(
        path=path, run_index=run.index, format=run.format, started_by=run.started_by,
        train_records=n, val_records=sum(e.mode == "val" for e in run.evals),
        test_records=sum(e.mode == "test" for e in run.evals),
        first_iter=run.first_iter, last_iter=last, max_iters=N,
        progress=(last / N) if (N and last is not None) else None,
        max_epochs=ep.max_epochs or run.header.max_epochs, current_epoch=ep.current_epoch,
        iters_per_epoch=ep.iters_per_epoch, iters_per_epoch_source=ep.source, epoch_ends=ep.epoch_ends,
        world_size=W, batch_size=B, accumulative_counts=A, dataset_size=setup.dataset_size,
        sampler=setup.sampler, optimizer_updates=updates, updates_done=updates_done,
        resumed_from_iter=run.resumed_from_iter,
        status=h.status, status_reason=h.reason, error_text=h.error_text,
        first_nonfinite_iter=h.first_nonfinite_iter, nonfinite_fields=h.nonfinite_fields, loss_spikes=h.spikes,
        started_at=iso(ts.started_ts), ended_at=iso(ts.ended_ts),  # the span wall_seconds measures
        wall_seconds=ts.wall_seconds, compute_seconds=ts.compute_seconds, gap_seconds=ts.gap_seconds,
        median_iter_seconds=ts.median_iter_seconds, p90_iter_seconds=ts.p90_iter_seconds,
        recent_iter_seconds=ts.recent_iter_seconds, data_time_share=ts.data_time_share,
        data_bound=ts.data_bound, peak_memory_mb=ts.peak_memory_mb, latest_memory_mb=ts.latest_memory_mb,
        samples_per_second=sps, samples_per_hour=sps * 3600 if sps else None, updates_per_second=ups,
        tokens_per_second=tok, tflops=tfl,
        eta_seconds=eta_seconds, finish_at=iso(finish_ts), eta_method=eta.method,
        logged_eta_seconds=eta.logged_eta_seconds, logged_finish_at=iso(eta.logged_finish_at),
        projected_eta_seconds=eta.eta_seconds if projected else None,
        projected_finish_at=iso(eta.finish_at) if projected else None,
        projected_eta_low_seconds=eta.low_seconds if projected else None,
        projected_eta_high_seconds=eta.high_seconds if projected else None,
        projected_finish_low_at=iso(eta.finish_low_at) if projected else None,
        projected_finish_high_at=iso(eta.finish_high_at) if projected else None,
        eta_parts=parts,
        latest=latest, final_metrics=final, best_metrics=best, audit=aud, sources=sources,
        year_source=run.header.year_source, year_assumed=run.header.year_assumed,
        last_timestamp=float(fin_ts[-1]) if len(fin_ts) else None, finish_timestamp=finish_ts,
    )


_SETUP_FIELD = {"epochs": "epochs"}

