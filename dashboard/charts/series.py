"""Series preparation for charts: smoothing, spike-keeping downsampling, zoom windows, run frames.

Pure numpy / pandas; no Streamlit, no plotly.

Invariants:
- ``ema_smooth`` returns an array of the input's length; a non-finite input value never changes
  the average and is NaN at its own position in the output.
- ``downsample`` returns at most ``max_points`` points, a subsequence of its input in input order,
  and returns its input unchanged when it already has at most ``max_points`` points.
- ``window`` returns a contiguous or masked subsequence of its input (input order kept).
- ``train_frame`` reads a run's columnar ``TrainTable`` with ``numpy.frombuffer`` plus one copy per
  column: no per-row Python, and the frame shares no memory with the parser (a live parser can keep
  appending to its arrays). Call it while holding the lock that guards the run (the watcher's
  ``source.lock``): a Python ``array`` cannot grow while numpy has a view on it.
"""

from __future__ import annotations

import math
from array import array

import numpy as np
import pandas as pd
from tsdownsample import MinMaxLTTBDownsampler

from parsers.records import Run

#: Columns ``train_frame`` always has, before the logged fields.
TRAIN_BASE_COLUMNS = (
    "iter", "epoch", "epoch_progress", "max_iters", "timestamp", "relative_seconds", "wall",
    "eta_seconds", "line_no",
)
#: Columns ``eval_frame`` always has, before the metrics.
EVAL_BASE_COLUMNS = (
    "mode", "epoch", "train_iter", "step", "timestamp", "relative_seconds", "wall", "line_no", "batches",
)

_DOWNSAMPLER = MinMaxLTTBDownsampler()
#: tsdownsample's LTTB asserts (a Rust panic, not a Python exception) that it is asked for >= 3 points.
_MIN_LTTB_OUT = 3


# --------------------------------------------------------------------------------------------- smoothing


def ema_smooth(values: np.ndarray, weight: float) -> np.ndarray:
    """TensorBoard's debiased exponential moving average.

    ``last = weight * last + (1 - weight) * v`` over the finite values only, divided by
    ``1 - weight ** k`` (k = finite values seen so far) so the start is not pulled towards 0.

    - ``weight`` in ``[0, 1)``; 0 returns the values unchanged (as a float64 copy).
    - NaN / +-inf values are skipped: they do not touch the average and are NaN in the output.
    - A series whose finite values are all equal is returned as is (TensorBoard does the same, so a
      constant learning rate does not show floating-point wiggles).

    Vectorised (``_linear_recurrence``): the result is the sequential recurrence up to floating-point
    reassociation.
    """
    if not (0.0 <= weight < 1.0) or math.isnan(weight):
        raise ValueError(f"smoothing weight must be in [0, 1), got {weight!r}")
    v = np.array(values, dtype=np.float64, copy=True).reshape(-1)
    if weight == 0.0 or v.size == 0:
        return v
    finite = np.isfinite(v)
    if finite.all():  # the usual case: no mask to apply
        return v if np.all(v == v[0]) else _ema_finite(v, weight)
    out = np.full(v.shape, np.nan)
    f = v[finite]
    if f.size == 0:
        return out
    out[finite] = f if np.all(f == f[0]) else _ema_finite(f, weight)
    return out


def _ema_finite(f: np.ndarray, w: float) -> np.ndarray:
    """Debiased EMA of an all-finite 1-D array (helper of ``ema_smooth``)."""
    out = _linear_recurrence(f * (1.0 - w), w)
    # Debias by 1 - w**k; past the first ``k`` where w**k < 2**-60 that is exactly 1.0 in float64, so only the
    # head needs the (slow, element-wise) powers.
    head = min(out.size, math.ceil(60 * math.log(2) / -math.log(w)) + 1)
    out[:head] /= 1.0 - w ** np.arange(1, head + 1, dtype=np.float64)
    return out


#: ``_linear_recurrence``: the widest block, and the largest power of 1/w a block may scale by (10**250: far from
#: float64's overflow, while a block's sum keeps float64's relative precision; see the function's doc).
_BLOCK = 256
_MAX_LOG10_SCALE = 250.0


