"""A chart sent in parts (``views.chart_stream``): what a browser holds after any sequence of messages is the
figure of the last one built, whole, and a growing run sends only its new points. Real figures of the Run page
(``run_model.build_figure``) of real and generated logs, growing line by line."""

from __future__ import annotations

import json

import numpy as np
import plotly.graph_objects as go
import pytest

from dashboard.charts.series import downsample_growing, eval_frame, field_columns, train_frame
from dashboard.views import chart_stream as cs
from dashboard.views import run_model as rm
from parsers import parse_bytes
from tests.conftest import SAMPLE_LOGS
from tests.helpers import train_line

LLM = SAMPLE_LOGS / "llm_sft_len_grouped" / "20260314_090000" / "20260314_090000.log"
CONFIG = {"displaylogo": False}


def figures_of(data: bytes, view: rm.ChartView) -> dict[str, object]:
    run = parse_bytes(data).runs[-1]
    frame, evals = train_frame(run), eval_frame(run)
    c = rm.metric_choices(field_columns(frame), [])
    plan = rm.chart_plan(c, c.train_default, [])
    return {s.key: rm.build_figure(s, frame, evals, view) for s in plan}


def as_sent(fig) -> dict:
    """The figure as plotly.js gets it from plotly's own validation and JSON writer (``go.Figure(fig).to_json``):
    x and y as float64 (dates as ms), the rest as JSON."""
    fig = go.Figure(fig)
    spec = json.loads(fig.to_json())
    for obj, t in zip(fig.data, spec["data"]):
        x, y = cs._numbers(obj.x), cs._numbers(obj.y)
        if x is not None and y is not None:
            t["x"], t["y"] = x, y
    return spec


def same(held: cs.Held, fig) -> None:
    want = as_sent(fig)
    assert held.layout == want["layout"]
    assert len(held.data) == len(want["data"])
    for got, exp in zip(held.data, want["data"]):
        assert set(got) == set(exp)
        for k, v in exp.items():
            if isinstance(v, np.ndarray):
                np.testing.assert_array_equal(np.asarray(got[k]), v)
            else:
                assert got[k] == v, k


def lines(first: int, last: int, n: int = 100_000, step: int = 10) -> bytes:
    return b"".join(train_line(i, n) for i in range(first, last + 1, step))


@pytest.mark.parametrize("view", [rm.ChartView(smoothing=0.6), rm.ChartView(smoothing=0.0, ignore_outliers=False),
                                  rm.ChartView(x_axis="wall", smoothing=0.6),
                                  rm.ChartView(smoothing=0.6, x_range=(500.0, float("inf")))])
def test_after_every_append_the_browser_holds_the_whole_figure_and_mostly_got_only_new_points(view):
    data = lines(10, 3000)
    held: dict[str, cs.Held] = {}
    cursors: dict[str, cs.Cursor | None] = {}
    extended = replaced = 0
    last = 3000
    for step in range(12):
        figs = figures_of(data, view)
        for key, fig in figs.items():
            msg, cursors[key] = cs.next_message(cs.chart_payload(fig), CONFIG, key, cursors.get(key))
            h = held.setdefault(key, cs.Held())
            assert cs.apply_message(h, msg), (key, step, msg.get("base"), h.seq)
            same(h, fig)
            if step and msg.get("base") is not None:
                extended += sum(1 for p in msg["parts"] if "x" in p)
                replaced += sum(1 for p in msg["parts"] if "trace" in p)
        data += lines(last + 10, last + 30 * (step + 1))
        last += 30 * (step + 1)
    # Under 4,000 points a trace only grows at its end: the appends travelled as new points.
    assert extended > 3 * replaced, (extended, replaced)


def test_a_run_past_its_point_budget_resends_a_trace_only_when_its_head_is_sampled_again():
    x = np.arange(10_000, dtype=np.float64)
    y = np.sin(x / 50.0)
    budget = 4000
    block = budget // 4
    prev = None
    resent = 0
    for n in range(6000, 8100, 7):
        dx, dy = downsample_growing(x[:n], y[:n], budget)
        assert len(dx) <= budget and dx[-1] == x[n - 1]
        if prev is not None:
            if not (len(dx) >= len(prev[0]) and np.array_equal(dx[:len(prev[0])], prev[0])
                    and np.array_equal(dy[:len(prev[1])], prev[1])):
                resent += 1
        prev = (dx, dy)
    assert resent == pytest.approx(2100 / block, abs=1), resent  # once per block of appended points
    # The spike is kept wherever it falls (head: MinMaxLTTB; tail: raw).
    spiky = y.copy()
    spiky[1234] = 50.0
    spiky[7777] = -50.0
    dx, dy = downsample_growing(x[:8000], spiky[:8000], budget)
    assert dy.max() == 50.0 and dy.min() == -50.0


