"""Resumed runs shown as one (``dashboard.views.joined``): which timestamped folders are one run, the joined run of
the sample crashed-then-resumed detector (a real MMEngine resume), and the URL switch of the Runs and Run pages."""

from __future__ import annotations

import shutil

import pytest

from dashboard.views import compare, joined, review, run_model, url_state
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


def detector_and_classifier(tmp_path) -> AppState:
    """A server on a root holding the crashed-and-resumed detector (two folders) and the classifier (one)."""
    root = tmp_path / "logs"
    shutil.copytree(SAMPLE_LOGS / "det_crash_resume", root / "det_crash_resume")
    shutil.copytree(SAMPLE_LOGS / "cls_epoch_val", root / "cls_epoch_val")
    return AppState(AppConfig((str(root),), "MMDASH_ROOTS", False))


def test_the_crashed_and_resumed_detector_is_one_run_of_600_iterations(tmp_path):
    state = detector_and_classifier(tmp_path)
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


def test_compare_takes_the_joined_run_whole_with_the_choice_in_its_url(tmp_path):
    """Compare's reference to a joined run (``<last log>::combine``) survives the URL and names the same joined run
    the Run page shows with combine=1: iterations of the earlier folder included, labelled with its folder count."""
    state = detector_and_classifier(tmp_path)
    try:
        first = "logs/det_crash_resume/20260316_214000/20260316_214000.log"
        resumed = "logs/det_crash_resume/20260317_085500/20260317_085500.log"
        cls = "logs/cls_epoch_val/20260315_140000/20260315_140000.log"
        group = joined.group_of(state, resumed)
        assert group == [first, resumed]
        ref = joined.compare_ref(group)
        assert ref == f"{resumed}::combine"
        view, notices = url_state.from_query({"compare": [ref, cls]})
        assert notices == [] and view.compare == [url_state.RunRef(resumed, combine=True), url_state.RunRef(cls)]
        assert url_state.to_query(view)["compare"] == [ref, cls]  # a copied link opens the same comparison
        target = review.target_of(view.compare[0])
        assert target == review.Target("root", resumed, None, True) and str(target) == ref
        _, run, summary = joined.joined(state, joined.group_of(state, target.id))
        frame = compare.metric_frame(run, "loss", summary.iters_per_epoch)
        # The earlier folder's iterations (10-400) are in the chart's data, not only the resumed folder's 410-600.
        assert (frame["iter"].min(), frame["iter"].max()) == (10, 600)
        # The run's label says it is joined, and how many folders.
        labels = compare.run_labels([(target, None), (review.target_of(view.compare[1]), None)],
                                    folders=[len(group), None])
        assert labels == ["det_crash_resume · 2 folders joined", "cls_epoch_val/…/20260315_140000.log"]
        status, _, live = joined.status(summary, run_model.Liveness(False, None, "watcher"), 0.0)
        assert (status, live) == ("finished", False)
        # A run index and ::combine do not go together; an upload is one run already.
        with pytest.raises(ValueError):
            url_state.RunRef(resumed, 1, combine=True)
        assert review.target_of(url_state.RunRef.parse("upload:" + "a" * 24 + "::combine")) is None
        _, bad = url_state.from_query({"compare": ["logs/x.log::combine::combine"]})
        assert len(bad) == 1
    finally:
        state.close()
