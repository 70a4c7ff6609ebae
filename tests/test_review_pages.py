"""The Upload, Compare and Calculator pages through ``streamlit.testing.v1.AppTest`` (no browser).

Each page script runs on its own (so these tests do not depend on how ``app.py`` registers it),
with ``MMDASH_ROOTS`` = the bundled sample_logs (root label ``sample_logs``) and a fresh
``MMDASH_UPLOAD_DIR`` per test.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from dashboard.uploads.store import UploadStore

from .conftest import ROOT, SAMPLE_LOGS
from .helpers import live_charts, open_page, page_text, rerun, tiles

PAGES = ROOT / "dashboard" / "ui" / "pages"
TIMEOUT = 90
LLM = SAMPLE_LOGS / "llm_sft_len_grouped" / "20260314_090000" / "20260314_090000.log"
LLM_SCALARS = LLM.parent / "vis_data" / "scalars.json"
DET = sorted((SAMPLE_LOGS / "det_crash_resume").glob("2026*/2026*.log"))
TEE = SAMPLE_LOGS / "det_crash_resume" / "console_tee.log"
LLM_ID = "sample_logs/llm_sft_len_grouped/20260314_090000/20260314_090000.log"
CLS_ID = "sample_logs/cls_epoch_val/20260315_140000/20260315_140000.log"
NAN_ID = "sample_logs/seg_nan_loss/20260318_132000/20260318_132000.log"
HOSTILE = "[x](javascript:alert(1)) <img src=x onerror=alert(1)> $x$ :red[y].log"


@pytest.fixture
def env(tmp_path, monkeypatch) -> Path:
    uploads = tmp_path / "uploads"
    monkeypatch.setenv("MMDASH_UPLOAD_DIR", str(uploads))
    monkeypatch.setenv("MMDASH_ROOTS", str(SAMPLE_LOGS))
    monkeypatch.delenv("MMDASH_MAX_UPLOAD_MB", raising=False)
    return uploads


def upload(at: AppTest, *files: tuple[str, bytes]) -> AppTest:
    at.file_uploader[0].set_value([(name, data, "application/octet-stream") for name, data in files])
    return rerun(at)


def stored_ids(uploads: Path) -> list[str]:
    return sorted(p.name for p in uploads.iterdir() if len(p.name) == 24) if uploads.is_dir() else []


def chart_traces(at: AppTest) -> list[list[str]]:
    return [[t.get("name") for t in c["data"]] for c in live_charts(at)]


# ----------------------------------------------------------------------------------------------- upload


def test_upload_page_without_an_upload_shows_the_uploader(env):
    at = open_page("upload")
    assert at.file_uploader[0].accept_multiple_files
    assert set(at.file_uploader[0].allowed_type) == {".log", ".txt", ".json", ".gz", ".csv"}  # .csv: a GPU log
    assert at.file_uploader[0].proto.max_upload_size_mb == 500
    assert "Limit: 500 MB per file" in page_text(at) and not at.metric and dict(at.query_params) == {}


def test_uploading_a_log_stores_it_and_shows_the_review_with_a_permalink(env):
    at = upload(open_page("upload"), (LLM.name, LLM.read_bytes()))
    (uid,) = stored_ids(env)
    assert dict(at.query_params) == {"upload": uid}  # the address bar holds the permalink
    assert [t.value for t in at.title] == ["Run"]  # shown by the one run view
    assert f"permalink: run?upload={uid}" in page_text(at)  # relative when the browser URL is unknown
    m = tiles(at)
    assert (m["Status"], m["Iterations n/N"], m["Epoch"], m["Elapsed"]) == ("✔ finished", "3670/3672", "3/3",
                                                                            "12h 30m")
    assert m["Optimizer updates"] == "458/459" and m["s/iter"] == "11.2" and m["ETA"] == "—"
    traces = chart_traces(at)
    assert traces == [["loss (raw)", "loss", "checkpoint"], ["lr", "checkpoint"],  # checkpoint ticks as one trace
                      # the checkpoint saves' slow iterations are off the time chart's scale (ignore outliers)
                      ["time (raw)", "time", "data_time (raw)", "data_time", "checkpoint", "clipped"],
                      ["grad_norm (raw)", "grad_norm", "checkpoint"]]
    assert [b.label for b in at.get("download_button")] == ["Records (CSV)", "Records (Parquet)",
                                                            "Run report (Markdown)",
                                                            "Run report (HTML, charts included)"]
    assert "Consistent" in page_text(at)


def test_the_permalink_opens_the_same_review_in_a_new_session(env):
    first = upload(open_page("upload"), (LLM.name, LLM.read_bytes()))
    uid = first.query_params["upload"]
    second = open_page("upload", {"upload": uid})  # an old permalink goes to the run page
    assert dict(second.query_params) == {"upload": uid} and [t.value for t in second.title] == ["Run"]
    assert tiles(second) == tiles(first)
    assert chart_traces(second) == chart_traces(first)


def test_the_permalink_opens_the_run_page_with_the_same_numbers(env):
    first = upload(open_page("upload"), (LLM.name, LLM.read_bytes()))
    uid = first.query_params["upload"]
    on_run = open_page("run", {"upload": uid})
    assert tiles(on_run) == tiles(first)
    assert chart_traces(on_run) == chart_traces(first)
    assert f"permalink: run?upload={uid}" in page_text(on_run)


def test_the_same_bytes_give_the_same_permalink(env):
    a = upload(open_page("upload"), ("first-name.log", LLM.read_bytes()))
    b = upload(open_page("upload"), ("other-name.log", LLM.read_bytes()))
    assert a.query_params["upload"] == b.query_params["upload"] and len(stored_ids(env)) == 1


@pytest.mark.parametrize(("name", "data", "message"), [
    ("notes.txt", b"groceries\nmilk\n" * 50, "notes.txt: this is not an MMEngine / mmcv training log"),
    ("empty.log", b"", "empty.log: the file is empty"),
    ("weights.log", bytes(range(256)) * 64, "weights.log: this looks like a binary file"),
    ("broken.log.gz", b"\x1f\x8b\x08\x00garbage" * 10, "broken.log.gz: a damaged gzip file"),
])
def test_a_bad_upload_is_refused_with_a_message_and_nothing_is_stored(env, name, data, message):
    at = upload(open_page("upload"), (name, data))
    assert "This upload was refused and nothing was stored:" in [e.value for e in at.error]
    assert message in page_text(at)
    assert stored_ids(env) == [] and "upload" not in at.query_params and not at.metric


def test_a_gzip_that_expands_past_the_limit_is_refused(env, monkeypatch):
    monkeypatch.setenv("MMDASH_MAX_UPLOAD_MB", "1")
    bomb = gzip.compress(LLM.read_bytes() * 40)
    assert len(bomb) < 1 << 20
    at = open_page("upload")
    assert at.file_uploader[0].proto.max_upload_size_mb == 1
    at = upload(at, ("bomb.log.gz", bomb))
    assert "expands to more than the limit of 1,048,576 bytes" in page_text(at)
    assert stored_ids(env) == []


def test_a_gzip_log_is_accepted(env):
    at = upload(open_page("upload"), (LLM.name + ".gz", gzip.compress(LLM.read_bytes())))
    assert tiles(at)["Iterations n/N"] == "3670/3672"


def test_a_log_and_its_scalars_json_are_one_upload_reviewed_from_the_text_log(env):
    at = upload(open_page("upload"), (LLM.name, LLM.read_bytes()), ("scalars.json", LLM_SCALARS.read_bytes()))
    assert len(stored_ids(env)) == 1
    files = at.dataframe[0].value
    assert list(files["file"]) == [LLM.name, "scalars.json"] and list(files["kind"]) == ["text", "json"]
    assert "were stored but not reviewed" in page_text(at)
    assert tiles(at)["Iterations n/N"] == "3670/3672" and "run_r" not in [s.key for s in at.selectbox]


def test_the_logs_of_a_resumed_run_are_reviewed_as_one_run(env):
    at = upload(open_page("upload"), *[(p.name, p.read_bytes()) for p in DET])
    m = tiles(at)
    assert (m["Status"], m["Iterations n/N"]) == ("✔ finished", "600/600")
    assert "treated as one experiment" in page_text(at)
    at = open_page("run", dict(at.query_params))  # AppTest stays on the upload script after st.switch_page
    chooser = at.selectbox(key="run_r")
    assert chooser.value == -1 and len(chooser.options) == 3
    chooser.set_value(0)
    at = rerun(at)
    assert tiles(at)["Status"] == "✖ crashed" and at.query_params["r"] == "0"
    assert "OutOfMemoryError" in "\n".join(c.value for c in at.code)  # the traceback, as code


def test_r_in_the_permalink_opens_one_run(env):
    uid = upload(open_page("upload"), (TEE.name, TEE.read_bytes())).query_params["upload"]
    at = open_page("run", {"upload": uid, "r": "1"})
    assert at.selectbox(key="run_r").value == 1
    assert tiles(at)["Iterations n/N"] == "600/600" and tiles(at)["Status"] == "✔ finished"
    assert open_page("run", {"upload": uid}).selectbox(key="run_r").value == -1
    assert open_page("upload", {"upload": uid, "r": "1"}).selectbox(key="run_r").value == 1  # the old permalink form
    missing = open_page("run", {"upload": uid, "r": "9"}, details=False)
    assert "run r=9 does not exist in this upload (2 runs): showing all runs joined into one" in page_text(missing)


def test_chart_settings_go_to_the_url(env):
    uid = upload(open_page("upload"), (LLM.name, LLM.read_bytes())).query_params["upload"]
    at = open_page("run", {"upload": uid})
    at.slider(key="run_smoothing").set_value(0.9)
    at.radio(key="run_x_axis").set_value("epoch")
    at.toggle(key="run_log_y").set_value(True)
    at = rerun(at)
    q = dict(at.query_params)
    assert (q["smoothing"], q["x_axis"], q["log_y"]) == ("0.9", "epoch", "1")
    again = open_page("run", q)
    assert again.slider(key="run_smoothing").value == 0.9 and again.radio(key="run_x_axis").value == "epoch"


@pytest.mark.parametrize(("query", "message"), [
    ({"upload": "0123456789abcdef01234567"}, "there is no upload with this id"),
    ({"upload": "not/an-id"}, "not/an-id: this is not an upload id"),
    ({"upload": "../../etc/passwd"}, "this is not an upload id"),
    ({"upload": "0123456789abcdef01234567", "r": "x"}, "URL parameter r='x' ignored"),
])
def test_unknown_or_malformed_upload_ids_say_so(env, query, message):
    at = open_page("run", query)
    assert message in page_text(at) and not at.metric and not live_charts(at)


def test_a_hostile_file_name_is_shown_as_text_only(env):
    at = upload(open_page("upload"), (HOSTILE, LLM.read_bytes()))
    assert at.metric  # stored and reviewed
    shown = "\n".join(e.value for e in at.text)
    assert "javascript:alert(1)" in shown  # literally, as text
    for md in list(at.markdown) + list(at.caption) + list(at.info) + list(at.error) + list(at.warning):
        assert "javascript" not in md.value and "<img" not in md.value and "onerror" not in md.value
    for names in chart_traces(at):
        assert all("<" not in (n or "") for n in names)


# ---------------------------------------------------------------------------------------------- compare


def test_compare_overlays_the_runs_in_the_url_with_a_table(env):
    at = open_page("compare", {"compare": [CLS_ID, NAN_ID]})
    (traces,) = chart_traces(at)
    assert traces == ["cls_epoch_val/…/20260315_140000.log (raw)", "cls_epoch_val/…/20260315_140000.log",
                      "seg_nan_loss/…/20260318_132000.log (raw)", "seg_nan_loss/…/20260318_132000.log",
                      "seg_nan_loss/…/20260318_132000.log: nan/inf"]
    table = at.dataframe[0].value
    assert list(table["run"]) == ["cls_epoch_val/…/20260315_140000.log", "seg_nan_loss/…/20260318_132000.log"]
    assert list(table["N"]) == [300, 400] and list(table["status"]) == ["finished", "finished"]
    assert {"final loss", "best loss", "s/iter", "samples/s", "wall time"} <= set(table.columns)
    assert at.query_params["compare"] == [CLS_ID, NAN_ID] and at.query_params["metric"] == "loss"


def test_compare_choices_go_to_the_url_and_back(env):
    at = open_page("compare", {"compare": [CLS_ID, NAN_ID]})
    at.multiselect(key="cmp_metrics").set_value(["loss", "lr"])
    at.radio(key="cmp_align").set_value("relative")
    at.slider(key="cmp_smoothing").set_value(0.0)
    at = rerun(at)
    q = dict(at.query_params)
    assert q["metric"] == ["loss", "lr"] and q["x_axis"] == "relative" and q["smoothing"] == "0.0"
    assert len(live_charts(at)) == 2 and "final lr" in at.dataframe[0].value.columns
    again = open_page("compare", q)
    assert chart_traces(again) == chart_traces(at)


def test_a_compare_charts_png_is_named_by_its_metric_and_alignment(env):
    """The camera button's file says what the chart holds (it was ``compare.png`` for every chart)."""
    import json

    at = open_page("compare", {"compare": [CLS_ID, NAN_ID], "metric": ["loss", "lr"], "x_axis": "relative"})
    names = [json.loads(c.proto.json)["msg"]["config"]["toImageButtonOptions"]["filename"]
             for c in at.get("bidi_component") if c.proto.component_name == "mmdash_live_chart"
             and "msg" in json.loads(c.proto.json)]
    assert names == ["compare.loss.by-relative", "compare.lr.by-relative"]


