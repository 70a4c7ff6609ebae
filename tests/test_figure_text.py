"""Every text a chart renders is literal (issue 16, item 3).

Plotly renders a subset of HTML in titles, axis titles, legend entries, hover text and annotations, so a metric
named ``<a href="https://evil.example/phish">CLICKME</a>`` (a ``scalars.json`` key can be anything) became a
live link in a Compare chart's y-axis title. Figures are built from raw text and every text is escaped once, by
``views.text.escape_figure`` (which uses the one escaper, ``text.plotly_text``), in the views that hand figures
to pages. These tests build each kind of figure with hostile metric and run names and look at every string of
the figure's JSON.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import plotly.io as pio
import pytest

from dashboard.charts.series import eval_frame, train_frame
from dashboard.views import compare, run_model
from dashboard.views.text import escape_figure, plotly_text
from parsers import parse_bytes

LINK = '<a href="https://evil.example/phish">CLICKME</a>'
THROUGHPUT = "<b>tokens_per_sec</b>"  # its own chart, titled by its name
EVAL = "<img src=x onerror=alert(1)>acc"
RUN = "<i>run</i> & <script>alert(1)</script>"
NOT_RENDERED = ("meta", "uirevision")  # carried in the JSON, never drawn


def scalars_json(n: int = 30, *, link: bool = True) -> bytes:
    lines = []
    for i in range(1, n + 1):
        rec = {"lr": 1e-4, "loss": 1.0 / i, "time": 1.0, "data_time": 0.1, "epoch": 1 + i // 11, "iter": i * 10,
               "step": i * 10, THROUGHPUT: 100.0 + i}
        if link:
            rec[LINK] = math.nan if i == 7 else 2.0 / i  # a logged nan: the nan/inf marker trace too
        lines.append(json.dumps(rec))
        if i % 10 == 0:
            lines.append(json.dumps({EVAL: 50.0 + i, "step": i // 10}))
    return ("\n".join(lines) + "\n").encode()


def hostile_run():
    (run,) = parse_bytes(scalars_json()).runs
    return run


def rendered_strings(fig) -> list[tuple[str, str]]:
    """(path, text) of every string in the figure's JSON that plotly may render."""
    out: list[tuple[str, str]] = []

    def walk(v, path: str) -> None:
        if isinstance(v, str):
            out.append((path, v))
        elif isinstance(v, dict):
            for k, x in v.items():
                if k not in NOT_RENDERED:
                    walk(x, f"{path}.{k}")
        elif isinstance(v, list):
            for i, x in enumerate(v):
                walk(x, f"{path}[{i}]")

    # A figure dict through plotly's JSON writer with validation (``go.Figure``): what the browser would get.
    walk(json.loads(fig.to_json() if hasattr(fig, "to_json") else pio.to_json(fig, validate=True)), "")
    return out


def assert_literal(fig) -> list[tuple[str, str]]:
    strings = rendered_strings(fig)
    raw = [(p, s) for p, s in strings if "<" in s or ">" in s]
    assert raw == [], raw
    double = [(p, s) for p, s in strings if "&amp;lt;" in s or "&amp;amp;" in s]
    assert double == [], double
    return strings


def texts(strings, suffix: str) -> list[str]:
    return [s for p, s in strings if p.endswith(suffix)]


# ----------------------------------------------------------------------------------------------- run page


@pytest.mark.parametrize("x_axis", ["iter", "epoch", "wall"])
def test_every_run_page_chart_renders_hostile_names_as_text(x_axis):
    run = hostile_run()
    frame, evals = train_frame(run), eval_frame(run)
    choices = run_model.metric_choices(list(frame.attrs["fields"]), list(evals.attrs["metrics"]))
    plans = [run_model.chart_plan(choices, [LINK], [EVAL]), run_model.chart_plan(choices, [LINK, "loss"], [EVAL])]
    seen_titles, seen_axes, seen_names = [], [], []
    for plan in plans:
        for spec in plan:
            fig = run_model.build_figure(spec, frame, evals, run_model.ChartView(x_axis=x_axis),
                                         epoch_ends=[100], resume_iters=[150], checkpoint_iters=[200])
            strings = assert_literal(fig)
            seen_titles += texts(strings, ".layout.title.text")
            seen_axes += texts(strings, ".title.text")
            seen_names += texts(strings, ".name")
    escaped_link = plotly_text(LINK)
    assert escaped_link in seen_axes  # the y-axis title of a one-metric chart: the reported hole
    assert plotly_text(THROUGHPUT) in seen_titles
    assert any(t.startswith(plotly_text(f"validation: {EVAL}")) for t in seen_titles)
    assert escaped_link in seen_names
    if x_axis != "wall":  # scalars.json has no timestamps: nothing to draw on the wall clock
        assert f"{escaped_link}: nan/inf" in seen_names


