"""The Runs and Run pages through ``streamlit.testing.v1.AppTest`` (no browser): what each page shows, URL state
round trips, refusals, and log text staying text.

Each test gets its own log root (copies of ``sample_logs``) through ``MMDASH_ROOTS``; the process-wide state
(watcher) that the app creates for it is released after the test.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from dashboard.ui import common
from tests.conftest import SAMPLE_LOGS, SHARED_LOGS
from tests.helpers import live_charts, open_page, page_text, rerun, tiles

RUN_PAGE = "dashboard/ui/pages/run.py"
LLM = "llm/20260314_090000/20260314_090000.log"
CLS = "cls/20260315_140000/20260315_140000.log"
NAN = "seg/20260318_132000/20260318_132000.log"
TEE = "det/console_tee.log"
HOSTILE_NAME = "[x](javascript:alert(1)) <img src=x onerror=alert(1)>.log"
HOSTILE_LINES = (
    "2025/01/01 00:00:01 - mmengine - WARNING - <script>alert('xss')</script> and [x](javascript:alert(1)) **bold**\n"
)


@pytest.fixture
def log_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A root named ``logs`` holding copies of the sample runs, a hostile log, a non-log; a secret outside."""
    root = tmp_path / "logs"
    for rel, src in ((LLM, "llm_sft_len_grouped/20260314_090000/20260314_090000.log"),
                     (CLS, "cls_epoch_val/20260315_140000/20260315_140000.log"),
                     (NAN, "seg_nan_loss/20260318_132000/20260318_132000.log"),
                     (TEE, "det_crash_resume/console_tee.log")):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(SAMPLE_LOGS / src, root / rel)
    text = (SAMPLE_LOGS / "cls_epoch_val/20260315_140000/20260315_140000.log").read_text()
    head, sep, tail = text.partition("\n2026/03/15 14:06")  # a hostile warning in the middle of the run
    (root / HOSTILE_NAME).write_text(head + "\n" + HOSTILE_LINES.replace("2025/01/01 00:00:01", "2026/03/15 14:05:59")
                                     .rstrip("\n") + sep + tail)
    (root / "notes.txt").write_text("not a log")
    (tmp_path / "secret.log").write_text("TOP-SECRET-LINE\n")
    (root / "escape.log").symlink_to(tmp_path / "secret.log")
    monkeypatch.setenv("MMDASH_ROOTS", str(root))
    yield root
    common.release_all()


def runs_page(query: dict[str, str] | None = None) -> AppTest:
    return open_page(None, query)


def run_page(query: dict[str, str | list[str]], details: bool = True) -> AppTest:
    return open_page("run", query, details)


def charts(at: AppTest) -> list[dict]:
    return live_charts(at)


def chart_titles(at: AppTest) -> list[str]:
    return [c["layout"]["title"]["text"] for c in charts(at)]


def query(at: AppTest) -> dict[str, list[str]]:
    """The URL the page left (AppTest keeps one value as a string, repeated values as a list)."""
    return {k: [v] if isinstance(v, str) else list(v) for k, v in at.query_params.items()}


# --------------------------------------------------------------------------------------------------- runs page

def test_runs_page_lists_every_run_with_status_progress_and_links(log_root):
    at = runs_page()
    assert at.dataframe[0].proto.row_height > 64  # rows tall enough for the grid to wrap long reasons (item 12)
    table = at.dataframe[0].value
    table = table.data if hasattr(table, "data") else table  # a Styler
    rows = table.set_index("name")
    assert set(rows.index) == {
        f"logs/{LLM}", f"logs/{CLS}", f"logs/{NAN}", f"logs/{TEE} · run 1/2", f"logs/{TEE} · run 2/2",
        f"logs/{HOSTILE_NAME}",
    }
    assert "logs/escape.log" not in rows.index  # a symlink out of the root is not followed
    llm = rows.loc[f"logs/{LLM}"]
    assert llm["n/N"] == "3670/3672" and llm["epoch"] == "3/3" and llm["status"].endswith("finished")
    assert llm["open"] == f"/run?run=logs/{LLM}"  # under the app's path prefix (none here)
    crashed = rows.loc[f"logs/{TEE} · run 1/2"]
    assert crashed["status"].endswith("crashed") and "OutOfMemoryError" in crashed["why"]
    assert crashed["open"] == f"/run?run=logs/{TEE}&r=0" and crashed["progress"] == 0.75
    assert "6 runs in 5 log files" in page_text(at)