def test_compare_a_validation_metric(env):
    at = open_page("compare", {"compare": [CLS_ID, "sample_logs/det_crash_resume/console_tee.log"],
                          "metric": "coco/bbox_mAP"})
    table = at.dataframe[0].value
    assert table["final coco/bbox_mAP"].isna().tolist() == [True, False]
    assert "no coco/bbox_mAP in: cls_epoch_val" in live_charts(at)[0]["layout"][
        "annotations"][0]["text"]


def test_compare_needs_two_runs(env):
    at = open_page("compare", {"compare": CLS_ID})
    assert "Choose two or more runs" in page_text(at) and not live_charts(at)


def test_compare_an_upload_with_a_log_under_a_root(env):
    stored = UploadStore(env).add([(p.name, p.read_bytes()) for p in DET])
    at = open_page("compare", {"compare": [f"upload:{stored.id}", CLS_ID]})
    table = at.dataframe[0].value
    assert list(table["run"]) == ["upload 20260316_214000.log + 1 more", "cls_epoch_val/…/20260315_140000.log"]
    assert list(table["N"]) == [600, 300]


def test_an_upload_can_be_added_by_its_permalink(env):
    stored = UploadStore(env).add([(LLM.name, LLM.read_bytes())])
    at = open_page("compare", {"compare": CLS_ID})
    at.text_input(key="cmp_add").input(f"http://somewhere:8501/upload?upload={stored.id}")
    at = rerun(at)
    assert at.query_params["compare"] == [CLS_ID, f"upload:{stored.id}"]
    assert len(at.dataframe[0].value) == 2


