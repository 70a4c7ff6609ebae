"""Plotly figure builders for the dashboard pages (pure functions: frames in, figures out).

No Streamlit here. Inputs are the frames of ``dashboard.charts.series`` (``train_frame`` / ``eval_frame``).

A figure is a plain dict in plotly's JSON figure schema, ``{"data": [trace, ...], "layout": {...}}`` (each trace
with its ``"type"``), exactly what ``go.Figure(fig).to_plotly_json()`` gives back for it (a test checks this on
every chart of the sample and real logs): no ``go.Figure`` is built on the hot path, whose validation of every
property was most of a chart's build time. Anything that takes a figure (``plotly.io``, ``go.Figure(fig)``,
``Plotly.newPlot``) takes these. ``update_layout`` / ``update_yaxes`` / ``add_trace`` are plotly's updates on
such a dict (a nested dict given merges into what is there; anything else replaces it). The layout's template is
plotly's ``plotly_white`` as plotly spells it out, one dict shared by every figure: read-only.

Invariants:
- Every trace holds numpy arrays (plotly serialises them as typed arrays) of at most
  ``max_points`` points: series are smoothed at full resolution, cut to ``x_range`` and only then
  downsampled (MinMaxLTTB keeps spikes), so a zoomed view is re-sampled at full detail.
- Smoothing never crosses a logged ``nan``/``inf`` and never uses rows where a field was absent.
- Figures use SVG ``go.Scatter`` (no WebGL: headless browsers and remote desktops often lack it).
- Markers added to a figure (epoch ends, resumes, checkpoints) are layout shapes named
  ``"epoch_end"``, ``"resume"`` and ``"checkpoint"`` so callers and tests can find them.
- Text is raw: titles, axis titles, trace names and notes are the callers' strings (metric names and run
  labels are log text), and nothing here escapes them or writes markup of its own (no ``<extra>`` in hover
  templates; legend groups are ids, not names). Plotly renders HTML in those texts, so a figure goes to a page
  only through ``dashboard.views.text.escape_figure`` (``run_model.build_figure``, ``compare.figure``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from typing import Literal

import numpy as np
import pandas as pd

from dashboard.charts.series import downsample_growing, ema_smooth, present_rows, window

XAxis = Literal["iter", "epoch", "wall", "relative"]
X_AXES: tuple[str, ...] = ("iter", "epoch", "wall", "relative")
#: Frame column holding each x axis (``wall`` is drawn as datetimes but windowed in seconds).
TRAIN_X_COLUMN = {"iter": "iter", "epoch": "epoch_progress", "wall": "timestamp", "relative": "relative_seconds"}
EVAL_X_COLUMN = {"iter": "train_iter", "epoch": "epoch", "wall": "timestamp", "relative": "relative_seconds"}
X_TITLES = {"iter": "iteration", "epoch": "epoch", "wall": "time (log clock)", "relative": "seconds since start"}

KEY_GROUPS: tuple[str, ...] = ("loss", "lr", "time", "memory", "grad_norm", "throughput", "other")

PALETTE = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
    "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
)
MAX_EPOCH_LABELS = 12  # ~60 px per label on a ~800 px wide plot
MAX_MARKER_SHAPES = 400

FrameInput = pd.DataFrame | Sequence[tuple[str, pd.DataFrame]]
#: A figure: plotly's JSON figure schema as a dict (see the module doc).
Figure = dict

_TOKEN = re.compile(r"[A-Za-z0-9]+")


# ------------------------------------------------------------------------------------------- dict figures


_TEMPLATE: dict | None = None


def template() -> dict:
    """plotly's ``plotly_white`` template as its JSON (what ``update_layout(template="plotly_white")`` puts in a
    figure), made once per process and shared: read-only."""
    global _TEMPLATE
    if _TEMPLATE is None:
        import plotly.io as pio

        _TEMPLATE = pio.templates["plotly_white"].to_plotly_json()
    return _TEMPLATE


def new_figure() -> Figure:
    return {"data": [], "layout": {}}


def _merge(into: dict, props: dict) -> None:
    for k, v in props.items():
        if isinstance(v, dict) and isinstance(into.get(k), dict):
            _merge(into[k], v)
        else:
            into[k] = _plain(v)


def _plain(v: object) -> object:
    """A property value as plotly keeps it: dicts and tuples copied (tuples as lists), the rest as given."""
    if isinstance(v, dict):
        return {k: _plain(x) for k, x in v.items()}
    if isinstance(v, tuple):
        return [_plain(x) for x in v]
    return v


def update_layout(fig: Figure, **props: object) -> Figure:
    """``fig.update_layout(**props)``: a nested dict merges into the layout's, anything else replaces."""
    _merge(fig["layout"], props)
    return fig


