"""The HTML report opened from a ``file://`` URL in Chromium with the network blocked (issue 15): every chart is
drawn, and a log line with ``<script>`` stays text (no dialog, no script of the log runs)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT, SAMPLE_LOGS
from tests.test_html_report import HOSTILE_LINE, HOSTILE_NAME, LLM

CHART = ".chart .plotly-graph-div"


def open_offline(page, path: Path) -> list[str]:
    """Open ``path`` with every request that is not ``file://`` aborted; returns the URLs that were tried."""
    tried: list[str] = []

    def route(r):
        if r.request.url.startswith("file://"):
            r.continue_()
        else:
            tried.append(r.request.url)
            r.abort()

    page.context.route("**/*", route)
    page.goto(path.as_uri())
    return tried


def test_report_from_file_draws_every_chart_offline_and_log_text_stays_text(page, tmp_path: Path):
    log = tmp_path / HOSTILE_NAME
    log.write_bytes(LLM.read_bytes() + HOSTILE_LINE.encode())
    out = tmp_path / "report.html"
    p = subprocess.run([sys.executable, "-m", "dashboard", "report", str(log), "--html", str(out)], cwd=ROOT,
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    tried = open_offline(page, out)
    charts = page.locator(CHART)
    n = charts.count()
    assert n >= 4
    # plotly draws each chart into an SVG with its traces; wait for every one (a generous deadline, no timing)
    page.wait_for_function(
        "n => [...document.querySelectorAll('.chart .plotly-graph-div')]"
        ".filter(d => d.querySelector('svg.main-svg .scatterlayer .trace')).length === n", arg=n, timeout=60_000)
    # an epoch line is drawn in the charts (layout shapes), the title says which run
    assert page.locator(".chart .shapelayer path").count() > 0
    text = page.inner_text("body")
    assert "<script>alert('xss')</script>" in text  # the log line, shown as its characters
    assert f"Run report: {log}" in text
    assert page.locator("img").count() == 0
    assert dialogs == [] and tried == []
    # zoom works offline too: plotly's modebar is there
    assert page.locator(".modebar").count() >= n


def test_the_cdn_report_needs_the_network_and_says_nothing_else_is_fetched(page, tmp_path: Path):
    out = tmp_path / "cdn.html"
    log = SAMPLE_LOGS / "cls_epoch_val" / "20260315_140000" / "20260315_140000.log"
    p = subprocess.run([sys.executable, "-m", "dashboard", "report", str(log), "--html", str(out), "--plotly-js",
                        "cdn"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    tried = open_offline(page, out)
    page.wait_for_load_state("load")
    assert len(tried) == 1 and tried[0].startswith("https://cdn.plot.ly/plotly-")  # plotly.js only
    assert page.locator(".chart svg.main-svg").count() == 0  # offline, a linked plotly.js draws nothing