@pytest.mark.parametrize(("ref", "message"), [
    ("../../etc/passwd", "URL parameter compare='../../etc/passwd' ignored"),
    ("upload:zzz", "ignored: not an upload id"),
    ("sample_logs/../README.md", "ignored"),
    ("other-root/x.log", "cannot be shown"),
    ("upload:0123456789abcdef01234567", "there is no upload with this id"),
])
def test_compare_refuses_bad_references_and_shows_the_others(env, ref, message):
    at = open_page("compare", {"compare": [CLS_ID, ref, NAN_ID]})
    assert message in page_text(at)
    assert len(at.dataframe[0].value) == 2


def test_compare_rejects_wall_clock_alignment(env):
    at = open_page("compare", {"compare": [CLS_ID, NAN_ID], "x_axis": "wall"})
    assert "runs are aligned by iter, epoch, relative" in page_text(at)
    assert at.radio(key="cmp_align").value == "iter"


# -------------------------------------------------------------------------------------------- calculator


def test_calculator_from_the_url_alone(env):
    at = open_page("calculator", {"dataset_size": "1220", "gpus": "4", "batch_size": "1", "accumulative_counts": "8",
                             "epochs": "3", "sampler": "length-grouped", "s_per_iter": "12"})
    m = tiles(at)
    assert (m["Iterations per epoch"], m["N (total iterations)"], m["Optimizer updates"]) == ("312", "936", "117")
    assert m["Estimated duration"] == "3h 07m"
    assert "ceil(1220 / (8 x 4)) x 8 = 312" in "\n".join(c.value for c in at.code)
    assert "Check against the run" not in page_text(at)


