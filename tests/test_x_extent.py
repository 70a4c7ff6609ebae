"""Every chart of one run shows the same x range unzoomed: the run's extent on the chosen axis (issue 12).

Plotly pads an autoranged axis by 5 % when a trace has markers (nan/inf crosses, checkpoint ticks, validation
points), and a validation chart spans only its own points: charts one above the other did not line up (the LLM
sample's time chart started at 0, its loss chart at 10). Each chart now carries ``xaxis.autorangeoptions``
(``include`` and ``clipmin``/``clipmax`` = the run's extent), so plotly's own autorange (first draw, double-click,
live redraws) is that extent (the browser side: ``tests/e2e/test_x_extent_e2e.py``).
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import plotly.graph_objects as go
import pytest

from dashboard.charts.figures import autorange_options, run_extent
from dashboard.views import compare, gpu_view
from dashboard.views import run_model as rm
from parsers import parse_path
from parsers.gpu_csv import parse_gpu_path
from tests.conftest import SAMPLE_LOGS
from tools.gen_logs.gpu import write_gpu_log

LLM = SAMPLE_LOGS / "llm_sft_len_grouped" / "20260314_090000" / "20260314_090000.log"
CLS = SAMPLE_LOGS / "cls_epoch_val" / "20260315_140000" / "20260315_140000.log"
SEG = SAMPLE_LOGS / "seg_nan_loss" / "20260318_132000" / "20260318_132000.log"


def model_of(path: Path, index: int = 0, **kw) -> rm.RunModel:
    runs = parse_path(str(path)).runs
    return rm.build_run_model(runs[index], rm.RunSource("file", path.name, path.name), run_index=index,
                              choices=[(k, str(k)) for k in range(len(runs))], **kw)


def every_chart(m: rm.RunModel, view: rm.ChartView) -> dict[str, dict]:
    """Every chart of the Run page's plan (every train field, every validation metric), through plotly's
    validation (``go.Figure``: ``autorangeoptions`` is a property plotly 6 knows)."""
    plan = rm.chart_plan(m.metrics, m.metrics.train_options, m.metrics.eval_options)
    out = {}
    for spec in plan:
        fig = rm.build_figure(spec, m.frame, m.evals, view, epoch_ends=m.summary.epoch_ends,
                              resume_iters=m.resume_iters, checkpoint_iters=m.checkpoint_iters)
        go.Figure(fig)  # raises on a property plotly does not know
        out[spec.key] = fig
    return out


def options(lo: object, hi: object) -> dict:
    return {"include": [lo, hi], "clipmin": lo, "clipmax": hi}


@pytest.mark.parametrize(("axis", "lo", "hi"), [
    # The last record is at 3670; the last checkpoint is saved (and epoch 3 ends) at 3672, drawn at the edge.
    ("iter", 10.0, 3672.0),
    ("epoch", 10 / 1224, 3.0),
    ("wall", "2026-03-14T09:04:45", "2026-03-14T21:30:30.400000"),
    ("relative", 0.0, 44745.4),
])
def test_every_chart_of_the_llm_sample_has_the_runs_extent(axis, lo, hi):
    m = model_of(LLM)
    figs = every_chart(m, rm.ChartView(x_axis=axis))
    assert set(figs) == {"losses", "lr", "time", "grad_norm"}
    for key, fig in figs.items():
        xaxis = fig["layout"]["xaxis"]
        assert xaxis["autorangeoptions"] == options(lo, hi), key
        assert "range" not in xaxis and xaxis.get("autorange", True) is True, key


def test_validation_charts_share_the_train_charts_range():
    """cls_epoch_val validates every epoch: its points start at iteration 50 (epoch 1), the train records at 10
    (epoch 0.2); unzoomed, the validation charts span the train charts' range, on every axis they share."""
    m = model_of(CLS)
    for axis, lo, hi in (("iter", 10.0, 300.0), ("epoch", 0.2, 6.0), ("relative", 0.0, 1865.0),
                         ("wall", "2026-03-15T14:01:25", "2026-03-15T14:32:30")):
        figs = every_chart(m, rm.ChartView(x_axis=axis))
        evals = [k for k in figs if k.startswith("eval:")]
        assert len(evals) == 2 and len(figs) > len(evals)
        assert {str(f["layout"]["xaxis"]["autorangeoptions"]) for f in figs.values()} == {str(options(lo, hi))}
        first_point = min(float(x) for k in evals for x in figs[k]["data"][0]["x"]) if axis != "wall" else None
        if first_point is not None:
            assert first_point > lo  # the validation chart reaches further than its own points