def y_axes(fig: Figure) -> list[dict]:
    """Every y axis of the layout (``yaxis``, made when missing, ``yaxis2``, ...), as ``fig.select_yaxes()``."""
    layout = fig["layout"]
    layout.setdefault("yaxis", {})
    return [v for k, v in layout.items() if re.fullmatch(r"yaxis\d*", k)]


def x_axes(fig: Figure) -> list[dict]:
    layout = fig["layout"]
    layout.setdefault("xaxis", {})
    return [v for k, v in layout.items() if re.fullmatch(r"xaxis\d*", k)]


def update_yaxes(fig: Figure, **props: object) -> Figure:
    """``fig.update_yaxes(**props)``: ``props`` merged into every y axis."""
    for axis in y_axes(fig):
        _merge(axis, props)
    return fig


def add_trace(fig: Figure, **props: object) -> dict:
    """A scatter trace (``go.Scatter(**props)``) appended to ``fig``; returns it."""
    trace = {"type": "scatter", **{k: _plain(v) for k, v in props.items()}}
    fig["data"].append(trace)
    return trace


def add_to_layout(fig: Figure, kind: str, item: dict) -> None:
    """``fig.add_shape`` / ``fig.add_annotation``: ``item`` appended to ``layout[kind]``."""
    fig["layout"].setdefault(kind, []).append(_plain(item))


def typed_array(a: np.ndarray) -> dict:
    """A float array as plotly's typed-array JSON, ``{"dtype": "f8", "bdata": <base64 of little-endian float64>}``
    (what plotly's validation makes of a numpy array of numbers)."""
    import base64

    return {"dtype": "f8", "bdata": base64.b64encode(np.ascontiguousarray(a, dtype="<f8").tobytes()).decode("ascii")}


def json_ready(fig: Figure) -> Figure:
    """``fig`` with every numpy array of numbers as a typed array (``typed_array``), as plotly sends it; other
    values as they are (``plotly.io.json.to_json_plotly`` writes datetimes as ISO text)."""
    def walk(v):
        if isinstance(v, np.ndarray) and v.dtype.kind in "biuf":
            return typed_array(v)
        if isinstance(v, dict):
            return {k: walk(x) for k, x in v.items()}
        if isinstance(v, list):
            return [walk(x) for x in v]
        return v
    return walk(fig)


# ----------------------------------------------------------------------------------------- key classes


def classify_key(name: str) -> str:
    """Which chart group a logged field belongs to (one of ``KEY_GROUPS``).

    - ``loss``: the name contains ``loss`` (``loss``, ``decode.loss_ce.s0``, ``s0.loss_cls``);
    - ``lr``: ``lr`` / ``base_lr`` / any name with an ``lr`` token (``lr_backbone``);
    - ``time``: ``time`` and ``data_time`` (and other ``*_time`` fields);
    - ``memory``: ``memory`` / ``mem`` tokens;
    - ``grad_norm``: contains ``grad_norm``;
    - ``throughput``: ``tokens_per_sec``, ``tflops``, ``*per_sec*``, ``throughput``;
    - ``other``: everything else (``acc``, ``s0.acc``, ``num_tokens``...).
    """
    low = name.lower()
    tokens = set(_TOKEN.findall(low))
    if "grad_norm" in low:
        return "grad_norm"
    if "loss" in low:
        return "loss"
    if "lr" in tokens or low.endswith("_lr") or low.startswith("lr_"):
        return "lr"
    if "tflops" in tokens or "per_sec" in low or "throughput" in low or "tokens_per_s" in low:
        return "throughput"
    if low == "time" or low.endswith("_time") or low.endswith(".time"):
        return "time"
    if "memory" in tokens or "mem" in tokens or low.startswith("memory"):
        return "memory"
    return "other"


