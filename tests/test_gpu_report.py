"""A GPU log matched to a run: the analysis (``dashboard.analysis.gpu``), the run model's GPU section, and
``report`` (terminal, ``--json``, ``--markdown``), on the sample xtuner log and project-written GPU logs."""

from __future__ import annotations

import datetime as dt
import json
import shutil

import numpy as np
import plotly.graph_objects as go
import pytest

from dashboard.analysis.gpu import energy_kwh, gpu_report, training_mask
from dashboard.cli.main import main
from dashboard.live.gpu_logs import GpuFollower, find_gpu_logs
from dashboard.views.gpu_view import GpuInput
from dashboard.views.run_model import RunSource, build_run_model
from parsers import parse_path
from parsers.gpu_csv import HEADER, parse_gpu_path
from tests.conftest import SAMPLE_LOGS
from tools.gen_logs.gpu import gpu_lines, write_gpu_log

LLM = SAMPLE_LOGS / "llm_sft_len_grouped" / "20260314_090000" / "20260314_090000.log"  # 09:00 -> 21:30:30, N=3672
START = dt.datetime(2026, 3, 14, 8, 59)
SAMPLES = 9000  # every 5 s: 08:59 -> 21:29


@pytest.fixture
def run_dir(tmp_path):
    d = tmp_path / "work_dir" / "20260314_090000"
    d.mkdir(parents=True)
    shutil.copy(LLM, d / LLM.name)
    return d


def _report(capsys, *argv):
    assert main(["report", *map(str, argv)]) == 0
    return capsys.readouterr().out


def test_three_of_four_idle_gpus_are_named_with_the_numbers_in_json(run_dir, capsys):
    write_gpu_log(run_dir / "gpu.csv", START, SAMPLES, interval=5, gpus=4, busy=(0,), na_gpus=(3,))
    (obj,) = [json.loads(line) for line in _report(capsys, run_dir / LLM.name, "--json").splitlines()]
    gpu = obj["runs"][0]["gpu"]
    assert gpu["file"] == "gpu.csv" and [g["index"] for g in gpu["gpus"]] == [0, 1, 2, 3]
    g0, g1 = gpu["gpus"][0], gpu["gpus"][1]
    assert 94 <= g0["mean_util_training"] <= 100 and g1["mean_util_training"] == 0
    assert 18000 <= g0["peak_memory_mib"] <= 22000 and g0["memory_total_mib"] == 81920
    assert 166 <= g0["mean_power_w"] <= 169 and gpu["gpus"][3]["mean_power_w"] is None
    # ~12.5 h at ~167.5 W on GPU 0, ~55.5 W on GPUs 1 and 2; GPU 3 has no power readings
    hours = (gpu["gpus"][0]["samples"] - 1) * 5 / 3600
    assert gpu["energy_kwh"] == pytest.approx(hours * (167.5 + 2 * 55.5) / 1000, rel=0.01)
    assert gpu["samples_trained"] == pytest.approx(3672, rel=0.01)  # batch 1 x 1 process x the iterations covered
    assert gpu["energy_kwh_per_1000_samples"] == pytest.approx(gpu["energy_kwh"] / gpu["samples_trained"] * 1000)
    assert gpu["coverage"] > 0.99 and gpu["covered_from"] == "2026-03-14T09:00:00"
    assert any(b["title"].startswith("3 of 4 GPUs sat idle") and "GPU 1, 2, 3" in b["title"] for b in gpu["banners"])
    assert any("[N/A]" in n for n in gpu["notes"])


def test_all_busy_gpus_while_n_says_one_process_is_the_independent_copies_banner(run_dir, capsys):
    write_gpu_log(run_dir / "gpu.csv", START, SAMPLES, interval=5, gpus=4, busy=range(4))
    out = _report(capsys, run_dir / LLM.name, "--gpus", "4")
    assert "gpu        gpu.csv: GPU util (training) 9" in out
    assert "All 4 busy GPUs worked while N says one process saw the data" in out and "independent copies" in out
    md = _report(capsys, run_dir / LLM.name, "--markdown")
    assert "### GPUs" in md and "> **All 4 busy GPUs worked" in md and "| GPU util (training) |" in md