def test_calculator_inputs_go_to_the_url(env):
    at = open_page("calculator")
    for key, value in (("dataset_size", 1220), ("gpus", 4), ("batch_size", 1), ("accumulative_counts", 8),
                       ("epochs", 3)):
        at.number_input(key=f"calc_{key}").set_value(value)
    at.selectbox(key="calc_sampler").set_value("length-grouped")
    at.checkbox(key="calc_drop_last").check()
    at = rerun(at)
    assert dict(at.query_params) == {"dataset_size": "1220", "gpus": "4", "batch_size": "1",
                                     "accumulative_counts": "8", "epochs": "3", "sampler": "length-grouped",
                                     "drop_last": "1"}
    assert tiles(at)["N (total iterations)"] == "936"


def test_calculator_prefilled_from_a_run_explains_a_3672_log_believed_on_4_gpus(env):
    at = open_page("calculator", {"run": LLM_ID, "gpus": "4"})
    assert at.number_input(key="calc_dataset_size").value == 1220  # from the log
    assert at.number_input(key="calc_gpus").value == 4  # the URL wins
    assert tiles(at)["N (total iterations)"] == "936"
    assert "This setup gives N = 936, but the log says N = 3672." in [e.value for e in at.error]
    text = page_text(at)
    assert "3672 = 3 epochs x 1224 iterations per epoch" in text and "what a single process sees" in text
    assert "World sizes that give the logged N = 3672 with these other inputs: 1" in text
    assert at.query_params["run"] == LLM_ID and at.query_params["s_per_iter"] == "11.83"
    # Text shown as text carries no Markdown syntax that would stay literal (issue 11 item 17).
    explanation = [t.value for t in at.text if "single process" in t.value]
    assert explanation and "`" not in explanation[0] and "plain 'python train.py' instead of torchrun" in explanation[0]


