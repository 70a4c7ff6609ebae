"""Per-GPU charts of a GPU log (utilization, memory, power) on the run's x axes.

Each GPU becomes a frame with the run's x columns (``TRAIN_X_COLUMN``): ``timestamp`` is the sample's time on
the naive clock the log uses, ``relative_seconds`` is measured from the run's start, and ``iter`` /
``epoch_progress`` are interpolated from the train records' times (NaN before the first and after the last
record, so samples outside training are left out on those axes). The figures are ``figures.metric_figure``'s
(one trace per GPU, MinMaxLTTB-downsampled to at most ``max_points`` points each, epoch marks of the run).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from dashboard.charts.figures import Figure, metric_figure
from parsers.gpu_csv import GpuTable

#: (chart key, reading, title, trace column name)
GPU_CHARTS = (
    ("gpu:util", "util", "GPU utilization (%)", "utilization %"),
    ("gpu:memory", "mem_used", "GPU memory used (MiB)", "memory MiB"),
    ("gpu:power", "power", "GPU power draw (W)", "power W"),
)


def gpu_frames(table: GpuTable, train: pd.DataFrame | None = None, t0: float | None = None
               ) -> list[tuple[str, pd.DataFrame]]:
    """``[("GPU k", frame), ...]``: one frame per GPU with the x columns and one column per charted reading."""
    tx = ix = ex = None
    if train is not None and len(train) and "timestamp" in train:
        ts = train["timestamp"].to_numpy(dtype=np.float64)
        ok = np.isfinite(ts)
        if ok.sum() >= 2:
            order = np.argsort(ts[ok], kind="stable")
            tx = ts[ok][order]
            ix = train["iter"].to_numpy(dtype=np.float64)[ok][order]
            if "epoch_progress" in train:
                ex = train["epoch_progress"].to_numpy(dtype=np.float64)[ok][order]
    out = []
    for g in table.gpus:
        sel = table.gpu == g
        t = table.t[sel]
        data: dict[str, np.ndarray] = {"timestamp": t,
                                       "relative_seconds": t - (t0 if t0 is not None else (t[0] if t.size else 0.0))}
        if tx is not None:
            inside = (t >= tx[0]) & (t <= tx[-1])
            it = np.interp(t, tx, ix)
            it[~inside] = np.nan
            data["iter"] = it
            if ex is not None and np.isfinite(ex).sum() >= 2:
                fin = np.isfinite(ex)
                ep = np.interp(t, tx[fin], ex[fin])
                ep[~inside] = np.nan
                data["epoch_progress"] = ep
            else:
                data["epoch_progress"] = np.full(t.shape, np.nan)
        else:
            data["iter"] = np.full(t.shape, np.nan)
            data["epoch_progress"] = np.full(t.shape, np.nan)
        for _key, reading, _title, col in GPU_CHARTS:
            data[col] = table.values[reading][sel].astype(np.float64)
        frame = pd.DataFrame(data)
        frame.attrs["fields"] = {col: col for *_, col in GPU_CHARTS}
        out.append((f"GPU {g}", frame))
    return out


def gpu_figures(table: GpuTable, *, x_axis: str = "iter", train: pd.DataFrame | None = None,
                t0: float | None = None, x_range: tuple[float, float] | None = None,
                epoch_ends: Sequence[int] = (), max_points: int = 4000,
                frames: list[tuple[str, pd.DataFrame]] | None = None,
                extent: tuple[float, float] | None = None) -> dict[str, Figure]:
    """One figure per ``GPU_CHARTS`` entry (raw: no smoothing), keyed by chart key. Texts are raw: the caller
    escapes the figure once (``views.text.escape_figure``). ``extent``: the x range shown unzoomed (the run's, so
    the GPU charts line up with the run's charts; samples outside it are off the chart until a zoom out);
    default: the samples' own."""
    frames = frames if frames is not None else gpu_frames(table, train, t0)
    out = {}
    for key, _reading, title, col in GPU_CHARTS:
        out[key] = metric_figure(frames, [col], x_axis=x_axis, smoothing=0.0,  # type: ignore[arg-type]
                                 x_range=x_range, epoch_ends=epoch_ends, max_points=max_points, title=title,
                                 uirevision=key, extent=extent)
    return out