def test_a_gpu_log_of_another_time_range_or_zone_gives_no_numbers_and_says_why(run_dir, capsys):
    write_gpu_log(run_dir / "gpu.csv", START + dt.timedelta(hours=14), 600, interval=5, gpus=2)
    (obj,) = [json.loads(line) for line in _report(capsys, run_dir / LLM.name, "--json").splitlines()]
    gpu = obj["runs"][0]["gpu"]
    assert gpu["gpus"] == [] and gpu["coverage"] == 0.0 and gpu["energy_kwh"] is None
    (note,) = [n for n in gpu["notes"] if "does not overlap" in n]
    assert "2026-03-14 22:59:00" in note and "Shifted by -14 h" in note


def test_a_gpu_log_covering_part_of_the_run_says_how_much(run_dir, capsys):
    write_gpu_log(run_dir / "gpu.csv", START + dt.timedelta(hours=6), 1000, interval=5, gpus=1)
    (obj,) = [json.loads(line) for line in _report(capsys, run_dir / LLM.name, "--json").splitlines()]
    gpu = obj["runs"][0]["gpu"]
    assert 0.08 < gpu["coverage"] < 0.13
    assert any("covers 11% of the run" in n or "covers 10% of the run" in n for n in gpu["notes"])
    assert gpu["samples_trained"] < 500  # only the iterations of the covered part


def test_no_gpu_log_beside_the_log_is_null_in_json_and_a_named_one_is_used(run_dir, tmp_path, capsys):
    (obj,) = [json.loads(line) for line in _report(capsys, run_dir / LLM.name, "--json").splitlines()]
    assert obj["runs"][0]["gpu"] is None
    other = tmp_path / "elsewhere.csv"
    write_gpu_log(other, START, 100, interval=5, gpus=1)
    (obj,) = [json.loads(line) for line in
              _report(capsys, run_dir / LLM.name, "--json", "--gpu-log", other).splitlines()]
    assert obj["runs"][0]["gpu"]["file"] == "elsewhere.csv"


def test_the_gpu_log_is_found_in_the_work_dir_too_and_a_csv_of_another_tool_is_not(run_dir):
    (run_dir / "metrics.csv").write_text("epoch,loss\n1,0.5\n")
    assert find_gpu_logs(str(run_dir / LLM.name)) == []
    write_gpu_log(run_dir.parent / "gpu.csv", START, 10, gpus=1)
    assert find_gpu_logs(str(run_dir / LLM.name)) == [str(run_dir.parent / "gpu.csv")]
    assert find_gpu_logs(str(run_dir / LLM.name), pattern="../*.csv") == [str(run_dir / ".." / "gpu.csv")]


def test_the_run_model_holds_the_gpu_section_with_tiles_rows_and_figures(run_dir):
    write_gpu_log(run_dir / "gpu.csv", START, SAMPLES, interval=5, gpus=4, busy=(0,))
    p = parse_gpu_path(str(run_dir / "gpu.csv"))
    run = parse_path(run_dir / LLM.name).runs[0]
    model = build_run_model(run, RunSource("file", "x", "x"), run_index=None, choices=[],
                            gpu=GpuInput("gpu.csv", p.table(), tuple(p.notes())))
    sec = model.gpu
    assert sec is not None and [t.label for t in sec.tiles][:2] == ["GPU util (training)", "Peak GPU memory"]
    assert sec.tiles[0].value.endswith("(1 of 4)") and len(sec.rows) == 4
    from dashboard.charts.figures import trace_point_counts
    from dashboard.charts.gpu import gpu_figures

    for axis in ("iter", "epoch", "wall", "relative"):
        figs = gpu_figures(sec.table, x_axis=axis, train=model.frame, t0=float(model.frame["timestamp"].iloc[0]),
                           max_points=500)
        counts = [c for f in figs.values() for c in trace_point_counts(f)]
        assert len(counts) == 12 and all(0 < c <= 500 for c in counts), (axis, counts)


