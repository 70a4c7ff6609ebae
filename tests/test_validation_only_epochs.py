"""A log with validation lines only (no train line) still knows its epoch: each validation line names it."""

from __future__ import annotations

from pathlib import Path

import pytest

from dashboard.analysis import epoch_info, summarize
from dashboard.views import run_model as rm
from parsers import parse_bytes, parse_path

from .conftest import SHARED_LOGS


def _corpus(name: str) -> Path:
    p = SHARED_LOGS / name
    if not p.exists():
        pytest.skip(f"{p} absent: ../shared/real_logs is not beside the project")
    return p


@pytest.mark.corpus
@pytest.mark.parametrize(("name", "epochs"), [("mmdet2-mmcv1-maskrcnn-balloon-bbox-segm.log", 10),
                                              ("mmcls0x-mmcv1-flower-shufflenet.log", 20)])
def test_a_validation_only_log_shows_its_epoch(name, epochs):
    run = parse_path(_corpus(name)).runs[0]
    assert len(run.train) == 0
    s = summarize(run)
    assert (s.current_epoch, s.max_epochs) == (epochs, epochs)
    assert s.sources["current_epoch"] == "validation lines"
    header = {i.label: i.value for i in rm.header_items(s, s.status)}
    assert header["Epoch"] == f"{epochs}/{epochs}"


def test_the_epoch_of_the_latest_validation_line_counts_without_a_config():
    text = ("2023/02/05 14:51:06 - mmengine - INFO - Epoch(val) [1][3/3]    accuracy/top1: 81.9\n"
            "2023/02/05 14:52:06 - mmengine - INFO - Epoch(val) [2][3/3]    accuracy/top1: 87.9\n")
    run = parse_bytes(text.encode()).runs[0]
    info = epoch_info(run)
    assert (info.current_epoch, info.max_epochs) == (2, None)
    assert info.current_epoch_source == "validation lines"


@pytest.mark.corpus
def test_an_iteration_based_mmcv_json_log_has_no_epoch_from_its_data_loader():
    # IterBasedRunner: "epoch" in its train and val records counts the data loader's passes (1291 of them).
    s = summarize(parse_path(_corpus("mmseg0x-mmcv1-potato-None.log.json")).runs[0])
    assert s.current_epoch is None and "current_epoch" not in s.sources
