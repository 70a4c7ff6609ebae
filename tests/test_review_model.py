"""Page models of Upload / Compare / Calculator (``dashboard.views.review``), without Streamlit."""

from __future__ import annotations

import gzip
import threading
import time
from pathlib import Path

import pytest

from dashboard.analysis import summarize
from dashboard.live.roots import make_roots
from dashboard.uploads import settings as upload_settings
from dashboard.uploads.store import UploadStore
from dashboard.views import calculator, compare, review
from dashboard.views.text import plotly_text
from dashboard.views.url_state import CalculatorInputs, RunRef, app_url
from parsers import SizeLimitExceeded, parse_path

from .conftest import SAMPLE_LOGS

LLM = SAMPLE_LOGS / "llm_sft_len_grouped" / "20260314_090000" / "20260314_090000.log"
LLM_SCALARS = LLM.parent / "vis_data" / "scalars.json"
CLS = SAMPLE_LOGS / "cls_epoch_val" / "20260315_140000" / "20260315_140000.log"
DET = sorted((SAMPLE_LOGS / "det_crash_resume").glob("2026*/2026*.log"))
TEE = SAMPLE_LOGS / "det_crash_resume" / "console_tee.log"
NAN = SAMPLE_LOGS / "seg_nan_loss" / "20260318_132000" / "20260318_132000.log"


@pytest.fixture
def store(tmp_path) -> UploadStore:
    return UploadStore(tmp_path / "uploads", max_bytes=5 << 20)


# ------------------------------------------------------------------------------------------- settings


def test_upload_settings_default_to_500_mb_and_the_store_defaults(tmp_path):
    s = upload_settings.upload_settings({"MMDASH_UPLOAD_DIR": str(tmp_path)}, server_max_mb=500)
    assert (s.max_upload_mb, s.max_total_mb, s.max_age_days, s.notes) == (500, 5120, 90.0, ())
    assert s.root == tmp_path and s.max_bytes == 500 * 1024 * 1024
    assert s.store().max_bytes == s.max_bytes


def test_upload_settings_from_the_environment(tmp_path):
    env = {"MMDASH_UPLOAD_DIR": str(tmp_path), "MMDASH_MAX_UPLOAD_MB": "50", "MMDASH_UPLOAD_MAX_TOTAL_MB": "700",
           "MMDASH_UPLOAD_MAX_AGE_DAYS": "2.5"}
    s = upload_settings.upload_settings(env, server_max_mb=50)
    assert (s.max_upload_mb, s.max_total_mb, s.max_age_days, s.notes) == (50, 700, 2.5, ())


def test_a_server_limit_below_the_setting_wins_and_says_so(tmp_path):
    s = upload_settings.upload_settings({"MMDASH_UPLOAD_DIR": str(tmp_path)}, server_max_mb=200)
    assert s.max_upload_mb == 200 and "server.maxUploadSize is 200 MB" in s.notes[0]


@pytest.mark.parametrize("value", ["lots", "-3", "0", ""])
def test_bad_settings_fall_back_with_a_note(tmp_path, value):
    s = upload_settings.upload_settings({"MMDASH_UPLOAD_DIR": str(tmp_path), "MMDASH_MAX_UPLOAD_MB": value},
                                        server_max_mb=500)
    assert s.max_upload_mb == 500
    assert bool(s.notes) == bool(value)


# ---------------------------------------------------------------------------------------- file planning


@pytest.mark.parametrize(("data", "kind"), [
    (b"2026/03/14 09:00:00 - mmengine - INFO - x\n", "text"),
    (b'\n\n  {"lr": 0.1, "step": 10}\n', "json"),
    (gzip.compress(b'{"mode": "train"}\n'), "json"),
    (gzip.compress(b"03/14 09:00:00 - mmengine - INFO - x\n"), "text"),
    (b"\xef\xbb\xbf{\"a\": 1}\n", "json"),
    (b"", "text"),
])
def test_sniff_kind(data, kind):
    assert review.sniff_kind(data) == kind


def test_a_text_log_is_preferred_over_its_scalars_json():
    plan, note = review.plan_files([("scalars.json", 10, "json"), ("run.log", 20, "text")])
    assert [(p.name, p.used) for p in plan] == [("scalars.json", False), ("run.log", True)]
    assert "stored but not reviewed" in note and "joined" not in note