def test_training_mask_leaves_out_validation_gaps_and_the_time_before_the_first_record():
    train_ts = np.array([100.0, 110, 120, 130, 400, 410, 420])  # a validation pause from 130 to 390
    t = np.array([50.0, 95, 125, 200, 395, 415, 500])
    assert training_mask(t, train_ts).tolist() == [False, True, True, False, True, True, False]


def test_energy_is_power_over_time_and_a_stopped_sampler_is_not_bridged():
    t = np.arange(0, 3601, 1.0)
    assert energy_kwh(t, np.full(t.shape, 100.0), 5.0) == pytest.approx(0.1)
    t2 = np.concatenate([t[:1801], t[1800:] + 7200])  # stopped for two hours in the middle
    assert energy_kwh(t2, np.full(t2.shape, 100.0), 5.0) == pytest.approx(0.1)


def test_low_utilization_with_a_high_data_time_share_is_the_starving_banner():
    data = (HEADER + "\n" + "".join(gpu_lines(dt.datetime(2026, 1, 1), 100, gpus=2, busy=range(2), util=30))).encode()
    from parsers.gpu_csv import parse_gpu_bytes

    tab = parse_gpu_bytes(data).table()
    t0 = tab.t[0]
    ts = t0 + np.arange(0, 100, 2.0)
    kw = dict(train_ts=ts, train_iters=np.arange(ts.size) * 10, run_from=t0, run_to=t0 + 100, samples_per_iter=2.0)
    starved = gpu_report(tab, data_time_share=0.6, **kw)
    assert any(b.title.startswith("Data loading starves the GPU: mean utilization 30 %") for b in starved.banners)
    assert not gpu_report(tab, data_time_share=0.05, **kw).banners


def test_the_follower_reads_a_growing_gpu_log_and_starts_again_after_truncation(tmp_path):
    path = tmp_path / "gpu.csv"
    lines = list(gpu_lines(START, 20, gpus=2))
    path.write_text(HEADER + "\n" + "".join(lines[:10]) + lines[10][:30])
    f = GpuFollower(str(path), str(tmp_path))
    assert f.poll() and len(f.parser.table()) == 10
    with open(path, "a") as fh:
        fh.write(lines[10][30:] + "".join(lines[11:]))
    assert f.poll() and len(f.parser.table()) == 40 and not f.poll()
    path.write_text(HEADER + "\n" + lines[0])
    assert f.poll() and len(f.parser.table()) == 1 and f.restarts == 1


def test_an_upload_takes_the_gpu_log_with_the_training_log_as_one_run(tmp_path):
    from dashboard.analysis import summarize
    from dashboard.uploads.store import UploadRejected, UploadStore
    from dashboard.views import review

    store = UploadStore(tmp_path / "uploads", max_bytes=20 << 20)
    gpu_csv = tmp_path / "gpu.csv"
    write_gpu_log(gpu_csv, START, SAMPLES, interval=5, gpus=4, busy=(0,))
    stored = store.add([(LLM.name, LLM.read_bytes()), ("gpu.csv", gpu_csv.read_bytes())])
    rev = review.review_upload(stored)
    assert [f.kind for f in rev.files] == ["text", review.GPU] and len(rev.runs) == 1
    model = rev.model(None, RunSource("upload", stored.id, rev.title), lambda r: summarize(r, live=False))
    assert model is not None and model.gpu is not None and model.gpu.file == "gpu.csv"
    assert any(b.title.startswith("3 of 4 GPUs sat idle") for b in model.gpu.banners)
    with pytest.raises(UploadRejected, match="upload them together"):
        store.add([("gpu.csv", gpu_csv.read_bytes())])
    with pytest.raises(UploadRejected, match="a .csv must be a GPU log"):
        store.add([(LLM.name, LLM.read_bytes()), ("metrics.csv", b"epoch,loss\n1,0.5\n")])


