"""Smoke tests in a real browser: a real ``streamlit run app.py`` and Debian's Chromium.

Screenshots go to ``test-artifacts/`` (look at them when a test fails, or to review the pages).
"""

from __future__ import annotations

from urllib.parse import quote

import pytest

from tests.e2e.conftest import SECRET_MARKER, SYNTHETIC_ID, SYNTHETIC_PROGRESS, screenshot, wait_app_ready
from tests.e2e.page_helpers import metric, poll

pytestmark = pytest.mark.browser


@pytest.fixture
def page_errors(page):
    """JavaScript errors raised in the page during the test (there should be none)."""
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return errors


def open_app(page, server, path: str) -> None:
    response = page.goto(server.url + path)
    assert response is not None and response.status == 200, f"GET {path} -> {response and response.status}"
    wait_app_ready(page)


def grid_cells(page, column: int) -> list[str]:
    """Texts of one column of the first st.dataframe.

    The grid is drawn on a canvas; Glide Data Grid renders its accessible HTML table inside the
    canvas once the grid has focus, so we focus it and read that table.
    """
    canvas = page.locator("[data-testid='stDataFrame'] [data-testid='data-grid-canvas']").first
    canvas.focus()
    cells = page.locator(f"[data-testid='stDataFrame'] td[aria-colindex='{column + 1}']")
    cells.first.wait_for(state="attached")
    return [c.text_content() or "" for c in cells.all()]


def test_runs_page_lists_the_log_files(page, app_server, e2e_roots, page_errors):
    open_app(page, app_server, "/")
    assert page.get_by_role("heading", name="Runs").first.is_visible()
    names = grid_cells(page, 1)  # column 0 holds the links
    expected = {SYNTHETIC_ID, *(rid for rid, _ in e2e_roots.real)}
    assert expected <= set(names), names
    assert "e2e-logs/escape.log" not in names  # a symlink out of the root is not listed
    assert page.get_by_text(f"in {len(expected)} log files").is_visible()
    screenshot(page, "runs_page")
    assert page_errors == []


def _assert_run_page(page, progress: str) -> None:
    assert poll(lambda: metric(page, "Iterations n/N"), page=page) == progress
    chart = page.locator("[class*='st-key-chart_'] .js-plotly-plot")  # the Run page's charts (ui.live_chart)
    chart.first.wait_for(state="visible")
    page.locator(".js-plotly-plot .main-svg").first.wait_for(state="visible")
    # The loss line is drawn: plotly renders each scatter trace as a <g class="trace scatter"> with a path.
    page.locator(".js-plotly-plot .scatterlayer .trace path.js-line").first.wait_for(state="attached")
    assert page.locator(".js-plotly-plot .scatterlayer .trace").count() >= 2  # raw + smoothed


def test_run_page_shows_progress_and_a_rendered_plotly_chart(page, app_server, page_errors):
    open_app(page, app_server, "/run?run=" + quote(SYNTHETIC_ID))
    _assert_run_page(page, SYNTHETIC_PROGRESS)
    assert page.locator("[data-testid='stText']", has_text=SYNTHETIC_ID).first.is_visible()
    screenshot(page, "run_page_synthetic")
    assert page_errors == []


def test_run_page_of_a_real_log(page, app_server, e2e_roots, page_errors):
    if not e2e_roots.real:
        pytest.skip("../shared/real_logs is absent: only the synthetic log is served")
    run_id, progress = e2e_roots.real[-1]
    open_app(page, app_server, "/run?run=" + quote(run_id) + "&smoothing=0.8&log_y=1")
    _assert_run_page(page, progress)
    assert page.locator(".js-plotly-plot .yaxislayer-above text").count() > 0
    screenshot(page, "run_page_real_log")
    assert page_errors == []


@pytest.mark.parametrize(("name", "query"), [
    ("dotdot", "run=../../etc/passwd"),
    ("encoded", "run=%2e%2e%2fetc"),
    ("double_encoded", "run=e2e-logs%2F%252e%252e%2Foutside%2Fsecret.log"),
    ("into_outside", "run=e2e-logs%2F..%2Foutside%2Fsecret.log"),
    ("absolute", "run=%2Fetc%2Fpasswd"),
    ("symlink_escape", "run=e2e-logs/escape.log"),
    ("nul", "run=e2e-logs/x.log%00"),
])
def test_traversal_urls_are_refused_and_reveal_nothing(page, app_server, name, query, page_errors):
    open_app(page, app_server, "/run?" + query)
    body = page.locator("[data-testid='stMain']").inner_text()
    assert "Refused" in body and "Nothing was opened" in body
    assert SECRET_MARKER not in body and "root:x:0:0" not in body
    assert page.locator(".js-plotly-plot").count() == 0
    assert page.get_by_test_id("stMetricValue").count() == 0
    screenshot(page, f"refused_{name}")
    assert page_errors == []
