"""The Compare page's model for many runs and their configurations (``dashboard.views.compare``): the table of
configuration differences (``config_diff``) on the config dumps of the sample logs (real MMEngine runs) and of
the real-log corpus, labels that stay apart, and charts that stay light as runs are added."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from dashboard.charts.figures import PALETTE
from dashboard.views import compare, review
from parsers import parse_path
from tests.conftest import SAMPLE_LOGS, corpus_params

DET_FIRST = SAMPLE_LOGS / "det_crash_resume" / "20260316_214000" / "20260316_214000.log"
DET_RESUMED = SAMPLE_LOGS / "det_crash_resume" / "20260317_085500" / "20260317_085500.log"
CLS = SAMPLE_LOGS / "cls_epoch_val" / "20260315_140000" / "20260315_140000.log"


def config_of(path) -> str | None:
    return parse_path(path).runs[0].header.config_text


def rows(frame) -> list[list[str]]:
    return frame.values.tolist()


def test_a_resumed_run_differs_from_its_first_part_only_in_resume():
    table, without = compare.config_diff([("first", config_of(DET_FIRST)), ("resumed", config_of(DET_RESUMED))])
    assert list(table.columns) == ["key", "first", "resumed"]
    assert rows(table) == [["resume", "False", "True"]]
    assert without == []


def test_nested_keys_are_dotted_list_items_indexed_and_unset_keys_marked():
    table, _ = compare.config_diff([("det", config_of(DET_FIRST)), ("cls", config_of(CLS))])
    by_key = {r[0]: r[1:] for r in rows(table)}
    assert by_key["optim_wrapper.optimizer.lr"] == ["0.02", "0.05"]
    assert by_key["model.type"] == ["'TinyDetector'", "'TinyClassifier'"]
    assert by_key["param_scheduler[1].milestones"] == ["[400, 550]", "[3, 5]"]
    assert by_key["train_cfg.max_iters"] == ["600", compare.NOT_SET]
    assert by_key["train_cfg.max_epochs"] == [compare.NOT_SET, "6"]
    # Only keys that differ: the same logger interval and log level are not rows.
    assert "default_hooks.logger.interval" not in by_key and "log_level" not in by_key
    assert list(by_key) == sorted(by_key, key=compare._natural)


def test_the_same_config_has_no_differences_and_runs_without_a_dump_are_named():
    text = config_of(CLS)
    table, without = compare.config_diff([("a", text), ("b", text), ("plain", None)])
    assert table.empty and list(table.columns) == ["key", "a", "b"]
    assert without == ["plain"]


def test_a_single_dump_has_nothing_to_compare():
    table, without = compare.config_diff([("a", config_of(CLS)), ("b", None)])
    assert table.empty and without == ["b"]


def test_values_are_text_made_safe_and_unknown_values_say_so():
    a = ("model = dict(type='A<b>x</b>\\x1b[31m', depth=50, neck=some_name)\nbackbone = some_name\nlr = 0.1\n"
         "data = {'k\\u202eey': 1}\n")
    b = "model = dict(type='B', depth=50, neck=None)\nbackbone = 'resnet'\nlr = 0.1\ndata = {'k\\u202eey': 2}\n"
    table, _ = compare.config_diff([("a", a), ("b", b)])
    by_key = {r[0]: r[1:] for r in rows(table)}
    # Values are Python literals (repr writes a control character as an escape); markup stays literal text for
    # the dataframe; a bidirectional override in a key is removed (text.one_line).
    assert by_key["model.type"] == ["'A<b>x</b>\\x1b[31m'", "'B'"]
    assert by_key["model.neck"] == [compare.NOT_READ, "None"]
    assert by_key["backbone"] == [compare.NOT_SET, "'resnet'"]  # an unknown top-level name is not read at all
    assert by_key["data.key"] == ["1", "2"]
    assert set(by_key) == {"model.type", "model.neck", "backbone", "data.key"}


def test_labels_that_collide_with_the_key_column_are_made_unique():
    table, _ = compare.config_diff([("key", "a = 1\n"), ("key", "a = 2\n")])
    assert list(table.columns) == ["key", "key (2)", "key (3)"]
    assert rows(table) == [["a", "1", "2"]]


@pytest.mark.parametrize("path", corpus_params())
def test_every_real_config_dump_flattens_to_text(path):
    for run in parse_path(path).runs:
        items = compare.config_items(run.header.config_text)
        if items is None:
            continue
        assert all(isinstance(k, str) and isinstance(v, str) for k, v in items.items())
        table, _ = compare.config_diff([("x", run.header.config_text), ("y", run.header.config_text)])
        assert table.empty


def test_runs_whose_short_names_are_the_same_are_named_by_their_whole_path():
    t = [review.Target("root", f"logs/sweep/lr{k}/20250101_000000.log") for k in (1, 2)]
    other = review.Target("root", "logs/cls/20250102_000000/20250102_000000.log")
    assert compare.run_labels([(t[0], None), (t[1], None), (other, None)]) == [
        "sweep/lr1/20250101_000000.log", "sweep/lr2/20250101_000000.log", "cls/…/20250102_000000.log"]
    assert compare.run_labels([(other, None), (other, None)]) == ["cls/20250102_000000/20250102_000000.log",
                                                                  "cls/20250102_000000/20250102_000000.log (2)"]


def test_a_chart_of_many_runs_thins_its_traces_and_gives_each_run_its_colour():
    n = 10_000
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"iter": np.arange(1, n + 1) * 10, "epoch_progress": np.arange(n) / 1000,
                          "relative_seconds": np.arange(n) * 5.0, "loss": 1 + rng.random(n)})
    two = go.Figure(compare.figure([("a", frame), ("b", frame)], "loss"))
    assert [len(t.x) for t in two.data] == [4000] * 4  # raw and smoothed of each run, at full chart detail
    many = 30
    fig = go.Figure(compare.figure([(f"r{i}", frame) for i in range(many)], "loss", smoothing=0.6))
    assert compare.points_per_trace(many) == 400 and compare.points_per_trace(2) == 4000
    assert max(len(t.x) for t in fig.data) <= 400 < len(frame)
    colors = {t.legendgroup: t.line.color for t in fig.data if t.mode == "lines"}
    assert len(colors) == many and len(set(colors.values())) == many > len(PALETTE)
    assert fig.layout.legend.orientation == "v"


def test_a_metric_most_runs_lack_is_counted_not_listed():
    cls = parse_path(CLS).runs[0]
    det = parse_path(DET_FIRST).runs[0]
    frames = [("det", compare.metric_frame(det, "loss_cls"))] + [
        (f"cls{i}", compare.metric_frame(cls, "loss_cls")) for i in range(5)]
    fig = go.Figure(compare.figure(frames, "loss_cls"))
    assert [a.text for a in fig.layout.annotations] == ["no loss_cls in 5 of the 6 runs"]
    few = go.Figure(compare.figure(frames[:3], "loss_cls"))
    assert [a.text for a in few.layout.annotations] == ["no loss_cls in: cls0, cls1"]