def test_nothing_new_sends_the_same_message_again_and_a_lost_message_or_a_new_graph_gets_the_whole_figure():
    data = LLM.read_bytes()
    fig = figures_of(data, rm.ChartView())["losses"]
    payload = cs.chart_payload(fig)
    msg, cur = cs.next_message(payload, CONFIG, "losses", None)
    assert msg["base"] is None and len(json.dumps(msg)) > 1000
    # Nothing new: the same message (the same bytes: Streamlit's message cache sends the browser only its hash, and
    # a browser whose component had not run yet when it came gets it now).
    again, cur2 = cs.next_message(payload, CONFIG, "losses", cur)
    assert again is msg and cur2 == cur
    held = cs.Held()
    assert cs.apply_message(held, msg) and cs.apply_message(held, again)
    same(held, fig)
    more = figures_of(data + lines(99_000, 99_100), rm.ChartView())["losses"]
    delta, cur3 = cs.next_message(cs.chart_payload(more), CONFIG, "losses", cur)
    assert delta["base"] == msg["seq"] and "layout" not in delta or delta["layout"] != msg["layout"]
    assert sum(len(json.dumps(p)) for p in delta["parts"]) < len(json.dumps(msg["parts"])) / 2  # the new points
    # A browser that holds something else (a graph mounted again, a message it never saw) cannot apply it: it asks
    # for the whole figure (``live_chart``'s resync).
    assert not cs.apply_message(cs.Held(), delta)
    assert not cs.apply_message(cs.Held(seq=12345, data=[]), delta)
    assert cs.apply_message(held, delta)
    same(held, more)
    # Another chart identity (another run or settings) under the same key: the whole figure.
    other, _ = cs.next_message(cs.chart_payload(more), CONFIG, "losses-other-run", cur3)
    assert other["base"] is None
    # The config (the PNG's file name) changed: sent with the next message.
    renamed, _ = cs.next_message(cs.chart_payload(more), {"displaylogo": False, "x": 1}, "losses", cur3)
    assert renamed["config"] == {"displaylogo": False, "x": 1} and renamed["parts"] == []
    # Sequence numbers are unique in the process (a browser never mistakes one session's message for another's).
    assert len({msg["seq"], delta["seq"], other["seq"], renamed["seq"]}) == 4


def test_a_live_append_sends_the_layout_keys_that_changed_not_the_template():
    """The run's extent grows with every record (the charts' shared x range), so every append changes each chart's
    ``xaxis`` (and the y axis its new values frame): the message carries those keys, not the 8 KB template."""
    view = rm.ChartView(smoothing=0.6)
    data = lines(10, 3000)
    before = figures_of(data, view)["losses"]
    after = figures_of(data + lines(3010, 3100), view)["losses"]
    first, cursor = cs.next_message(cs.chart_payload(before), CONFIG, "losses", None)
    msg, _ = cs.next_message(cs.chart_payload(after), CONFIG, "losses", cursor)
    assert "layout" not in msg and "xaxis" in msg["layout_patch"] and "template" not in msg["layout_patch"]
    assert len(json.dumps(msg["layout_patch"])) < 1000 < len(json.dumps(first["layout"]["template"]))
    held = cs.Held()
    assert cs.apply_message(held, first) and cs.apply_message(held, msg)
    same(held, after)


def test_a_layout_key_that_is_gone_is_dropped_in_the_browser():
    base = {"data": [{"type": "scatter", "x": [1.0, 2.0], "y": [3.0, 4.0]}],
            "layout": {"title": {"text": "t"}, "shapes": [{"type": "line", "x0": 1, "x1": 1}],
                       "xaxis": {"range": [0, 2]}}}
    later = {"data": base["data"], "layout": {"title": {"text": "t"}, "xaxis": {"range": [0, 3]}}}
    first, cursor = cs.next_message(cs.chart_payload(base), CONFIG, "c", None)
    msg, _ = cs.next_message(cs.chart_payload(later), CONFIG, "c", cursor)
    assert msg["layout_patch"] == {"xaxis": {"range": [0, 3]}} and msg["layout_drop"] == ["shapes"]
    held = cs.Held()
    assert cs.apply_message(held, first) and cs.apply_message(held, msg)
    assert held.layout == {"title": {"text": "t"}, "xaxis": {"range": [0, 3]}}
