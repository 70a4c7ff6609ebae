"""A chart sent to a browser in parts: the whole figure once, then only what changed since this session last sent
it (Streamlit-free; drawn by ``dashboard.ui.live_chart``).

Why: ``st.plotly_chart`` sends a whole figure on every redraw and mounts a new plotly graph for it (its element id
is a hash of the figure), so a live chart cost ~1 MB a redraw and lost the view. Here a chart is one graph in the
browser that takes the new points of its traces (``Plotly.react`` on the same graph: ``uirevision`` keeps zoom,
hover and legend), and a redraw with nothing new sends a few bytes (the last message again, which Streamlit's
message cache sends as its hash).

- ``chart_payload(fig)``: a figure (a dict in plotly's JSON figure schema: ``dashboard.charts.figures``) cut
  into what grows (each trace's ``x`` and ``y`` as float64 arrays; a date
  axis as milliseconds since the epoch, which plotly reads as dates) and what is replaced when it changes (every
  other trace property, the layout), each with a signature. Built once per figure and shared by every session
  (the charts cache holds payloads).
- ``next_message(payload, config, identity, cursor)``: what a session sends, from what it sent last (its
  ``Cursor``): nothing new (the last message again, the same bytes: Streamlit's message cache then sends the
  browser only its hash, and the component's data does not change; a browser that had not run the component yet
  when a message came gets it now), the whole figure (first time, another chart, a trace count that changed),
  or per trace the points after those sent (a trace whose sent points are a prefix of its points now) or the
  trace again (anything else: a downsampled trace whose head was re-sampled, ``series.downsample_growing``),
  plus the layout's top-level keys that changed (``layout_patch``, and ``layout_drop``: keys gone) and the config
  when they changed. Each message has a ``seq`` unique in the process and the ``base``
  it applies on; a browser holding another ``seq`` (a graph mounted again, a message lost) asks for the whole
  figure (``dashboard.ui.live_chart``'s ``resync``), so what it draws always equals the figure.
- ``apply_message`` / ``figure_of``: the browser's side in Python (tests: what the browser holds after any
  sequence of messages is the figure; AppTest reads the charts with it).

Arrays travel as ``{"dtype": "f8", "bdata": <base64 of little-endian float64>}`` (plotly's typed-array form).
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
from dataclasses import dataclass, field

import numpy as np

from dashboard.charts.figures import json_ready, typed_array

_SEQ = itertools.count(1)
_TOKEN = itertools.count(1)


@dataclass(frozen=True)
class TracePart:
    rest: dict  # every property but x and y, JSON-ready (plotly's own encoding)
    rest_sig: str
    x: np.ndarray | None  # float64; None: x and y stay in ``rest`` (not numbers: replaced whole when changed)
    y: np.ndarray | None
    digest: str  # of all of x and y


@dataclass(frozen=True)
class ChartPayload:
    traces: tuple[TracePart, ...]
    layout: dict
    layout_sig: str
    token: int  # this payload (a cursor that sent it sends nothing again)
    layout_sigs: tuple[tuple[str, str], ...] = ()  # per top-level key of the layout: its signature

    @property
    def nbytes(self) -> int:
        return sum(t.x.nbytes + t.y.nbytes for t in self.traces if t.x is not None and t.y is not None)


@dataclass(frozen=True)
class Cursor:
    """What one session sent of one chart: the message's ``seq``, which chart, and per trace (signature of its
    other properties, points sent, digest of those points), the layout's and config's signatures."""

    seq: int
    identity: str
    token: int
    traces: tuple[tuple[str, int, str], ...]
    layout_sig: str
    config_sig: str
    last: dict = field(default_factory=dict, compare=False)  # the message sent: sent again while nothing is new
    layout_sigs: tuple[tuple[str, str], ...] = ()  # the layout sent, per top-level key (``ChartPayload``)


def _sig(obj: object) -> str:
    return hashlib.blake2b(json.dumps(obj, sort_keys=True, separators=(",", ":")).encode(), digest_size=12).hexdigest()


def _digest(x: np.ndarray, y: np.ndarray) -> str:
    h = hashlib.blake2b(digest_size=12)
    h.update(np.ascontiguousarray(x).tobytes())
    h.update(np.ascontiguousarray(y).tobytes())
    return h.hexdigest()


def _numbers(values: object) -> np.ndarray | None:
    """Trace coordinates as float64 (datetimes as milliseconds since the epoch, NaT as NaN), else None."""
    if values is None:
        return None
    a = np.asarray(values)
    if a.ndim != 1:
        return None
    if np.issubdtype(a.dtype, np.datetime64):
        ms = a.astype("datetime64[ms]")
        out = ms.astype(np.int64).astype(np.float64)
        out[np.isnat(ms)] = np.nan
        return out
    if a.dtype.kind in "biuf":
        return a.astype(np.float64)
    return None


encode = typed_array


def decode(v: object) -> object:
    if isinstance(v, dict) and v.get("dtype") == "f8" and "bdata" in v:
        return np.frombuffer(base64.b64decode(v["bdata"]), dtype="<f8")
    return v


def _json(obj: object) -> object:
    """``obj`` as plotly's JSON encoder writes it (numbers arrays typed, datetimes ISO text), read back."""
    from plotly.io.json import to_json_plotly

    return json.loads(to_json_plotly(json_ready(obj)))


