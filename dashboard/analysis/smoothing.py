"""Smoothing of a train curve, exactly as pandas computes it, without importing pandas.

``debiased_ema`` is TensorBoard's smoothing (a debiased exponential moving average) and returns, bit for
bit, what ``pandas.Series(y).ewm(alpha=alpha, adjust=True).mean()`` returns for finite ``y``: the same
recurrence in the same order of operations as pandas' ``ewm`` kernel. Importing pandas costs a command-line
report about a quarter of a second; the recurrence is a loop in Python (~0.2 us a value), compiled by
numba when numba is already loaded in the process (the parser loads it for long logs when its C scanner
cannot be built: importing numba only for this would cost more than the loop) and the series is long enough
for the compiled loop to pay for its start-up; with the C scanner loaded, its library's copy of the loop
(``parsers/_train_scan.c``, ``train_kernel.compiled_ema``: 389,500 values in a few ms instead of ~0.1 s).
"""

from __future__ import annotations

import numpy as np

from parsers import train_kernel

#: Values from which a series is smoothed by the compiled loop (when numba is already loaded).
COMPILE_FROM = 100_000

_compiled = None  # the numba-compiled ``_ema_into``, once made; False when it cannot be


def _ema_into(y, decay: float, out) -> None:
    """``out[i]`` = the debiased EMA of ``y[:i + 1]`` (pandas' ``ewm`` kernel, ``adjust=True``, no NaN).

    Written for both Python lists and numpy arrays: numba compiles this same function."""
    w = y[0]
    out[0] = w
    old = 1.0  # the total weight of the values before the current one
    for i in range(1, len(y)):
        cur = y[i]
        old *= decay
        if w != cur:  # pandas leaves the mean alone when the value equals it (no rounding drift)
            w = (old * w + cur) / (old + 1.0)
        old += 1.0
        out[i] = w


def _compiled_ema():
    """``_ema_into`` compiled by numba (its on-disk cache after the first time), or None."""
    global _compiled
    if _compiled is None:
        try:
            import numba

            _compiled = numba.njit(cache=True, nogil=True)(_ema_into)
        except Exception:  # numba cannot compile here: the Python loop does the work
            _compiled = False
    return _compiled or None


def debiased_ema(y: np.ndarray, alpha: float) -> np.ndarray:
    """The debiased exponential moving average of finite values ``y`` with smoothing factor ``alpha``
    (TensorBoard's smoothing weight is ``1 - alpha``); float64, the length of ``y``."""
    n = len(y)
    if n == 0:
        return np.empty(0)
    decay = 1.0 - 1.0 / (1.0 + (1.0 - alpha) / alpha)  # alpha through pandas' center of mass, rounded as there
    if n >= COMPILE_FROM and train_kernel.loaded():
        fn = train_kernel.compiled_ema() or (_compiled_ema() if train_kernel.kind() == "numba" else None)
        if fn is not None:
            out = np.empty(n)
            fn(np.ascontiguousarray(y, dtype=np.float64), decay, out)
            return out
    vals = np.asarray(y, dtype=np.float64).tolist()  # a Python loop reads a list faster than an array
    res = [0.0] * n
    _ema_into(vals, decay, res)
    return np.array(res)
