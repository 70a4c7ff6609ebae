"""The schedule-aware ETA (``dashboard.analysis.eta``), one pace case per test, on synthetic MMEngine logs whose
true end is known, plus the real-log corpus.

``timed_log`` plays an iteration-based MMEngine run on a simulated clock: every iteration takes ``pace(i)`` seconds,
a record is logged every ``interval`` iterations with MMEngine's ``time`` (the mean over the iterations since the
previous record; a checkpoint save lands in the next iterations' time, as with IterTimerHook), a checkpoint save
follows its record, then a validation. The error of an estimate is |predicted end - true end| / (true end - cut time).
"""

from __future__ import annotations

import calendar
import math

import numpy as np
import pytest

from dashboard.analysis import combine, estimate, summarize
from dashboard.analysis.eta import stretches, to_come
from parsers import parse_bytes, parse_path
from tests.conftest import SAMPLE_LOGS, SHARED_LOGS
from tests.helpers import log_clock, train_line

T0 = float(calendar.timegm((2025, 1, 6, 8, 0, 0)))


def timed_log(N: int, pace, *, interval: int = 10, ckpt_every: int | None = None, ckpt_s: float = 0.0,
              val_every: int | None = None, val_s: float = 0.0, config: bool = True, start: int = 0) -> bytes:
    out = []
    if config:
        cfg = [f"train_cfg = dict(type='IterBasedTrainLoop', max_iters={N}"
               + (f", val_interval={val_every})" if val_every else ")"),
               "default_hooks = dict(checkpoint=dict(type='CheckpointHook', by_epoch=False"
               + (f", interval={ckpt_every}))" if ckpt_every else "))")]
        out.append(f"{log_clock(T0)} - mmengine - INFO - Config:\n" + "\n".join(cfg) + "\n\n")
    if start:
        out.append(f"{log_clock(T0)} - mmengine - INFO - resumed epoch: 0, iter: {start}\n")
    t = T0 + 5.0
    window = 0.0
    for i in range(start + 1, N + 1):
        step = pace(i)
        t += step
        window += step
        if i % interval == 0 or i == N:
            span = interval if i % interval == 0 else i % interval
            out.append(train_line(i, N, seconds=window / span, at=t).decode())
            window = 0.0
        if ckpt_every and (i % ckpt_every == 0 or i == N):
            out.append(f"{log_clock(t)} - mmengine - INFO - Saving checkpoint at {i} iterations\n")
            t += ckpt_s
            window += ckpt_s  # MMEngine times the save into the next iteration
        if val_every and (i % val_every == 0 or i == N):
            t += val_s
            out.append(f"{log_clock(t)} - mmengine - INFO - Iter(val) [5/5]    acc: 0.5000  time: 0.1000\n")
    return "".join(out).encode()


def cut_error(data: bytes, fraction: float) -> tuple[float, object, float]:
    """(error of our estimate as a share of the time left, the Eta, error of MMEngine-style cumulative mean)."""
    full = parse_bytes(data).runs[-1]
    end = full.last_timestamp
    N = full.max_iters
    lines = data.split(b"\n")
    target = int(fraction * N)
    cut = next(i for i, ln in enumerate(lines)
               if b"Iter(train)" in ln and int(ln.split(b"[")[1].split(b"/")[0]) >= target)
    run = parse_bytes(b"\n".join(lines[:cut + 1]) + b"\n").runs[-1]
    e = estimate(run)
    left = end - run.train.timestamps[-1]
    return abs(e.finish_at - end) / left, e, left


def steady(i: int) -> float:
    return 10.0 + 0.5 * math.sin(i / 7.0)  # a pace that wobbles, steady on average


def test_steady_run_is_exact_and_says_so():
    err, e, _ = cut_error(timed_log(2000, steady), 0.3)
    assert err < 0.01
    assert "steady pace" in e.method and e.pace.stretches == 1


def test_slow_start_does_not_weigh_on_the_rest():
    data = timed_log(3000, lambda i: (40.0 if i <= 60 else 10.0) + 0.2 * math.sin(i))
    for frac in (0.1, 0.25, 0.5):
        err, e, _ = cut_error(data, frac)
        assert err < 0.01, (frac, e.method)
        assert e.pace.warmup_records >= 5 and "warm-up of" in e.method
    # MMEngine's cumulative mean carries the start: its eta on the 10% line is far off.
    run = parse_bytes(data).runs[0]
    mean_pace = float(np.sum(np.frombuffer(run.train.column("time"))[:30] * 10) / 300)
    assert mean_pace > 11.5


