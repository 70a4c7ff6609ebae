"""dashboard.charts.series: TensorBoard smoothing, spike-keeping NaN-safe downsampling, zoom windows, run frames."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from dashboard.charts.series import (
    EVAL_BASE_COLUMNS,
    TRAIN_BASE_COLUMNS,
    downsample,
    ema_smooth,
    eval_frame,
    field_columns,
    present_rows,
    train_frame,
    window,
)
from parsers import LogParser, Run, parse_bytes


def tensorboard_ema(values, weight):
    """TensorBoard's smoothing loop, literally (vz_line_chart2 resmoothDataset), as the reference."""
    out, last, k = [], 0.0, 0
    finite_vals = [v for v in values if math.isfinite(v)]
    constant = bool(finite_vals) and all(v == finite_vals[0] for v in finite_vals)
    for v in values:
        if not math.isfinite(v):
            out.append(math.nan)
        elif constant:
            out.append(v)
        else:
            last = last * weight + (1 - weight) * v
            k += 1
            out.append(last / (1 - weight**k))
    return np.array(out, dtype=float)


finite_or_not = st.one_of(
    st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False),
    st.sampled_from([math.nan, math.inf, -math.inf]),
)


# ------------------------------------------------------------------------------------------------ ema


@pytest.mark.parametrize("weight", [0.01, 0.3, 0.6, 0.9, 0.99])
@pytest.mark.parametrize("n", [1, 2, 5, 37, 1000, 4099, 70_000])  # 70,000: blocks of blocks (two levels)
def test_ema_matches_tensorboard_loop(weight, n):
    rng = np.random.default_rng(n)
    v = rng.normal(size=n) * 3 + 10
    v[rng.random(n) < 0.1] = np.nan
    if n > 3:
        v[3] = np.inf
    np.testing.assert_allclose(ema_smooth(v, weight), tensorboard_ema(v, weight), rtol=1e-9, atol=1e-12)


@given(values=st.lists(finite_or_not, max_size=300), weight=st.floats(0.0, 0.99))
def test_ema_property_matches_reference(values, weight):
    v = np.array(values, dtype=float)
    got = ema_smooth(v, weight)
    assert got.shape == v.shape
    if weight == 0:
        np.testing.assert_array_equal(got, v)
    else:
        np.testing.assert_allclose(got, tensorboard_ema(values, weight), rtol=1e-7, atol=1e-6)


@pytest.mark.parametrize("weight", [1e-130, 1e-300, 0.999])  # no block of 2 fits; the widest blocks
def test_ema_of_extreme_weights_matches_tensorboard_loop(weight):
    v = np.random.default_rng(3).normal(size=5000) * 1e3
    np.testing.assert_allclose(ema_smooth(v, weight), tensorboard_ema(v, weight), rtol=1e-9, atol=1e-9)


def test_ema_weight_zero_returns_the_input_values():
    v = np.array([1.0, np.nan, np.inf, 4.0])
    out = ema_smooth(v, 0.0)
    np.testing.assert_array_equal(out, v)
    assert out is not v


def test_ema_nan_and_inf_do_not_poison_the_average_and_stay_nan():
    v = np.array([1.0, 2.0, np.nan, np.inf, -np.inf, 3.0, 4.0])
    out = ema_smooth(v, 0.6)
    assert np.isnan(out[2:5]).all()
    assert np.isfinite(out[[0, 1, 5, 6]]).all()
    # Same as smoothing the finite values alone.
    np.testing.assert_allclose(out[[0, 1, 5, 6]], ema_smooth(np.array([1.0, 2.0, 3.0, 4.0]), 0.6))


def test_ema_is_debiased_first_value_is_kept():
    assert ema_smooth(np.array([5.0, 7.0]), 0.99)[0] == pytest.approx(5.0)


def test_ema_constant_series_stays_exactly_constant():
    v = np.full(10_000, 1e-4)
    np.testing.assert_array_equal(ema_smooth(v, 0.95), v)


@pytest.mark.parametrize("weight", [-0.1, 1.0, 1.5, math.nan])
def test_ema_rejects_weights_outside_0_1(weight):
    with pytest.raises(ValueError):
        ema_smooth(np.ones(3), weight)


def test_ema_of_one_million_points():
    v = np.random.default_rng(0).normal(size=1_000_000)
    out = ema_smooth(v, 0.6)  # vectorised; its speed is measured by hand in bench/, never asserted here
    assert out.shape == v.shape and np.isfinite(out).all()


# ---------------------------------------------------------------------------------------------- downsample


def test_downsample_small_input_is_returned_unchanged():
    x, y = np.arange(10.0), np.arange(10.0)
    rx, ry = downsample(x, y, 4000)
    assert rx is x and ry is y


