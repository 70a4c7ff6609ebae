"""Resumed runs shown as one (``dashboard.views.joined``): which timestamped folders are one run, the joined run of
the sample crashed-then-resumed detector (a real MMEngine resume), and the URL switch of the Runs and Run pages."""

from __future__ import annotations

import shutil

from dashboard.views import joined, url_state
from dashboard.views.app_state import AppConfig, AppState
from tests.conftest import SAMPLE_LOGS

F = joined.Folder


def test_a_folder_that_resumed_continues_the_one_before_and_a_fresh_start_begins_a_new_run():
    folders = [
        F("r/a/20250103_000000/20250103_000000.log", "a", "20250103_000000", True),
        F("r/a/20250101_000000/20250101_000000.log", "a", "20250101_000000", False),
        F("r/a/20250102_000000/20250102_000000.log", "a", "20250102_000000", True),
        F("r/a/20250104_000000/20250104_000000.log", "a", "20250104_000000", False),  # started over
        F("r/a/20250105_000000/20250105_000000.log", "a", "20250105_000000", True),
        F("r/b/20250101_000000/20250101_000000.log", "b", "20250101_000000", False),  # alone: not a group
        F("r/c/20250102_000000/20250102_000000.log", "c", "20250102_000000", False),
        F("r/c/20250101_000000/20250101_000000.log", "c", "20250101_000000", False),  # two fresh runs
    ]
    assert joined.resumed_groups(folders) == [
        ["r/a/20250101_000000/20250101_000000.log", "r/a/20250102_000000/20250102_000000.log",
         "r/a/20250103_000000/20250103_000000.log"],
        ["r/a/20250104_000000/20250104_000000.log", "r/a/20250105_000000/20250105_000000.log"],
    ]


def test_the_names_and_links_of_a_group():
    group = ["logs/work_dirs/det/20250101_000000/20250101_000000.log",
             "logs/work_dirs/det/20250102_000000/20250102_000000.log"]
    assert joined.group_name(group) == "logs/work_dirs/det · 2 folders joined (resumed run)"
    assert joined.run_href(group[-1]) == "run?run=logs/work_dirs/det/20250102_000000/20250102_000000.log&combine=1"


def test_the_crashed_and_resumed_detector_is_one_run_of_600_iterations(tmp_path):
    root = tmp_path / "logs"
    shutil.copytree(SAMPLE_LOGS / "det_crash_resume", root / "det_crash_resume")
    shutil.copytree(SAMPLE_LOGS / "cls_epoch_val", root / "cls_epoch_val")
    state = AppState(AppConfig((str(root),), "MMDASH_ROOTS", False))
    try:
        first = "logs/det_crash_resume/20260316_214000/20260316_214000.log"
        resumed = "logs/det_crash_resume/20260317_085500/20260317_085500.log"
        assert joined.groups(state) == [[first, resumed]]
        assert joined.group_of(state, resumed) == [first, resumed]
        assert joined.group_of(state, "logs/cls_epoch_val/20260315_140000/20260315_140000.log") is None
        _, run, summary = joined.joined(state, [first, resumed])
        # The crashed part reached 450 and the resume went back to its checkpoint at 400: 410-450 were trained
        # again, so the joined run has each iteration once, 10 to 600.
        assert (summary.first_iter, summary.last_iter, summary.max_iters) == (10, 600, 600)
        assert list(run.train.iters) == list(range(10, 601, 10))
        assert summary.status == "finished"
        model = joined.joined_model(state, [first, resumed], "mmengine-text")
        assert model is not None and model.run_index is None and model.source.id == resumed
        assert model.resume_iters == [400]
        # Built once per state of the logs, for every caller.
        assert joined.joined_model(state, [first, resumed], "mmengine-text") is model
    finally:
        state.close()


def test_the_switch_is_in_the_urls_of_both_pages():
    q = url_state.read_runs_query({"combine": ["1"]})
    assert q.combine and q.notices == []
    assert url_state.runs_page_query(q) == {"combine": "1"}
    assert url_state.read_runs_query({}).combine is False
    bad = url_state.read_runs_query({"combine": ["maybe"]})
    assert bad.combine is False and bad.notices == [
        "URL parameter combine='maybe' ignored: not a yes/no value (1/0, true/false)"]
    run = url_state.read_run_query({"run": ["logs/x.log"], "combine": ["1"]})
    assert run.combine and run.notices == []
    assert url_state.read_run_query({"run": ["logs/x.log"]}).combine is False
