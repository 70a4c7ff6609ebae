"""dashboard.charts.figures: figures stay within the point budget, show epochs/resumes/checkpoints, log axes.

The builders give plain dicts (plotly's JSON figure schema); the tests read them through ``go.Figure(fig)``,
plotly's own validation, which refuses anything that is not a valid figure (``test_figure_dicts`` checks that it
changes nothing either)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from dashboard.charts import figures
from dashboard.charts.figures import MAX_EPOCH_LABELS, classify_key, group_keys, trace_point_counts
from dashboard.charts.series import eval_frame, train_frame
from parsers import parse_bytes
from tests.test_series import TEXT_LOG


def metric_figure(*args, **kw) -> go.Figure:
    return go.Figure(figures.metric_figure(*args, **kw))


def eval_figure(*args, **kw) -> go.Figure:
    return go.Figure(figures.eval_figure(*args, **kw))


def compare_figure(*args, **kw) -> go.Figure:
    return go.Figure(figures.compare_figure(*args, **kw))


def big_frame(n: int = 1_000_000, iters_per_epoch: int = 100_000, seed: int = 0) -> pd.DataFrame:
    """A train_frame-shaped frame of n logged iterations (10 epochs by default)."""
    rng = np.random.default_rng(seed)
    it = np.arange(1, n + 1, dtype=np.int64)
    epoch = (it - 1) // iters_per_epoch + 1
    ts = 1.7e9 + it * 0.5
    loss = 3.0 / np.sqrt(it) + rng.normal(scale=0.05, size=n)
    loss[777_777 % n] = 25.0  # a spike
    f = pd.DataFrame({
        "iter": it,
        "epoch": epoch.astype(float),
        "epoch_progress": (epoch - 1) + ((it - 1) % iters_per_epoch + 1) / iters_per_epoch,
        "timestamp": ts,
        "relative_seconds": ts - ts[0],
        "lr": np.full(n, 1e-4),
        "loss": loss,
    })
    f.attrs["fields"] = {"lr": "lr", "loss": "loss"}
    f.attrs["logged_nonfinite"] = {}
    return f


@pytest.fixture(scope="module")
def frame_1m() -> pd.DataFrame:
    return big_frame()


def shapes(fig, name):
    return [s for s in fig.layout.shapes if s.name == name]


def annotations(fig, name):
    return [a for a in fig.layout.annotations if a.name == name]


def test_one_million_points_give_at_most_4000_per_trace(frame_1m):
    # Behaviour only: how long it takes is a benchmark's business (a test under load must not fail on time).
    fig = metric_figure(frame_1m, ["loss"], smoothing=0.6)
    counts = trace_point_counts(fig)
    assert len(counts) == 2  # raw + smoothed
    assert all(0 < c <= 4000 for c in counts)
    raw = fig.data[0]
    assert raw.opacity < 0.5 and raw.hoverinfo == "skip"  # raw faint behind the smoothed one
    assert fig.data[1].name == "loss" and fig.data[1].line.width > raw.line.width
    assert 25.0 in raw.y  # the spike survives downsampling


def test_traces_hold_numpy_arrays(frame_1m):
    fig = figures.metric_figure(frame_1m, ["loss"], smoothing=0.6)
    for tr in fig["data"]:
        assert isinstance(tr["x"], np.ndarray) and isinstance(tr["y"], np.ndarray)


@pytest.mark.parametrize("x_axis", ["iter", "epoch", "wall", "relative"])
def test_every_x_axis_is_budgeted_and_has_epoch_lines(frame_1m, x_axis):
    ends = [k * 100_000 for k in range(1, 10)]
    fig = metric_figure(frame_1m, ["loss", "lr"], x_axis=x_axis, epoch_ends=ends, max_points=1500)
    assert all(c <= 1500 for c in trace_point_counts(fig))
    assert len(shapes(fig, "epoch_end")) == 9
    labels = [a.text for a in annotations(fig, "epoch_end")]
    assert labels[0] == "epoch 1" and "epoch 9" in labels
    if x_axis == "wall":
        assert fig.data[0].x.dtype.kind == "M"
        assert fig.layout.xaxis.type == "date"
        assert isinstance(shapes(fig, "epoch_end")[0].x0, str)  # ISO text on a date axis
    if x_axis == "epoch":
        assert shapes(fig, "epoch_end")[0].x0 == pytest.approx(1.0)


def test_epoch_line_labels_are_capped():
    f = big_frame(n=200_000, iters_per_epoch=1000)
    fig = metric_figure(f, ["loss"], epoch_ends=[k * 1000 for k in range(1, 200)])
    assert len(shapes(fig, "epoch_end")) == 199
    assert len(annotations(fig, "epoch_end")) <= MAX_EPOCH_LABELS


def test_resume_points_and_checkpoint_ticks(frame_1m):
    fig = metric_figure(frame_1m, ["loss"], resume_iters=[500_000], checkpoint_iters=[250_000, 750_000, 1_000_000])
    assert [s.x0 for s in shapes(fig, "resume")] == [500_000.0]
    assert annotations(fig, "resume")[0].text == "resumed at 500000"
    ticks = shapes(fig, "checkpoint")
    assert len(ticks) == 3 and all(s.y1 < 0.1 for s in ticks)


def test_log_scale_toggle(frame_1m):
    assert metric_figure(frame_1m, ["loss"], log_y=True).layout.yaxis.type == "log"
    assert metric_figure(frame_1m, ["loss"], log_y=False).layout.yaxis.type == "linear"


def test_zoomed_range_is_resampled_at_full_detail(frame_1m):
    fig = metric_figure(frame_1m, ["loss"], smoothing=0.0, x_range=(400_000, 401_000),
                        epoch_ends=[100_000, 400_500, 500_000])
    (trace,) = fig.data
    assert len(trace.x) == 1003  # every logged point in the range, plus one neighbour each side
    assert list(fig.layout.xaxis.range) == [400_000, 401_000]
    assert [s.x0 for s in shapes(fig, "epoch_end")] == [400_500.0]  # only lines inside the view


def test_smoothing_zero_draws_only_the_raw_series(frame_1m):
    fig = metric_figure(frame_1m, ["loss"], smoothing=0.0)
    assert len(fig.data) == 1 and fig.data[0].line.width == 2


def test_logged_nan_is_a_gap_and_marked_while_absent_rows_are_ignored():
    f = train_frame(parse_bytes(TEXT_LOG).runs[0])
    fig = metric_figure(f, ["loss", "grad_norm"], smoothing=0.5)
    names = [t.name for t in fig.data]
    assert "loss: nan/inf" in names
    loss_raw = fig.data[0]
    assert np.isfinite(loss_raw.y).tolist() == [True, False, False, True]  # the logged nan and inf are gaps
    smooth = [t for t in fig.data if t.name == "loss"][0]
    assert np.isfinite(smooth.y).tolist() == [True, False, False, True]
    marks = [t for t in fig.data if t.name == "loss: nan/inf"][0]
    assert len(marks.x) == 2 and np.isfinite(marks.y).all()
    grad = [t for t in fig.data if t.name == "grad_norm"][0]
    assert len(grad.y) == 1 and np.isfinite(grad.y).all()  # rows without grad_norm are not gaps


def test_several_frames_in_one_figure():
    a, b = big_frame(20_000, seed=1), big_frame(30_000, seed=2)
    fig = metric_figure([("run 1", a), ("run 2", b)], ["loss"], max_points=500)
    assert [t.name for t in fig.data if t.showlegend is not False] == ["run 1 · loss", "run 2 · loss"]
    assert all(c <= 500 for c in trace_point_counts(fig))


def test_unknown_x_axis_is_an_error(frame_1m):
    with pytest.raises(ValueError):
        metric_figure(frame_1m, ["loss"], x_axis="steps")  # type: ignore[arg-type]


def test_eval_figure_by_epoch_and_iteration():
    run = parse_bytes(TEXT_LOG).runs[0]
    e = eval_frame(run)
    fig = eval_figure(e, ["accuracy/top1"], x_axis="epoch")
    assert list(fig.data[0].x) == [1.0] and list(fig.data[0].y) == [64.98]
    assert fig.data[0].mode == "lines+markers"
    fig = eval_figure(e, ["accuracy/top1", "missing"], x_axis="iter", log_y=True)
    assert list(fig.data[0].x) == [10.0] and len(fig.data) == 1 and fig.layout.yaxis.type == "log"


def test_compare_figure_aligns_runs_and_reports_missing_keys():
    a, b = big_frame(50_000, seed=1), big_frame(80_000, seed=2)
    c = big_frame(1000).drop(columns=["loss"])
    fig = compare_figure([("a", a), ("b", b), ("c", c)], "loss", align="relative", smoothing=0.6, max_points=800)
    legend = [t.name for t in fig.data if t.showlegend is not False]
    assert legend == ["a", "b"]
    assert fig.layout.meta["missing"] == ["c"]
    assert all(n <= 800 for n in trace_point_counts(fig))
    assert fig.layout.xaxis.title.text == "seconds since start"
    with pytest.raises(ValueError):
        compare_figure([("a", a)], "loss", align="wall")  # type: ignore[arg-type]


@pytest.mark.parametrize(("name", "group"), [
    ("loss", "loss"), ("decode.loss_ce.s0", "loss"), ("s0.loss_cls", "loss"), ("loss_rpn_bbox", "loss"),
    ("lr", "lr"), ("base_lr", "lr"), ("time", "time"), ("data_time", "time"), ("memory", "memory"),
    ("grad_norm", "grad_norm"), ("tokens_per_sec", "throughput"), ("tflops", "throughput"),
    ("acc", "other"), ("s0.acc", "other"), ("num_tokens", "other"), ("coco/bbox_mAP", "other"),
])
def test_classify_key(name, group):
    assert classify_key(name) == group


def test_group_keys_order_and_total_loss_first():
    groups = group_keys(["lr", "time", "loss_cls", "loss", "memory", "acc", "grad_norm", "data_time"])
    assert list(groups) == ["loss", "lr", "time", "memory", "grad_norm", "other"]
    assert groups["loss"] == ["loss", "loss_cls"] and groups["time"] == ["time", "data_time"]