# ------------------------------------------------------------------------------------------------ compare


def test_every_compare_chart_renders_hostile_names_as_text():
    run = hostile_run()
    (other,) = parse_bytes(scalars_json(link=False)).runs  # lacks the metric: named in the "no ... in" note
    for key in (LINK, EVAL, THROUGHPUT):
        frames = [(RUN, compare.metric_frame(run, key)), (f"{RUN} (2)", compare.metric_frame(other, key))]
        for align in ("iter", "epoch", "relative"):
            fig = compare.figure(frames, key, align=align, smoothing=0.6, log_y=False)
            strings = assert_literal(fig)
            assert texts(strings, ".layout.title.text") == [plotly_text(key)]
            assert plotly_text(key) in texts(strings, ".yaxis.title.text")
            assert plotly_text(RUN) in texts(strings, ".name")
            if key == LINK:
                assert any(plotly_text(f"{RUN} (2)") in t for t in texts(strings, ".text"))


def test_escape_figure_escapes_each_text_once():
    import plotly.graph_objects as go

    made = go.Figure(go.Scatter(x=[1], y=[1], name="a&b <i>", hovertemplate="%{y} <b>x</b>"))
    made.update_layout(title={"text": "<b>t</b>"}, annotations=[{"text": "<a href='x'>y</a>", "x": 0, "y": 0}])
    made.update_yaxes(title_text="<u>y</u>")
    fig = go.Figure(escape_figure(made.to_plotly_json()))
    assert fig.data[0].name == "a&amp;b &lt;i&gt;" and fig.data[0].hovertemplate == "%{y} &lt;b&gt;x&lt;/b&gt;"
    assert fig.layout.title.text == "&lt;b&gt;t&lt;/b&gt;" and fig.layout.yaxis.title.text == "&lt;u&gt;y&lt;/u&gt;"
    assert fig.layout.annotations[0].text == "&lt;a href='x'&gt;y&lt;/a&gt;"


def test_the_compare_page_shows_a_hostile_metric_as_text(tmp_path: Path, monkeypatch):
    from dashboard.ui import common
    from tests.helpers import live_charts, open_page

    root = tmp_path / "logs"
    for name in ("a", "b"):
        d = root / "<img src=x onerror=alert(1)>" / name
        d.mkdir(parents=True)
        (d / "scalars.json").write_bytes(scalars_json())
    monkeypatch.setenv("MMDASH_ROOTS", str(root))
    monkeypatch.setenv("MMDASH_DEMO", "0")
    monkeypatch.setenv("MMDASH_UPLOAD_DIR", str(tmp_path / "uploads"))
    ids = [f"logs/<img src=x onerror=alert(1)>/{n}/scalars.json" for n in ("a", "b")]
    try:
        at = open_page("compare", {"compare": ids, "metric": LINK})
        charts = live_charts(at)
        assert len(charts) == 1
        (chart,) = charts

        class Spec:  # rendered_strings takes a figure: give it the spec the browser gets
            def to_json(self):
                return json.dumps(chart, default=lambda a: a.tolist())  # x and y: numpy arrays

        strings = assert_literal(Spec())
        assert chart["layout"]["yaxis"]["title"]["text"] == plotly_text(LINK)
        assert all("&lt;img" in t["name"] for t in chart["data"] if t.get("name") and "(raw)" not in t["name"])
        table = at.dataframe[0].value
        assert any("<img src=x onerror=alert(1)>" in str(v) for v in table.iloc[:, 0])  # the table shows it literally
        assert strings
    finally:
        common.release_all()


def test_pages_get_figures_only_from_the_views_that_escape_them():
    """``ui/`` never calls a figure builder of ``charts.figures`` itself (it would skip ``escape_figure``)."""
    import re

    ui = Path(__file__).resolve().parents[1] / "dashboard" / "ui"
    builders = re.compile(r"\b(metric_figure|eval_figure|compare_figure)\b|go\.Figure\(")
    offenders = [str(p) for p in ui.rglob("*.py") if builders.search(p.read_text())]
    assert offenders == []