def test_json_files_alone_are_reviewed_and_several_files_are_joined():
    plan, note = review.plan_files([("a/scalars.json", 1, "json"), ("b/scalars.json", 1, "json")])
    assert all(p.used for p in plan) and "joined in time order into one run" in note
    plan, note = review.plan_files([("one.log", 1, "text")])
    assert plan[0].used and note is None


# ------------------------------------------------------------------------------------------- parsing


def test_parse_files_reports_progress_up_to_one(tmp_path, monkeypatch):
    monkeypatch.setattr(review, "PARSE_CHUNK", 4096)
    seen: list[float] = []
    parsed = review.parse_files([(LLM.name, LLM, None), (CLS.name, CLS, None)],
                            progress=lambda f, text: seen.append(f))
    assert [len(p.runs[0].train) for p in parsed] == [367, 30]
    assert seen == sorted(seen) and seen[-1] == 1.0 and len(seen) > 10


def test_parse_files_stops_a_gzip_bomb_at_the_cap(tmp_path):
    bomb = tmp_path / "bomb.log.gz"
    bomb.write_bytes(gzip.compress(LLM.read_bytes() * 40))
    with pytest.raises(SizeLimitExceeded):
        review.parse_files([("bomb.log.gz", bomb, None)], max_bytes=1 << 20)


def test_reference_date_comes_from_the_name_else_the_upload_time():
    named = review.reference_for("20260314_090000.log", 0.0)
    assert named.when.year == 2026 and not named.assumed and named.source == "file name: 20260314_090000"
    uploaded = review.reference_for("console.log", time.mktime((2024, 6, 1, 0, 0, 0, 0, 0, -1)))
    assert uploaded.when.year == 2024 and uploaded.assumed and uploaded.source.startswith("upload time: 2024-06-01")
    assert review.reference_for("console.log", None) is None


def test_review_of_a_log_with_its_scalars_uses_the_text_log(store):
    stored = store.add([(LLM.name, LLM.read_bytes()), ("scalars.json", LLM_SCALARS.read_bytes())])
    rev = review.review_upload(stored)
    assert [p.used for p in rev.files] == [True, False]
    assert len(rev.runs) == 1 and rev.joined is None
    run = rev.run(None)
    assert run.max_iters == 3672 and run.header.accumulative_counts == 8  # the header came from the text log
    assert rev.title == f"{LLM.name} + 1 more"


def test_review_of_the_logs_of_a_resumed_run_is_one_continuous_run(store):
    stored = store.add([(p.name, p.read_bytes()) for p in reversed(DET)])  # any order
    rev = review.review_upload(stored)
    joined = rev.run(None)
    s = summarize(joined)
    assert (s.status, s.last_iter, s.max_iters) == ("finished", 600, 600)
    iters = list(joined.train.iters)
    assert iters == sorted(set(iters))  # rolled-back records dropped
    assert [c[0] for c in rev.choices()] == [None, 0, 1]
    assert rev.run(1) is rev.runs[1] and rev.run(7) is joined


def test_review_of_a_tee_file_offers_the_joined_run_and_each_run(store):
    stored = store.add([(TEE.name, TEE.read_bytes())])
    rev = review.review_upload(stored)
    labels = [label for _, label in rev.choices()]
    assert labels[0] == "all 2 runs joined into one"
    assert labels[1] == "run 1 of 2 · run header · iterations 10–450 of 600"
    assert summarize(rev.run(0)).status == "crashed"
    assert summarize(rev.run(None)).status == "finished"


def test_summaries_are_computed_once_per_view(store):
    rev = review.review_upload(store.add([(TEE.name, TEE.read_bytes())]))
    calls = []

    def fn(run):
        calls.append(run)
        return summarize(run)

    a = rev.summary(None, fn)
    b = rev.summary(None, fn)
    c = rev.summary(0, fn)
    assert a is b and c is not a and len(calls) == 2


# ----------------------------------------------------------------------------------------------- cache


def test_parse_cache_is_an_lru():
    cache = review.ParseCache(max_entries=2)
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.get("a") == 1
    cache.put("c", 3)
    assert cache.get("b") is None and cache.get("a") == 1 and len(cache) == 2


def test_parse_cache_computes_a_key_once_for_concurrent_callers():
    cache = review.ParseCache()
    calls = []
    gate = threading.Event()

    def compute():
        calls.append(1)
        gate.wait(2)
        return "parsed"

    results = []
    threads = [threading.Thread(target=lambda: results.append(cache.get_or_compute("k", compute))) for _ in range(4)]
    for t in threads:
        t.start()
    time.sleep(0.1)
    gate.set()
    for t in threads:
        t.join(5)
    assert results == ["parsed"] * 4 and len(calls) == 1


