"""The charts' plotly.js in the browser (``dashboard.charts.plotly_js``, served by ``dashboard.ui.server``): the
Run page loads the bundle the server chose (the basic bundle when ``npm ci`` installed it) from the dashboard's own
route, once, draws its charts with it, and a second page in the same browser takes it from the browser's cache;
the Runs page's watcher panel says which bundle is served."""

from __future__ import annotations

import re
from urllib.parse import quote

import pytest

from dashboard.charts.plotly_js import served
from tests.e2e.conftest import SYNTHETIC_ID, start_streamlit, synthetic_log
from tests.e2e.page_helpers import main_text, poll, wait_for_charts
from tests.e2e.test_browser_smoke import open_app
from tests.e2e.test_server_parts import plotly_path
from tests.test_html_report import LLM

pytestmark = pytest.mark.browser

_LOADED = """() => ({
  scripts: [...document.querySelectorAll('script[src]')].map(s => s.src).filter(u => u.includes('plotly')),
  fetched: performance.getEntriesByType('resource').map(e => e.name).filter(u => u.includes('plotly')),
  version: window.Plotly ? window.Plotly.version : null,
  types: window.Plotly ? Object.keys(window.Plotly.PlotSchema.get().traces).sort() : [],
})"""


def test_the_run_page_draws_its_charts_with_the_served_bundle(page, app_server):
    js = served()
    open_app(page, app_server, "/run?run=" + quote(SYNTHETIC_ID))
    wait_for_charts(page, 2)
    got = page.evaluate(_LOADED)
    want = app_server.url + plotly_path()
    assert got["scripts"] == [want]  # one script element for every chart of the page
    assert got["fetched"] == [want]  # once (the page's loader and every chart share it), nothing else of plotly's
    assert got["version"] == js.version
    if js.kind == "basic":  # scatter, bar, pie only: the 1.1 MB bundle, not the 4.9 MB one
        assert js.name == "plotly-basic.min.js"
        assert "scatter" in got["types"] and "heatmap" not in got["types"] and "scatter3d" not in got["types"]
    r = page.request.get(want)
    assert r.status == 200 and "javascript" in r.headers["content-type"]
    assert r.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert r.body() == js.path.read_bytes()
    # another page in the same browser: plotly.js from the browser's cache (nothing transferred), charts drawn
    open_app(page, app_server, "/run?run=" + quote(SYNTHETIC_ID) + "&smoothing=0.3")
    wait_for_charts(page, 2)
    again = page.evaluate("(u) => performance.getEntriesByType('resource').filter(e => e.name === u)"
                          ".map(e => e.transferSize)", want)
    assert again and all(size == 0 for size in again), again
    # the drawn chart is plotly's: a line path per scatter trace
    assert page.locator("[class*='st-key-chart_'] .js-plotly-plot .scatterlayer .trace path.js-line").count() >= 2


def test_a_run_page_waiting_for_its_log_loads_plotly_before_any_chart(page, tmp_path):
    """``preload_plotly`` comes before the run's model: while the page waits (here for a log started over to hold a
    run again; on a big log for its first read) the browser already loads plotly.js, and the charts that come later
    use that copy."""
    root = tmp_path / "wait"
    (root / "run").mkdir(parents=True)
    log = root / "run" / "20250101_000000.log"
    log.write_text(synthetic_log())
    server = start_streamlit([root])
    url = "/run?run=" + quote("wait/run/20250101_000000.log")
    waiting = page.context.browser.new_context().new_page()  # a browser of its own: nothing of plotly.js in it
    try:
        open_app(page, server, url)
        wait_for_charts(page, 2)  # the log is followed
        log.write_bytes(b"")  # started over: no run in it until its first lines come

        def no_run_yet() -> bool:
            open_app(waiting, server, url)
            return poll(lambda: "holds no training run yet" in main_text(waiting), timeout_s=5, page=waiting)

        assert poll(no_run_yet, timeout_s=60), main_text(waiting)
        version = poll(lambda: waiting.evaluate("() => window.Plotly ? window.Plotly.version : null"), page=waiting)
        assert version == served().version  # loaded with no chart on the page
        assert waiting.locator(".js-plotly-plot").count() == 0
        log.write_text(synthetic_log())
        wait_for_charts(waiting, 2)
        assert waiting.evaluate(_LOADED)["fetched"] == [server.url + plotly_path()]  # the loader's copy, once
    finally:
        waiting.context.close()
        server.stop()


def test_the_watcher_panel_says_which_bundle_is_served(page, app_server):
    open_app(page, app_server, "/")
    page.get_by_text("Log roots and watcher").click()
    note = served().note
    assert poll(lambda: note in "\n".join(page.locator("[data-testid='stText']").all_inner_texts()), page=page)


@pytest.fixture(scope="module")
def feature_server(tmp_path_factory):
    """The sample xtuner run (three epochs, checkpoints) with one loss of 100 in it: epoch lines, checkpoint ticks,
    an outlier clipped to the edge."""
    root = tmp_path_factory.mktemp("bundle") / "feat"
    (root / "spike").mkdir(parents=True)
    text = LLM.read_text()
    line = next(ln for ln in text.splitlines() if "Iter(train) [ 500/" in ln)
    (root / "spike" / "run.log").write_text(text.replace(line, re.sub(r"loss: [0-9.]+", "loss: 100.0000", line)))
    server = start_streamlit([root])
    yield server
    server.stop()


_CHART = """(key) => { const gd = document.querySelector(`.st-key-chart_${key} .js-plotly-plot`);
  return gd && gd._fullLayout ? { yaxis: gd._fullLayout.yaxis.type, shapes: (gd._fullLayout.shapes || []).length,
    symbols: gd._fullData.map(t => String(t.marker && t.marker.symbol)),
    lines: gd.querySelectorAll('path.js-line').length } : null; }"""


def test_every_chart_feature_draws_with_the_served_bundle(page, feature_server):
    """Epoch lines and checkpoint ticks (layout shapes), the outlier clipped as a triangle on the edge, a log y axis
    per chart, and the modebar's PNG download with its file name: all drawn by the bundle the server chose."""
    open_app(page, feature_server, "/run?run=" + quote("feat/spike/run.log") + "&log=lr")
    wait_for_charts(page, 2)
    losses = poll(lambda: page.evaluate(_CHART, "losses"), page=page)
    lr = poll(lambda: page.evaluate(_CHART, "lr"), page=page)
    assert losses and lr, (losses, lr)
    assert losses["lines"] >= 1 and losses["shapes"] >= 2  # epoch lines, checkpoint ticks
    assert any("triangle" in s for s in losses["symbols"]), losses["symbols"]  # the spike of 100, clipped
    assert losses["yaxis"] == "linear" and lr["yaxis"] == "log"
    chart = page.locator(".st-key-chart_losses .js-plotly-plot")
    chart.hover()
    with page.expect_download(timeout=60_000) as got:
        chart.locator(".modebar-btn[data-title='Download plot as a PNG']").click()
    name = got.value.suggested_filename
    assert re.fullmatch(r"run\.losses\.by-[a-z_]+\.png", name), name
    assert got.value.path().read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert page.evaluate("() => window.Plotly.version") == served().version