def test_downsample_one_million_points_to_at_most_max_points_keeping_the_spike():
    n = 1_000_000
    x = np.arange(n, dtype=np.int64)
    y = np.sin(np.arange(n) / 5000.0)
    y[654_321] = 50.0  # a one-iteration loss spike
    y[123_456] = -40.0
    rx, ry = downsample(x, y, 4000)
    assert len(rx) <= 4000 and len(rx) == len(ry)
    assert 654_321 in rx and 123_456 in rx
    assert ry.max() == 50.0 and ry.min() == -40.0
    assert np.all(np.diff(rx) > 0)


def test_downsample_keeps_the_first_nonfinite_point_as_a_gap_marker():
    n = 100_000
    x = np.arange(n, dtype=float)
    y = np.ones(n)
    y[40_000:] = np.nan  # the loss went NaN and stayed NaN
    y[10] = np.inf
    rx, ry = downsample(x, y, 1000)
    assert len(rx) <= 1000
    assert 40_000 in rx and np.isnan(ry[rx == 40_000][0])
    assert 10 in rx and np.isinf(ry[rx == 10][0])
    assert np.isnan(ry).sum() == 1  # one marker per run of NaN, not 60 000 of them


def test_downsample_many_separate_nan_runs_are_thinned_within_budget():
    n = 50_000
    y = np.random.default_rng(1).normal(size=n)
    y[::3] = np.nan
    rx, ry = downsample(np.arange(n, dtype=float), y, 400)
    assert len(rx) <= 400
    assert 0 in rx  # the first non-finite run is always kept
    assert np.isfinite(ry).sum() >= 300


def test_downsample_drops_points_without_an_x():
    n = 10_000
    x = np.arange(n, dtype=float)
    x[5:5000] = np.nan
    rx, ry = downsample(x, np.ones(n), 100)
    assert np.isfinite(rx).all() and len(rx) <= 100


