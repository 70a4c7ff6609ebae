"""The self-contained HTML report (issue 15): ``python -m dashboard report --html`` as a real subprocess, and
``dashboard.reports.html`` on hostile logs. The browser side (file://, network blocked) is
``tests/e2e/test_html_report_e2e.py``."""

from __future__ import annotations

import html
import re
import subprocess
import sys
from pathlib import Path

import pytest

from dashboard.reports.html import html_report
from dashboard.views.run_model import RunSource, build_run_model
from parsers import parse_bytes
from tests.test_figure_text import scalars_json

from .conftest import ROOT, SAMPLE_LOGS

LLM = SAMPLE_LOGS / "llm_sft_len_grouped" / "20260314_090000" / "20260314_090000.log"
DET = sorted((SAMPLE_LOGS / "det_crash_resume").glob("*/*.log"))
HOSTILE_LINE = ("2026/03/14 21:30:00 - mmengine - WARNING - <script>alert('xss')</script> </script><img src=x "
                "onerror=alert(2)> \"quoted\" [x](javascript:alert(3))\n")
HOSTILE_NAME = "<img src=x onerror=alert(4)> &amp; <b>run.log"  # a file name may hold markup too
MAX_BYTES = 5_000_000  # "under 5 MB" with plotly.js embedded


def report(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "dashboard", "report", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)


def scripts(doc: str) -> list[str]:
    return re.findall(r"<script\b[^>]*>(.*?)</script>", doc, re.S)


def chart_calls(doc: str) -> int:
    return len(re.findall(r"<script>Plotly\.newPlot\(", doc))


def test_cli_writes_one_file_under_5_mb_with_plotly_embedded_and_every_chart(tmp_path: Path):
    out = tmp_path / "llm.html"
    p = report(str(LLM), "--html", str(out))
    assert p.returncode == 0, p.stderr
    size = out.stat().st_size
    assert p.stdout.strip() == f"wrote {out}: {size:,} bytes, 1 run(s)"
    assert size < MAX_BYTES
    doc = out.read_text()
    assert "src=" not in "".join(re.findall(r"<script\b[^>]*>", doc))  # nothing is fetched
    from dashboard.charts.plotly_js import served

    js = served()
    assert doc.count(js.path.read_text(encoding="utf-8")[:2000]) == 1  # the pages' plotly.js embedded, once
    if js.kind == "basic":  # npm ci installed plotly.js's basic bundle: 1.1 MB instead of the full 4.9 MB
        assert size < 1_500_000
    # the Run page's default charts: losses, learning rate, time, memory (and grad_norm when logged)
    assert chart_calls(doc) >= 4
    assert doc.count('class="tile"') >= 10
    for heading in ("Iteration audit", "Setup", "Epoch timeline", "Efficiency", "Health", "Events"):
        assert f"<h3>{heading}" in doc
    assert "Iter(train)" not in doc or "3672" in doc
    assert "3672" in doc  # N, from the log, in the tiles and the audit
    assert "epoch_end" in doc  # the epoch lines are shapes of the charts


def test_cdn_flag_makes_a_small_file_that_links_plotly(tmp_path: Path):
    out = tmp_path / "llm.html"
    p = report(str(LLM), "--html", str(out), "--plotly-js", "cdn")
    assert p.returncode == 0, p.stderr
    doc = out.read_text()
    from plotly.offline import get_plotlyjs_version

    assert out.stat().st_size < 300_000
    assert f'src="https://cdn.plot.ly/plotly-{get_plotlyjs_version()}.min.js"' in doc
    assert chart_calls(doc) >= 4


def test_several_paths_are_one_file_with_every_run(tmp_path: Path):
    out = tmp_path / "det.html"
    p = report(*map(str, DET), "--html", str(out), "--plotly-js", "cdn")
    assert p.returncode == 0, p.stderr
    doc = out.read_text()
    assert doc.count('<section class="run"') == len(DET) == 2
    assert "crashed" in doc


