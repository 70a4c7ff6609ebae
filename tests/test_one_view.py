"""One run, one view: the same log followed under a log root (live) and uploaded gives the same run model, and
everything either old stack drew is drawn for both (checkpoint ticks, resume marks, the epoch fallback of
validation-only logs, event limits, the duration format).

The live side is a real ``AppState`` (watcher, tailer, parser) over a temporary root; the upload side is a real
``UploadStore`` and ``review_upload``. Both go through ``views.run_model.build_run_model``.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import plotly.graph_objects as go
import plotly.io as pio
import pytest

from dashboard.analysis import summarize
from dashboard.uploads.store import UploadStore
from dashboard.views import review
from dashboard.views import run_model as rm
from dashboard.views.app_state import AppConfig, AppState
from tests.conftest import SAMPLE_LOGS, SHARED_LOGS

LLM = SAMPLE_LOGS / "llm_sft_len_grouped" / "20260314_090000" / "20260314_090000.log"
TEE = SAMPLE_LOGS / "det_crash_resume" / "console_tee.log"
VAL_ONLY = SHARED_LOGS / "mmdet2-mmcv1-maskrcnn-balloon-bbox-segm.log"


def live_model(tmp_path: Path, log: Path, index: int | None = None) -> rm.RunModel:
    """The model of ``log`` copied under a fresh log root and followed by a real watcher."""
    root = tmp_path / "logs"
    root.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(log, root / log.name)
    state = AppState(AppConfig((str(root),), "test", False))
    try:
        src = state.lookup(f"logs/{log.name}").source
        assert src is not None
        model = state.run_model(src, index)
        assert model is not None
        return model
    finally:
        state.close()


def uploaded_model(tmp_path: Path, log: Path, index: int | None = None) -> rm.RunModel:
    """The model of ``log`` stored in a fresh upload store and reviewed as the Run page does."""
    store = UploadStore(tmp_path / "uploads")
    stored = store.add([(log.name, log.read_bytes())])
    rev = review.review_upload(stored)
    source = rm.RunSource("upload", stored.id, rev.title, rev.format)
    model = rev.model(index, source, lambda run: summarize(run, path=rev.title, live=False))
    assert model is not None
    return model


def figure(model: rm.RunModel, spec: rm.ChartSpec, view: rm.ChartView | None = None) -> go.Figure:
    """The chart's figure dict, read through plotly's own validation (a valid figure, as plotly objects)."""
    return go.Figure(rm.build_figure(spec, model.frame, model.evals, view or rm.ChartView(),
                                     epoch_ends=model.summary.epoch_ends, resume_iters=model.resume_iters,
                                     checkpoint_iters=model.checkpoint_iters))


def figure_json(model: rm.RunModel, spec: rm.ChartSpec, view: rm.ChartView | None = None) -> dict:
    """The figure as the browser gets it (what ``st.plotly_chart`` sends)."""
    return json.loads(pio.to_json(figure(model, spec, view), validate=False))


def plan(model: rm.RunModel) -> list[rm.ChartSpec]:
    c = model.metrics
    return rm.chart_plan(c, c.train_default, c.eval_default)


def comparable(model: rm.RunModel) -> dict:
    s = model.summary
    return {
        "header": [(i.label, i.value) for i in rm.header_items(s, s.status)],
        "finish": rm.finish_text(s, s.status), "clock": rm.clock_text(s), "progress": rm.progress_text(s),
        "banners": rm.banners(s, s.status, s.status_reason), "audit": model.audit_rows, "setup": model.setup_rows,
        "validation": model.validation_rows, "events": model.events, "event_total": model.event_total,
        "tracebacks": model.tracebacks, "resumes": model.resume_iters, "checkpoints": model.checkpoint_iters,
        "plan": plan(model),
    }


def test_a_log_followed_live_and_the_same_log_uploaded_show_the_same_run(tmp_path):
    live, up = live_model(tmp_path, LLM), uploaded_model(tmp_path, LLM)
    assert comparable(live) == comparable(up)
    for spec in plan(live):
        assert figure_json(live, spec) == figure_json(up, spec)
    assert dict(comparable(live)["header"])["Elapsed"] == "12h 30m"  # one duration format everywhere


@pytest.mark.parametrize("origin", [live_model, uploaded_model], ids=["live", "upload"])
def test_checkpoint_ticks_are_one_marker_trace(tmp_path, origin):
    model = origin(tmp_path, LLM)
    loss = figure(model, plan(model)[0])
    ticks = [t for t in loss.data if t.name == "checkpoint"]
    assert len(ticks) == 1 and ticks[0].mode == "markers"
    assert model.checkpoint_iters == [1000, 2000, 3000, 3672]
    # The save at 3672 is past the last record (3670), within the run's extent (issue 12: the x range every chart
    # of the run shares reaches it), so it is drawn at the right edge.
    assert list(ticks[0].x) == [1000, 2000, 3000, 3672]
    assert not [s for s in loss.layout.shapes if s.name == "checkpoint"]


@pytest.mark.parametrize("origin", [live_model, uploaded_model], ids=["live", "upload"])
def test_a_resume_before_the_first_record_is_marked(tmp_path, origin):
    model = origin(tmp_path, TEE, 1)  # run 2 of the tee -a capture: resumed at 400, first record at 410
    assert model.resume_iters == [400] and model.summary.first_iter == 410
    loss = figure_json(model, plan(model)[0])
    assert [s["x0"] for s in loss["layout"]["shapes"] if s.get("name") == "resume"] == [400]
    assert [a["text"] for a in loss["layout"]["annotations"] if a.get("name") == "resume"] == ["resumed at 400"]


@pytest.mark.skipif(not VAL_ONLY.is_file(), reason="../shared/real_logs is absent")
@pytest.mark.parametrize("origin", [live_model, uploaded_model], ids=["live", "upload"])
def test_a_validation_only_log_is_charted_by_epoch(tmp_path, origin):
    model = origin(tmp_path, VAL_ONLY)
    assert len(model.frame) == 0 and model.metrics.eval_default
    spec = rm.ChartSpec("eval:x", f"validation: {model.metrics.eval_default[0]}", (model.metrics.eval_default[0],),
                        "eval", False)
    fig = figure(model, spec, rm.ChartView(x_axis="iter"))
    assert fig.layout.xaxis.title.text == "epoch"
    assert fig.layout.title.text.endswith("(by epoch: the results have no iteration)")
    (trace,) = fig.data
    assert list(trace.x) == sorted(model.evals["epoch"].dropna()) and len(trace.x) > 1


@pytest.mark.parametrize("origin", [live_model, uploaded_model], ids=["live", "upload"])
def test_events_keep_the_last_rows_for_both_origins(tmp_path, origin, monkeypatch):
    every = origin(tmp_path / "all", TEE, 0).events
    monkeypatch.setattr(rm, "MAX_EVENT_ROWS", 4)
    model = origin(tmp_path / "four", TEE, 0)
    assert model.events == every[-4:] and model.event_total == len(every) == 9
    assert rm.events_caption(model).endswith("the last 4 are listed")
