"""Browser helpers for the Runs and Run page tests (reading metrics, grid cells, waiting on a condition)."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from tests.e2e.conftest import screenshot, wait_app_ready

T = TypeVar("T")
SLOW_S = 45.0


def open_app(page, server, path: str) -> None:
    response = page.goto(server.url + path)
    assert response is not None and response.status == 200, f"GET {path} -> {response and response.status}"
    wait_app_ready(page, 60_000)


def poll(fn: Callable[[], T], timeout_s: float = SLOW_S, interval_ms: int = 100, page=None) -> T:
    """``fn()`` until it is truthy (or the timeout: then its last value)."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = fn()
        if value or time.monotonic() > deadline:
            return value
        if page is not None:
            page.wait_for_timeout(interval_ms)
        else:
            time.sleep(interval_ms / 1000)


def metric(page, label: str) -> str | None:
    """The value of the ``st.metric`` whose label is ``label`` (None when absent)."""
    box = page.locator("[data-testid='stMetric']").filter(
        has=page.locator("[data-testid='stMetricLabel']", has_text=label))
    if not box.count():
        return None
    try:
        return box.first.locator("[data-testid='stMetricValue']").inner_text(timeout=2000).strip()
    except Exception:  # re-rendered while reading: try again later
        return None


def main_text(page) -> str:
    return page.locator("[data-testid='stMain']").inner_text()


def grid_column(page, frame_index: int, column: int) -> list[str]:
    """Texts of one column (0-based) of the ``frame_index``-th st.dataframe (Glide renders an accessible table
    once the canvas has focus)."""
    frame = page.locator("[data-testid='stDataFrame']").nth(frame_index)
    frame.locator("[data-testid='data-grid-canvas']").focus()
    cells = frame.locator(f"td[aria-colindex='{column + 1}']")
    cells.first.wait_for(state="attached")
    return [c.text_content() or "" for c in cells.all()]


def read_graphs(page, js: str) -> list[dict]:
    """``page.evaluate(js)``: what a script reads of the page's plotly graphs; [] while a graph is being replaced
    (the read then fails: the caller polls again)."""
    try:
        return page.evaluate(js)
    except Exception:  # noqa: BLE001 - a graph replaced while read
        return []


def copy_samples(root: Path, names, ignore: Callable | None = None) -> Path:
    """``root`` holding a copy of each sample log folder of ``names`` (``sample_logs/<name>``)."""
    import shutil

    from tests.conftest import SAMPLE_LOGS

    for name in names:
        shutil.copytree(SAMPLE_LOGS / name, root / name, ignore=ignore)
    return root


def wait_for_charts(page, count: int = 1) -> None:
    """Plotly has drawn at least ``count`` charts with a line trace."""
    page.locator(".js-plotly-plot .main-svg").first.wait_for(state="visible", timeout=60_000)
    poll(lambda: page.locator(".js-plotly-plot").count() >= count, page=page)
    page.locator(".js-plotly-plot .scatterlayer .trace path.js-line").first.wait_for(state="attached",
                                                                                      timeout=60_000)


def drag(page, plot: str, x0: float, x1: float) -> None:
    """A drag-zoom on the plotly chart ``plot`` (a CSS selector of its container) from fraction ``x0`` to ``x1``
    of its plot area's width."""
    box = page.locator(f"{plot} .nsewdrag").first.bounding_box()
    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + box["width"] * x0, y)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * (x0 + x1) / 2, y, steps=4)
    page.mouse.move(box["x"] + box["width"] * x1, y, steps=4)
    page.mouse.up()


def tall_screenshot(page, name: str, height: int = 2600) -> Path:
    """A screenshot of the whole page: Streamlit scrolls inside its main block, so grow the viewport first."""
    size = page.viewport_size or {"width": 1400, "height": 1000}
    page.set_viewport_size({"width": size["width"], "height": height})
    page.wait_for_timeout(700)  # plotly relayouts to the new size
    path = screenshot(page, name)
    page.set_viewport_size(size)
    return path