def test_runs_filter_is_a_regex_on_the_name_and_lives_in_the_url(log_root):
    at = runs_page({"filter": "LLM|console"})
    table = at.dataframe[0].value
    names = list((table.data if hasattr(table, "data") else table)["name"])
    assert names and all(("llm" in n or "console" in n) for n in names) and len(names) == 3
    assert at.text_input(key="runs_filter").value == "LLM|console"
    at.text_input(key="runs_filter").set_value("seg").run()
    assert query(at) == {"filter": ["seg"]}
    table = at.dataframe[0].value
    assert list((table.data if hasattr(table, "data") else table)["name"]) == [f"logs/{NAN}"]


def test_an_invalid_filter_shows_everything_with_a_notice(log_root):
    at = runs_page({"filter": "(unclosed", "bogus": "1"})
    text = page_text(at)
    assert "not a valid regular expression" in text and "not used on this page" in text
    table = at.dataframe[0].value
    assert len(table.data if hasattr(table, "data") else table) == 6


def test_missing_root_says_so(tmp_path, monkeypatch):
    monkeypatch.setenv("MMDASH_ROOTS", str(tmp_path / "nowhere"))
    try:
        at = runs_page()
        text = page_text(at)
        assert "No training logs were found" in text and "does not exist" in text
    finally:
        common.release_all()


def test_default_configuration_shows_the_samples_and_a_live_demo(monkeypatch):
    monkeypatch.delenv("MMDASH_ROOTS", raising=False)
    monkeypatch.delenv("MMDASH_DEMO", raising=False)
    try:
        at = runs_page()
        deadline = time.monotonic() + 30
        while True:
            table = at.dataframe[0].value
            names = list((table.data if hasattr(table, "data") else table)["name"])
            if any(n.startswith("live-demo/") for n in names) or time.monotonic() > deadline:
                break
            time.sleep(0.5)
            at.run()
        assert any(n.startswith("sample_logs/llm_sft_len_grouped/") for n in names)
        assert any(n.startswith("live-demo/llm_sft_len_grouped/") for n in names), names
        assert "live demo: live-demo/" in page_text(at)
    finally:
        common.release_all()


# ---------------------------------------------------------------------------------------------------- run page

def test_run_page_header_and_charts(log_root):
    at = run_page({"run": f"logs/{LLM}"})
    m = tiles(at)
    assert m["Iterations n/N"] == "3670/3672" and m["Epoch"] == "3/3" and m["Status"].endswith("finished")
    assert m["Optimizer updates"] == "458/459" and m["MMEngine's eta"] == "—" and m["ETA"] == "—"
    assert {"Elapsed", "s/iter", "samples/s", "Peak memory"} <= set(m)
    assert chart_titles(at) == ["Losses", "Learning rate", "Time per iteration (s): time and data_time",
                                "Gradient norm"]
    loss = charts(at)[0]
    assert [t["name"] for t in loss["data"]] == ["loss (raw)", "loss", "checkpoint"]
    assert {s["name"] for s in loss["layout"]["shapes"]} >= {"epoch_end"}
    ticks = [t for t in loss["data"] if t["name"] == "checkpoint"]  # one marker trace, not a shape per save
    assert len(ticks) == 1 and ticks[0]["mode"] == "markers"
    text = page_text(at)
    assert "Finish: none (finished: only a running run has an ETA)" in text and "N = 3 x 1224 = 3672" in text
    assert "Log clock: 2026-03-14 09:00 → 2026-03-14 21:30 · compute 12h 29m · pauses 1m 24s" in text
    # Copied a moment ago (a fresh clone has new file times), but its run has finished: not a live log (item 15).
    assert "(not growing)" in text and "live log" not in text
    # No x-range hint that goes stale while the run grows; the data's extent is drawn with the charts (item 16).
    assert [n.placeholder for n in at.number_input if n.key in ("run_x_from", "run_x_to")] == ["the start", "the end"]
    assert "Data on the x axis (iteration): 10 to 3670" in text
    events = at.dataframe[-1].value
    assert "checkpoint" in set(events["kind"])