def test_temporary_slowdown_is_not_projected_over_the_whole_run():
    slow = range(1500, 2100)  # 25% slower for 600 iterations, as in issue 17
    data = timed_log(3672, lambda i: steady(i) * (1.25 if i in slow else 1.0))
    err, e, left = cut_error(data, 0.5)  # inside the slow-down, 336 iterations into it
    assert e.pace.current > 1.2 * e.pace.typical  # it sees the slow-down ...
    assert e.pace.current_iters < 400 and "for the" in e.method  # ... and expects it to last about as long again
    assert err < 0.03
    # A short recent window would have projected it: 1836 iterations x 25% too slow.
    assert (1836 * e.pace.current - (left - 0)) / left > 0.15
    err75, e75, _ = cut_error(data, 0.75)  # over: the slow stretch is not in the pace any more
    assert err75 < 0.01 and abs(e75.pace.pace - 10.0) < 0.2


def test_lasting_change_is_followed_once_it_has_lasted():
    data = timed_log(4000, lambda i: steady(i) * (0.8 if i > 1000 else 1.0))  # 20% faster from iteration 1000 on
    err60, e60, _ = cut_error(data, 0.6)  # lasted 1400 iterations, 1600 left: mostly followed
    err80, e80, _ = cut_error(data, 0.8)  # lasted 2200, 800 left: fully followed
    assert e80.pace.pace == pytest.approx(8.0, rel=0.02) and abs(e80.pace.current_since - 1000) <= 20
    assert "the pace since iteration" in e80.method
    assert err80 < 0.01
    assert err60 < 0.05
    assert e60.pace.pace < e60.pace.typical or e60.pace.typical == pytest.approx(8.0, rel=0.03)


def test_validation_pauses_to_come_are_counted_and_named():
    data = timed_log(3000, steady, val_every=1000, val_s=1200.0)
    err, e, _ = cut_error(data, 0.5)  # measured one validation; two to come (2000 and the end)
    assert e.pauses.vals_left == 2 and e.pauses.val_seconds == pytest.approx(1200, abs=15)
    assert "2 validation(s) x" in e.method
    assert err < 0.01
    err, e, _ = cut_error(data, 0.9)  # only the final one is left: not spread over the iterations
    assert e.pauses.vals_left == 1 and err < 0.01


def test_validation_interval_from_the_log_when_the_config_does_not_say():
    data = timed_log(3000, steady, val_every=1000, val_s=600.0, config=False)
    err, e, _ = cut_error(data, 0.4)
    assert e.pauses.vals_left == 2 and err < 0.01


def test_checkpoint_pauses_to_come_are_counted_and_not_taken_for_pace():
    data = timed_log(3672, steady, ckpt_every=500, ckpt_s=120.0)
    err, e, _ = cut_error(data, 0.3)
    # Saves at 1500, 2000, ..., 3500 and the last one at 3672.
    assert e.pauses.ckpts_left == 6 and e.pauses.ckpt_seconds == pytest.approx(120, abs=10)
    assert "6 checkpoint save(s) x" in e.method
    assert abs(e.pace.pace - 10.0) < 0.2  # the save in the next record's time is not pace
    assert err < 0.01


def test_checkpoints_and_validations_together():
    data = timed_log(3000, steady, ckpt_every=500, ckpt_s=60.0, val_every=1000, val_s=900.0)
    for frac in (0.4, 0.6, 0.8):
        err, e, _ = cut_error(data, frac)
        assert err < 0.015, (frac, e.method)
    # Before the first validation its length is unknown, and the method says so (no guess).
    _, e, _ = cut_error(data, 0.25)
    assert e.pauses.val_seconds is None and "3 validation(s) to come, length not measured yet" in e.method


def test_resumed_run_starts_from_its_resume():
    # A resume skips batches: the first records after it are slow; the estimate is of the resumed run alone.
    data = timed_log(3000, lambda i: (30.0 if i <= 1230 else steady(i)), start=1200, ckpt_every=1000, ckpt_s=50.0)
    err, e, _ = cut_error(data, 0.5)
    assert e.pace.warmup_records >= 1 and err < 0.02