def test_calculator_with_the_runs_own_setup_agrees(env):
    at = open_page("calculator", {"run": LLM_ID})
    assert [e.value for e in at.success] == ["This setup gives N = 3672: what the log says."]
    assert at.query_params["gpus"] == "1"


def test_picking_another_run_prefills_its_setup(env):
    at = open_page("calculator", {"run": LLM_ID, "gpus": "4"})
    at.selectbox(key="calc_run").set_value("sample_logs/det_crash_resume/20260317_085500/20260317_085500.log")
    at = rerun(at)
    assert at.selectbox(key="calc_sampler").value == "infinite"
    assert at.number_input(key="calc_gpus").value == 1 and at.number_input(key="calc_batch_size").value == 16
    assert tiles(at)["N (total iterations)"] == "600"
    assert at.query_params["run"] == "sample_logs/det_crash_resume/20260317_085500/20260317_085500.log"


def test_calculator_prefills_from_an_upload_and_r(env):
    stored = UploadStore(env).add([(TEE.name, TEE.read_bytes())])
    at = open_page("calculator", {"upload": stored.id, "r": "0"})
    assert at.selectbox(key="calc_run").value == f"upload:{stored.id}::0"
    assert at.number_input(key="calc_batch_size").value == 16
    assert at.query_params["upload"] == stored.id and at.query_params["r"] == "0"
    assert "run" not in at.query_params