def group_keys(names: Iterable[str]) -> dict[str, list[str]]:
    """Names grouped by ``classify_key``, groups in ``KEY_GROUPS`` order, names in input order.

    Only non-empty groups are present. Within ``loss`` the total ``loss`` (if any) comes first.
    """
    groups: dict[str, list[str]] = {g: [] for g in KEY_GROUPS}
    for name in names:
        groups[classify_key(name)].append(name)
    if "loss" in groups["loss"]:
        groups["loss"].remove("loss")
        groups["loss"].insert(0, "loss")
    return {g: v for g, v in groups.items() if v}


# ------------------------------------------------------------------------------------------------ helpers


def _labelled(frames: FrameInput) -> list[tuple[str, pd.DataFrame]]:
    if isinstance(frames, pd.DataFrame):
        return [("", frames)]
    return [(str(label), frame) for label, frame in frames]


def _check_axis(x_axis: str, allowed: Sequence[str] = X_AXES) -> None:
    if x_axis not in allowed:
        raise ValueError(f"x_axis must be one of {tuple(allowed)}, got {x_axis!r}")


def _seconds_to_datetime(x: np.ndarray) -> np.ndarray:
    """Float seconds of the naive log clock -> datetime64[ms] (NaN -> NaT)."""
    out = np.full(x.shape, np.datetime64("NaT"), dtype="datetime64[ms]")
    ok = np.isfinite(x)
    out[ok] = np.round(x[ok] * 1000.0).astype(np.int64).astype("datetime64[ms]")
    return out


def _axis_value(x: float, x_axis: str) -> object:
    """A single x position as plotly wants it on this axis (ISO text for the wall clock)."""
    if x_axis == "wall":
        return pd.Timestamp(round(x * 1000.0), unit="ms").isoformat()
    return float(x)


