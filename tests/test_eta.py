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
              val_every: int | None = None, val_s: float = 0.0, config: bool = True, start: int = 0,
              val_loader: bool = True) -> bytes:
    out = []
    if config:
        cfg = [f"train_cfg = dict(type='IterBasedTrainLoop', max_iters={N}"
               + (f", val_interval={val_every})" if val_every else ")"),
               "default_hooks = dict(checkpoint=dict(type='CheckpointHook', by_epoch=False"
               + (f", interval={ckpt_every}))" if ckpt_every else "))")]
        if val_every and val_loader:
            cfg.append("val_dataloader = dict(batch_size=8)")
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
    # Before the first validation its length is unknown: a guess, and the method says so.
    _, e, _ = cut_error(data, 0.25)
    assert e.pauses.val_source == "guess" and "3 validation(s) x" in e.method and "a guess, not measured" in e.method


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
    assert alone.pauses.val_source == "guess" and "a guess, not measured yet" in alone.method
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


# ------------------------------------------------------------------ issue 17b: earlier launches, guesses, the band


def _resumed_work_dir(tmp_path):
    """A work_dir with two timestamped folders: a launch that crashed at 1590 after a validation (600 s) and saves
    (90 s), and the launch that resumed from the save at 1500, cut at 1700 (no pause of its own yet)."""
    full = timed_log(3000, steady, ckpt_every=500, ckpt_s=90.0, val_every=1000, val_s=600.0)
    lines = full.split(b"\n")
    crash = next(i for i, ln in enumerate(lines) if b"Iter(train) [1590/3000]" in ln)
    second = timed_log(3000, steady, ckpt_every=500, ckpt_s=90.0, val_every=1000, val_s=600.0, start=1500)
    cut = second.split(b"\n")
    at = next(i for i, ln in enumerate(cut) if b"Iter(train) [1700/3000]" in ln)
    work = tmp_path / "work_dirs" / "exp"
    (work / "20250106_080000").mkdir(parents=True)
    (work / "20250106_080000" / "20250106_080000.log").write_bytes(b"\n".join(lines[:crash + 1]) + b"\n")
    (work / "20250106_180000").mkdir()
    newest = work / "20250106_180000" / "20250106_180000.log"
    newest.write_bytes(b"\n".join(cut[:at + 1]).replace(b"2025/01/06 0", b"2025/01/06 1") + b"\n")
    return newest


def test_a_resumed_launch_in_a_work_dir_takes_its_pauses_from_the_earlier_folder(tmp_path):
    from dashboard.live.launches import earlier_launches

    newest = _resumed_work_dir(tmp_path)
    later = parse_path(newest).runs[-1]
    assert later.resumed_from_iter == 1500
    before = earlier_launches(newest, True)
    assert len(before) == 1 and before[0].last_iter == 1590
    e = estimate(later, earlier=before)
    assert e.pauses.val_seconds == pytest.approx(600, abs=15) and e.pauses.val_source == "earlier launch"
    assert e.pauses.ckpt_seconds == pytest.approx(90, abs=10) and e.pauses.ckpt_source == "earlier launch"
    assert "measured in an earlier launch of this run" in e.method and "guess" not in e.method
    # The pace is this launch's own (the earlier launch gives pauses only).
    assert abs(e.pace.pace - 10.0) < 0.2
    # A folder that did not resume has no earlier launches; nor has a log outside a timestamped folder.
    assert earlier_launches(newest, False) == []
    assert earlier_launches(tmp_path / "x.log", True) == []


