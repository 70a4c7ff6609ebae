"""The run model (``dashboard.views.run_model``), the runs table and the pages' URLs, without Streamlit."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
import pytest

from dashboard.analysis import summarize
from dashboard.analysis.health import STALL_FLOOR, health
from dashboard.charts.figures import CLIPPED_NAME, trace_point_counts
from dashboard.charts.series import eval_frame, field_columns, train_frame
from dashboard.views import formatting, runs_table, text, url_state
from dashboard.views import run_model as rm
from dashboard.views.url_state import ViewState, from_query
from parsers import parse_bytes, parse_path
from tests.conftest import SAMPLE_LOGS, SHARED_LOGS, corpus_params


def build_figure(*args, **kw) -> go.Figure:
    """``run_model.build_figure``'s dict read through plotly's own validation (a valid figure, as plotly objects)."""
    return go.Figure(rm.build_figure(*args, **kw))


LLM = SAMPLE_LOGS / "llm_sft_len_grouped" / "20260314_090000" / "20260314_090000.log"
CLS = SAMPLE_LOGS / "cls_epoch_val" / "20260315_140000" / "20260315_140000.log"
TEE = SAMPLE_LOGS / "det_crash_resume" / "console_tee.log"
NAN = SAMPLE_LOGS / "seg_nan_loss" / "20260318_132000" / "20260318_132000.log"


def run_of(path, index=-1):
    return parse_path(str(path)).runs[index]


def big_run(n: int):
    """n train lines, a loss falling from 2 with one spike (+5) in the middle."""
    lines = []
    for k in range(1, n + 1):
        loss = f"{2.0 / (1 + k / 1000) + (5.0 if k == n // 2 else 0):.4f}"
        secs = k
        stamp = f"2025/01/{1 + secs // 86400:02d} {secs // 3600 % 24:02d}:{secs // 60 % 60:02d}:{secs % 60:02d}"
        lines.append(f"{stamp} - mmengine - INFO - Iter(train) [{k * 10:>7}/{n * 10}]  lr: 1.0000e-04  eta: 1:00:00  "
                     f"time: 0.5000  data_time: 0.0100  memory: 1234  loss: {loss}  loss_cls: 0.5")
    return parse_bytes(("\n".join(lines) + "\n").encode()).runs[-1]


# ---------------------------------------------------------------------------------------------- formatting

@pytest.mark.parametrize(("seconds", "text"), [
    (None, "—"), (float("nan"), "—"), (-1, "—"), (0, "0s"), (45.4, "45s"), (725, "12m 05s"), (3 * 3600 + 420, "3h 07m"),
    (2 * 86400 + 4 * 3600 + 5, "2d 04h"),
])
def test_durations(seconds, text):
    assert formatting.fmt_duration(seconds) == text


@pytest.mark.parametrize(("seconds", "text"), [
    (None, "—"), (0.5, "just now"), (12.9, "12 s ago"), (300, "5 min ago"), (3 * 3600, "3 h ago"),
    (3 * 86400, "3 d ago"),
])
def test_ago(seconds, text):
    assert formatting.fmt_ago(seconds) == text


@pytest.mark.parametrize(("v", "text"), [
    (None, "—"), (1234, "1,234"), (3.0, "3"), (0.08905, "0.0891"), (12.23, "12.2"), (1.5e-5, "1.50e-05"),
    (float("nan"), "nan"), (float("inf"), "inf"), (12345.6, "12,346"),
])
def test_numbers(v, text):
    assert formatting.fmt_num(v) == text


def test_status_badges_use_no_emoji():
    for status in (*rm.STATUSES, "waiting"):
        badge = rm.status_badge(status)
        assert badge.endswith(status) and all(ord(c) < 0x2800 for c in badge)
        assert runs_table.status_of_badge(badge) == status
        assert runs_table.style_status(badge).startswith("background-color")


def test_plotly_text_is_literal():
    assert text.plotly_text("<b>x</b> & <a href='javascript:alert(1)'>y</a>") == (
        "&lt;b&gt;x&lt;/b&gt; &amp; &lt;a href='javascript:alert(1)'&gt;y&lt;/a&gt;")


# ------------------------------------------------------------------------------------------------ liveness

def test_a_file_written_while_followed_is_live_and_uses_the_watchers_clock():
    lv = rm.liveness(discovered_at=1000.0, last_growth_at=1010.5, mtime=1010.4)
    assert lv == rm.Liveness(True, 1010.5, "watcher")


def test_an_old_file_is_not_live_and_its_last_update_is_its_mtime():
    lv = rm.liveness(discovered_at=100_000.0, last_growth_at=100_000.1, mtime=50_000.0)
    assert lv == rm.Liveness(False, 50_000.0, "file mtime")


def test_a_file_written_just_before_the_dashboard_started_is_live():
    lv = rm.liveness(discovered_at=1000.0, last_growth_at=1000.1, mtime=1000.0 - rm.RECENT_BEFORE_START / 2)
    assert lv.live and lv.last_update == 1000.0 - rm.RECENT_BEFORE_START / 2


def test_live_status_follows_the_rule_of_health():
    run = run_of(LLM)
    # Cut the run short of N so that it is neither finished nor crashed.
    body = LLM.read_bytes().split(b"Saving checkpoint at 3672")[0].rsplit(b"\n", 200)[0] + b"\n"
    run = parse_bytes(body).runs[-1]
    s = summarize(run, live=False)
    assert s.status == "stopped"
    from dashboard.analysis.timing import time_stats

    gap = time_stats(run).median_record_gap_seconds
    for idle in (1.0, STALL_FLOOR - 1, 5 * gap + 1, 10 * gap, 100 * gap):
        now = 10_000.0
        expected = health(run, live=True, now=now, last_growth_at=now - idle, median_record_gap=gap).status
        got, reason = rm.live_status(s.status, s.status_reason, live=True, is_last_run=True, now=now,
                                     last_update=now - idle, median_gap=gap)
        assert got == expected, (idle, reason)
    assert rm.live_status("stopped", "r", live=False, is_last_run=True, now=1e4, last_update=0, median_gap=gap) == (
        "stopped", "r")
    assert rm.live_status("stopped", "r", live=True, is_last_run=False, now=1e4, last_update=0, median_gap=gap)[0] == \
        "stopped"
    assert rm.live_status("finished", "r", live=True, is_last_run=True, now=1e4, last_update=0, median_gap=1)[0] == \
        "finished"


# ---------------------------------------------------------------------------------------------------- URL

def test_run_query_reads_r_metrics_and_notices():
    q = url_state.read_run_query({"run": ["a/b.log"], "r": ["2"], "metric": ["loss", "acc"], "smoothing": ["0.8"],
                           "x_axis": ["epoch"], "x_range": ["1,2.5"], "log_y": ["1"], "live": ["0"]})
    assert q.run == "a/b.log" and q.notices == []
    v = q.view
    assert (v.run_index, v.metrics, v.smoothing, v.x_axis, v.x_range, v.log_y, v.live) == (
        2, ["loss", "acc"], 0.8, "epoch", (1.0, 2.5), True, False)


def test_run_query_round_trips():
    view = ViewState(run="logs/x/1.log", run_index=3, metrics=["loss", "coco/AP (M)"], smoothing=0.95,
                     x_axis="wall", x_range=(1.7e9, 1.7e9 + 60), log_y=True, live=False)
    query = url_state.run_page_query(view)
    assert list(query)[:2] == ["run", "r"] and "page" not in query
    back = url_state.read_run_query({k: (v if isinstance(v, list) else [v]) for k, v in query.items()})
    assert back.notices == []
    assert (back.view.run, back.view.run_index, back.view.metrics, back.view.smoothing, back.view.x_axis,
            back.view.x_range, back.view.log_y, back.view.live) == (
        view.run, view.run_index, view.metrics, view.smoothing, view.x_axis, view.x_range, view.log_y, view.live)


@pytest.mark.parametrize(("raw", "needle"), [
    ({"smoothing": ["7"]}, "smoothing"), ({"x_axis": ["<script>"]}, "x_axis"), ({"r": ["-1"]}, "r="),
    ({"x_range": ["5,1"]}, "x_range"), ({"live": ["maybe"]}, "live"), ({"compare": ["a/b"]}, "not used on this page"),
    ({"bogus": ["1"]}, "not used on this page"),
])
def test_invalid_run_query_values_become_notices(raw, needle):
    q = url_state.read_run_query({"run": ["a/b.log"], **raw})
    assert any(needle in n for n in q.notices), q.notices
    assert q.view.smoothing == 0.6 and q.view.x_axis == "iter"


def test_runs_query():
    q = url_state.read_runs_query({"filter": ["llm|det"], "twins": ["1"], "live": ["0"], "run": ["x"]})
    assert (q.filter, q.twins, q.live) == ("llm|det", True, False)
    assert any("not used" in n for n in q.notices)
    assert url_state.runs_page_query(q) == {"filter": "llm|det", "twins": "1", "live": "0"}
    assert url_state.runs_page_query(url_state.read_runs_query({})) == {}


def test_run_href_is_root_relative_and_parseable():
    href = url_state.run_href("logs/a b/#1.log", 2)
    assert href.startswith("run?run=logs/a%20b/%231.log&r=2")
    assert runs_table.link_query(href) == {"run": "logs/a b/#1.log", "r": "2"}


@pytest.mark.parametrize(("option", "base"), [("", "/"), (None, "/"), ("mmdash", "/mmdash/"), ("/mmdash/", "/mmdash/"),
                                             ("a/b", "/a/b/"), ("//a//b//", "/a/b/")])
def test_base_path_from_server_base_url_path(option, base):
    assert url_state.base_path(option) == base


def test_every_link_the_app_makes_takes_the_prefix():
    base = url_state.base_path("mmdash")
    assert url_state.run_href("logs/a b/#1.log", 2, base) == "/mmdash/run?run=logs/a%20b/%231.log&r=2"
    assert url_state.page_href("runs", {}, base) == "/mmdash/"
    assert url_state.page_href("runs", {}, "/") == "/"
    assert url_state.page_href("runs", {"filter": "x"}) == "./?filter=x"  # relative: the app's root
    assert url_state.page_href("compare", {"compare": ["a/b.log", "upload:x"]}, base) == \
        "/mmdash/compare?compare=a/b.log&compare=upload%3Ax"
    row = runs_table.waiting_row("logs/x.log", None, 0.0, base=base)
    assert row["open"] == "/mmdash/run?run=logs/x.log"
    assert runs_table.link_query(str(row["open"])) == {"run": "logs/x.log"}


def test_filter_regex():
    regex, note = runs_table.compile_filter("LLM|det_.*resume")
    names = ["a/llm/1.log", "a/det_crash_resume/x.log", "a/cls.log"]
    rows = [{"name": n, "_sort": (i, 0)} for i, n in enumerate(names)]
    for r in rows:
        r.update({c: None for c in runs_table.RUN_TABLE_COLUMNS if c != "name"})
    table = runs_table.runs_table(rows, regex)
    assert list(table["name"]) == ["a/det_crash_resume/x.log", "a/llm/1.log"]  # newest first
    assert note is None
    bad, note = runs_table.compile_filter("(unclosed")
    assert bad is None and "not a valid regular expression" in note


# -------------------------------------------------------------------------------------------- runs table

def test_run_row_of_a_finished_and_a_crashed_run():
    runs = parse_path(str(TEE)).runs
    s0, s1 = summarize(runs[0]), summarize(runs[1])
    row = runs_table.run_row(source_id="s/console_tee.log", run_index=0, run_count=2, summary=s0, status=s0.status,
                     reason=s0.status_reason, last_update=100.0, now=112.0)
    assert row["name"] == "s/console_tee.log · run 1/2"
    assert row["status"].endswith("crashed") and "OutOfMemoryError" in row["why"]
    assert row["n/N"] == "450/600" and row["progress"] == 0.75 and row["last update"] == "12 s ago"
    assert row["ETA"] == "—" and row["open"] == "run?run=s/console_tee.log&r=0"
    row1 = runs_table.run_row(source_id="s/console_tee.log", run_index=1, run_count=2, summary=s1, status=s1.status,
                      reason=s1.status_reason, last_update=100.0, now=112.0)
    assert row1["status"].endswith("finished") and row1["n/N"] == "600/600" and row1["loss"] != "—"


def test_a_scalars_json_twin_is_recognised():
    from dashboard.live.discovery import layout_of

    text = layout_of("w/20260101_000000/20260101_000000.log")
    scal = layout_of("w/20260101_000000/vis_data/scalars.json")
    assert runs_table.is_scalars_twin(scal, {(text.work_dir, text.timestamp)})
    assert not runs_table.is_scalars_twin(scal, set())
    assert not runs_table.is_scalars_twin(text, {(text.work_dir, text.timestamp)})


# ---------------------------------------------------------------------------------------------- run page

def test_header_of_the_llm_sample():
    s = summarize(run_of(LLM))
    items = {i.label: i.value for i in rm.header_items(s, s.status)}
    assert items["Iterations n/N"] == "3670/3672" and items["Epoch"] == "3/3"
    assert items["Optimizer updates"] == "458/459" and items["Status"].endswith("finished")
    assert items["ETA"] == "—" and items["MMEngine's eta"] == "—" and items["Peak memory"] == "—"
    assert rm.finish_text(s, s.status) == "Finish: none (finished: only a running run has an ETA)"
    running = {i.label: i.value for i in rm.header_items(s, "running")}
    assert running["MMEngine's eta"] == "24s"
    assert "2026-03-14 21:30" in rm.finish_text(s, "running")


def test_a_running_run_shows_its_finish_band_and_a_stopped_one_none():
    lines = LLM.read_bytes().split(b"\n")
    cut = next(i for i, ln in enumerate(lines) if b"Iter(train) [1840/3672]" in ln)
    s = summarize(parse_bytes(b"\n".join(lines[:cut + 1]) + b"\n").runs[0])
    low, high = formatting.fmt_clock(s.projected_finish_low_at), formatting.fmt_clock(s.projected_finish_high_at)
    assert low <= formatting.fmt_clock(s.finish_at) <= high
    assert rm.finish_text(s, "running") == (f"Finish (log clock): {formatting.fmt_clock(s.finish_at)} (likely between "
                                            f"{low} and {high}) · MMEngine's estimate: "
                                            f"{formatting.fmt_clock(s.logged_finish_at)}")
    assert rm.finish_text(s, "stopped").startswith("Finish: none (stopped")


def test_banners_crash_nan_and_stall():
    runs = parse_path(str(TEE)).runs
    s = summarize(runs[0])
    crash = rm.banners(s, "crashed", s.status_reason)
    assert crash[0].level == "error" and crash[0].code and "Traceback" in crash[0].detail
    assert "OutOfMemoryError" not in crash[0].title  # the title holds our words only
    nan = summarize(run_of(NAN))
    b = [x for x in rm.banners(nan, nan.status, nan.status_reason) if x.title.startswith("NaN")]
    assert b and str(nan.first_nonfinite_iter) in b[0].title and "loss" in b[0].detail
    stalled = rm.banners(s, "stalled", "no new record for 12m (threshold 10m)")
    assert any(x.level == "warning" and x.title.startswith("Stalled") for x in stalled)


def test_metric_choices_and_url_selection():
    run = run_of(CLS)
    frame, evals = train_frame(run), eval_frame(run)
    c = rm.metric_choices(field_columns(frame), list(evals.attrs["metrics"]))
    assert c.train_default == ["loss"] and c.eval_options == ["accuracy/top1", "accuracy/top5"]
    train, ev, notes = rm.select_metrics(["accuracy/top5", "nope"], c)
    assert train == ["loss"] and ev == ["accuracy/top5"] and len(notes) == 1 and "nope" in notes[0]
    assert rm.metrics_param(train, ev, c) == ["accuracy/top5"]
    assert rm.metrics_param(c.train_default, c.eval_default, c) == []
    plan = rm.chart_plan(c, train, ev)
    assert [p.key for p in plan] == ["losses", "lr", "time", "eval:accuracy/top5"]


def test_many_losses_default_to_the_total():
    names = ["loss", "loss_rpn_cls", "loss_rpn_bbox", "s0.loss_cls", "s0.loss_bbox", "s1.loss_cls", "s0.acc", "lr"]
    c = rm.metric_choices(names, [])
    assert c.train_default == ["loss"] and "s0.acc" in c.train_options and "lr" not in c.train_options


def test_figures_are_downsampled_to_max_points_and_zoom_is_full_detail():
    run = big_run(50_000)
    frame, evals = train_frame(run), eval_frame(run)
    c = rm.metric_choices(field_columns(frame), [])
    spec = rm.chart_plan(c, ["loss"], [])[0]
    fig = build_figure(spec, frame, evals, rm.ChartView(smoothing=0.6))
    counts = [n for t, n in zip(fig.data, trace_point_counts(fig)) if t.name != CLIPPED_NAME]
    assert max(counts) <= rm.MAX_POINTS and min(counts) > rm.MAX_POINTS * 3 // 4
    # The spike in the middle survives the downsampling.
    raw = [t for t in fig.data if t.name == "loss (raw)"][0]
    assert np.nanmax(np.asarray(raw.y, dtype=float)) > 5.0  # the others are below 2
    # ... and, with "ignore outliers" (the default), does not set the y scale: it is a clipped point on its edge.
    top = fig.layout.yaxis.range[1]
    assert top < 5.0 and fig.layout.yaxis.autorange is False
    clipped = [t for t in fig.data if t.name == CLIPPED_NAME][0]
    assert max(clipped.customdata) > 5.0 and max(clipped.y) == top
    every = build_figure(spec, frame, evals, rm.ChartView(smoothing=0.6, ignore_outliers=False))
    assert every.layout.yaxis.range is None and CLIPPED_NAME not in [t.name for t in every.data]
    zoomed = build_figure(spec, frame, evals, rm.ChartView(smoothing=0.6, x_range=(100_000.0, 110_000.0)))
    z = [t for t in zoomed.data if t.name == "loss (raw)"][0]
    assert 1000 <= len(z.x) <= 1003  # every logged point of the range (plus its neighbours)
    size = len(pio.to_json(fig, validate=False))
    assert size < 400_000, size


def test_figure_names_from_the_log_are_literal():
    import pandas as pd

    frame = pd.DataFrame({"iter": [1, 2, 3], "epoch": [np.nan] * 3, "epoch_progress": [np.nan] * 3,
                          "timestamp": [0.0, 1.0, 2.0], "relative_seconds": [0.0, 1.0, 2.0],
                          "<b>loss</b>": [1.0, 0.5, 0.25]})
    frame.attrs["fields"] = {"<b>loss</b>": "<b>loss</b>"}
    spec = rm.ChartSpec("losses", "Losses", ("<b>loss</b>",), "train", True)
    fig = build_figure(spec, frame, pd.DataFrame(), rm.ChartView())
    spec_json = json.loads(pio.to_json(fig, validate=False))
    names = [t["name"] for t in spec_json["data"]]
    assert all("<b>" not in n for n in names) and "&lt;b&gt;loss&lt;/b&gt;" in names


def test_events_rows():
    runs = parse_path(str(TEE)).runs
    rows = rm.event_rows(runs[0])
    kinds = [r["kind"] for r in rows]
    assert "traceback" in kinds and "checkpoint" in kinds and "val" in kinds
    assert [r["line"] for r in rows] == sorted(r["line"] for r in rows)
    assert all("\n" not in r["text"] for r in rows)
    resumed = rm.event_rows(runs[1])
    assert any(r["kind"] == "resume" and r["iter"] == 400 for r in resumed)
    frame = rm.events_frame(rows)
    assert list(frame.columns) == ["line", "time (log clock)", "kind", "iter", "text"]
    assert len(rows) == 9  # 4 warnings, 2 checkpoints, 2 validations, 1 traceback


def test_events_keep_the_last_rows_and_say_how_many(monkeypatch):
    run = parse_path(str(TEE)).runs[0]
    every = rm.event_rows(run)
    monkeypatch.setattr(rm, "MAX_EVENT_ROWS", 3)
    model = rm.build_run_model(run, rm.RunSource("root", "x/console_tee.log", "x/console_tee.log"), run_index=0,
                               choices=[(0, "run 1")])
    assert model.events == every[-3:] and model.event_total == len(every)
    assert rm.events_caption(model) == (f"{len(every)} events (checkpoints, validations, warnings, errors, "
                                        "resumes): the last 3 are listed")


def test_audit_and_setup_rows_say_where_numbers_came_from():
    from dashboard.analysis import setup_for

    run = run_of(LLM)
    s = summarize(run)
    rows = {r["quantity"]: r["value"] for r in rm.audit_rows(s)}
    assert rows["N in the log"] == "3,672" and rows["N the setup gives"] == "3,672" and rows["consistent"] == "yes"
    assert rows["optimizer updates"] == "459" and "1 (length-grouped" in rows["world sizes that give the logged N"]
    setup, sources = setup_for(run)
    srows = {r["input"]: r for r in rm.setup_rows(setup, sources)}
    assert srows["dataset size L"]["value"] == "1,220" and "Num train samples" in srows["dataset size L"]["from"]
    assert srows["gradient accumulation A"]["from"].startswith("config")


@pytest.mark.parametrize(("text", "seconds"), [
    ("2026-03-14 09:04:45", 1773479085.0), ("2026-03-14T09:04", 1773479040.0), ("2026-03-14", 1773446400.0),
    ("2026-02-30 00:00", None), ("yesterday", None), ("", None),
])
def test_clock_inputs(text, seconds):
    assert rm.parse_clock(text) == seconds
    if seconds is not None:
        assert rm.parse_clock(rm.fmt_clock_input(seconds)) == seconds


def test_x_range_inputs():
    assert rm.x_range_from_inputs(None, None) == (None, None)
    assert rm.x_range_from_inputs(1, 5) == ((1.0, 5.0), None)
    assert rm.x_range_from_inputs(1, None) == ((1.0, math.inf), None)  # from 1 to the end, following it
    assert rm.x_range_from_inputs(None, 5) == ((-math.inf, 5.0), None)
    assert rm.x_range_from_inputs(5, 1)[0] is None
    assert rm.check_smoothing(0.35000000000000003) == 0.35 and rm.check_smoothing(5) == 0.99


def test_view_state_metrics_survive_from_query():
    view, notes = from_query({"metric": ["loss", "coco/AP (M)"]})
    assert notes == [] and view.metrics == ["loss", "coco/AP (M)"]
    assert math.isclose(view.smoothing, 0.6)


def test_the_epoch_axis_of_an_iter_train_log_is_fractional_epochs():
    """xtuner logs say ``Iter(train) [n/3672]``, never the epoch: the epoch axis comes from the epoch length
    (1224 iterations here), so the chart spans epochs 0 to 3 with epoch lines at 1, 2 and 3 (the run's end: the
    last record is at 3670, the epoch ends and the last checkpoint is saved at 3672, inside the run's extent)."""
    run = run_of(LLM)
    model = rm.build_run_model(run, rm.RunSource("root", "x/llm.log", "x/llm.log"), run_index=0,
                               choices=[(0, "run 1")])
    assert model.summary.iters_per_epoch == 1224
    progress = model.frame["epoch_progress"].to_numpy()
    assert progress[0] == 10 / 1224 and progress[-1] == 3670 / 1224
    loss = build_figure(rm.chart_plan(model.metrics, ["loss"], [])[0], model.frame, model.evals,
                        rm.ChartView(x_axis="epoch"), epoch_ends=model.summary.epoch_ends)
    assert len(loss.data[0].x) == 367 and loss.layout.xaxis.title.text == "epoch"
    assert [s.x0 for s in loss.layout.shapes if s.name == "epoch_end"] == [1.0, 2.0, 3.0]
    assert loss.layout.xaxis.autorangeoptions.clipmax == 3.0


def test_a_run_whose_loss_turned_nan_says_so_in_its_status():
    """seg_nan_loss ends with a checkpoint, yet its loss is NaN from iteration 200: the status says both, in the
    runs table (coloured as an error) and in the Run page's header (issue 11 item 11)."""
    s = summarize(run_of(SAMPLE_LOGS / "seg_nan_loss" / "20260318_132000" / "20260318_132000.log"))
    assert s.status == "finished" and s.first_nonfinite_iter == 200
    assert s.status_reason.startswith("loss, decode.loss_ce, aux.loss_ce not finite (NaN/inf) from iteration 200; ")
    row = runs_table.run_row(source_id="r/seg.log", run_index=0, run_count=1, summary=s, status=s.status,
                             reason=s.status_reason, last_update=None, now=0.0)
    assert row["status"] == "✔ finished · NaN at 200" and row["why"].startswith("loss, decode.loss_ce")
    assert runs_table.style_status(row["status"]) == f"background-color: {runs_table.STATUS_COLORS['crashed']}"
    assert runs_table.status_of_badge(row["status"]) == "finished"
    tiles = {i.label: i.value for i in rm.header_items(s, s.status)}
    assert tiles["Status"] == "✔ finished" and tiles["First NaN/inf"] == "iter 200"  # a tile of its own


@pytest.mark.skipif(not (SHARED_LOGS / "mmdet2-mmcv1-cascade-rcnn-normal-excerpt-tabs-as-spaces.log").is_file(),
                    reason="../shared/real_logs is absent")
def test_a_log_without_n_never_says_none():
    """An excerpt that never states N: '(N unknown)', not 'of None' (issue 11 item 10)."""
    s = summarize(run_of(SHARED_LOGS / "mmdet2-mmcv1-cascade-rcnn-normal-excerpt-tabs-as-spaces.log"))
    assert s.max_iters is None and s.status == "stopped"
    assert s.status_reason.endswith(" (N unknown) with no error and is not growing")
    assert "None" not in s.status_reason
    for item in rm.header_items(s, s.status):
        assert "None" not in item.value


def test_a_log_whose_last_run_finished_is_not_live_even_with_a_new_file_time():
    s = summarize(run_of(LLM))
    fresh = rm.Liveness(True, 1000.0, "file mtime")  # written just now, as after a fresh clone
    assert s.status == "finished" and not rm.log_is_live(fresh, s, is_last_run=True)
    assert rm.log_is_live(fresh, s, is_last_run=False)  # an earlier run's end says nothing about the file
    stopped = summarize(parse_bytes(LLM.read_bytes()[: len(LLM.read_bytes()) // 2]).runs[0])
    assert stopped.status == "stopped" and rm.log_is_live(fresh, stopped, is_last_run=True)


@pytest.mark.parametrize("path", corpus_params())
def test_a_run_that_is_not_running_has_no_eta(path):
    """Stopped, crashed and finished runs show no ETA and no finish time, on every real log (issue 11 item 8);
    what was left when the log ended is said instead."""
    for run in parse_path(str(path)).runs:
        s = summarize(run)
        if s.status == "running":
            continue
        header = {i.label: i.value for i in rm.header_items(s, s.status)}
        assert header["ETA"] == "—" and header["MMEngine's eta"] == "—"
        assert rm.finish_text(s, s.status).startswith(f"Finish: none ({s.status}: only a running run has an ETA)")
        row = runs_table.run_row(source_id="r/x.log", run_index=0, run_count=1, summary=s, status=s.status,
                                 reason=s.status_reason, last_update=None, now=0.0)
        assert row["ETA"] == "—" and row["finish (log clock)"] == "—"


@pytest.mark.skipif(not (SHARED_LOGS / "mmdet3d-mmcv1-futr3d-nuscenes-resumed-days-eta.log").is_file(),
                    reason="../shared/real_logs is absent")
def test_the_stopped_futr3d_run_says_what_was_left_not_an_eta():
    s = summarize(parse_path(str(SHARED_LOGS / "mmdet3d-mmcv1-futr3d-nuscenes-resumed-days-eta.log")).runs[-1])
    left = s.max_iters - s.last_iter
    assert s.status == "stopped" and left > 0
    assert rm.finish_text(s, s.status) == ("Finish: none (stopped: only a running run has an ETA); "
                                           f"{left:,} of {s.max_iters:,} iterations were left when the log ended")


def test_long_tile_values_get_wider_tiles():
    """Item 12: '1055830/1235000' is cut off four tiles a row; three a row shows it whole."""
    short = [rm.HeaderItem("Iterations n/N", "3670/3672"), rm.HeaderItem("ETA", "16d 16h")]
    long_ = [*short, rm.HeaderItem("Iterations n/N", "1055830/1235000")]
    assert rm.tiles_per_row(short) == 4 and rm.tiles_per_row(long_) == 3


def test_a_guessed_year_is_said_to_be_assumed():
    """The tee capture has no year in its lines: the page says the year is assumed and where from (item 14)."""
    s = summarize(run_of(TEE))
    assert s.year_assumed is True
    assert rm.clock_text(s).endswith(f" · the year is assumed, from the {s.year_source}")
    assert not rm.clock_text(summarize(run_of(LLM))).count("assumed")  # full dates: a fact


@pytest.mark.parametrize("log", [SAMPLE_LOGS / "seg_nan_loss" / "20260318_132000" / "20260318_132000.log",
                                 SAMPLE_LOGS / "det_crash_resume" / "20260317_085500" / "20260317_085500.log"])
def test_an_iteration_based_log_is_consistent_without_asking_for_a_world_size(log):
    """Item 4 on the named sample logs: never 'consistent: yes' beside 'no world size gives N'."""
    s = summarize(parse_path(str(log)).runs[-1])
    rows = {r["quantity"]: r["value"] for r in rm.audit_rows(s)}
    assert rows["consistent"] == "yes"
    assert rows["world sizes that give the logged N"] == "any: an iteration-based loop sets N directly (max_iters)"
    assert s.audit.explanation.startswith("Iteration-based: N is set directly (max_iters)")


@pytest.mark.skipif(not (SHARED_LOGS / "mmdet2-mmcv1-maskrcnn-coco-4gpu.log").is_file(),
                    reason="../shared/real_logs is absent")
def test_the_4_gpu_mmdet2_log_gets_an_answer_without_its_dataset_size():
    """Item 3/4 on the named real log: what the log establishes, and the dataset sizes that give it."""
    s = summarize(parse_path(str(SHARED_LOGS / "mmdet2-mmcv1-maskrcnn-coco-4gpu.log")).runs[-1])
    rows = {r["quantity"]: r["value"] for r in rm.audit_rows(s)}
    assert rows["iterations per epoch"] == "7,330 (from the log)" and rows["optimizer updates"] == "87,960"
    assert rows["dataset sizes for 4 processes"] == "117,265–117,280"  # COCO train2017's 117,266 images
    assert "needs dataset size, world size and batch size" not in s.audit.explanation


# ------------------------------------------------------------------------------- chart tools (issue 12)


def test_an_open_ended_x_range_follows_the_data_and_round_trips_through_the_url():
    view, notes = from_query({"x_range": "157,"})
    assert view.x_range == (157.0, math.inf) and not notes
    assert url_state.to_query(view)["x_range"] == "157.0,"
    assert from_query({"x_range": ",255"})[0].x_range == (-math.inf, 255.0)
    assert from_query({"x_range": ","})[0].x_range is None and from_query({"x_range": ","})[1]
    run = parse_path(LLM).runs[-1]
    frame, evals = train_frame(run), eval_frame(run)
    spec = rm.chart_plan(rm.metric_choices(field_columns(frame), []), ["loss"], [])[0]
    fig = build_figure(spec, frame, evals, rm.ChartView(x_range=(1000.0, math.inf)))
    last = float(frame["iter"].max())
    assert list(fig.layout.xaxis.range) == [1000.0, last]  # to the last record: the next draw goes further
    raw = [t for t in fig.data if t.name == "loss"][0]
    assert float(np.asarray(raw.x).max()) == last and float(np.asarray(raw.x).min()) <= 1000.0


def test_a_zoom_from_the_browser_becomes_an_x_range():
    extent = (10.0, 3670.0)
    assert rm.zoom_range({"lo": 157.123456, "hi": 255.98765, "type": "linear"}, extent) == (157.123, 255.988)
    assert rm.zoom_range({"lo": 157.0, "hi": 4000.0, "type": "linear"}, extent) == (157.0, None)  # follows the end
    assert rm.zoom_range({"lo": 0.0, "hi": 4000.0, "type": "linear"}, extent) == (None, None)
    assert rm.zoom_range({"lo": 2000.0, "hi": 3660.0, "type": "linear"}, extent) == (2000.0, None)  # a drag to the
    assert rm.zoom_range({"lo": 2000.0, "hi": 3600.0, "type": "linear"}, extent) == (2000.0, 3600.0)  # edge
    assert rm.zoom_range({"reset": True}, extent) == (None, None)
    assert rm.zoom_range({"lo": 5, "hi": 5, "type": "linear"}, extent) is None
    assert rm.zoom_range({"lo": "x", "hi": 5}, extent) is None
    lo, hi = rm.zoom_range({"lo": "2024-08-27 06:00:10", "hi": "2024-08-27 06:01:00.5", "type": "date"}, None)
    assert (lo, hi) == (1724738410.0, 1724738460.5)


def test_the_metric_filter_keeps_matching_metrics_and_drops_empty_charts():
    choices = rm.metric_choices(["loss", "loss_cls", "lr", "time", "data_time", "memory", "acc"], ["mAP"])
    plan = rm.chart_plan(choices, ["loss", "loss_cls", "acc"], ["mAP"])
    flt, _ = runs_table.compile_filter("^loss_|data_")
    kept = rm.filter_plan(plan, flt.search)
    assert [(s.key, s.keys) for s in kept] == [("losses", ("loss_cls",)), ("time", ("data_time",))]
    assert rm.filter_plan(plan, None) == plan


def test_a_chart_title_says_which_run_and_settings_and_log_text_stays_literal():
    run = parse_path(LLM).runs[-1]
    frame, evals = train_frame(run), eval_frame(run)
    spec = rm.chart_plan(rm.metric_choices(field_columns(frame), []), ["loss"], [])[0]
    view = rm.ChartView(smoothing=0.8, log_y=True, x_range=(100.0, math.inf), label="<b>run</b>",
                        hidden_traces=("series-0",))
    fig = build_figure(spec, frame, evals, view)
    sub = fig.layout.title.subtitle.text
    assert "&lt;b&gt;run&lt;/b&gt;" in sub and "<b>" not in sub
    assert "smoothing 0.8" in sub and "log y" in sub and "range 100 to end" in sub
    assert {t.visible for t in fig.data if t.legendgroup == "series-0"} == {"legendonly"}
    assert fig.layout.yaxis.fixedrange is True  # drag-zoom is for x; y fits the window


def test_checkpoint_ticks_keep_their_axis_when_the_y_scale_is_set():
    """The checkpoint ticks sit at 0 on their own hidden 0..1 axis (``yaxis2``): framing a constant series and
    ignoring outliers set the range of the chart's y axis only. They set every y axis before, so a fixed learning
    rate of a run with checkpoints was not framed (the ticks' zeros made it look varied) and, with a spike clipped,
    the ticks' axis got the loss's range and the ticks (at 0) left the chart."""
    n = 200
    it = np.arange(1, n + 1) * 10
    loss = np.linspace(2.0, 1.0, n)
    loss[150] = 100.0  # a spike: off the scale
    frame = pd.DataFrame({"iter": it, "epoch": np.nan, "epoch_progress": np.nan, "timestamp": it * 1.0,
                          "relative_seconds": it * 1.0, "lr": np.full(n, 1e-4), "loss": loss})
    frame.attrs["fields"] = {"lr": "lr", "loss": "loss"}
    ticks = [500, 1000, 1500]
    lr = rm.build_figure(rm.ChartSpec("lr", "Learning rate", ("lr",), "train", False), frame, pd.DataFrame(),
                         rm.ChartView(), checkpoint_iters=ticks)
    assert lr["layout"]["yaxis"]["range"] == pytest.approx([0.5e-4, 1.5e-4])
    losses = rm.build_figure(rm.ChartSpec("losses", "Losses", ("loss",), "train", True), frame, pd.DataFrame(),
                             rm.ChartView(), checkpoint_iters=ticks)
    assert losses["layout"]["yaxis"]["range"][1] < 100.0 and losses["layout"]["yaxis"]["autorange"] is False
    for fig in (lr, losses):
        assert fig["layout"]["yaxis2"]["range"] == [0, 1]
        (tick_trace,) = [t for t in fig["data"] if t.get("name") == "checkpoint"]
        assert list(tick_trace["x"]) == [500, 1000, 1500] and tick_trace["yaxis"] == "y2"