def test_the_gpu_charts_stay_when_every_chart_of_the_run_is_hidden(log_root):
    """The GPU charts are in the chart tools (``hide=gpu:power``) and are drawn when every chart of the run is hidden
    (they were left out with them: the page stopped at "every chart is hidden")."""
    import datetime as dt

    from parsers.gpu_csv import HEADER
    from tools.gen_logs.gpu import gpu_lines

    (log_root / LLM).parent.joinpath("gpu.csv").write_text(HEADER + "\n" + "".join(
        gpu_lines(dt.datetime(2026, 3, 14, 9, 0), 2000, interval=20.0, gpus=2, busy=(0, 1))))
    hide = ["losses", "lr", "time", "grad_norm", "gpu:power"]
    at = run_page({"run": f"logs/{LLM}", "hide": hide})
    assert chart_titles(at) == ["GPU utilization (%)", "GPU memory used (MiB)"]
    text = page_text(at)
    assert "Every chart of the run is hidden or filtered out" in text and "The GPU charts are below." in text
    assert query(at)["hide"] == hide
    at = run_page({"run": f"logs/{LLM}"})
    assert chart_titles(at)[-3:] == ["GPU utilization (%)", "GPU memory used (MiB)", "GPU power draw (W)"]


def test_run_page_of_an_epoch_run_with_validation(log_root):
    at = run_page({"run": f"logs/{CLS}", "x_axis": "epoch"})
    assert chart_titles(at)[-2:] == ["validation: accuracy/top1", "validation: accuracy/top5"]
    assert charts(at)[0]["layout"]["xaxis"]["title"]["text"] == "epoch"
    assert tiles(at)["Epoch"] == "6/6"


def test_crash_banner_shows_the_error_as_text(log_root):
    at = run_page({"run": f"logs/{TEE}", "r": "0"})
    assert any(e.value.startswith("Crashed") for e in at.error)
    assert any("Traceback (most recent call last)" in c.value and "OutOfMemoryError" in c.value for c in at.code)
    assert tiles(at)["Iterations n/N"] == "450/600"
    assert at.selectbox(key="run_r").value == 0


def test_nan_banner_names_the_first_iteration(log_root):
    at = run_page({"run": f"logs/{NAN}"})
    nan = [e.value for e in at.error if e.value.startswith("NaN/inf")]
    assert nan and "iteration" in nan[0]
    assert any(t.value.startswith("fields: ") and "loss" in t.value for t in at.text)


def test_resumed_run_marks_the_resume(log_root):
    at = run_page({"run": f"logs/{TEE}", "r": "1"})
    shapes = charts(at)[0]["layout"]["shapes"]
    assert any(s["name"] == "resume" for s in shapes)
    events = at.dataframe[-1].value
    assert "resume" in set(events["kind"])


def test_the_eta_method_is_shown_whole(log_root):
    """The ETA method of a run with a validation and a checkpoint still to come (guessed, with their bands) is
    ~500 characters of our own words: the Run page shows all of it (it was cut at 300, mid-word)."""
    from dashboard.analysis import summarize
    from parsers import parse_path

    src = SHARED_LOGS / "mmdet2-mmcv1-retinanet-voc-resumed.log"
    if not src.is_file():
        pytest.skip("the shared real logs are not here")
    shutil.copyfile(src, log_root / "voc.log")
    method = summarize(parse_path(src).runs[-1], path="voc.log", live=False).eta_method
    assert len(method) > 300
    at = run_page({"run": "logs/voc.log"})
    assert f"ETA method: {method}" in page_text(at)