def _series(frame: pd.DataFrame, key: str, x_col: str, smoothing: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(x, raw y, smoothed y) for the rows where ``key`` was logged and x is known, in log order."""
    present = present_rows(frame, key)
    x = frame[x_col].to_numpy(dtype=np.float64)
    y = frame[key].to_numpy(dtype=np.float64)
    x, y = x[present], y[present]
    smooth = ema_smooth(y, smoothing) if smoothing > 0 else y
    placed = np.isfinite(x)
    return x[placed], y[placed], smooth[placed]


def _prepare(x: np.ndarray, y: np.ndarray, x_range: tuple[float, float] | None, max_points: int, x_axis: str
             ) -> tuple[np.ndarray, np.ndarray]:
    xw, yw = window(x, y, x_range)
    xd, yd = downsample_growing(np.ascontiguousarray(xw), np.ascontiguousarray(yw), max_points)
    xd = np.asarray(xd, dtype=np.float64)
    return (_seconds_to_datetime(xd) if x_axis == "wall" else xd), np.asarray(yd, dtype=np.float64)


def _nonfinite_markers(x: np.ndarray, y: np.ndarray, ref: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Points where ``y`` is non-finite, placed at the last finite value of ``ref`` before them."""
    bad = np.flatnonzero(~np.isfinite(y))
    if bad.size == 0:
        return x[:0], y[:0]
    finite = np.isfinite(ref)
    last = np.where(finite, np.arange(ref.size), -1)
    last = np.maximum.accumulate(last)
    at = last[bad]
    first_finite = np.flatnonzero(finite)
    fallback = ref[first_finite[0]] if first_finite.size else 0.0
    ys = np.where(at >= 0, ref[np.maximum(at, 0)], fallback)
    return x[bad], ys.astype(np.float64)


def _add_metric_traces(fig: Figure, x: np.ndarray, y: np.ndarray, smooth: np.ndarray, name: str, color: str,
                       smoothing: float, x_range: tuple[float, float] | None, max_points: int, x_axis: str,
                       group: str) -> None:
    rx, ry = _prepare(x, y, x_range, max_points, x_axis)
    if smoothing > 0:
        add_trace(fig, x=rx, y=ry, mode="lines", name=f"{name} (raw)", legendgroup=group, showlegend=False,
                  line={"color": color, "width": 1}, opacity=0.25, hoverinfo="skip", connectgaps=False)
        sx, sy = _prepare(x, smooth, x_range, max_points, x_axis)
    else:
        sx, sy = rx, ry
    add_trace(fig, x=sx, y=sy, mode="lines", name=name, legendgroup=group, line={"color": color, "width": 2},
              connectgaps=False)
    # Logged nan/inf are gaps in the lines; mark them with red crosses at the last finite raw value.
    mx, my = _nonfinite_markers(rx, ry, ry)
    if mx.size:
        add_trace(fig, x=mx, y=my, mode="markers", name=f"{name}: nan/inf", legendgroup=group,
                  marker={"symbol": "x", "color": "#d62728", "size": 9},
                  hovertemplate="logged nan/inf", hoverlabel={"namelength": 0})


def _iters_to_x(frame: pd.DataFrame | None, iters: Sequence[int], x_axis: str) -> list[tuple[int, float]]:
    """Map iteration numbers to positions on ``x_axis`` by interpolating the frame's iter -> x.

    Iterations within the frame's iteration span (plus 2 % of it on each side, so the final
    ``Saving checkpoint at N`` just after the last logged line still shows) are mapped; others are
    dropped. ``iter`` maps to itself. When the frame's iterations are not sorted (several runs
    concatenated), markers are left out on the other axes rather than misplaced.
    """
    if x_axis == "iter":
        return [(int(i), float(i)) for i in iters]
    if frame is None or not len(frame) or not len(iters):
        return []
    xi = frame["iter"].to_numpy(dtype=np.float64)
    xv = frame[TRAIN_X_COLUMN[x_axis]].to_numpy(dtype=np.float64)
    ok = np.isfinite(xi) & np.isfinite(xv)
    xi, xv = xi[ok], xv[ok]
    if xi.size < 2 or not np.all(xi[1:] >= xi[:-1]):
        return []
    span = xi[-1] - xi[0]
    margin = 0.02 * span
    out = []
    for it in iters:
        if it < xi[0] - margin or it > xi[-1] + margin:
            continue
        if it <= xi[-1] and it >= xi[0]:
            pos = float(np.interp(it, xi, xv))
        elif it > xi[-1]:
            slope = (xv[-1] - xv[-2]) / (xi[-1] - xi[-2]) if xi[-1] != xi[-2] else 0.0
            pos = float(xv[-1] + slope * (it - xi[-1]))
        else:
            slope = (xv[1] - xv[0]) / (xi[1] - xi[0]) if xi[1] != xi[0] else 0.0
            pos = float(xv[0] - slope * (xi[0] - it))
        out.append((int(it), pos))
    return out


def _epoch_number(frame: pd.DataFrame | None, it: int, position: int) -> int:
    """Which epoch ends at iteration ``it``: from the frame's epoch column, else by position."""
    if frame is not None and len(frame) and "epoch" in frame:
        iters = frame["iter"].to_numpy()
        epochs = frame["epoch"].to_numpy(dtype=np.float64)
        k = int(np.searchsorted(iters, it, side="right")) - 1
        if 0 <= k < len(epochs) and math.isfinite(epochs[k]):
            return int(epochs[k])
    return position + 1


def _thin(points: list, limit: int) -> list:
    if len(points) <= limit:
        return points
    idx = np.unique(np.linspace(0, len(points) - 1, limit).round().astype(int))
    return [points[i] for i in idx]


def _in_view(pos: float, lo: float, hi: float) -> bool:
    return lo <= pos <= hi


def _decorate(fig: Figure, frame: pd.DataFrame | None, x_axis: str, view: tuple[float, float] | None,
              epoch_ends: Sequence[int], resume_iters: Sequence[int], checkpoint_iters: Sequence[int]) -> None:
    """Add epoch-end lines (labelled), resume lines and checkpoint ticks as named layout shapes."""
    shapes: list[dict] = []
    annotations: list[dict] = []
    lo, hi = view if view is not None else (-math.inf, math.inf)

    ends = [(k, it, pos) for k, (it, pos) in enumerate(_iters_to_x(frame, epoch_ends, x_axis)) if _in_view(pos, lo, hi)]
    ends = _thin(ends, MAX_MARKER_SHAPES)
    label_every = max(1, math.ceil(len(ends) / MAX_EPOCH_LABELS))
    for j, (k, it, pos) in enumerate(ends):
        x = _axis_value(pos, x_axis)
        shapes.append({
            "type": "line", "name": "epoch_end", "xref": "x", "yref": "paper", "x0": x, "x1": x, "y0": 0, "y1": 1,
            "line": {"color": "rgba(120,120,120,0.55)", "width": 1, "dash": "dot"}, "layer": "below",
        })
        if j % label_every == 0:
            annotations.append({
                # Inside the plot, just left of the line: the label sits in the epoch that ends there.
                "x": x, "y": 1, "xref": "x", "yref": "paper", "yanchor": "top", "xanchor": "right",
                "text": f"epoch {_epoch_number(frame, it, k)}", "showarrow": False,
                "font": {"size": 10, "color": "#666"}, "bgcolor": "rgba(255,255,255,0.6)", "name": "epoch_end",
            })

    for it, pos in _iters_to_x(frame, resume_iters, x_axis):
        if not _in_view(pos, lo, hi):
            continue
        x = _axis_value(pos, x_axis)
        shapes.append({
            "type": "line", "name": "resume", "xref": "x", "yref": "paper", "x0": x, "x1": x, "y0": 0, "y1": 1,
            "line": {"color": "#ff7f0e", "width": 2, "dash": "dash"},
        })
        annotations.append({
            "x": x, "y": 0.92, "xref": "x", "yref": "paper", "xanchor": "left", "yanchor": "top",
            "text": f"resumed at {it}", "showarrow": False, "font": {"size": 10, "color": "#ff7f0e"},
            "name": "resume",
        })

    ticks = [(it, pos) for it, pos in _iters_to_x(frame, checkpoint_iters, x_axis) if _in_view(pos, lo, hi)]
    for _it, pos in _thin(ticks, MAX_MARKER_SHAPES):
        x = _axis_value(pos, x_axis)
        shapes.append({
            "type": "line", "name": "checkpoint", "xref": "x", "yref": "paper", "x0": x, "x1": x, "y0": 0,
            "y1": 0.04, "line": {"color": "#2ca02c", "width": 2},
        })
    if shapes:
        fig["layout"]["shapes"] = shapes
    if annotations:
        fig["layout"]["annotations"] = annotations


def _data_extent(frames: list[tuple[str, pd.DataFrame]], x_col: str) -> tuple[float, float] | None:
    lo, hi = math.inf, -math.inf
    for _label, frame in frames:
        if x_col in frame and len(frame):
            v = frame[x_col].to_numpy(dtype=np.float64)
            v = v[np.isfinite(v)]
            if v.size:
                lo, hi = min(lo, float(v.min())), max(hi, float(v.max()))
    return (lo, hi) if lo <= hi else None


def run_extent(train: pd.DataFrame | None, evals: pd.DataFrame | None, x_axis: str,
               marker_iters: Iterable[int] = ()) -> tuple[float, float] | None:
    """The extent of a run on ``x_axis``: what its charts plot there, together. The train rows (``TRAIN_X_COLUMN``),
    the validation rows (``EVAL_X_COLUMN``) and the markers given as iterations (epoch ends, checkpoints, resumes)
    that ``metric_figure`` places near the train data (``_iters_to_x``: within the data's iterations plus 2 %, as
    the final ``Saving checkpoint`` just after the last record). Every chart of the run shows this range unzoomed
    (``autorange_options``), so charts one above the other line up. None: nothing on that axis."""
    _check_axis(x_axis)
    parts = [e for e in (_data_extent([("", train)], TRAIN_X_COLUMN[x_axis]) if train is not None else None,
                         _data_extent([("", evals)], EVAL_X_COLUMN[x_axis]) if evals is not None else None) if e]
    iters = sorted(set(marker_iters))
    if iters and train is not None and len(train) and "iter" in train:
        it = train["iter"].to_numpy(dtype=np.float64)
        it = it[np.isfinite(it)]
        if it.size:
            first, last = float(it.min()), float(it.max())
            margin = 0.02 * (last - first)
            near = [i for i in iters if first - margin <= i <= last + margin]
            pos = [p for _i, p in _iters_to_x(train, near, x_axis) if math.isfinite(p)]
            if pos:
                parts.append((min(pos), max(pos)))
    if not parts:
        return None
    return min(p[0] for p in parts), max(p[1] for p in parts)


#: The unzoomed x range of a run with one x value (``lo == hi``): that value +- this (axis units; seconds on ``wall``).
ONE_POINT_HALF_SPAN = 1.0


def autorange_options(extent: tuple[float, float], x_axis: str) -> dict:
    """``xaxis.autorangeoptions`` that make plotly's autorange exactly ``extent`` (axis units, seconds of the log
    clock on ``wall``) whatever the chart holds: ``include`` widens it to the extent (a validation chart's points
    span less than the run), ``clipmin``/``clipmax`` cut the 5 % plotly pads an axis with when a trace has markers
    (nan/inf crosses, checkpoint ticks, validation points) and what lies beyond the run (GPU samples). plotly.js
    applies them to every autorange: the first draw, a double-click (``autosize``) and every redraw of a live run,
    whose extent grows with it. A one-value extent is widened by ``ONE_POINT_HALF_SPAN`` each side (plotly needs
    clipmin < clipmax)."""
    lo, hi = sorted(extent)
    if lo == hi:
        lo, hi = lo - ONE_POINT_HALF_SPAN, hi + ONE_POINT_HALF_SPAN
    a, b = _axis_value(lo, x_axis), _axis_value(hi, x_axis)
    return {"include": [a, b], "clipmin": a, "clipmax": b}


def resolve_range(x_range: tuple[float, float] | None, extent: tuple[float, float] | None
                  ) -> tuple[float, float] | None:
    """An x range whose open ends (``-inf``: from the start, ``inf``: to the end, following the data as it
    grows) are filled in from the data's ``extent``; None when nothing is left to show."""
    if x_range is None:
        return None
    lo, hi = sorted(x_range)
    if math.isinf(lo) or math.isinf(hi):
        if extent is None:
            return None
        lo = extent[0] if math.isinf(lo) else lo
        hi = extent[1] if math.isinf(hi) else hi
    return (lo, hi) if lo < hi else None


def _layout(fig: Figure, x_axis: str, log_y: bool, x_range: tuple[float, float] | None, title: str | None,
            y_title: str | None, uirevision: str, extent: tuple[float, float] | None = None) -> None:
    """The layout every chart shares; ``x_range``: the range chosen (fixed), ``extent``: the unzoomed range, set
    as autorange options also when a range is chosen (a double-click then goes to it at once)."""
    update_layout(
        fig,
        title={"text": title, "x": 0, "xanchor": "left"} if title else {},
        margin={"l": 60, "r": 20, "t": 64 if title else 40, "b": 50},
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.01, "xanchor": "right", "x": 1},
        hovermode="x unified",
        uirevision=uirevision,
    )
    fig["layout"]["template"] = template()
    xaxis = {"title": {"text": X_TITLES[x_axis]}, "type": "date" if x_axis == "wall" else "linear"}
    if x_range is not None:
        lo, hi = sorted(x_range)
        xaxis.update(range=[_axis_value(lo, x_axis), _axis_value(hi, x_axis)], autorange=False)
    if extent is not None:
        xaxis["autorangeoptions"] = autorange_options(extent, x_axis)
    fig["layout"]["xaxis"] = xaxis
    update_yaxes(fig, **({"title": {"text": y_title}} if y_title is not None else {}),
                 type="log" if log_y else "linear")