def test_downsample_duplicate_and_backward_x_does_not_crash():
    # Wall-clock seconds repeat when several iterations are logged within a second.
    n = 20_000
    x = np.repeat(np.arange(n // 4, dtype=float), 4)
    x[-100:] -= 50  # a clock that went back
    rx, ry = downsample(x, np.random.default_rng(2).normal(size=n), 500)
    assert len(rx) <= 500


def test_downsample_datetime_x():
    n = 10_000
    x = (np.arange(n) * 1_000_000_000).astype("datetime64[ns]")
    rx, ry = downsample(x, np.random.default_rng(3).normal(size=n), 300)
    assert rx.dtype.kind == "M" and len(rx) <= 300


def test_downsample_rejects_a_budget_tsdownsample_cannot_honour():
    with pytest.raises(ValueError):
        downsample(np.arange(100.0), np.arange(100.0), 3)


@given(
    y=arrays(np.float64, st.integers(0, 3000), elements=finite_or_not),
    max_points=st.integers(4, 500),
)
def test_downsample_property_budget_order_and_first_nonfinite(y, max_points):
    x = np.arange(y.size, dtype=float)
    rx, ry = downsample(x, y, max_points)
    assert len(rx) == len(ry) <= max_points
    assert np.all(np.diff(rx) > 0)  # a subsequence, in order
    np.testing.assert_array_equal(ry, y[rx.astype(int)])
    bad = np.flatnonzero(~np.isfinite(y))
    if bad.size:
        assert bad[0] in rx


def test_downsample_keeps_each_point_once_in_order_on_a_constant_series_of_tiny_values():
    """tsdownsample 0.1.5's MinMaxLTTB returns index 67 twice here (found by the property test above)."""
    y = np.full(112, 1.75803245e-177)
    rx, ry = downsample(np.arange(112.0), y, 5)
    np.testing.assert_array_equal(rx, np.unique(rx))
    assert len(rx) <= 5 and rx[0] == 0 and rx[-1] == 111


# --------------------------------------------------------------------------------------------------- window


def test_window_cuts_sorted_x_with_one_neighbour_each_side():
    x = np.arange(100.0)
    wx, wy = window(x, x * 2, (10.5, 20.0))
    assert wx[0] == 10 and wx[-1] == 21
    np.testing.assert_array_equal(wy, wx * 2)


def test_window_none_is_identity():
    x = np.arange(5.0)
    assert window(x, x, None)[0] is x


def test_window_then_downsample_shows_a_zoomed_range_at_full_detail():
    n = 1_000_000
    x = np.arange(n, dtype=float)
    y = np.random.default_rng(4).normal(size=n)
    full_x, _ = downsample(x, y, 4000)
    zx, zy = downsample(*window(x, y, (500_000, 501_000)), 4000)
    assert len(zx) == 1003  # every point of the zoomed range (+2 neighbours), not the ~4 of the full view
    assert np.sum((full_x >= 500_000) & (full_x <= 501_000)) < 50


def test_window_unsorted_x_uses_a_mask():
    x = np.array([5.0, 1.0, 3.0, 9.0, 2.0, np.nan])
    wx, _ = window(x, np.arange(6.0), (2.5, 5.5))
    assert set(wx) >= {5.0, 3.0} and not np.isnan(wx).any()


def test_window_datetime_x_takes_seconds():
    x = (np.arange(100) * 1_000_000_000).astype("datetime64[ns]")
    wx, _ = window(x, np.arange(100.0), (10, 20))
    assert wx[0] == np.datetime64(9, "s") and wx[-1] == np.datetime64(21, "s")


# --------------------------------------------------------------------------------------------------- frames

TEXT_LOG = b"""2024/01/01 00:00:00 - mmengine - INFO - Epoch(train) [1][ 5/10]  lr: 1.0000e-03  eta: 0:10:00  time: 0.5000  data_time: 0.0100  memory: 100  loss: 2.0000
2024/01/01 00:00:05 - mmengine - INFO - Epoch(train) [1][10/10]  lr: 1.0000e-03  eta: 0:09:00  time: 0.5000  data_time: 0.0100  memory: 100  loss: nan  grad_norm: 3.0
2024/01/01 00:00:06 - mmengine - INFO - Saving checkpoint at 1 epochs
2024/01/01 00:00:07 - mmengine - INFO - Epoch(val) [1][3/3]    accuracy/top1: 64.9800  coco/AP (M): -1.000000
2024/01/01 00:00:10 - mmengine - INFO - Epoch(train) [2][ 5/10]  lr: 1.0000e-03  eta: 0:08:00  time: 0.5000  data_time: 0.0100  memory: 100  loss: inf
2024/01/01 00:00:15 - mmengine - INFO - Epoch(train) [2][10/10]  lr: 1.0000e-03  eta: 0:07:00  time: 0.5000  data_time: 0.0100  memory: 100  loss: 1.5000
"""  # noqa: E501

ITER_LOG = b"".join(
    f"2024/08/27 06:{k // 60:02d}:{k % 60:02d} - mmengine - INFO - Iter(train) [{10 * k:4d}/2000]  lr: 1.5e-06  "
    f"eta: 2:04:46  time: 3.7622  data_time: 0.0285  memory: 39252  loss: {5 - k / 100:.4f}\n".encode()
    for k in range(1, 51)
)


def test_train_frame_columns_types_and_values():
    run = parse_bytes(TEXT_LOG).runs[0]
    f = train_frame(run)
    assert list(f.columns[: len(TRAIN_BASE_COLUMNS)]) == list(TRAIN_BASE_COLUMNS)
    assert field_columns(f) == ["lr", "time", "data_time", "memory", "loss", "grad_norm"]
    assert f["iter"].tolist() == [5, 10, 15, 20] and f["iter"].dtype == np.int64
    assert f["epoch"].tolist() == [1.0, 1.0, 2.0, 2.0]
    assert f["epoch_progress"].tolist() == [0.5, 1.0, 1.5, 2.0]
    assert f["relative_seconds"].tolist() == [0.0, 5.0, 10.0, 15.0]
    assert f["wall"].iloc[1] == pd.Timestamp("2024-01-01 00:00:05")
    assert f["eta_seconds"].tolist() == [600.0, 540.0, 480.0, 420.0]
    assert np.isnan(f["grad_norm"].iloc[0]) and f["grad_norm"].iloc[1] == 3.0


def test_train_frame_tells_a_logged_nan_from_an_absent_field():
    f = train_frame(parse_bytes(TEXT_LOG).runs[0])
    assert f.attrs["logged_nonfinite"] == {"loss": (1, 2)}
    assert present_rows(f, "loss").tolist() == [True, True, True, True]
    assert present_rows(f, "grad_norm").tolist() == [False, True, False, False]
    # attrs survive pandas operations that compare them (concat in repr)
    assert "loss" in repr(f)


def test_train_frame_iteration_based_run_has_nan_epochs():
    f = train_frame(parse_bytes(ITER_LOG).runs[0])
    assert len(f) == 50 and f["epoch"].isna().all() and f["epoch_progress"].isna().all()
    assert f["max_iters"].iloc[-1] == 2000.0


def test_train_frame_copies_so_a_live_parser_can_keep_appending():
    parser = LogParser()
    lines = ITER_LOG.splitlines(keepends=True)
    parser.feed(b"".join(lines[:20]))
    frame = train_frame(parser.runs[0])
    parser.feed(b"".join(lines[20:]))  # a numpy view left on the arrays would make this raise BufferError
    parser.close()
    assert len(frame) == 20 and len(parser.runs[0].train) == 50


def test_train_frame_empty_run():
    f = train_frame(Run(index=0, format="mmengine-text", start_line=1))
    assert len(f) == 0 and list(f.columns) == list(TRAIN_BASE_COLUMNS)


def test_train_frame_field_named_like_a_base_column_is_renamed():
    run = Run(index=0, format="mmengine-scalars-json", start_line=1)
    run.train.append(1, 10, -1, -1, -1, 1.7e9, math.nan, 1, {"wall": 3.0, "loss": 1.0})
    f = train_frame(run)
    assert f.attrs["fields"] == {"wall": "wall (field)", "loss": "loss"}
    assert f["wall (field)"].tolist() == [3.0]


def test_eval_frame_rows_and_metric_names_with_spaces():
    run = parse_bytes(TEXT_LOG).runs[0]
    e = eval_frame(run)
    assert list(e.columns[: len(EVAL_BASE_COLUMNS)]) == list(EVAL_BASE_COLUMNS)
    assert len(e) == 1
    row = e.iloc[0]
    assert row["mode"] == "val" and row["epoch"] == 1.0 and row["train_iter"] == 10.0
    assert row["accuracy/top1"] == 64.98 and row["coco/AP (M)"] == -1.0
    assert row["relative_seconds"] == 7.0  # same origin as the train frame
    assert "coco/AP (M)" in field_columns(e)


def test_train_frame_one_million_rows_without_per_row_python():
    run = Run(index=0, format="mmengine-text", start_line=1)
    t = run.train
    n = 1_000_000
    unknown = np.full(n, -1, dtype=np.int64)
    t.extend(np.arange(1, n + 1), unknown, unknown, unknown, unknown, np.arange(n, dtype=float), np.full(n, math.nan),
             np.arange(n), {"loss": np.ones(n)}, nan=False)
    f = train_frame(run)
    assert len(f) == n and f["loss"].sum() == n


def test_wall_clock_of_unknown_timestamps_is_nat():
    """A ``scalars.json`` log has no timestamps: a column of NaN gives NaT without going through pandas' unit
    conversion (which now and then raised FloatingPointError on it); finite seconds as ``pd.to_datetime``."""
    from dashboard.charts.series import _to_wall

    mixed = np.array([1.7e9, np.nan, 1.7e9 + 0.25, np.inf])
    wall = _to_wall(mixed)
    assert list(wall.isna()) == [False, True, False, True]
    assert wall[0] == pd.to_datetime(1.7e9, unit="s") and wall[2] == pd.to_datetime(1.7e9 + 0.25, unit="s")
    assert _to_wall(np.full(1725, np.nan)).isna().all() and len(_to_wall(np.empty(0))) == 0
    assert _to_wall(mixed[[0, 2]]).equals(pd.to_datetime(mixed[[0, 2]], unit="s"))


@settings(max_examples=300, deadline=None)
@given(seconds=st.lists(st.floats(-9.0e9 + 1, 9.0e9 - 1, allow_nan=False, allow_infinity=False), min_size=1,
                        max_size=50))
def test_wall_clock_is_pandas_conversion_to_the_nanosecond(seconds):
    """``_to_wall`` converts seconds itself (a twentieth of pandas' time on a 1M-line run) and must give exactly
    the datetimes ``pd.to_datetime(unit="s")`` gives, fractions of a second included."""
    from dashboard.charts.series import _to_wall

    ts = np.array(seconds)
    assert _to_wall(ts).equals(pd.to_datetime(ts, unit="s"))


@pytest.mark.parametrize("clock", ["whole", "milliseconds", "microseconds"])
def test_wall_clock_of_a_run_of_log_times_is_pandas_conversion(clock):
    from dashboard.charts.series import _to_wall

    rng = np.random.default_rng(7)
    ts = np.sort(rng.uniform(1.6e9, 1.8e9, 100_000))
    ts = {"whole": np.round(ts), "milliseconds": np.round(ts, 3), "microseconds": np.round(ts, 6)}[clock]
    assert _to_wall(ts).equals(pd.to_datetime(ts, unit="s"))


def test_wall_clock_past_the_year_2262_is_refused_as_pandas_refuses_it():
    from dashboard.charts.series import _to_wall

    with pytest.raises(pd.errors.OutOfBoundsDatetime):
        pd.to_datetime(np.array([1.0e10]), unit="s")
    with pytest.raises(pd.errors.OutOfBoundsDatetime):
        _to_wall(np.array([1.7e9, 1.0e10]))