def test_an_unwritable_output_is_one_error_line_and_exit_2(tmp_path: Path):
    p = report(str(LLM), "--html", str(tmp_path / "no" / "such" / "dir" / "x.html"))
    assert p.returncode == 2
    assert p.stderr.startswith("error: cannot write ") and p.stderr.count("\n") == 1


def test_html_and_markdown_are_one_choice():
    p = report(str(LLM), "--html", "x.html", "--markdown")
    assert p.returncode == 2


def _model(data: bytes, title: str):
    (run,) = parse_bytes(data).runs
    return build_run_model(run, RunSource("file", title, title, "x"), run_index=None, choices=[(None, "run")])


def test_log_text_stays_text_in_the_document():
    data = LLM.read_bytes() + HOSTILE_LINE.encode()
    doc = html_report(HOSTILE_NAME, [_model(data, HOSTILE_NAME)], plotly_js="cdn")
    # The only tags are ours: no script or image from the log, escaped where it is written.
    assert "<script>alert" not in doc and "<img" not in doc and "</script><img" not in doc
    assert html.escape("<script>alert('xss')</script>", quote=True) in doc  # the event text, as text
    assert f"<h1>Run report: {html.escape(HOSTILE_NAME, quote=True)}</h1>" in doc
    assert len(re.findall(r"<script\b", doc)) == 2 + chart_calls(doc)  # plotly.js, the templates, each chart
    assert not any("alert(" in body or "<" in body for body in scripts(doc))  # no log text in a script


def test_metric_names_in_charts_are_escaped_for_plotly_and_cannot_close_the_script():
    doc = html_report("scalars.json", [_model(scalars_json(), "scalars.json")], plotly_js="cdn")
    calls = [b for b in scripts(doc) if b.startswith("Plotly.newPlot(")]
    assert calls
    joined = "".join(calls)
    # plotly's JSON writes < > / as \\u escapes: a name cannot end the <script> it is in
    assert "</" not in joined and "<" not in joined
    # and plotly is handed the entity-escaped names (plotly_text), so it draws the characters, not markup
    assert "&lt;img src=x onerror=alert(1)&gt;acc" in joined  # EVAL, in its chart's title
    assert "&lt;b&gt;tokens_per_sec&lt;\\u002fb&gt;" in joined  # THROUGHPUT, its chart's title and trace name


@pytest.mark.parametrize("bad", ["svg", ""])
def test_plotly_js_must_be_inline_or_cdn(bad: str):
    with pytest.raises(ValueError):
        html_report("x", [], plotly_js=bad)


def test_a_log_without_runs_is_a_page_that_says_so():
    doc = html_report("empty.log", [], plotly_js="cdn")
    assert "No training run was found" in doc and chart_calls(doc) == 0


def test_a_gpu_log_beside_the_log_is_in_the_report_with_its_charts(tmp_path: Path):
    import datetime as dt
    import shutil

    from tools.gen_logs.gpu import write_gpu_log

    d = tmp_path / "work_dir" / "20260314_090000"
    d.mkdir(parents=True)
    shutil.copy(LLM, d / LLM.name)
    write_gpu_log(d / "gpu.csv", dt.datetime(2026, 3, 14, 8, 59), 9000, interval=5, gpus=4, busy=(0,))
    out = tmp_path / "gpu.html"
    p = report(str(d / LLM.name), "--html", str(out), "--plotly-js", "cdn")
    assert p.returncode == 0, p.stderr
    doc = out.read_text()
    assert "<h3>GPUs</h3>" in doc and "3 of 4 GPUs sat idle" in doc
    assert len(re.findall(r'id="chart-0-gpu-', doc)) >= 1  # the per-GPU charts, drawn like the run's
    without = tmp_path / "plain.html"
    assert report(str(LLM), "--html", str(without), "--plotly-js", "cdn").returncode == 0
    assert "<h3>GPUs</h3>" not in without.read_text()