# ------------------------------------------------------------------------------------------ references


def test_upload_references_round_trip_through_the_url_form():
    uid = "0123456789abcdef01234567"
    t = review.Target("upload", uid, 2)
    assert str(t) == f"upload:{uid}::2"
    assert review.target_of(RunRef.parse(str(t))) == t
    assert review.target_of(RunRef.parse("upload:nothex")) is None
    assert review.target_of(RunRef.parse("logs/a/b.log::1")) == review.Target("root", "logs/a/b.log", 1)


@pytest.mark.parametrize(("text", "uid"), [
    ("0123456789abcdef01234567", "0123456789abcdef01234567"),
    ("  upload:0123456789abcdef01234567 ", "0123456789abcdef01234567"),
    ("http://host:8501/upload?upload=0123456789abcdef01234567&r=1", "0123456789abcdef01234567"),
    ("http://host/upload?x=1&upload=0123456789abcdef01234567", "0123456789abcdef01234567"),
    ("0123456789abcdef012345678", None),  # 25 hex digits
    ("0123456789ABCDEF01234567", None),
    ("hello", None),
])
def test_upload_id_in_pasted_text(text, uid):
    assert review.upload_id_in(text) == uid


@pytest.fixture
def roots(tmp_path):
    root = tmp_path / "logs"
    (root / "run" / "20250101_000000" / "vis_data").mkdir(parents=True)
    (root / "run" / "20250101_000000" / "20250101_000000.log").write_bytes(CLS.read_bytes())
    vis = root / "run" / "20250101_000000" / "vis_data"
    (vis / "scalars.json").write_text('{"lr": 0.1, "step": 1}\n')
    (vis / "20250101_000000.json").write_text('{"lr": 0.1, "step": 1}\n')
    (vis / "config.py").write_text("x = 1\n")
    (root / "model.pth").write_bytes(b"\x00" * 10)
    (tmp_path / "secret.log").write_text("SECRET\n")
    (root / "escape.log").symlink_to(tmp_path / "secret.log")
    return make_roots([root])


def test_list_root_logs_lists_logs_only(roots):
    ids = [f.id for f in review.list_root_logs(roots)]
    assert ids == ["logs/run/20250101_000000/20250101_000000.log", "logs/run/20250101_000000/vis_data/scalars.json"]


@pytest.mark.parametrize("source_id", [
    "logs/../secret.log", "../secret.log", "/etc/passwd", "logs/escape.log", "logs/model.pth",
    "logs/run/20250101_000000/vis_data/config.py", "other/x.log", "logs/missing.log", "logs/run",
])
def test_resolve_root_file_refuses_what_is_not_a_log_inside_a_root(roots, source_id):
    found, reason = review.resolve_root_file(source_id, roots)
    assert found is None and reason


def test_resolve_root_file_finds_a_log(roots):
    found, reason = review.resolve_root_file("logs/run/20250101_000000/20250101_000000.log", roots)
    assert reason is None and found.size == CLS.stat().st_size


def test_labels_are_short_unique_and_plot_safe():
    assert compare.short_label(review.Target("root", "logs/w/20250101_000000/20250101_000000.log")) == \
        "w/…/20250101_000000.log"
    assert compare.short_label(review.Target("root", "logs/a.log", 1)) == "a.log #1"
    assert compare.short_label(review.Target("upload", "0123456789abcdef01234567"), ["x.log", "y.json"]) == \
        "upload x.log + 1 more"
    assert compare.unique_labels(["a", "a", "b", "a"]) == ["a", "a (2)", "b", "a (3)"]
    label = plotly_text("<a href='javascript:alert(1)'>x</a>\x1b[31m" + "y" * 200, 80)
    assert "<" not in label and ">" not in label and "\x1b" not in label
    assert label == "&lt;a href='javascript:alert(1)'&gt;x&lt;/a&gt;" + "y" * 45 + "…"


# ----------------------------------------------------------------------------------------------- compare


def test_metric_options_put_losses_first_then_validation_metrics():
    runs = [parse_path(CLS).runs[0], parse_path(NAN).runs[0]]
    options = compare.metric_options(runs)
    assert options[0] == "loss" and options.index("accuracy/top1") > options.index("lr")
    assert "time" in options and "val/time" not in options
    assert compare.default_metric(options) == "loss" and compare.default_metric([]) is None


