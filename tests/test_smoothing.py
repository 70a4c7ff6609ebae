"""The loss smoothing behind loss-spike detection: pandas' numbers, bit for bit, without pandas."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from dashboard.analysis import smoothing
from dashboard.analysis.smoothing import debiased_ema
from dashboard.analysis.timing import column
from parsers import parse_path, train_kernel

from .conftest import corpus_files, sample_log_files


def pandas_ema(y: np.ndarray, alpha: float) -> np.ndarray:
    return pd.Series(y).ewm(alpha=alpha, adjust=True).mean().to_numpy()


def loss_curves() -> list[np.ndarray]:
    """The finite values of every loss column of the sample logs and the real-log corpus."""
    curves = []
    for path in sample_log_files() + corpus_files():
        for run in parse_path(path).runs:
            for name in run.train.field_names:
                if "loss" in name:
                    y = column(run, name)
                    y = y[np.isfinite(y)]
                    if len(y):
                        curves.append(y)
    return curves


# 0.35 and 0.9: alphas whose trip through pandas' center of mass (1 - a) / a rounds to another decay than 1 - a.
@pytest.mark.parametrize("alpha", [0.4, 0.1, 0.35, 0.9, 1.0])
def test_every_logged_loss_curve_smooths_exactly_as_pandas(alpha):
    curves = loss_curves()
    assert len(curves) > 10
    for y in curves:
        np.testing.assert_array_equal(debiased_ema(y, alpha), pandas_ema(y, alpha))


def test_repeated_values_and_extremes_follow_pandas():
    # Runs of equal values take pandas' "no update" branch; mixed magnitudes expose any reordering.
    y = np.array([2.0, 2.0, 2.0, 1e-12, 1e12, 3.5, 3.5, 0.0, -7.25, -7.25, 1 / 3, 1 / 3, 5e-324] * 50)
    for alpha in (0.4, 0.3, 0.05):
        np.testing.assert_array_equal(debiased_ema(y, alpha), pandas_ema(y, alpha))


def c_ema(y: np.ndarray, alpha: float) -> np.ndarray:
    """The C library's loop (``train_kernel.compiled_ema``), loaded here whatever scanner the process uses."""
    train_kernel._load_c()
    out = np.full(len(y), -1.5)
    decay = 1.0 - 1.0 / (1.0 + (1.0 - alpha) / alpha)  # as debiased_ema turns alpha into the decay
    train_kernel._ema(np.ascontiguousarray(y, dtype=np.float64), decay, out)
    return out


def python_ema(y: np.ndarray, alpha: float) -> np.ndarray:
    out = [0.0] * len(y)
    smoothing._ema_into(np.asarray(y, dtype=np.float64).tolist(), 1.0 - 1.0 / (1.0 + (1.0 - alpha) / alpha), out)
    return np.array(out)


@pytest.mark.parametrize("alpha", [0.4, 0.35, 0.9])
def test_the_c_loop_gives_the_python_loops_doubles_on_every_logged_loss_curve(alpha):
    for y in loss_curves():
        np.testing.assert_array_equal(c_ema(y, alpha), python_ema(y, alpha))


@given(y=arrays(np.float64, st.integers(1, 400), elements=st.floats(allow_nan=False, allow_infinity=False)
                | st.sampled_from([0.0, 1.0, 1e-300, 1e300, -2.5])),
       alpha=st.floats(0.01, 1.0))
def test_the_c_loop_gives_the_python_loops_doubles_on_any_finite_curve(y, alpha):
    np.testing.assert_array_equal(c_ema(y, alpha), python_ema(y, alpha))


def spy_on(monkeypatch, module, name: str) -> list:
    """What ``module.name()`` returns, each time it is called (the calls go through)."""
    got: list = []
    real = getattr(module, name)

    def spy():
        got.append(real())
        return got[-1]

    monkeypatch.setattr(module, name, spy)
    return got


def test_a_long_curve_takes_the_compiled_loop_and_matches_pandas(monkeypatch):
    # The C library's loop when the parser's scanner is the C build; compiled by numba only when the scanner is
    # numba's (numba already loaded); with none the Python loop runs, so that a report does not import numba for
    # this alone.
    train_kernel.available()
    numba_loaded = train_kernel.kind() == "numba"
    c_used = spy_on(monkeypatch, train_kernel, "compiled_ema")
    rng = np.random.default_rng(7)
    y = np.abs(rng.normal(1.0, 0.3, smoothing.COMPILE_FROM + 1234))
    y[5000:5100] = y[4999]
    calls = spy_on(monkeypatch, smoothing, "_compiled_ema")
    got = debiased_ema(y, 0.4)
    if train_kernel.kind() == "c":
        assert c_used and c_used[0] is not None, "a long curve with the C scanner loaded is smoothed by its loop"
        assert not calls, "numba imported for the smoothing alone"
    elif numba_loaded:
        assert calls and calls[0] is not None, "a long curve with numba loaded is smoothed by the compiled loop"
    else:
        assert not calls, "numba imported for the smoothing alone"
    np.testing.assert_array_equal(got, pandas_ema(y, 0.4))


def test_a_short_curve_and_an_empty_one():
    assert debiased_ema(np.array([]), 0.4).shape == (0,)
    np.testing.assert_array_equal(debiased_ema(np.array([3.0]), 0.4), [3.0])
