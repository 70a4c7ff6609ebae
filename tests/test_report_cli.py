"""`python -m dashboard report` as a real subprocess: its output is a contract."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from .conftest import ROOT, SAMPLE_LOGS, corpus_params

REQUIRED = ("train_records", "val_records", "first_iter", "last_iter", "max_iters", "max_epochs", "iters_per_epoch",
            "epoch_ends", "world_size", "batch_size", "accumulative_counts", "optimizer_updates", "resumed_from_iter",
            "first_nonfinite_iter", "status", "started_at", "ended_at", "wall_seconds", "compute_seconds",
            "median_iter_seconds", "samples_per_second", "eta_seconds", "finish_at", "audit")
LLM = SAMPLE_LOGS / "llm_sft_len_grouped" / "20260314_090000" / "20260314_090000.log"


def report(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "dashboard", "report", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)


def test_json_report_has_the_documented_keys_and_the_worked_example():
    p = report(str(LLM), "--json", "--samples", "1220", "--gpus", "4", "--batch-size", "1", "--accumulate", "8",
               "--epochs", "3", "--sampler", "length-grouped")
    assert p.returncode == 0, p.stderr
    obj = json.loads(p.stdout)
    assert set(obj) >= {"path", "skipped_lines", "runs"}
    run = obj["runs"][0]
    assert all(k in run for k in REQUIRED)
    assert set(run["audit"]) >= {"expected_max_iters", "consistent", "fitting_world_sizes", "explanation"}
    assert run["max_iters"] == 3672 and run["audit"]["expected_max_iters"] == 936
    assert run["audit"]["consistent"] is False and run["audit"]["fitting_world_sizes"] == [1]
    assert run["optimizer_updates"] == 459


@pytest.mark.corpus
@pytest.mark.parametrize("path", corpus_params())
def test_every_real_log_reports_in_all_three_formats(path, capsys):
    # In-process through the same entry point as the subprocess tests (120 interpreter starts are slow).
    from dashboard.cli.main import main

    for fmt in ((), ("--json",), ("--markdown",)):
        assert main(["report", str(path), *fmt]) == 0
        out = capsys.readouterr().out
        assert out.strip()
        if fmt == ("--json",):
            json.loads(out)


def test_markdown_report_sections_and_escaped_log_text():
    p = report(str(LLM), "--markdown")
    assert p.returncode == 0
    for section in ("### Setup", "### Iteration arithmetic", "### Epoch timeline", "### Efficiency", "### Health"):
        assert section in p.stdout
    assert "| 1 | 1–1224 |" in p.stdout


def test_missing_file_is_one_line_error_and_nonzero_exit():
    p = report("/nonexistent/x.log")
    assert p.returncode == 2 and p.stderr.strip().startswith("error:") and len(p.stderr.strip().splitlines()) == 1


def test_bad_flag_value_is_an_error():
    p = report(str(LLM), "--gpus", "0")
    assert p.returncode == 2 and "positive" in p.stderr


def test_combine_joins_a_crashed_and_a_resumed_run():
    det = SAMPLE_LOGS / "det_crash_resume"
    logs = sorted(det.glob("2026*/2026*.log"))
    p = report(*map(str, logs), "--combine", "--json")
    assert p.returncode == 0, p.stderr
    (run,) = json.loads(p.stdout)["runs"]
    assert run["first_iter"] == 10 and run["last_iter"] == 600 and run["status"] == "finished"