def test_run_page_without_a_run_points_to_the_runs_page(log_root):
    at = run_page({})
    assert "No run selected" in page_text(at)
    assert not charts(at)


@pytest.mark.parametrize("run_id", [
    "../../etc/passwd", "logs/../secret.log", "/etc/passwd", "logs/..%2fsecret.log", "logs\\..\\secret.log",
    "logs/sub/../../secret.log", "other-root/x.log", "logs", "logs/escape.log", "logs/x.log\x00", "logs/%2e%2e/s.log",
])
def test_run_page_refuses_ids_outside_the_roots(log_root, run_id):
    at = run_page({"run": run_id})
    text = page_text(at)
    assert "Refused" in text and "Some URL parameters" not in text  # one explanation, not two
    assert "TOP-SECRET-LINE" not in text and "root:x:0:0" not in text
    assert not charts(at) and not at.metric


@pytest.mark.parametrize("run_id", ["logs/missing.log", "logs/notes.txt"])
def test_run_page_of_a_log_that_does_not_exist_says_not_found(log_root, run_id):
    at = run_page({"run": run_id})
    text = page_text(at)
    assert "Not found" in text and "Refused" not in text
    assert not charts(at) and not at.metric


def test_log_text_and_names_stay_text(log_root):
    at = run_page({"run": f"logs/{HOSTILE_NAME}"})
    assert any(t.value == f"logs/{HOSTILE_NAME}" for t in at.text)
    events = at.dataframe[-1].value
    warning = [t for t in events["text"] if "<script>" in t]
    assert warning == ["<script>alert('xss')</script> and [x](javascript:alert(1)) **bold**"]
    for md in at.markdown:  # nothing from the log goes through Markdown
        assert "javascript" not in md.value and "<img" not in md.value and "<script>" not in md.value
    for e in [*at.error, *at.warning, *at.info]:
        assert "javascript" not in e.value and "<script>" not in e.value


# --------------------------------------------------------------------------------------------------- URL state

def test_url_settings_become_widget_values_and_charts(log_root):
    q = {"run": f"logs/{TEE}", "r": "0", "metric": ["loss_cls", "coco/bbox_mAP_50"], "smoothing": "0.8",
         "x_axis": "relative", "x_range": "100.0,5000.0", "log_y": "1", "live": "0"}
    at = run_page(q)
    assert at.multiselect(key="run_metrics").value == ["loss_cls"]
    assert at.multiselect(key="run_evals").value == ["coco/bbox_mAP_50"]
    assert at.slider(key="run_smoothing").value == 0.8
    assert at.radio(key="run_x_axis").value == "relative"
    assert (at.number_input(key="run_x_from").value, at.number_input(key="run_x_to").value) == (100.0, 5000.0)
    assert at.toggle(key="run_log_y").value is True and at.toggle(key="run_live").value is False
    loss = charts(at)[0]
    assert loss["layout"]["yaxis"]["type"] == "log" and loss["layout"]["xaxis"]["range"] == [100.0, 5000.0]
    assert [t["name"] for t in loss["data"]][:2] == ["loss_cls (raw)", "loss_cls"]
    assert chart_titles(at)[-1] == "validation: coco/bbox_mAP_50"
    assert "Some URL parameters" not in page_text(at)
    assert query(at) == {k: (v if isinstance(v, list) else [v]) for k, v in q.items()}