# ------------------------------------------------------------------------------------------------ figures


def metric_figure(
    frames: FrameInput,
    keys: Sequence[str],
    x_axis: XAxis = "iter",
    smoothing: float = 0.6,
    log_y: bool = False,
    x_range: tuple[float, float] | None = None,
    epoch_ends: Sequence[int] = (),
    resume_iters: Sequence[int] = (),
    checkpoint_iters: Sequence[int] = (),
    max_points: int = 4000,
    title: str | None = None,
    uirevision: str = "metric",
    extent: tuple[float, float] | None = None,
) -> Figure:
    """Train metrics over ``x_axis``: the raw series faint behind its smoothed one, per frame and key.

    ``frames`` is one ``train_frame`` or ``[(label, frame), ...]`` (e.g. the runs of one file);
    markers (epoch ends, resumes, checkpoints, all given as *iterations*) are placed using the first
    frame's iteration -> x mapping. ``x_range`` is in axis units (iterations, fractional epochs,
    seconds of the log clock for ``wall``, seconds since start for ``relative``). Keys a frame lacks
    are skipped. With ``smoothing == 0`` only the raw series is drawn (at full opacity). ``extent``: the x range
    shown unzoomed, which also fills a zoom's open ends (the run's, ``run_extent``, shared by every chart of the
    run); default: the frames' own.
    """
    _check_axis(x_axis)
    labelled = _labelled(frames)
    x_col = TRAIN_X_COLUMN[x_axis]
    fig = new_figure()
    color_i = 0
    for label, frame in labelled:
        if x_col not in frame:
            continue
        for key in keys:
            if key not in frame:
                continue
            x, y, smooth = _series(frame, key, x_col, smoothing)
            name = f"{label} · {key}" if label else key
            _add_metric_traces(fig, x, y, smooth, name, PALETTE[color_i % len(PALETTE)], smoothing, x_range,
                               max_points, x_axis, group=f"series-{color_i}")
            color_i += 1
    first = labelled[0][1] if labelled else None
    if extent is None:
        extent = _data_extent(labelled, x_col)
    view = tuple(sorted(x_range)) if x_range is not None else extent
    _decorate(fig, first, x_axis, view, epoch_ends, resume_iters, checkpoint_iters)
    y_title = keys[0] if len(keys) == 1 else None
    _layout(fig, x_axis, log_y, resolve_range(x_range, extent), title, y_title, uirevision, extent)
    return fig