def test_a_resumed_experiment_read_as_one_run_measures_pauses_in_its_first_launch():
    """Two files (a crashed launch, then the resumed one) combined: line numbers start again in each file, so the
    pauses are placed among the records by time; the first launch's validation and saves give their lengths."""
    full = timed_log(3000, steady, ckpt_every=500, ckpt_s=90.0, val_every=1000, val_s=600.0)
    lines = full.split(b"\n")
    crash = next(i for i, ln in enumerate(lines) if b"Iter(train) [1590/3000]" in ln)
    first = parse_bytes(b"\n".join(lines[:crash + 1]) + b"\n").runs[0]
    # The resumed launch: from the save at 1500 on, ten hours later on the clock.
    second = timed_log(3000, steady, ckpt_every=500, ckpt_s=90.0, val_every=1000, val_s=600.0, start=1500)
    cut = second.split(b"\n")
    at = next(i for i, ln in enumerate(cut) if b"Iter(train) [1700/3000]" in ln)
    later = parse_bytes(b"\n".join(cut[:at + 1]).replace(b"2025/01/06 0", b"2025/01/06 1") + b"\n").runs[-1]
    alone = estimate(later)
    assert alone.pauses.val_seconds is None and "length not measured yet" in alone.method
    both = estimate(combine([first, later]))
    assert both.pauses.val_seconds == pytest.approx(600, abs=15)
    assert both.pauses.ckpt_seconds == pytest.approx(90, abs=10)
    assert both.pauses.vals_left == 2 and both.pauses.ckpts_left == 3  # 2000 3000 / 2000 2500 3000
    assert abs(both.pace.pace - 10.0) < 0.2


def test_band_holds_the_point_estimate_and_the_slow_case():
    slow = range(1500, 2100)
    data = timed_log(3672, lambda i: steady(i) * (1.25 if i in slow else 1.0), ckpt_every=500, ckpt_s=120.0)
    _, e, left = cut_error(data, 0.5)
    assert e.low_seconds <= e.eta_seconds <= e.high_seconds
    assert e.finish_low_at <= e.finish_at <= e.finish_high_at
    # "it stays slow" is the top of the band
    assert e.high_seconds >= 1836 * e.pace.current


def test_no_change_is_found_in_noise_or_in_a_length_grouped_sawtooth():
    rng = np.random.default_rng(1)
    assert stretches(10 * np.exp(rng.normal(0, 0.05, 400))) == [0]
    run = parse_path(SAMPLE_LOGS / "llm_sft_len_grouped" / "20260314_090000" / "20260314_090000.log").runs[0]
    t = np.frombuffer(run.train.column("time"))[1:]
    assert stretches(t) == [0]


def test_summary_projects_a_cut_log_and_gives_the_band():
    data = timed_log(3000, steady, ckpt_every=1000, ckpt_s=60.0)
    lines = data.split(b"\n")
    run = parse_bytes(b"\n".join(lines[:120]) + b"\n").runs[0]
    s = summarize(run)
    assert s.status == "stopped"
    assert s.projected_eta_seconds is not None and s.projected_eta_seconds > 0
    assert s.projected_finish_low_at <= s.projected_finish_at <= s.projected_finish_high_at
    assert s.projected_eta_low_seconds <= s.projected_eta_seconds <= s.projected_eta_high_seconds
    full = summarize(parse_bytes(data).runs[0])
    assert full.status == "finished" and full.projected_eta_seconds is None and full.projected_finish_at is None


@pytest.mark.parametrize("name", ["mmpretrain-camp-fruit30-resnet.log", "xtuner-internvl2-2b-qlora-ft-20240827.log",
                                  "mmseg1-camp-watermelon-epochloop-iterval.log"])
def test_corpus_estimates_are_finite_with_a_band(name):
    path = SHARED_LOGS / name
    if not path.exists():
        pytest.skip(f"corpus log {name} not present")
    run = parse_path(path).runs[0]
    e = estimate(run, upto=len(run.train) // 2)
    assert e.eta_seconds > 0 and math.isfinite(e.eta_seconds)
    assert e.low_seconds <= e.eta_seconds <= e.high_seconds


def test_the_schedule_counts_what_is_to_come_without_walking_it():
    assert to_come(500, 1, 1, 3672, 1500) == 6  # 1500, 2000, 2500, 3000, 3500 and the last at 3672
    assert to_come(1000, 1, 1, 3000, 2001) == 1  # 3000 is both a multiple and the end
    assert to_come(1, 300, 1, 3600, 301) == 11  # epochs 2..12 (a save after every epoch)
    assert to_come(2, 300, 5, 3600, 0) == 4  # val_begin 5, every 2nd epoch: 6, 8, 10, 12
    assert to_come(-1, 1, 1, 3000, 10) == 1  # CheckpointHook interval=-1: only the last save
    assert to_come(1, 1, 1, 10**12, 10) == 10**12 - 9  # one a iteration over 10^12 iterations, counted at once