@pytest.mark.parametrize(("query", "message"), [
    ({"gpus": "0"}, "URL parameter gpus='0' ignored"),
    ({"sampler": "weird"}, "URL parameter sampler='weird' ignored"),
    ({"run": "../../etc/passwd"}, "URL parameter run='../../etc/passwd' ignored"),
    ({"run": "sample_logs/missing.log"}, "cannot be used"),
    ({"upload": "0123456789abcdef01234567"}, "there is no upload with this id"),
])
def test_calculator_bad_urls_become_notices(env, query, message):
    at = open_page("calculator", query)
    assert message in page_text(at)


# ------------------------------------------------------------------------------------------- navigation


def test_the_review_links_to_the_calculator_and_compare_with_this_upload(env):
    stored = UploadStore(env).add([(TEE.name, TEE.read_bytes())])
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT).run()
    at.switch_page(str(PAGES / "upload.py"))
    at.query_params["upload"] = stored.id
    at.query_params["r"] = "1"
    at = rerun(at)
    links = {p.value: (p.proto.page, p.proto.query_string) for p in at.get("page_link")
             if p.value in ("Open in the calculator", "Compare with other runs")}
    assert links == {"Open in the calculator": ("calculator", f"upload={stored.id}&r=1"),
                     "Compare with other runs": ("compare", f"compare=upload%3A{stored.id}%3A%3A1")}


def test_compare_picked_in_the_page_starts_with_the_loss(env):
    at = open_page("compare")
    assert "Choose two or more runs" in page_text(at)
    at.multiselect(key="cmp_runs").set_value([CLS_ID, NAN_ID])
    at = rerun(at)
    assert at.multiselect(key="cmp_metrics").value == ["loss"] and len(live_charts(at)) == 1
    assert at.query_params["compare"] == [CLS_ID, NAN_ID]


def test_compare_says_which_metrics_no_run_logged(env):
    at = open_page("compare", {"compare": [CLS_ID, NAN_ID], "metric": ["nope", "lr"]})
    assert "Not logged by any of these runs (left out): nope" in page_text(at)
    assert at.multiselect(key="cmp_metrics").value == ["lr"]


def test_an_unusable_upload_folder_turns_uploads_off_with_a_message(env, tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("MMDASH_UPLOAD_DIR", str(blocker / "uploads"))
    at = open_page("upload")
    assert "The upload store cannot be used, so uploads are off:" in [e.value for e in at.error]
    assert not at.file_uploader
    calculator = open_page("calculator", {"upload": "0123456789abcdef01234567"})
    assert "the upload store cannot be used" in page_text(calculator)


def test_compare_aligns_iter_train_logs_by_epoch(env):
    """Two xtuner-style runs (Iter(train) lines only) aligned by epoch: both have points, on 0..3 epochs."""
    at = open_page("compare", {"compare": [LLM_ID, f"{LLM_ID}::0"], "x_axis": "epoch"})
    specs = live_charts(at)
    (loss,) = specs
    assert loss["layout"]["xaxis"]["title"]["text"] == "epoch"
    raw = [t for t in loss["data"] if t["name"].endswith("(raw)")]
    xs = [t["x"] for t in raw]
    assert len(xs) == 2 and all(len(x) == 367 and x[0] == 10 / 1224 and x[-1] == 3670 / 1224 for x in xs)