def test_changed_settings_round_trip_through_the_url(log_root):
    at = run_page({"run": f"logs/{CLS}"})
    assert query(at) == {"run": [f"logs/{CLS}"]}  # defaults are not written
    at.slider(key="run_smoothing").set_value(0.9).run()
    at.multiselect(key="run_evals").unselect("accuracy/top5").run()
    at.radio(key="run_x_axis").set_value("epoch").run()
    at.number_input(key="run_x_from").set_value(1.5).run()
    at.number_input(key="run_x_to").set_value(4.0).run()
    at.toggle(key="run_log_y").set_value(True).run()
    assert not at.exception
    written = query(at)
    assert written == {"run": [f"logs/{CLS}"], "metric": ["accuracy/top1"], "smoothing": ["0.9"],
                       "x_axis": ["epoch"], "x_range": ["1.5,4.0"], "log_y": ["1"]}
    fresh = run_page({k: v if len(v) > 1 else v[0] for k, v in written.items()})
    for key in ("run_metrics", "run_evals"):
        assert fresh.multiselect(key=key).value == at.multiselect(key=key).value
    assert fresh.slider(key="run_smoothing").value == 0.9 and fresh.radio(key="run_x_axis").value == "epoch"
    assert fresh.toggle(key="run_log_y").value is True
    assert [c["layout"] for c in charts(fresh)] == [c["layout"] for c in charts(at)]
    assert [[t["name"] for t in c["data"]] for c in charts(fresh)] == [[t["name"] for t in c["data"]]
                                                                        for c in charts(at)]


def test_changing_the_axis_clears_the_range(log_root):
    at = run_page({"run": f"logs/{CLS}", "x_range": "10,100"})
    at.radio(key="run_x_axis").set_value("wall").run()
    assert "x_range" not in query(at) and query(at)["x_axis"] == ["wall"]
    at.text_input(key="run_x_from_t").set_value("2026-03-15 14:05").run()
    at.text_input(key="run_x_to_t").set_value("2026-03-15 14:20:00").run()
    assert query(at)["x_range"] == ["1773583500.0,1773584400.0"]
    fresh = run_page({"run": f"logs/{CLS}", "x_axis": "wall", "x_range": "1773583500.0,1773584400.0"})
    assert fresh.text_input(key="run_x_from_t").value == "2026-03-15 14:05:00"


def test_invalid_url_values_fall_back_to_defaults_with_notices(log_root):
    at = run_page({"run": f"logs/{LLM}", "smoothing": "7", "x_axis": "<script>", "metric": "nope", "r": "x",
                   "log_y": "maybe"}, details=False)
    text = page_text(at)
    assert "Some URL parameters were not understood" in text
    notices = "\n".join(t.value for t in at.text)
    for needle in ("smoothing", "x_axis", "'nope' is not logged", "r='x'", "log_y"):
        assert needle in notices
    assert at.slider(key="run_smoothing").value == 0.6 and at.radio(key="run_x_axis").value == "iter"
    assert tiles(at)["Iterations n/N"] == "3670/3672"
    assert query(at) == {"run": [f"logs/{LLM}"]}  # the URL is cleaned
    assert all("<script>" not in e.value for e in [*at.warning, *at.markdown])


def test_a_run_index_past_the_end_shows_the_last_run_with_a_notice(log_root):
    at = run_page({"run": f"logs/{TEE}", "r": "7"}, details=False)
    assert "does not exist in this file" in page_text(at)
    assert tiles(at)["Iterations n/N"] == "600/600"
    assert "r" not in query(at)


def test_coming_back_to_a_run_page_restores_its_view_from_the_url(log_root):
    at = run_page({"run": f"logs/{CLS}"})
    at.slider(key="run_smoothing").set_value(0.9).run()
    titles = chart_titles(at)
    at.switch_page("dashboard/ui/pages/runs.py").run()
    assert not at.exception and at.dataframe
    at.switch_page(RUN_PAGE)
    at.query_params["run"] = f"logs/{CLS}"
    at.run()
    assert not at.exception
    assert chart_titles(at) == titles  # the metrics are the defaults again, not an empty selection
    assert at.slider(key="run_smoothing").value == 0.6  # the link carried no smoothing
    at.switch_page(RUN_PAGE)
    at.query_params["smoothing"] = "0.9"
    at.run()
    assert at.slider(key="run_smoothing").value == 0.9


