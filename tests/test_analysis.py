"""Run analysis on real logs: status, epochs, first NaN, ETA on a cut log, combining resumed runs."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from dashboard.analysis import combine, epoch_info, estimate, summarize
from parsers import parse_bytes, parse_path

from .conftest import SAMPLE_LOGS, SHARED_LOGS, corpus_params, sample_log_files

LLM = SAMPLE_LOGS / "llm_sft_len_grouped" / "20260314_090000" / "20260314_090000.log"
TEE = SAMPLE_LOGS / "det_crash_resume" / "console_tee.log"
NAN = SAMPLE_LOGS / "seg_nan_loss" / "20260318_132000" / "20260318_132000.log"


def _corpus(name: str) -> Path:
    p = SHARED_LOGS / name
    if not p.exists():
        pytest.skip(f"{p} absent: ../shared/real_logs is not beside the project")
    return p


@pytest.mark.corpus
@pytest.mark.parametrize("path", corpus_params())
def test_every_real_log_summarizes_to_json_safe_values(path):
    import json

    for run in parse_path(path).runs:
        d = summarize(run, path=str(path)).as_dict()
        json.dumps(d, allow_nan=False)
        assert d["status"] in ("finished", "crashed", "stopped")


@pytest.mark.parametrize("path", sample_log_files(), ids=lambda p: str(p.relative_to(SAMPLE_LOGS)))
def test_every_sample_log_summarizes(path):
    for run in parse_path(path).runs:
        summarize(run, path=str(path))


def test_llm_sample_run_epochs_and_status():
    run = parse_path(LLM).runs[0]
    s = summarize(run)
    assert s.status == "finished" and s.max_iters == 3672
    assert s.iters_per_epoch == 1224 and s.epoch_ends == [1224, 2448, 3672]
    assert s.optimizer_updates == 459 and s.accumulative_counts == 8 and s.dataset_size == 1220
    assert s.audit.consistent is True  # one process, as the header says


def test_llm_sample_run_believed_four_gpus_is_flagged():
    from dashboard.analysis import Overrides

    s = summarize(parse_path(LLM).runs[0], overrides=Overrides(world_size=4))
    assert s.audit.consistent is False and s.audit.expected_max_iters == 936
    assert s.audit.fitting_world_sizes == [1]


def test_throughput_never_multiplies_by_a_contradicted_world_size():
    """The seed case: 4 GPUs believed, N = 3672 says one process saw the data, so samples/s is batch 1 x 1
    process / s/iter, said so; the setup's 4 is never used (issue 11 item 2)."""
    from dashboard.analysis import Overrides

    run = parse_path(LLM).runs[0]
    believed = summarize(run, overrides=Overrides(dataset_size=1220, world_size=4, batch_size=1,
                                                  accumulative_counts=8, epochs=3, sampler="length-grouped"))
    it_s = believed.recent_iter_seconds
    assert believed.world_size == 4 and believed.audit.consistent is False
    assert believed.samples_per_second == 1 / it_s and believed.samples_per_hour == 3600 / it_s
    assert believed.sources["samples_per_second"].startswith(
        "batch 1 x world size 1 (the world size that gives the logged N = 3672; the 4 of the setup contradicts it)")


def test_a_header_that_says_four_gpus_while_n_says_one_process(tmp_path):
    log = tmp_path / "20260314_090000.log"
    log.write_text(LLM.read_text().replace("    GPU number: 1\n", "    GPU number: 4\n", 1))
    s = summarize(parse_path(log).runs[0])
    assert s.world_size == 4 and s.audit.consistent is False and s.audit.fitting_world_sizes == [1]
    assert s.samples_per_second == 1 / s.recent_iter_seconds


def test_crashed_then_resumed_tee_file():
    runs = parse_path(TEE).runs
    assert [summarize(r).status for r in runs] == ["crashed", "finished"]
    assert "OutOfMemoryError" in summarize(runs[0]).status_reason
    assert runs[1].resumed_from_iter == 400
    both = combine(runs)
    assert both.first_iter == 10 and both.last_iter == 600
    restart = [e for e in both.events if e.kind == "restart"]
    assert restart and restart[0].data["iter"] == 410 and restart[0].data["rolled_back"] == 5  # 410..450
    its = list(both.train.iters)
    assert its == sorted(its) and len(its) == len(set(its))