def eval_figure(
    frames: FrameInput,
    keys: Sequence[str],
    x_axis: XAxis = "epoch",
    log_y: bool = False,
    x_range: tuple[float, float] | None = None,
    max_points: int = 4000,
    title: str | None = None,
    uirevision: str = "eval",
    extent: tuple[float, float] | None = None,
) -> Figure:
    """Validation/test metrics (``eval_frame`` rows) as lines with markers, one trace per frame and key.

    x: ``epoch`` -> the summary's epoch, ``iter`` -> the train iteration it followed, ``wall`` /
    ``relative`` -> its timestamp. Rows lacking the metric or the x value are left out. ``extent``: as
    ``metric_figure``'s (the run's, so the chart lines up with the train charts); default: the frames' own.
    """
    _check_axis(x_axis)
    labelled = _labelled(frames)
    x_col = EVAL_X_COLUMN[x_axis]
    fig = new_figure()
    color_i = 0
    for label, frame in labelled:
        if x_col not in frame:
            continue
        for key in keys:
            if key not in frame:
                continue
            x = frame[x_col].to_numpy(dtype=np.float64)
            y = frame[key].to_numpy(dtype=np.float64)
            ok = np.isfinite(x) & ~np.isnan(y)
            x, y = x[ok], y[ok]
            if x.size > 1 and not np.all(x[1:] >= x[:-1]):
                order = np.argsort(x, kind="stable")
                x, y = x[order], y[order]
            px, py = _prepare(x, y, x_range, max_points, x_axis)
            name = f"{label} · {key}" if label else key
            add_trace(fig, x=px, y=py, mode="lines+markers", name=name,
                      line={"color": PALETTE[color_i % len(PALETTE)], "width": 2}, marker={"size": 6})
            color_i += 1
    if extent is None:
        extent = _data_extent(labelled, x_col)
    _layout(fig, x_axis, log_y, resolve_range(x_range, extent), title, keys[0] if len(keys) == 1 else None,
            uirevision, extent)
    return fig