def test_metric_frame_of_a_validation_metric_is_drawable_by_compare_figure():
    from dashboard.charts.figures import compare_figure

    run = parse_path(CLS).runs[0]
    frame = compare.metric_frame(run, "accuracy/top1")
    assert list(frame["epoch_progress"]) == [1, 2, 3, 4, 5, 6] and list(frame["iter"])[-1] == 300
    fig = compare_figure([("cls", frame)], "accuracy/top1", align="epoch", smoothing=0.0)
    assert len(fig["data"]) == 1 and len(fig["data"][0]["x"]) == 6


def test_final_and_best_values():
    cls = parse_path(CLS).runs[0]
    s = summarize(cls)
    final, best = compare.final_and_best(cls, s, "loss")
    assert final == cls.train.column("loss")[-1] and best == min(cls.train.column("loss"))
    assert compare.final_and_best(cls, s, "lr")[1] is None  # a learning rate has no best
    final, best = compare.final_and_best(cls, s, "accuracy/top1")
    assert final == s.final_metrics["accuracy/top1"] and best == max(e.metrics["accuracy/top1"] for e in cls.evals)
    nan_run = parse_path(NAN).runs[0]
    final, best = compare.final_and_best(nan_run, None, "loss")
    assert final != final and best == pytest.approx(min(v for v in nan_run.train.column("loss") if v == v))
    assert compare.final_and_best(nan_run, None, "no such metric") == (None, None)


def test_compare_table_has_a_row_per_run_and_two_columns_per_metric():
    runs = [parse_path(CLS).runs[0], parse_path(NAN).runs[0]]
    table = compare.compare_table([(f"r{i}", r, summarize(r)) for i, r in enumerate(runs)], ["loss", "accuracy/top1"])
    assert list(table.columns) == ["run", "status", "N", "last iter", "s/iter", "samples/s", "final loss",
                                   "best loss", "final accuracy/top1", "best accuracy/top1", "wall time"]
    assert list(table["N"]) == [300, 400] and list(table["wall time"]) == ["32m 30s", "13m 19s"]
    assert table["final accuracy/top1"].isna().tolist() == [False, True]


def test_the_worked_example_without_a_run():
    c = calculator.calculate(CalculatorInputs(1220, 4, 1, 8, 3, "length-grouped", False, 12.0))
    a = c.result.arithmetic
    assert (a.iters_per_epoch, a.max_iters, a.optimizer_updates) == (312, 936, 117)
    assert c.result.duration_seconds == 936 * 12.0 and c.audit is None
    rows = dict(calculator.calculation_rows(c))
    assert rows["N (total iterations)"] == "936" and rows["estimated duration at 12 s/iter"] == "3h 07m"
    one = calculator.calculate(CalculatorInputs(1220, 1, 1, 8, 3, "length-grouped"))
    assert (one.result.arithmetic.max_iters, one.result.arithmetic.optimizer_updates) == (3672, 459)


def test_missing_inputs_give_unknowns_not_guesses():
    c = calculator.calculate(CalculatorInputs(None, 4, 1, 8, 3, "default"))
    assert c.result.arithmetic.max_iters is None
    assert dict(calculator.calculation_rows(c))["N (total iterations)"] == "—"


def test_prefill_reads_the_runs_setup_and_speed():
    run = parse_path(LLM).runs[0]
    pf = calculator.prefill_from(run, summarize(run))
    assert pf.inputs == CalculatorInputs(1220, 1, 1, 8, 3, "length-grouped", False, 11.83)
    assert pf.logged_n == 3672 and pf.sources["gpus"].startswith("runtime env")


def test_a_3672_log_audited_as_4_gpus_is_explained():
    run = parse_path(LLM).runs[0]
    pf = calculator.prefill_from(run, summarize(run))
    inputs = calculator.merge_inputs(CalculatorInputs(gpus=4), pf.inputs, {"gpus"})
    assert inputs.gpus == 4 and inputs.dataset_size == 1220  # URL wins, the rest from the run
    c = calculator.calculate(inputs, run, pf.logged_n, pf.sources)
    assert c.result.arithmetic.max_iters == 936
    assert c.audit.consistent is False and c.audit.fitting_world_sizes == [1]
    assert "what a single process sees" in c.audit.explanation
    assert list(calculator.fits_rows(c.audit)["world size (processes)"]) == [1]


