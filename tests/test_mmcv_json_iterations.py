"""mmcv 1.x ``.log.json`` files: global iterations that match the text log.

mmcv's EpochBasedRunner writes the iteration inside the epoch as ``iter``; the global iteration needs the
iterations per epoch, which the JSON does not hold: they come from the text twin (same folder, same stem),
else from a checkpoint meta line (iter after e epochs), else the largest ``iter`` of a complete epoch stands
in (a lower bound), and the run's header says which (``header.sources["iters_per_epoch"]``).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from dashboard.analysis import summarize
from parsers import parse_path

from .conftest import SHARED_LOGS

CIFAR = "mmcls0x-mmcv1-cifar10-resnet18"
RETINA = "mmdet2-mmcv1-retinanet-voc-resumed"


def _corpus(name: str) -> Path:
    p = SHARED_LOGS / name
    if not p.exists():
        pytest.skip(f"{p} absent: ../shared/real_logs is not beside the project")
    return p


def _iters(path: Path) -> list[int]:
    (run,) = [r for r in parse_path(path).runs if len(r.train)]
    return list(run.train.iters)


@pytest.mark.corpus
@pytest.mark.parametrize("stem", [CIFAR, RETINA])
def test_a_json_log_and_its_text_twin_have_the_same_global_iterations(stem):
    text, js = _corpus(stem + ".log"), _corpus(stem + ".log.json")
    assert _iters(js) == _iters(text)


@pytest.mark.corpus
def test_the_cifar_json_log_ends_at_3874_of_3920_with_the_epoch_length_of_its_text_twin():
    run = parse_path(_corpus(CIFAR + ".log.json")).runs[-1]
    assert (run.last_iter, run.max_iters, run.iters_per_epoch) == (3874, 3920, 196)
    assert run.header.iters_per_epoch == 196
    assert run.header.sources["iters_per_epoch"].startswith("text twin")
    assert CIFAR + ".log" in run.header.sources["iters_per_epoch"]
    s = summarize(run)
    assert (s.last_iter, s.max_iters, s.current_epoch, s.max_epochs) == (3874, 3920, 20, 20)
    assert s.iters_per_epoch_source.startswith("text twin")


@pytest.mark.corpus
def test_the_resumed_retinanet_json_log_spans_16606_to_20656(tmp_path):
    run = parse_path(_corpus(RETINA + ".log.json")).runs[-1]
    assert (run.first_iter, run.last_iter) == (16606, 20656)
    # Alone (no text twin beside it), the checkpoint meta line says iter 16556 after 4 epochs.
    alone = tmp_path / (RETINA + ".log.json")
    shutil.copy(_corpus(RETINA + ".log.json"), alone)
    run = parse_path(alone).runs[-1]
    assert (run.first_iter, run.last_iter, run.iters_per_epoch) == (16606, 20656, 4139)
    assert run.header.sources["iters_per_epoch"].startswith("checkpoint meta")


@pytest.mark.corpus
def test_without_its_twin_the_cifar_json_log_says_its_epoch_length_is_a_lower_bound(tmp_path):
    alone = tmp_path / (CIFAR + ".log.json")
    shutil.copy(_corpus(CIFAR + ".log.json"), alone)
    run = parse_path(alone).runs[-1]
    # 150 is the largest iter logged in a complete epoch (the epoch has 196): global iterations use it,
    # and nothing pretends it is the epoch length.
    assert run.last_iter == 19 * 150 + 150 and run.iters_per_epoch is None and run.max_iters is None
    assert run.header.iters_per_epoch is None
    note = run.header.sources["iters_per_epoch"]
    assert "lower bound" in note and "150" in note
    assert summarize(run).current_epoch == 20


@pytest.mark.corpus
def test_an_iteration_based_twin_keeps_the_json_iterations_global():
    iters = _iters(_corpus("mmseg0x-mmcv1-fpn-ade20k-80k-2gpu.log.json"))
    assert iters == _iters(_corpus("mmseg0x-mmcv1-fpn-ade20k-80k-2gpu.log"))
    assert iters[-1] == 80000