def compare_figure(
    runs: Sequence[tuple[str, pd.DataFrame]],
    key: str,
    align: Literal["iter", "epoch", "relative"] = "iter",
    smoothing: float = 0.6,
    log_y: bool = False,
    x_range: tuple[float, float] | None = None,
    max_points: int = 4000,
    title: str | None = None,
    uirevision: str = "compare",
) -> Figure:
    """One metric of several runs overlaid, aligned on iteration, (fractional) epoch or time since start.

    Each run gets its own colour: smoothed line plus its raw series faint behind it. Runs without
    ``key`` are skipped and listed in ``fig["layout"]["meta"]["missing"]`` (and in a small note on the plot).
    """
    _check_axis(align, ("iter", "epoch", "relative"))
    x_col = TRAIN_X_COLUMN[align]
    fig = new_figure()
    missing: list[str] = []
    for i, (label, frame) in enumerate(runs):
        if key not in frame or x_col not in frame:
            missing.append(str(label))
            continue
        x, y, smooth = _series(frame, key, x_col, smoothing)
        _add_metric_traces(fig, x, y, smooth, str(label), PALETTE[i % len(PALETTE)], smoothing, x_range,
                           max_points, align, group=f"run-{i}")
    # Every chart of a comparison shows the runs' extent unzoomed (their frames' rows, whatever metric they log).
    extent = _data_extent(list(runs), x_col)
    _layout(fig, align, log_y, resolve_range(x_range, extent), title, key, uirevision, extent)
    update_layout(fig, meta={"missing": missing, "key": key})
    if missing:
        add_to_layout(fig, "annotations", {
            "text": f"no {key} in: " + ", ".join(missing), "xref": "paper", "yref": "paper", "x": 1, "y": 0,
            "xanchor": "right", "yanchor": "bottom", "showarrow": False, "font": {"size": 10, "color": "#888"},
        })
    return fig