def test_report_json_reads_a_resumed_launch_with_its_earlier_folder(tmp_path):
    import json
    import subprocess
    import sys

    from tests.conftest import ROOT

    newest = _resumed_work_dir(tmp_path)
    out = subprocess.run([sys.executable, "-m", "dashboard", "report", "--json", str(newest)], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    run = json.loads(out.stdout)["runs"][-1]
    parts = run["eta_parts"]
    assert parts["validation_source"] == "earlier launch" and parts["checkpoint_source"] == "earlier launch"
    assert parts["validation_seconds"] == pytest.approx(600, abs=15)
    assert run["projected_eta_low_seconds"] <= run["projected_eta_seconds"] <= run["projected_eta_high_seconds"]


def test_an_unseen_validation_is_a_labelled_guess_and_the_band_holds_the_truth():
    """Before the first validation the log says nothing of its length. The estimate guesses (a share of the
    training between validations) and says so; it cannot be right in general, but the band holds the truth for
    a validation as long as a quarter of that training."""
    for val_s in (0.0, 500.0, 2400.0):  # none, 5% and 24% of the 10,000 s of training between validations
        data = timed_log(3000, steady, val_every=1000, val_s=val_s)
        _, e, _ = cut_error(data, 0.25)
        assert e.pauses.val_source == "guess" and e.pauses.vals_left == 3
        assert "a guess, not measured yet" in e.method
        assert e.pauses.val_seconds == pytest.approx(0.05 * 1000 * e.iter_seconds, rel=0.05)
        full = parse_bytes(data).runs[-1]
        end = full.last_timestamp
        assert e.finish_low_at <= end <= e.finish_high_at, (val_s, e.method)
    # The limit, written down: a 24% validation is guessed at 5%, so the point estimate misses by ~19% of the
    # training between validations for each of the three to come.
    err, _, _ = cut_error(timed_log(3000, steady, val_every=1000, val_s=2400.0), 0.25)
    assert err > 0.10
    # Once measured, no guess.
    _, e, _ = cut_error(timed_log(3000, steady, val_every=1000, val_s=2400.0), 0.5)
    assert e.pauses.val_source == "measured" and "guess" not in e.method


def test_no_validation_is_counted_when_the_config_sets_none_up():
    # A val_interval with no val dataloader (MMEngine builds no val loop): nothing to come, nothing guessed.
    data = timed_log(3000, steady, val_every=1000, val_s=0.0, val_loader=False)
    err, e, _ = cut_error(data, 0.25)
    assert e.pauses.vals_left == 0 and e.pauses.val_source is None and err < 0.01


def _corpus_runs():
    if not SHARED_LOGS.is_dir():
        pytest.skip("real-log corpus not present")
    for p in sorted(SHARED_LOGS.glob("*.log")):
        for r in parse_path(p).runs:
            if len(r.train) >= 10 and r.max_iters:
                yield p.name, r


def test_the_pause_guesses_are_the_shares_real_logs_show():
    """VAL_SHARE / CKPT_SHARE (the point guess) and their highs (the band) against the pauses measured in the
    real logs, each as a share of the training time between two of them."""
    from dashboard.analysis import eta as mod

    val, ckpt = [], []
    for _name, r in _corpus_runs():
        e = estimate(r, upto=len(r.train) - 1)
        pz = e.pauses
        if pz is None:
            continue
        if pz.val_source == "measured" and pz.val_every_iters:
            val.append(pz.val_seconds / (pz.val_every_iters * e.iter_seconds))
        if pz.ckpt_source == "measured" and pz.ckpt_every_iters:
            ckpt.append(pz.ckpt_seconds / (pz.ckpt_every_iters * e.iter_seconds))
    assert len(val) >= 6 and len(ckpt) >= 5
    assert 0.5 * np.median(val) <= mod.VAL_SHARE <= 2 * np.median(val)
    assert max(val) <= mod.VAL_SHARE_HIGH
    assert np.median(ckpt) <= 2 * mod.CKPT_SHARE
    assert np.mean(np.asarray(ckpt) <= mod.CKPT_SHARE_HIGH) >= 0.8


def test_the_band_holds_the_pace_of_the_rest_at_nine_in_ten_real_log_cuts():
    """PACE_DRIFT: cut every real log at 10/25/50/75% of its records; the mean logged time of the rest (stalls
    beyond 3 x its median left out) lies within PACE_DRIFT x sqrt(left / seen) of the estimate's pace."""
    from dashboard.analysis.eta import PACE_DRIFT
    from dashboard.analysis.timing import column

    held = []
    for _name, r in _corpus_runs():
        t = column(r, "time")
        if t is None or len(r.train) < 40:
            continue
        for f in (0.10, 0.25, 0.50, 0.75):
            k = int(len(r.train) * f)
            e = estimate(r, upto=k)
            rest = t[k:][np.isfinite(t[k:])]
            if e.pace is None or len(rest) < 5:
                continue
            real = float(np.mean(rest[rest <= 3 * np.median(rest)]))
            held.append(abs(e.pace.pace / real - 1) <= PACE_DRIFT * math.sqrt((1 - f) / f))
    assert len(held) >= 40
    assert np.mean(held) >= 0.9


def test_backtest_band_holds_the_true_end_and_the_goal_where_the_log_can_tell():
    """The backtest of bench/bench_eta_backtest.py (real MMEngine logs, simulated clock), as a test."""
    import importlib.util

    from tests.conftest import ROOT

    spec = importlib.util.spec_from_file_location("bench_eta_backtest", ROOT / "bench" / "bench_eta_backtest.py")
    bt = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bt)
    rows = bt.all_rows(bt.DATA)
    assert len(rows) == 30
    assert sum(r["in_band"] for r in rows) >= 27  # 90% of the cuts
    assert np.mean([r["band_width"] for r in rows]) <= 0.30  # and not uselessly wide
    res = bt.verdict(rows)
    for log in ("issue17_ckpt", "epochs_lasting", "resumed", "resumed+launch1"):
        assert res[log]["pass"], (log, res[log])
    # The limit: issue17_val has had no validation at its 10% and 25% cuts; its 20-minute validations are guessed
    # (and labelled so), and the true end is inside the band there.
    early = [r for r in rows if r["log"] == "issue17_val" and r["cut"] <= 0.25]
    assert all("a guess, not measured yet" in r["method"] and r["in_band"] for r in early)


