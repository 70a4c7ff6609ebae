"""`python -m dashboard report` as a real subprocess: its output is a contract."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from .conftest import NO_CORPUS, ROOT, SAMPLE_LOGS, SHARED_LOGS, corpus_params

REQUIRED = ("train_records", "val_records", "first_iter", "last_iter", "max_iters", "max_epochs", "iters_per_epoch",
            "epoch_ends", "world_size", "batch_size", "accumulative_counts", "optimizer_updates", "resumed_from_iter",
            "first_nonfinite_iter", "status", "started_at", "ended_at", "wall_seconds", "compute_seconds",
            "median_iter_seconds", "samples_per_second", "eta_seconds", "finish_at", "audit")
LLM = SAMPLE_LOGS / "llm_sft_len_grouped" / "20260314_090000" / "20260314_090000.log"
CLS = SAMPLE_LOGS / "cls_epoch_val" / "20260315_140000" / "20260315_140000.log"
NAN = SAMPLE_LOGS / "seg_nan_loss" / "20260318_132000" / "20260318_132000.log"

# Report lines that hold only our own numbers (no log text): terminal, then Markdown.
OUR_NUMBER_LINES = ("  progress ", "  time ", "  eta ", "  throughput ", "  setup ",
                    "| Iterations n/N |", "| Optimizer updates |", "| N in the log |", "- Progress:",
                    "- Seconds per iteration:", "- Wall time ", "- Data loading share:", "- Peak memory:", "Finish")


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
        else:  # the lines of our own numbers write an unknown as the formatting module's dash
            ours = [ln for ln in out.splitlines() if ln.startswith(OUR_NUMBER_LINES)]
            assert ours
            assert not [ln for ln in ours if "None" in ln or "unknown" in ln or "nan" in ln], ours


def test_markdown_report_sections_and_escaped_log_text():
    p = report(str(LLM), "--markdown")
    assert p.returncode == 0
    for section in ("### Setup", "### Iteration arithmetic", "### Epoch timeline", "### Efficiency", "### Health"):
        assert section in p.stdout
    assert "| 1 | 1–1224 |" in p.stdout


# Numbers, durations, rates, times and unknowns as dashboard.views.formatting writes them (as on the pages).
def test_terminal_report_lines_use_the_formatting_module():
    p = report(str(LLM))
    assert p.returncode == 0, p.stderr
    assert p.stdout.splitlines()[1:6] == [
        "  progress   iter 3670/3672 (99.9 %), epoch 3/3",
        "  time       elapsed 12h 30m, compute 12h 29m, s/iter median 11.8, p90 14.2",
        "  eta        0s -> 2026-03-14 21:30 (MMEngine's logged eta: 24s -> 2026-03-14 21:30)",
        "  throughput samples/s 0.089, updates/s 0.0111",
        "  setup      world size 1, batch 1, accumulation 8, dataset 1,220, optimizer updates 459",
    ]


def test_terminal_report_unknowns_are_the_dash_and_rates_keep_their_names():
    header_only = SHARED_LOGS / "mmdet3-rtmdet-header-only-no-iters.log"
    if not header_only.exists():
        pytest.skip(NO_CORPUS)
    p = report(str(header_only))
    assert p.returncode == 0, p.stderr
    assert p.stdout.splitlines()[1:6] == [
        "  progress   iter —",
        "  time       elapsed 10s, compute —, s/iter median —, p90 —",  # its header's lines span 10 s
        "  eta        — -> — (MMEngine's logged eta: — -> —)",
        "  throughput samples/s —, updates/s —",
        "  setup      world size 1, batch 8, accumulation 1, dataset —, optimizer updates —",
    ]


def test_terminal_report_warnings_and_validation_values():
    p = report(str(CLS))
    assert p.returncode == 0, p.stderr
    val = [ln for ln in p.stdout.splitlines() if ln.startswith("  val ")]
    assert val == ["  val        accuracy/top1=77.2, accuracy/top5=98.4"]
    p = report(str(NAN))
    assert "  warning    NaN/inf first at iteration 200 (loss, decode.loss_ce, aux.loss_ce)" in p.stdout.splitlines()


def test_markdown_report_lines_use_the_formatting_module():
    p = report(str(LLM), "--markdown")
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    for expected in (
        "| dataset size L | 1,220 | log: Num train samples 1220 |",  # the Run page's setup rows
        "| N in the log | 3,672 |", "| N the setup gives | 3,672 |", "| consistent | yes |",  # its audit rows
        "| Optimizer updates | 458/459 |", "| Elapsed | 12h 30m |", "| ETA | — |",  # its header tiles
        "Finish: none (finished: only a running run has an ETA)",
        "| 1 | 1–1224 | 2026-03-14 09:04 | 2026-03-14 13:10 |",
        "- Progress: 3670/3672 (99.9 %)",
        "- Seconds per iteration: median 11.8, p90 14.2, recent 11.2",
        "- Wall time 12h 30m vs compute time 12h 29m (gap 1m 24s: validation, checkpoints, restarts)",
        "- Data loading share: 0.1 %",
        "- Peak memory: —",
        "| 312 | 2026-03-14 12:26:58 | checkpoint | 1000 | Saving checkpoint at 1000 iterations |",  # its events
    ):
        assert expected in lines
    p = report(str(CLS), "--markdown")
    assert "| accuracy/top1 | 77.2 | 77.6 | 5 |" in p.stdout.splitlines()


def test_report_does_not_import_pandas():
    # pandas costs a report a quarter of a second of start-up; the analysis smooths without it.
    code = ("import sys; from dashboard.cli.main import main; main(['report', sys.argv[1], '--json']); "
            "sys.exit(3 if 'pandas' in sys.modules else 0)")
    p = subprocess.run([sys.executable, "-c", code, str(LLM)], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, f"exit {p.returncode} (3: pandas was imported) {p.stderr}"


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


@pytest.mark.parametrize(("text", "shown"), [
    ("mmengine_cpu/sa2va_clock.log", "mmengine_cpu/sa2va_clock.log"),  # nothing Markdown would read
    ("(Saving checkpoint at 500 iterations)", "(Saving checkpoint at 500 iterations)"),
    ("<script>alert(1)</script>", "\\<script\\>alert(1)\\</script\\>"),
    ("[x](javascript:alert(1))", "\\[x\\](javascript:alert(1))"),
    ("**bold** _em_ a_b", "\\*\\*bold\\*\\* \\_em\\_ a_b"),
    ("&lt; | ~~s~~ `code` back\\slash", "\\&lt; \\| \\~\\~s\\~\\~ \\`code\\` back\\\\slash"),
    ("line one\nline two", "line one line two"),
])
def test_markdown_escapes_only_what_markdown_would_read(text, shown):
    """Log text stays inert, and readable: only characters that would start Markdown or HTML mid-line are
    escaped (issue 11 item 17: the report wrote mmengine\\_cpu/sa2va\\_clock\\.log and \\(Saving checkpoint\\))."""
    from dashboard.reports.markdown import md_escape

    assert md_escape(text) == shown


def test_the_terminal_audit_is_short_lines():
    p = report(str(LLM), "--gpus", "4")
    lines = [ln for ln in p.stdout.splitlines() if ln.startswith("  audit      ") or ln.startswith("             ")]
    assert len(lines) > 3 and all(len(ln) <= 100 for ln in lines)
    assert " ".join(ln[13:] for ln in lines).startswith("The log says N = 3672, but 1220 samples, batch 1, 4 GPUs")


def test_each_subcommand_imports_only_its_own_module():
    """``python -m dashboard`` lists every subcommand, and running one imports its module alone (``report`` does
    not import the watcher that ``tail`` needs)."""
    from dashboard.cli.main import COMMANDS

    top = subprocess.run([sys.executable, "-m", "dashboard", "--help"], cwd=ROOT, capture_output=True, text=True,
                         timeout=120)
    assert top.returncode == 0 and all(name in top.stdout for name in COMMANDS)
    modules = [module for module, _ in COMMANDS.values()] + ["dashboard.live.watcher"]
    code = ("import sys; from dashboard.cli.main import main; code = main(sys.argv[2:]); "
            "print(sorted(m for m in sys.argv[1].split(',') if m in sys.modules))")
    p = subprocess.run([sys.executable, "-c", code, ",".join(modules), "report", str(CLS), "--json"], cwd=ROOT,
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    assert p.stdout.splitlines()[-1] == "['dashboard.cli.report']"
    for name in COMMANDS:
        h = subprocess.run([sys.executable, "-m", "dashboard", name, "--help"], cwd=ROOT, capture_output=True,
                           text=True, timeout=120)
        assert h.returncode == 0 and h.stdout.startswith(f"usage: python -m dashboard {name}"), h.stderr


def test_json_report_projects_a_cut_copy_of_a_log(tmp_path):
    """A copy of a log taken mid-run is not growing, yet the run goes on: ``projected_*`` give the estimate as of
    its last record, with the band around it, within 3% of when the real run ended (issue 17)."""
    import datetime as dt

    lines = LLM.read_bytes().split(b"\n")
    cut = next(i for i, ln in enumerate(lines) if b"Iter(train) [1840/3672]" in ln)
    part = tmp_path / "cut.log"
    part.write_bytes(b"\n".join(lines[:cut + 1]) + b"\n")
    p = report(str(part), "--json")
    assert p.returncode == 0, p.stderr
    run = json.loads(p.stdout)["runs"][0]
    assert run["status"] == "stopped" and run["last_iter"] == 1840

    def at(iso: str) -> float:
        return dt.datetime.fromisoformat(iso).replace(tzinfo=dt.timezone.utc).timestamp()

    full = json.loads(report(str(LLM), "--json").stdout)["runs"][0]
    assert full["status"] == "finished" and full["projected_eta_seconds"] is None
    assert full["projected_finish_at"] is None
    real_end, last = at(full["ended_at"]), at(run["ended_at"])
    assert abs(at(run["projected_finish_at"]) - real_end) <= 0.03 * (real_end - last)
    assert run["projected_eta_seconds"] == pytest.approx(at(run["projected_finish_at"]) - last, abs=1)
    assert (at(run["projected_finish_low_at"]) <= at(run["projected_finish_at"])
            <= at(run["projected_finish_high_at"]))
    assert run["projected_eta_low_seconds"] <= run["projected_eta_seconds"] <= run["projected_eta_high_seconds"]
    parts = run["eta_parts"]
    assert parts["iterations_left"] == 1832 and parts["checkpoints_left"] == 3  # 2000, 3000 and the last
    assert parts["checkpoint_seconds"] > 0 and "3 checkpoint save(s) x" in run["eta_method"]
    # eta_seconds / finish_at keep their meaning (the estimate of a run that has not finished)
    assert run["finish_at"] == run["projected_finish_at"]