def test_logs_given_on_the_command_line_win_over_the_environment(log_root, tmp_path, monkeypatch):
    other = tmp_path / "cli-logs" / "w" / "20250101_000000"
    other.mkdir(parents=True)
    shutil.copyfile(SAMPLE_LOGS / "seg_nan_loss/20260318_132000/20260318_132000.log", other / "20250101_000000.log")
    monkeypatch.setattr("sys.argv", ["app.py", "--logs", str(tmp_path / "cli-logs")])
    at = runs_page()
    table = at.dataframe[0].value
    names = list((table.data if hasattr(table, "data") else table)["name"])
    assert names == ["cli-logs/w/20250101_000000/20250101_000000.log"]
    assert "configured by: --logs" in page_text(at)


def test_the_setup_you_believe_is_checked_on_the_run_page_and_kept_in_the_url(log_root):
    """The seed case on the Run page: 4 GPUs believed, the log's N says one process (issue 11 item 3)."""
    at = run_page({"run": f"logs/{LLM}"})
    assert at.number_input(key="run_calc_gpus").value == 1  # prefilled with what the log states
    assert "This setup gives N = 3672: what the log says." in [s.value for s in at.success]
    at.number_input(key="run_calc_gpus").set_value(4)
    at.run()
    assert "This setup gives N = 936, but the log says N = 3672." in [e.value for e in at.error]
    assert "a single process sees" in page_text(at)
    assert query(at)["gpus"] == ["4"] and "dataset_size" not in query(at)  # only what differs from the log
    again = run_page({"run": f"logs/{LLM}", "gpus": "4"})  # the link opens the same check
    assert again.number_input(key="run_calc_gpus").value == 4
    assert "This setup gives N = 936, but the log says N = 3672." in [e.value for e in again.error]


def test_the_setup_check_keeps_its_values_when_another_run_is_picked_and_a_new_log_gets_its_own(log_root):
    """The details are drawn after the first chart once per session and log (issue 12): a run picked in the
    sidebar keeps them drawn, so the setup check's values and URL parameters stay; another log is prefilled."""
    at = run_page({"run": f"logs/{TEE}"})
    assert at.number_input(key="run_calc_gpus").value == 1
    at.number_input(key="run_calc_gpus").set_value(3)
    rerun(at)
    at.selectbox(key="run_r").set_value(0)
    rerun(at)
    assert at.number_input(key="run_calc_gpus").value == 3 and query(at)["gpus"] == ["3"]
    assert query(at)["r"] == ["0"]
    at.query_params.clear()
    at.query_params["run"] = f"logs/{LLM}"
    rerun(at)
    assert [at.number_input(key=f"run_calc_{k}").value for k in ("dataset_size", "gpus", "batch_size", "epochs")] \
        == [1220, 1, 1, 3]
    assert "This setup gives N = 3672: what the log says." in [s.value for s in at.success]


def test_the_metric_filter_shows_every_matching_metric_and_the_chart_tools_are_in_the_url(log_root):
    q = {"run": f"logs/{TEE}", "r": "0", "metric_filter": "^loss_(cls|bbox)$|bbox_mAP_50", "log": "lr",
         "hide": "time", "outliers": "1", "live": "0"}
    at = run_page(q)
    assert at.text_input(key="run_metric_filter").value == q["metric_filter"]
    assert at.multiselect(key="run_log_charts").value == ["lr"] and at.multiselect(key="run_hidden_charts").value == [
        "time"]
    assert at.toggle(key="run_ignore_outliers").value is False
    names = [[t["name"] for t in c["data"] if "(raw)" not in t["name"] and t["name"] not in ("checkpoint", "clipped")]
             for c in charts(at)]
    assert names[0] == ["loss_cls", "loss_bbox"]  # not chosen in the sidebar, shown because they match
    assert ["coco/bbox_mAP_50"] in names and not any("time" in n for ns in names for n in ns)
    assert query(at) == {k: (v if isinstance(v, list) else [v]) for k, v in q.items()}