def _linear_recurrence(x: np.ndarray, w: float) -> np.ndarray:
    """``y[k] = w * y[k-1] + x[k]`` (``y[-1] = 0``, ``0 <= w < 1``) without a Python loop over ``x``.

    By blocks of ``B`` values: inside a block ``y[j] = w**j * cumsum(x[i] * w**-i)[j]`` plus the block's carry
    (the state at the end of the block before it) times ``w**(j+1)``; the carries are the same recurrence over the
    blocks' last values with weight ``w**B``, solved the same way (depth log_B(n)). ``B`` keeps ``w**-B`` under
    1e250, so no term overflows; each sum's rounding error stays within about ``eps * max|x| / (1 - w)``, the
    sequential loop's own order. A weight so small that no block of 2 fits (``w < 1e-125``) keeps only the term
    of the value before (the next one is under 1e-250 of it)."""
    n = x.size
    if n == 0 or w == 0.0:
        return x.astype(np.float64, copy=True)
    block = min(_BLOCK, int(_MAX_LOG10_SCALE / -math.log10(w)))
    if block < 2:
        y = x.astype(np.float64, copy=True)
        y[1:] += w * x[:-1]
        return y
    nblocks = -(-n // block)
    padded = np.zeros(nblocks * block)
    padded[:n] = x
    m = padded.reshape(nblocks, block)
    j = np.arange(block, dtype=np.float64)
    up, down = w ** -j, w ** j  # 1/w**j and w**j
    local = np.cumsum(m * up, axis=1)
    local *= down
    if nblocks > 1:
        ends = _linear_recurrence(local[:, -1], w ** block)  # the state at the end of each block
        local[1:] += ends[:-1, None] * (down * w)[None, :]
    return local.reshape(-1)[:n]


# -------------------------------------------------------------------------------------------- downsampling


def downsample(x: np.ndarray, y: np.ndarray, max_points: int = 4000) -> tuple[np.ndarray, np.ndarray]:
    """Reduce ``(x, y)`` to at most ``max_points`` points with MinMaxLTTB (keeps spikes).

    Identity (the same arrays) when ``len(y) <= max_points``.

    NaN handling (tsdownsample needs finite values):
    - points whose *x* is not finite (or NaT) are dropped: they cannot be placed on an axis;
    - points whose *y* is not finite are markers: the first point of every run of consecutive
      non-finite values is kept with its original value (NaN or +-inf), so a plotted line shows a
      gap there and callers can mark it. At most ``max(1, max_points // 4)`` markers are kept; when a
      series has more separate non-finite runs than that, an evenly spaced subset is kept, always
      including the first one (where a NaN loss started);
    - the finite points are downsampled with the remaining budget.

    ``x`` is used for LTTB's triangle areas when it is strictly increasing; otherwise (duplicate wall
    clock seconds, a clock that went back) the points are downsampled by position, which
    tsdownsample requires. ``x`` may be float, int or datetime64.
    """
    x = np.asarray(x)
    y = np.asarray(y, dtype=np.float64)
    if x.ndim != 1 or y.ndim != 1 or x.shape != y.shape:
        raise ValueError(f"x and y must be 1-D of the same length, got {x.shape} and {y.shape}")
    if max_points < _MIN_LTTB_OUT + 1:
        raise ValueError(f"max_points must be at least {_MIN_LTTB_OUT + 1}, got {max_points}")
    if y.size <= max_points:
        return x, y
    xnum = _numeric_x(x)
    placeable = np.isfinite(xnum)
    if not placeable.all():
        x, y, xnum = x[placeable], y[placeable], xnum[placeable]
        if y.size <= max_points:
            return x, y
    finite = np.isfinite(y)
    every = bool(finite.all())  # the usual case: no index of the finite points to build and apply
    markers = np.empty(0, dtype=np.int64) if every else _nonfinite_markers(finite, max(1, max_points // 4))
    finite_idx = None if every else np.flatnonzero(finite)
    budget = max_points - markers.size
    if finite_idx is not None and finite_idx.size <= budget:
        keep = finite_idx
    else:
        fx = np.ascontiguousarray(xnum if finite_idx is None else xnum[finite_idx])
        fy = np.ascontiguousarray(y if finite_idx is None else y[finite_idx])
        if fx.size > 1 and np.all(fx[1:] > fx[:-1]):
            picked = _DOWNSAMPLER.downsample(fx, fy, n_out=budget)
        else:
            picked = _DOWNSAMPLER.downsample(fy, n_out=budget)
        # tsdownsample's MinMaxLTTB can pick one point twice, out of order after it (seen with a near-constant
        # series of tiny values: hypothesis, tests/test_series.py): the points kept are a subsequence, each once.
        picked = np.unique(np.asarray(picked, dtype=np.int64))
        keep = picked if finite_idx is None else finite_idx[picked]
    if markers.size:
        keep = np.union1d(keep, markers)
    return x[keep], y[keep]



#: ``downsample_growing``: the raw tail holds at most this share of the point budget.
TAIL_SHARE = 4


def downsample_growing(x: np.ndarray, y: np.ndarray, max_points: int = 4000) -> tuple[np.ndarray, np.ndarray]:
    """``downsample`` for a series that grows at its end, made so that appended points only append to the result.

    At most ``max_points`` points: the series up to an anchor (a multiple of ``max_points // TAIL_SHARE`` points,
    the block) is downsampled (MinMaxLTTB, ``max_points - block`` points) and the points after it are kept as they
    are (1 to ``block`` of them). While the series grows within a block the head stays the same and the result
    only gets the new points at its end (a live chart then extends its traces instead of drawing them again);
    every ``block`` appended points the anchor moves and the head is downsampled again. Identity when
    ``len(y) <= max_points``."""
    x = np.asarray(x)
    y = np.asarray(y, dtype=np.float64)
    n = y.size
    if n <= max_points:
        return x, y
    block = max(1, max_points // TAIL_SHARE)
    anchor = ((n - 1) // block) * block  # the tail: n - anchor points, 1..block
    hx, hy = downsample(x[:anchor], y[:anchor], max_points - block)
    return np.concatenate([np.asarray(hx), x[anchor:]]), np.concatenate([np.asarray(hy, dtype=np.float64), y[anchor:]])

def _numeric_x(x: np.ndarray) -> np.ndarray:
    """x as float64 for finiteness checks and LTTB (datetime64 as its integer ticks, NaT -> NaN)."""
    if np.issubdtype(x.dtype, np.datetime64):
        out = x.astype("datetime64[ns]").view(np.int64).astype(np.float64)
        out[np.isnat(x)] = np.nan
        return out
    return x.astype(np.float64, copy=False)


def _nonfinite_markers(finite: np.ndarray, limit: int) -> np.ndarray:
    """Index of the first element of each run of non-finite values, thinned evenly to ``limit``."""
    bad = np.flatnonzero(~finite)
    if bad.size == 0:
        return bad
    starts = bad[np.concatenate(([True], np.diff(bad) > 1))]
    if starts.size > limit:
        pick = np.unique(np.linspace(0, starts.size - 1, limit).round().astype(np.int64))
        starts = starts[pick]
    return starts


def window(x: np.ndarray, y: np.ndarray, x_range: tuple[float, float] | None) -> tuple[np.ndarray, np.ndarray]:
    """The part of ``(x, y)`` inside ``x_range`` (inclusive) plus one neighbour on each side.

    Cut *before* ``downsample`` so a zoomed view is re-sampled from full-resolution data. The
    neighbours let lines run to the edges of the zoomed plot. ``None`` returns the input unchanged.
    ``x_range`` is in the numeric units of ``x`` (datetime64 x: seconds since the Unix epoch).
    Sorted x is cut with two binary searches (views, no copy); unsorted x with a mask.
    """
    if x_range is None:
        return x, y
    x = np.asarray(x)
    y = np.asarray(y)
    lo, hi = sorted((float(x_range[0]), float(x_range[1])))
    xnum = _numeric_x(x)
    if np.issubdtype(x.dtype, np.datetime64):
        lo, hi = lo * 1e9, hi * 1e9
    n = xnum.size
    if n == 0:
        return x, y
    if n == 1 or np.all(xnum[1:] >= xnum[:-1]):
        i0 = max(int(np.searchsorted(xnum, lo, side="left")) - 1, 0)
        i1 = min(int(np.searchsorted(xnum, hi, side="right")) + 1, n)
        return x[i0:i1], y[i0:i1]
    inside = (xnum >= lo) & (xnum <= hi)
    grown = inside.copy()
    grown[1:] |= inside[:-1]
    grown[:-1] |= inside[1:]
    grown &= np.isfinite(xnum)
    return x[grown], y[grown]


# ------------------------------------------------------------------------------------------------ frames


def run_start_time(run: Run) -> float | None:
    """The run's time origin for ``relative_seconds``: its first train timestamp, else first eval's."""
    ts = run.train.timestamps
    if len(ts):
        a = _column(ts, np.float64, len(ts))
        ok = np.flatnonzero(np.isfinite(a))
        if ok.size:
            return float(a[ok[0]])
    for e in run.evals:
        if e.timestamp is not None and math.isfinite(e.timestamp):
            return float(e.timestamp)
    return None


def _column(arr: array, dtype: type, n: int) -> np.ndarray:
    """A copy of the first ``n`` items of a Python ``array`` as numpy (no per-item Python)."""
    dt = np.dtype(dtype)
    if n == 0:
        return np.empty(0, dtype=dt)
    view = np.frombuffer(arr, dtype=np.dtype(arr.typecode), count=n)  # int32 or int64 columns, float64 fields
    out = view.astype(dt)  # a copy, in the type asked for (exact: int32 -> int64)
    del view  # release the buffer export at once so the parser may append again
    return out


#: Seconds from which ``_to_wall`` leaves the conversion to pandas (it raises past datetime64[ns]'s range, the year
#: 2262; below this bound ``_seconds_to_ns`` cannot overflow).
_NS_SAFE_SECONDS = 9.0e9


def _seconds_to_ns(ts: np.ndarray) -> np.ndarray:
    """Finite float seconds (``|ts| < _NS_SAFE_SECONDS``) -> int64 nanoseconds, rounded as pandas'
    ``to_datetime(unit="s")`` rounds them (the whole seconds truncated, the fraction rounded to 9 digits), in a
    twentieth of its time."""
    base = ts.astype(np.int64)
    return base * 1_000_000_000 + (np.round(ts - base, 9) * 1e9).astype(np.int64)


def _to_wall(ts: np.ndarray) -> pd.DatetimeIndex:
    """Naive wall-clock datetimes (the log's own clock) from float seconds; NaN -> NaT.

    Only the finite values are converted: on a column of NaN (a ``scalars.json`` log has no timestamps) pandas'
    conversion, which raises on overflow, now and then raised ``FloatingPointError: overflow encountered in
    multiply`` (seen in 1 of ~40 real logs per run, a different one each time: the Run page's model of such a log
    failed at random)."""
    ok = np.isfinite(ts)
    every = bool(ok.all())
    v = ts if every else ts[ok]
    if v.size and float(np.abs(v).max()) >= _NS_SAFE_SECONDS:
        ns = pd.to_datetime(v, unit="s").to_numpy().view(np.int64)  # out of range: pandas says so
    else:
        ns = _seconds_to_ns(v)
    if every:
        return pd.DatetimeIndex(ns.view("datetime64[ns]"))
    wall = np.full(ts.shape, np.datetime64("NaT"), dtype="datetime64[ns]")
    wall[ok] = ns.view("datetime64[ns]")
    return pd.DatetimeIndex(wall)


def train_frame(run: Run, iters_per_epoch: int | None = None) -> pd.DataFrame:
    """One row per logged train iteration.

    Columns: ``TRAIN_BASE_COLUMNS`` then every logged field in first-seen order:
    - ``iter`` (int64), ``epoch`` (float, NaN when the line had no epoch), ``epoch_progress``
      (fractional epoch ``epoch - 1 + iter_in_epoch / iters_per_epoch`` when the line names its epoch, else
      ``iter / iters_per_epoch`` when the caller knows the epoch length (``Iter(train)`` lines of an
      epoch-based run, e.g. every xtuner run: ``analysis.epoch_info``), else NaN),
      ``max_iters`` (float, NaN unknown), ``timestamp`` (float seconds of the log's naive wall clock,
      NaN unknown), ``relative_seconds`` (since ``run_start_time``), ``wall`` (datetime64, NaT
      unknown), ``eta_seconds`` (the logged eta, NaN unknown), ``line_no``;
    - one float column per field, NaN where a line lacks it. A field whose name collides with a base
      column is stored as ``"<name> (field)"``.

    ``frame.attrs["fields"]`` maps each field's logged name to its column name;
    ``frame.attrs["logged_nonfinite"]`` maps a field's column name to the sorted row positions (a tuple) where
    the log itself said ``nan``/``inf`` (a NaN elsewhere means "not on this line").
    Hold the run's lock while calling (see module docstring).
    """
    t = run.train
    n = min(len(t.iters), len(t.epochs), len(t.max_iters), len(t.iters_in_epoch), len(t.iters_per_epoch),
            len(t.timestamps), len(t.etas), len(t.line_nos))
    iters = _column(t.iters, np.int64, n)
    epochs = _column(t.epochs, np.int64, n).astype(np.float64)
    epochs[epochs < 0] = np.nan
    in_epoch = _column(t.iters_in_epoch, np.int64, n).astype(np.float64)
    per_epoch = _column(t.iters_per_epoch, np.int64, n).astype(np.float64)
    known = np.isfinite(epochs) & (per_epoch > 0) & (in_epoch >= 0)
    progress = epochs.copy()
    progress[known] = epochs[known] - 1.0 + in_epoch[known] / per_epoch[known]
    if iters_per_epoch and iters_per_epoch > 0:
        unknown = ~np.isfinite(progress)
        progress[unknown] = iters[unknown] / float(iters_per_epoch)
    max_iters = _column(t.max_iters, np.int64, n).astype(np.float64)
    max_iters[max_iters <= 0] = np.nan
    ts = _column(t.timestamps, np.float64, n)
    t0 = run_start_time(run)
    rel = ts - t0 if t0 is not None else np.full(n, np.nan)
    data: dict[str, np.ndarray | pd.DatetimeIndex] = {
        "iter": iters,
        "epoch": epochs,
        "epoch_progress": progress,
        "max_iters": max_iters,
        "timestamp": ts,
        "relative_seconds": rel,
        "wall": _to_wall(ts),
        "eta_seconds": _column(t.etas, np.float64, n),
        "line_no": _column(t.line_nos, np.int64, n),
    }
    fields: dict[str, str] = {}
    for name in t.field_names:
        col = name if name not in data else f"{name} (field)"
        data[col] = _column(t.column(name), np.float64, n)
        fields[name] = col
    frame = pd.DataFrame(data, copy=False)
    nonfinite: dict[str, list[int]] = {}
    for name, col in fields.items():  # a value the log wrote that is not finite (a NaN elsewhere is "absent")
        rows = np.flatnonzero(~np.isfinite(frame[col].to_numpy()) & t.present(name)[:n])
        if rows.size:
            nonfinite[col] = rows.tolist()
    frame.attrs["fields"] = fields
    # Tuples, not arrays: pandas compares attrs with == when it concatenates frames.
    frame.attrs["logged_nonfinite"] = {k: tuple(sorted(set(v))) for k, v in nonfinite.items()}
    return frame


def eval_frame(run: Run) -> pd.DataFrame:
    """One row per validation/test summary (few rows: built per record).

    Columns: ``EVAL_BASE_COLUMNS`` (``epoch``, ``train_iter``, ``step``, ``batches`` as float with NaN
    for unknown; ``relative_seconds`` from the same origin as ``train_frame``) then every metric name
    in first-seen order (NaN where a summary lacks it; a name colliding with a base column gets a
    ``" (metric)"`` suffix). ``frame.attrs["metrics"]`` maps metric names to column names.
    """
    evals = run.evals
    t0 = run_start_time(run)
    nan = math.nan

    def opt(v: float | int | None) -> float:
        return nan if v is None else float(v)

    ts = np.array([opt(e.timestamp) for e in evals], dtype=np.float64)
    data: dict[str, object] = {
        "mode": [e.mode for e in evals],
        "epoch": np.array([opt(e.epoch) for e in evals], dtype=np.float64),
        "train_iter": np.array([opt(e.train_iter) for e in evals], dtype=np.float64),
        "step": np.array([opt(e.step) for e in evals], dtype=np.float64),
        "timestamp": ts,
        "relative_seconds": ts - t0 if t0 is not None else np.full(len(evals), nan),
        "wall": _to_wall(ts),
        "line_no": np.array([e.line_no for e in evals], dtype=np.int64),
        "batches": np.array([opt(e.batches) for e in evals], dtype=np.float64),
    }
    metrics: dict[str, str] = {}
    for e in evals:
        for name in e.metrics:
            if name not in metrics:
                metrics[name] = name if name not in data else f"{name} (metric)"
    for name, col in metrics.items():
        data[col] = np.array([e.metrics.get(name, nan) for e in evals], dtype=np.float64)
    frame = pd.DataFrame(data)
    frame.attrs["metrics"] = metrics
    return frame


def field_columns(frame: pd.DataFrame) -> list[str]:
    """The logged-field (or metric) columns of a ``train_frame`` / ``eval_frame``, in order."""
    mapping = frame.attrs.get("fields") or frame.attrs.get("metrics") or {}
    return [c for c in mapping.values() if c in frame.columns]


def present_rows(frame: pd.DataFrame, column: str) -> np.ndarray:
    """Boolean mask of rows where ``column`` was on the line: a value, or a logged ``nan``/``inf``.

    Absent fields are NaN in a frame, like a logged ``nan``; charts must draw the second as a gap or
    a marker and ignore the first.
    """
    y = frame[column].to_numpy(dtype=np.float64)
    mask = ~np.isnan(y)
    rows = frame.attrs.get("logged_nonfinite", {}).get(column)
    if rows:
        idx = np.asarray(rows, dtype=np.int64)
        mask[idx[(idx >= 0) & (idx < mask.size)]] = True
    return mask