#: "Ignore outliers": the y scale spans these quantiles of the values drawn (widened by ``OUTLIER_PAD`` of that
#: span on each side), when values lie outside it; the values beyond are drawn as clipped points on the edge.
OUTLIER_QUANTILES = (0.01, 0.99)
OUTLIER_PAD = 0.15
CLIPPED_NAME = "clipped"


def clip_outliers(fig: Figure, log_y: bool = False) -> tuple[float, float] | None:
    """Fit the y scale of ``fig`` to its values without their outliers, as TensorBoard's "Ignore outliers in
    chart scaling" does: one spike of 100 does not flatten a loss around 0.7. The scale spans the 1st to 99th
    percentile of every finite value of the line traces on the main y axis (the raw series included), padded;
    values beyond it stay visible as triangles on the edge (a trace named ``clipped``, its hover text the true
    value). A figure whose values all fit keeps plotly's own autorange. Returns the range set (in data units)
    or None."""
    lines = [t for t in fig["data"] if t.get("type", "scatter") == "scatter" and t.get("yaxis") in (None, "y")
             and t.get("y") is not None and "lines" in (t.get("mode") or "lines")]
    ys = [np.asarray(t["y"], dtype=np.float64) for t in lines]
    y = np.concatenate(ys) if ys else np.empty(0)
    y = y[np.isfinite(y)]
    if log_y:
        y = y[y > 0]
    if y.size < 20:
        return None
    v = np.log10(y) if log_y else y
    q_lo, q_hi = np.quantile(v, OUTLIER_QUANTILES)
    pad = (q_hi - q_lo) * OUTLIER_PAD
    if pad <= 0:
        return None
    lo, hi = q_lo - pad, q_hi + pad
    if v.min() >= lo and v.max() <= hi:
        return None
    lo, hi = (max(lo, v.min()), min(hi, v.max()))
    edge_lo, edge_hi = (10 ** lo, 10 ** hi) if log_y else (lo, hi)
    cx: list = []
    cy: list[float] = []
    cv: list[float] = []
    for t, values in zip(lines, ys):
        if t.get("x") is None:
            continue
        out = np.isfinite(values) & ((values > edge_hi) | (values < edge_lo))
        if not out.any():
            continue
        xs = np.asarray(t["x"])
        cx.extend(xs[out].tolist())
        cv.extend(values[out].tolist())
        cy.extend(np.where(values[out] > edge_hi, edge_hi, edge_lo).tolist())
    update_layout(fig, yaxis={"range": [lo, hi], "autorange": False})  # the main axis only (not the ticks' own)
    if cx:
        add_trace(fig, x=cx, y=cy, mode="markers", name=CLIPPED_NAME, showlegend=False, customdata=cv,
                  marker={"symbol": ["triangle-up" if c > edge_hi else "triangle-down" for c in cv], "size": 9,
                          "color": "#9467bd"},
                  hovertemplate="off the scale: %{customdata:.4g}", cliponaxis=False)
    return edge_lo, edge_hi


def trace_point_counts(fig: Figure) -> list[int]:
    """Number of points of every trace (for tests and budgets; of a ``go.Figure`` too)."""
    return [len(t["x"]) if "x" in t and t["x"] is not None else 0 for t in fig["data"]]