def chart_payload(fig: dict) -> ChartPayload:
    """A figure cut into what grows and what is replaced (see the module doc)."""
    traces = []
    for obj in fig.get("data", []):
        x, y = _numbers(obj.get("x")), _numbers(obj.get("y"))
        if x is not None and y is not None and x.shape == y.shape:
            t = _json({k: v for k, v in obj.items() if k not in ("x", "y")})
            digest = _digest(x, y)
        else:
            t = _json(obj)
            x = y = None
            digest = ""
        traces.append(TracePart(rest=t, rest_sig=_sig(t), x=x, y=y, digest=digest))
    layout = _json(fig.get("layout", {}))
    return ChartPayload(traces=tuple(traces), layout=layout, layout_sig=_sig(layout), token=next(_TOKEN),
                        layout_sigs=tuple((k, _sig(v)) for k, v in layout.items()))


def _whole(t: TracePart) -> dict:
    if t.x is None or t.y is None:
        return dict(t.rest)
    return {**t.rest, "x": encode(t.x), "y": encode(t.y)}


def next_message(payload: ChartPayload, config: dict, identity: str, cursor: Cursor | None) -> tuple[dict, Cursor]:
    """The message this session sends for the chart now, and its cursor after it (see the module doc)."""
    config_sig = _sig(config)
    if (cursor is not None and cursor.token == payload.token and cursor.identity == identity
            and cursor.config_sig == config_sig):
        return cursor.last, cursor
    seq = next(_SEQ)
    sent = tuple((t.rest_sig, 0 if t.x is None else t.x.size, t.digest) for t in payload.traces)
    if cursor is None or cursor.identity != identity or len(cursor.traces) != len(payload.traces):
        whole = {"seq": seq, "base": None, "n": len(payload.traces),
                 "parts": [{"i": i, "trace": _whole(t)} for i, t in enumerate(payload.traces)],
                 "layout": payload.layout, "config": config}
        return whole, Cursor(seq, identity, payload.token, sent, payload.layout_sig, config_sig, whole,
                             payload.layout_sigs)
    parts = []
    for i, (t, (rest_sig, n, digest)) in enumerate(zip(payload.traces, cursor.traces)):
        if t.x is None or t.y is None:
            if rest_sig != t.rest_sig:
                parts.append({"i": i, "trace": _whole(t)})
            continue
        size = t.x.size
        if rest_sig == t.rest_sig and size == n and digest == t.digest:
            continue
        if rest_sig == t.rest_sig and n < size and _digest(t.x[:n], t.y[:n]) == digest:
            parts.append({"i": i, "x": encode(t.x[n:]), "y": encode(t.y[n:])})
        else:
            parts.append({"i": i, "trace": _whole(t)})
    msg: dict = {"seq": seq, "base": cursor.seq, "n": len(payload.traces), "parts": parts}
    if cursor.layout_sig != payload.layout_sig:
        # Only the top-level keys that changed (a live run's x axis grows with it; the 8 KB template does not).
        sent_sigs, now = dict(cursor.layout_sigs), dict(payload.layout_sigs)
        msg["layout_patch"] = {k: payload.layout[k] for k, sig in now.items() if sent_sigs.get(k) != sig}
        dropped = [k for k in sent_sigs if k not in now]
        if dropped:
            msg["layout_drop"] = dropped
    if cursor.config_sig != config_sig:
        msg["config"] = config
    return msg, Cursor(seq, identity, payload.token, sent, payload.layout_sig, config_sig, msg, payload.layout_sigs)


@dataclass
class Held:
    """What a browser holds of a chart (the Python twin of ``live_chart``'s script)."""

    seq: int | None = None
    data: list | None = None
    layout: dict | None = None
    config: dict | None = None


def apply_message(held: Held, msg: dict) -> bool:
    """Apply ``msg`` as the browser does; False when it cannot (the browser then asks for the whole figure)."""
    if msg["seq"] == held.seq:
        return True  # the same message again (nothing new)
    if msg.get("base") is None:
        data: list = [None] * msg["n"]
    elif msg["base"] == held.seq and held.data is not None and len(held.data) == msg["n"]:
        data = list(held.data)
    else:
        return False
    for part in msg["parts"]:
        i = part["i"]
        if "trace" in part:
            data[i] = {k: decode(v) if k in ("x", "y") else v for k, v in part["trace"].items()}
        else:
            old = data[i]
            data[i] = {**old, "x": np.concatenate([old["x"], decode(part["x"])]),
                       "y": np.concatenate([old["y"], decode(part["y"])])}
    held.data = data
    if "layout" in msg:
        held.layout = msg["layout"]
    if "layout_patch" in msg or "layout_drop" in msg:
        layout = {**(held.layout or {}), **msg.get("layout_patch", {})}
        for k in msg.get("layout_drop", ()):
            layout.pop(k, None)
        held.layout = layout
    if "config" in msg:
        held.config = msg["config"]
    held.seq = msg["seq"]
    return True


def figure_of(msg: dict) -> dict:
    """The figure (``{"data": [...], "layout": {...}}``) of a whole-figure message."""
    held = Held()
    if not apply_message(held, msg):
        raise ValueError("not a whole-figure message")
    return {"data": held.data, "layout": held.layout}