def test_the_extent_is_the_union_of_train_and_validation_rows_and_markers():
    m = model_of(LLM)
    # Train rows alone end at 3670; the checkpoint saved at 3672 is within 2 % of the data and counts.
    assert run_extent(m.frame, None, "iter") == (10.0, 3670.0)
    assert run_extent(m.frame, m.evals, "iter", m.checkpoint_iters) == (10.0, 3672.0)
    # A marker far from the data (an epoch end of the whole schedule) does not stretch the run.
    assert run_extent(m.frame, m.evals, "iter", [100_000]) == (10.0, 3670.0)
    c = model_of(CLS)
    assert run_extent(None, c.evals, "iter") == (50.0, 300.0)
    assert run_extent(c.frame, c.evals, "iter") == (10.0, 300.0)


def test_a_resume_before_the_first_record_is_inside_the_extent():
    """Run 2 of the tee capture resumed at 400, its first record is at 410: the resume line at 400 is drawn once,
    at the left edge of every chart."""
    m = model_of(SAMPLE_LOGS / "det_crash_resume" / "console_tee.log", 1)
    assert m.resume_iters == [400] and m.summary.first_iter == 410
    figs = every_chart(m, rm.ChartView())
    for fig in figs.values():
        assert fig["layout"]["xaxis"]["autorangeoptions"] == options(400.0, 600.0)
    assert [s["x0"] for s in figs["losses"]["layout"]["shapes"] if s.get("name") == "resume"] == [400.0]


def test_a_run_of_one_record_gets_a_span_around_it(tmp_path):
    """One x value: plotly needs clipmin < clipmax, so the range is the value +- ONE_POINT_HALF_SPAN (iterations
    on the iteration axis, seconds on the wall clock), the same on every chart."""
    lines = LLM.read_text().splitlines(keepends=True)
    first = next(i for i, line in enumerate(lines) if "Iter(train)" in line)
    log = tmp_path / "20260314_090000.log"
    log.write_text("".join(lines[:first + 1]))
    m = model_of(log)
    assert len(m.frame) == 1 and m.frame["iter"].iloc[0] == 10
    for axis, lo, hi in (("iter", 9.0, 11.0), ("wall", "2026-03-14T09:04:44", "2026-03-14T09:04:46"),
                         ("relative", -1.0, 1.0)):
        figs = every_chart(m, rm.ChartView(x_axis=axis))
        assert figs and all(f["layout"]["xaxis"]["autorangeoptions"] == options(lo, hi) for f in figs.values())
    assert autorange_options((5.0, 5.0), "iter") == options(4.0, 6.0)


def test_a_chosen_range_is_fixed_and_its_open_end_is_the_runs():
    """A zoom (``x_range``) keeps today's fixed range (autorange off); an open end (following the run) is the
    run's end on every chart, validation charts included; the autorange options stay, so a double-click shows the
    whole run at once."""
    m = model_of(CLS)
    closed = every_chart(m, rm.ChartView(x_range=(60.0, 200.0)))
    opened = every_chart(m, rm.ChartView(x_range=(60.0, math.inf)))
    for figs, hi in ((closed, 200.0), (opened, 300.0)):
        for fig in figs.values():
            xaxis = fig["layout"]["xaxis"]
            assert xaxis["range"] == [60.0, hi] and xaxis["autorange"] is False
            assert xaxis["autorangeoptions"] == options(10.0, 300.0)