def test_a_resumed_run_joined_from_its_folders_gets_the_work_dirs_gpu_log(tmp_path):
    from dashboard.views import joined
    from dashboard.views.app_state import AppConfig, AppState

    root = tmp_path / "logs"
    shutil.copytree(SAMPLE_LOGS / "det_crash_resume", root / "det_crash_resume")
    first = "logs/det_crash_resume/20260316_214000/20260316_214000.log"
    resumed = "logs/det_crash_resume/20260317_085500/20260317_085500.log"
    run = parse_path(root / "det_crash_resume" / "20260317_085500" / "20260317_085500.log").runs[-1]
    t0 = dt.datetime.fromtimestamp(run.first_timestamp, dt.timezone.utc).replace(tzinfo=None)
    write_gpu_log(root / "det_crash_resume" / "gpu.csv", t0, 120, interval=5, gpus=2, busy=range(2))
    state = AppState(AppConfig((str(root),), "MMDASH_ROOTS", False))
    try:
        model = joined.joined_model(state, [first, resumed], "mmengine-text")
        assert model is not None and model.gpu is not None and model.gpu.file == "gpu.csv"
        assert [s.index for s in model.gpu.report.gpus] == [0, 1]
        assert any("covers" in n for n in model.gpu.notes)  # only the resumed part was sampled
    finally:
        state.close()


def test_the_setting_names_a_gpu_log_elsewhere(run_dir, monkeypatch):
    (run_dir.parent / "telemetry").mkdir()
    write_gpu_log(run_dir.parent / "telemetry" / "node0.csv", START, 10, gpus=1)
    write_gpu_log(run_dir / "gpu.csv", START, 10, gpus=1)
    monkeypatch.setenv("MMDASH_GPU_LOG", "../telemetry/*.csv")
    assert find_gpu_logs(str(run_dir / LLM.name)) == [str(run_dir / ".." / "telemetry" / "node0.csv")]


def test_a_gpu_chart_of_a_long_run_keeps_a_one_sample_spike_within_the_charts_point_budget(run_dir):
    """The GPU charts use the run's charts' downsampling (``run_model.MAX_POINTS`` per trace, MinMaxLTTB of
    ``series.downsample_growing``): one sample of 79,000 MiB among 45,000 of about 20,000 is still drawn, on every
    x axis, and each trace holds at most the budget the loss chart has. With "ignore outliers" (the default) the
    spike is off the scale, marked like the loss chart's (a ``clipped`` triangle at its true value)."""
    from dashboard.charts.figures import trace_point_counts
    from dashboard.views import gpu_view
    from dashboard.views.run_model import MAX_POINTS, ChartView

    lines = list(gpu_lines(START, 45_000, interval=1.0, gpus=1, busy=(0,)))  # 08:59 -> 21:29, every second
    spike_at = 20_000  # 14:32:20, mid-training
    cells = lines[spike_at].split(", ")
    cells[4] = "79000 MiB"
    lines[spike_at] = ", ".join(cells)
    (run_dir / "gpu.csv").write_text(HEADER + "\n" + "".join(lines))
    p = parse_gpu_path(str(run_dir / "gpu.csv"))
    run = parse_path(run_dir / LLM.name).runs[0]
    model = build_run_model(run, RunSource("file", "x", "x"), run_index=None, choices=[],
                            gpu=GpuInput("gpu.csv", p.table(), tuple(p.notes())))
    assert model.gpu is not None and len(model.gpu.table) == 45_000
    for axis in ("iter", "epoch", "wall", "relative"):
        for ignore in (False, True):
            figs = gpu_view.figures(model.gpu, model, ChartView(x_axis=axis, ignore_outliers=ignore))
            mem = go.Figure(figs["gpu:memory"])  # the dict through plotly's validation, read as plotly objects
            counts = trace_point_counts(mem)
            assert counts and all(0 < c <= MAX_POINTS for c in counts), (axis, counts)
            line = next(t for t in mem.data if t.name == "GPU 0 · memory MiB")
            assert max(line.y) == 79_000, axis
            assert np.median(line.y) < 23_000
            clipped = [t for t in mem.data if t.name == "clipped"]
            if ignore:  # the y scale fits the usual ~20,000 MiB; the spike stays as a triangle saying its value
                assert mem.layout.yaxis.range[1] < 30_000 and max(clipped[0].customdata) == 79_000, axis
            else:
                assert not clipped and mem.layout.yaxis.range is None
