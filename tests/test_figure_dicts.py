"""Figures are plain dicts in plotly's JSON figure schema, exactly what plotly's validation makes of them (issue 18).

The builders (``charts.figures``, ``run_model.build_figure``, ``compare.figure``, ``gpu_view.figures``) give
``{"data": [...], "layout": {...}}`` dicts instead of ``go.Figure`` objects: plotly's validation of every property
was most of a chart's build time on the Run page. Each test passes the dicts through ``go.Figure(fig)``, plotly's
own validation (which refuses anything that is not a valid figure), and checks that ``to_plotly_json()`` gives the
same figure back: nothing a ``go.Figure`` would add, drop or coerce (the template, a title, a range, a trace
type) is missing, so the figures the browser gets are those the ``go.Figure`` builders made. Every chart of the
Run page's plan (every train metric, every validation metric) of the sample logs and the real logs, on every x
axis and with the chart tools, the Compare chart and the GPU charts.
"""

from __future__ import annotations

import base64
import datetime as dt
import math
from pathlib import Path

import numpy as np
import plotly.graph_objects as go
import pytest

from dashboard.views import compare, gpu_view
from dashboard.views import run_model as rm
from parsers import parse_path
from parsers.gpu_csv import parse_gpu_path
from tests.conftest import corpus_params, sample_log_files
from tools.gen_logs.gpu import write_gpu_log

LLM = next(p for p in sample_log_files() if p.parent.parent.name == "llm_sft_len_grouped")


def plain(v: object) -> object:
    """A figure value in one spelling: plotly's typed arrays and numpy arrays as lists of floats (datetimes as ISO
    text), NaN as the text "nan", tuples as lists; what the browser gets is the same for the two spellings."""
    if isinstance(v, dict):
        if {"dtype", "bdata"} <= set(v) <= {"dtype", "bdata", "shape"}:
            return plain(np.frombuffer(base64.b64decode(v["bdata"]), dtype=np.dtype(v["dtype"])))
        return {k: plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [plain(x) for x in v]
    if isinstance(v, np.ndarray):
        if v.dtype.kind == "M":
            return ["datetime", [str(x) for x in v.astype("datetime64[ms]")]]
        return [plain(x) for x in v.tolist()]
    if isinstance(v, np.generic):
        return plain(v.item())
    if isinstance(v, float) and math.isnan(v):
        return "nan"
    return v


def assert_valid_and_unchanged(fig: dict) -> None:
    assert isinstance(fig, dict) and set(fig) == {"data", "layout"}
    assert all(isinstance(t, dict) and t.get("type") == "scatter" for t in fig["data"])
    validated = go.Figure(fig).to_plotly_json()  # raises on anything that is not a valid figure
    assert plain(validated) == plain(fig)


VIEWS = (rm.ChartView(label="run <b>1</b>"), rm.ChartView(x_axis="epoch", smoothing=0.0, log_y=True),
         rm.ChartView(x_axis="wall", ignore_outliers=False), rm.ChartView(x_axis="relative", smoothing=0.9))


def models(path: Path) -> list[rm.RunModel]:
    runs = parse_path(str(path)).runs
    source = rm.RunSource("file", path.name, path.name)
    return [rm.build_run_model(runs[i], source, run_index=i, choices=[(k, str(k)) for k in range(len(runs))])
            for i in sorted({0, len(runs) - 1}) if runs]


def check_run_page_charts(path: Path) -> int:
    n = 0
    for m in models(path):
        plan = rm.chart_plan(m.metrics, m.metrics.train_options, m.metrics.eval_options)
        iters = m.frame["iter"].to_numpy(dtype=np.float64) if len(m.frame) else np.empty(0)
        zoom = rm.ChartView(x_range=(float(iters[len(iters) // 3]), math.inf), hidden_traces=("series-0",)) \
            if iters.size > 3 else rm.ChartView(hidden_traces=("series-0",))
        for view in (*VIEWS, zoom):
            for spec in plan:
                assert_valid_and_unchanged(rm.build_figure(
                    spec, m.frame, m.evals, view, epoch_ends=m.summary.epoch_ends, resume_iters=m.resume_iters,
                    checkpoint_iters=m.checkpoint_iters))
                n += 1
    return n


@pytest.mark.parametrize("path", sample_log_files(), ids=lambda p: f"{p.parent.parent.name}/{p.name}")
def test_every_run_page_chart_of_the_sample_logs(path):
    assert check_run_page_charts(path) > 0 or not parse_path(str(path)).runs


@pytest.mark.parametrize("path", corpus_params())
def test_every_run_page_chart_of_the_real_logs(path):
    check_run_page_charts(path)


def test_compare_charts_of_many_runs_with_and_without_the_metric():
    files = sample_log_files()
    runs = [(f"{p.parent.parent.name} <i>{k}</i>", r) for p in files for k, r in enumerate(parse_path(str(p)).runs)]
    assert len(runs) > 10  # more runs than the palette: the colours of MANY_COLORS, the legend beside the chart
    for key in ("loss", "lr", "accuracy/top1", "no such metric"):
        for align in ("iter", "epoch", "relative"):
            for some in (runs[:3], runs):
                frames = [(label, compare.metric_frame(r, key)) for label, r in some]
                assert_valid_and_unchanged(compare.figure(frames, key, align=align, smoothing=0.6,
                                                          log_y=align == "epoch"))


def test_gpu_charts(tmp_path):
    write_gpu_log(tmp_path / "gpu.csv", dt.datetime(2026, 3, 14, 8, 59), 9000, interval=5, gpus=4, busy=(0,),
                  na_gpus=(3,))
    run = parse_path(str(LLM)).runs[-1]
    m = rm.build_run_model(run, rm.RunSource("file", "llm", "llm"), run_index=None, choices=[(None, "llm")],
                           gpu=gpu_view.GpuInput("gpu.csv", parse_gpu_path(str(tmp_path / "gpu.csv")).table()))
    assert m.gpu is not None
    for view in (*VIEWS, rm.ChartView(x_range=(1000.0, 2000.0))):
        figs = gpu_view.figures(m.gpu, m, view)
        assert figs
        for fig in figs.values():
            assert_valid_and_unchanged(fig)


def test_a_figure_plotly_would_change_is_caught():
    """The check can fail: a figure missing what validation adds (plotly's default template) is not equal to its
    validated self, and a property plotly does not know is refused."""
    m = models(LLM)[-1]
    spec = rm.chart_plan(m.metrics, ["loss"], [])[0]
    fig = rm.build_figure(spec, m.frame, m.evals, rm.ChartView())
    assert_valid_and_unchanged(fig)
    no_template = {"data": fig["data"], "layout": {k: v for k, v in fig["layout"].items() if k != "template"}}
    with pytest.raises(AssertionError):
        assert_valid_and_unchanged(no_template)
    with pytest.raises(ValueError):
        go.Figure({"data": [{**fig["data"][0], "colour": "red"}], "layout": fig["layout"]})