def test_the_extent_grows_with_a_live_run(tmp_path):
    """A live run's charts get the grown extent with each new record (plotly's autorange follows it), under the
    same ``uirevision`` (a person's zoom stays)."""
    lines = SEG.read_text().splitlines(keepends=True)
    trains = [i for i, line in enumerate(lines) if "Iter(train)" in line]
    log = tmp_path / SEG.name
    log.write_text("".join(lines[:trains[10] + 1]))
    before = every_chart(model_of(log), rm.ChartView())
    log.write_text("".join(lines[:trains[20] + 1]))
    after = every_chart(model_of(log), rm.ChartView())
    assert set(before) == set(after)
    for key in before:
        lo0, hi0 = before[key]["layout"]["xaxis"]["autorangeoptions"]["include"]
        lo1, hi1 = after[key]["layout"]["xaxis"]["autorangeoptions"]["include"]
        assert lo0 == lo1 == 10.0 and hi0 < hi1
        assert before[key]["layout"]["uirevision"] == after[key]["layout"]["uirevision"] == key


def test_the_gpu_charts_share_the_runs_range(tmp_path):
    """The GPU log covers 08:59 to 11:29, the run 09:04:45 to 21:30: on each axis the GPU charts show the run's
    extent, as the run's charts above them."""
    write_gpu_log(tmp_path / "gpu.csv", dt.datetime(2026, 3, 14, 8, 59), 9000, interval=5, gpus=2, busy=(0,))
    m = model_of(LLM, gpu=gpu_view.GpuInput("gpu.csv", parse_gpu_path(str(tmp_path / "gpu.csv")).table()))
    assert m.gpu is not None
    for axis in ("iter", "epoch", "wall", "relative"):
        view = rm.ChartView(x_axis=axis)
        run = every_chart(m, view)["losses"]["layout"]["xaxis"]["autorangeoptions"]
        gpu = gpu_view.figures(m.gpu, m, view)
        assert len(gpu) == 3
        for fig in gpu.values():
            go.Figure(fig)
            assert fig["layout"]["xaxis"]["autorangeoptions"] == run, axis


def test_compare_charts_share_the_compared_runs_extent():
    """Compare: each chart shows the extent of the compared runs' frames (not padded for markers); the charts
    of train fields of the same runs share it."""
    runs = [(p.name, parse_path(str(p)).runs[-1]) for p in (LLM, SEG)]
    figs = {key: compare.figure([(label, compare.metric_frame(r, key)) for label, r in runs], key)
            for key in ("loss", "lr", "grad_norm")}
    assert {str(f["layout"]["xaxis"]["autorangeoptions"]) for f in figs.values()} == {str(options(10.0, 3670.0))}


def test_a_trigger_names_its_chart_as_the_css_class_spells_it():
    """The chart-sync script reads a chart's key from Streamlit's CSS class, which spells ``eval:accuracy/top1``
    as ``eval-accuracy-top1``: a zoom, a double-click or a legend click on a validation, throughput or GPU chart
    was ignored (the page looked the name up as it was sent)."""
    from dashboard.ui.chart_sync import chart_of

    keys = ("losses", "eval:accuracy/top1", "throughput:tokens_per_sec", "gpu:util")
    assert chart_of("losses", keys) == "losses"
    assert chart_of("eval-accuracy-top1", keys) == "eval:accuracy/top1"
    assert chart_of("throughput-tokens_per_sec", keys) == "throughput:tokens_per_sec"
    assert chart_of("gpu-util", keys) == "gpu:util"
    assert chart_of("gpu-memory", keys) is None and chart_of(None, keys) is None


def test_the_extent_is_computed_once_per_model_and_axis(monkeypatch):
    """Every chart of a model asks for the same extent: it is computed once per frames, axis and markers; another
    model's frames (a live run grown) get their own."""
    calls = []
    real = rm._x_extent
    monkeypatch.setattr(rm, "_x_extent", lambda *a: calls.append(a[2]) or real(*a))
    m = model_of(CLS)
    every_chart(m, rm.ChartView())
    every_chart(m, rm.ChartView(smoothing=0.0))
    assert calls == ["iter"]
    every_chart(m, rm.ChartView(x_axis="epoch"))
    again = model_of(CLS)
    figs = every_chart(again, rm.ChartView())
    assert calls == ["iter", "epoch", "iter"]
    assert figs["losses"]["layout"]["xaxis"]["autorangeoptions"] == options(10.0, 300.0)