def test_a_validation_in_progress_gives_its_length_before_it_ends():
    """A live log in its first validation: its progress lines (``Iter(val) [i/n]`` with the pass's own eta) after
    the last train record give the length of the pass (the time so far x n / i), no longer a guess."""
    data = timed_log(3000, steady, val_every=1000, val_s=1200.0)
    full = parse_bytes(data).runs[-1]
    lines = data.split(b"\n")
    at = next(i for i, ln in enumerate(lines) if b"Iter(train) [1000/3000]" in ln)
    t = full.train.timestamps[int(np.searchsorted(full.train.iters, 1000))]
    progress = b"".join(f"{log_clock(t + 4.0 * i)} - mmengine - INFO - Iter(val) [{i:3d}/300]    eta: 0:10:00  "
                        f"time: 4.0000  data_time: 0.0100  memory: 100\n".encode() for i in (50, 100))
    run = parse_bytes(b"\n".join(lines[:at + 1]) + b"\n" + progress).runs[-1]
    assert run.eval_progress is not None and run.eval_progress[2:] == (100, 300)
    e = estimate(run)
    assert e.pauses.val_source == "in progress" and e.pauses.val_seconds == pytest.approx(1200, rel=0.01)
    assert "from the validation in progress" in e.method and "guess" not in e.method
    left = full.last_timestamp - t
    assert abs(e.finish_at - full.last_timestamp) / left < 0.01
    assert e.finish_low_at <= full.last_timestamp <= e.finish_high_at
    # A cut log (``upto`` before the end) does not take a progress line from after the cut.
    assert estimate(run, upto=len(run.train) - 1).pauses.val_source == "guess"


def test_the_dashboard_and_report_agree_on_a_resumed_launch(tmp_path):
    """One run, one view: the Runs page's summary and the Run page's model of a resumed launch take the pauses of
    its earlier folder (followed by the watcher) exactly as ``report`` takes them from disk."""
    from dashboard.analysis import summarize
    from dashboard.live.launches import earlier_launches, earlier_of
    from dashboard.views.app_state import AppConfig, AppState
    from parsers import parse_path
    from tests.helpers import wait_until

    newest = _resumed_work_dir(tmp_path)
    root = tmp_path / "work_dirs"
    state = AppState(AppConfig((str(root),), "MMDASH_ROOTS", False))
    try:
        wait_until(lambda: len(state.watcher.sources()) == 2 and all(
            s.tailer.caught_up for s in state.watcher.sources()), timeout=60)
        src = next(s for s in state.watcher.sources() if s.path == str(newest))
        runs = parse_path(newest).runs
        folders = earlier_launches(newest, True)
        assert folders  # the earlier folder is found on disk
        expected = summarize(runs[-1], path=src.id, live=False, earlier=earlier_of(runs, len(runs) - 1, folders))
        assert expected.eta_parts["validation_source"] == "earlier launch"
        page = state.run_summaries(src)[-1][0]
        model = state.run_model(src, None)
        for shown in (page, model.summary):
            assert shown.eta_parts == expected.eta_parts
            assert shown.projected_eta_seconds == expected.projected_eta_seconds
            assert shown.projected_eta_low_seconds == expected.projected_eta_low_seconds
            assert shown.projected_eta_high_seconds == expected.projected_eta_high_seconds
    finally:
        state.close()