def test_calculator_keeps_the_configs_per_device_batch_only_while_b_and_a_are_the_configs():
    run = parse_path(LLM).runs[0]
    same = calculator.calculator_setup(CalculatorInputs(1220, 4, 1, 8, 3, "length-grouped"), run)
    assert same.per_device_batch_size == run.header.per_device_batch_size == 8
    other = calculator.calculator_setup(CalculatorInputs(1220, 4, 2, 8, 3, "length-grouped"), run)
    assert other.per_device_batch_size is None  # P = B x A then


def test_an_infinite_sampler_takes_n_from_the_config():
    run = parse_path(DET[0]).runs[0]
    pf = calculator.prefill_from(run, summarize(run))
    assert pf.inputs.sampler == "infinite"
    c = calculator.calculate(pf.inputs, run, pf.logged_n, pf.sources)
    assert c.result.arithmetic.max_iters == 600 and c.audit.consistent is True


def test_merge_inputs_without_a_run_is_the_url():
    url = CalculatorInputs(5, 2)
    assert calculator.merge_inputs(url, None, {"dataset_size"}) == url


# --------------------------------------------------------------------------------------------------- links


@pytest.mark.parametrize(("context", "page", "params", "expected"), [
    ("http://127.0.0.1:8501/upload", "upload", {"upload": "abc"}, "http://127.0.0.1:8501/upload?upload=abc"),
    ("http://h:1/base/run", "calculator", {"upload": "a", "r": "1"}, "http://h:1/base/calculator?upload=a&r=1"),
    ("http://h/base/", "compare", {"compare": ["a/b.log", "upload:x"]},
     "http://h/base/compare?compare=a/b.log&compare=upload%3Ax"),  # one encoding for every link: / readable
    (None, "upload", {"upload": "abc"}, "upload?upload=abc"),
    ("", "upload", {}, "upload"),
])
def test_app_url(context, page, params, expected):
    assert app_url(context, page, params) == expected


@pytest.mark.parametrize(("context", "base", "page", "params", "expected"), [
    # behind a proxy the server knows its prefix (server.baseUrlPath): the host comes from the browser
    ("http://team.example/mmdash/run?run=x", "/mmdash/", "calculator", {"upload": "a"},
     "http://team.example/mmdash/calculator?upload=a"),
    ("https://h/mmdash/", "/mmdash/", "runs", {"filter": "llm"}, "https://h/mmdash/?filter=llm"),
    # a page whose name is also the prefix's last part cannot confuse it
    ("http://h/run/run", "/run/", "upload", {}, "http://h/run/upload"),
    (None, "/mmdash/", "run", {"upload": "abc"}, "/mmdash/run?upload=abc"),
])
def test_app_url_under_a_prefix(context, base, page, params, expected):
    assert app_url(context, page, params, base) == expected


def test_build_review_needs_a_parse_per_used_file():
    plan, note = review.plan_files([("a.log", 1, "text")])
    with pytest.raises(ValueError):
        review.build_review("a.log", plan, note, [])


def test_review_root_file_parses_like_parse_path(roots):
    rf, _ = review.resolve_root_file("logs/run/20250101_000000/20250101_000000.log", roots)
    rev = review.review_root_file(rf)
    assert len(rev.runs) == 1 and rev.title == rf.id and rev.format == "mmengine-text"
    assert list(rev.run(None).train.iters) == list(parse_path(Path(rf.path)).runs[0].train.iters)


def test_run_k_of_one_file_is_the_parsers_run_k(tmp_path):
    # A launch that died before training (header only) and then the real run: r=1 is the real run, as on the
    # run page, even though run 0 has no records.
    text = LLM.read_text()
    header_only = text[: text.index("Iter(train)")].rsplit("\n", 1)[0] + "\n"
    log = tmp_path / "twice.log"
    log.write_text(header_only + text)
    roots = make_roots([tmp_path])
    rf, _ = review.resolve_root_file(f"{tmp_path.name}/twice.log", roots)
    rev = review.review_root_file(rf)
    parsed = parse_path(log)
    assert len(parsed.runs) == 2 and len(parsed.runs[0].train) == 0
    assert [r.index for r in rev.runs] == [0, 1]
    assert rev.run(1).last_iter == 3670 and rev.run(None).last_iter == 3670