def test_first_nan_iteration_in_sample_and_corpus():
    assert summarize(parse_path(NAN).runs[0]).first_nonfinite_iter == 200
    run = parse_path(_corpus("mmdet2-mmcv1-cascade-rcnn-loss-nan-excerpt.log")).runs[0]
    assert summarize(run).first_nonfinite_iter == 300


def test_statuses_known_from_the_manifest():
    runs = parse_path(_corpus("xtuner-nursingai-deepseek-lora64-multirun-oom.log")).runs
    assert [summarize(r).status for r in runs] == ["crashed", "finished", "finished", "crashed", "crashed", "crashed"]
    assert summarize(parse_path(_corpus("mmdet3-rtmdet-interrupted-mid-epoch.log")).runs[0]).status == "stopped"
    assert summarize(parse_path(_corpus("mmseg0x-mmcv1-fpn-ade20k-80k-2gpu.log")).runs[0]).status == "finished"


def test_epochs_from_phase_shift_when_lines_are_iteration_style():
    run = parse_path(_corpus("mmseg1-camp-watermelon-epochloop-iterval.log")).runs[0]
    info = epoch_info(run)
    assert info.iters_per_epoch == 8 and info.epoch_ends[:3] == [8, 16, 24]


def test_epochs_from_epoch_lines_and_iteration_based_runs_have_none():
    assert epoch_info(parse_path(_corpus("mmpretrain-camp-fruit30-resnet.log")).runs[0]).iters_per_epoch == 137
    assert epoch_info(parse_path(_corpus("mmseg1-iter-val-per-class-table.log")).runs[0]).iters_per_epoch is None


def test_eta_on_the_llm_log_cut_at_half_is_within_5_percent_of_the_time_left():
    data = LLM.read_bytes()
    lines = data.split(b"\n")
    cut = next(i for i, ln in enumerate(lines) if b"Iter(train) [1840/3672]" in ln)
    run = parse_bytes(b"\n".join(lines[: cut + 1]) + b"\n").runs[0]
    full = parse_path(LLM).runs[0]
    end = full.train.timestamps[-1] + (3672 - full.last_iter) * full.train.column("time")[-1]
    s = summarize(run, live=True, now=run.train.timestamps[-1], last_growth_at=run.train.timestamps[-1])
    assert s.status == "running"
    left = end - run.train.timestamps[-1]
    assert abs(s.eta_seconds - left) / left < 0.05
    assert s.logged_eta_seconds is not None  # MMEngine's own, shown beside ours


def test_live_run_without_new_records_is_stalled():
    run = parse_path(LLM).runs[0]
    half = parse_bytes(b"\n".join(LLM.read_bytes().split(b"\n")[:300]) + b"\n").runs[0]
    t = half.train.timestamps[-1]
    assert summarize(half, live=True, now=t + 60, last_growth_at=t).status == "running"
    s = summarize(half, live=True, now=t + 3600, last_growth_at=t)
    assert s.status == "stalled" and "no new record" in s.status_reason
    assert run  # the full log is finished whatever the clock says
    assert summarize(run, live=True, now=t + 10**6, last_growth_at=t).status == "finished"


def test_throughput_inputs_are_named_and_unknown_when_missing():
    s = summarize(parse_path(LLM).runs[0])
    assert s.samples_per_second == pytest.approx(1 / s.recent_iter_seconds)
    assert "batch 1 x world size 1" in s.sources["samples_per_second"]
    run = parse_path(_corpus("mmdet2-mmcv1-cascade-rcnn-loss-nan-excerpt.log")).runs[0]
    s2 = summarize(run)
    assert s2.samples_per_second is None and s2.sources["samples_per_second"].startswith("unknown")


def test_eta_estimate_is_finite_and_positive_mid_run():
    run = parse_path(_corpus("mmdet3d-mmcv1-futr3d-nuscenes-resumed-days-eta.log")).runs[0]
    e = estimate(run)
    assert e.eta_seconds > 0 and math.isfinite(e.eta_seconds)
