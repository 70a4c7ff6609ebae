"""The Run page's charts hold still while the run grows, and act as one instrument (issue 12), in a real browser.

A real ``streamlit run app.py`` over a root holding one growing log (written by the test, one train record a line)
and Debian's Chromium. What a person does is done with the mouse (drag on a chart, double-click, a legend click);
what the page shows is read from the plotly graphs themselves (``gd._fullLayout``, ``gd.data``) and the URL.

Each chart is one plotly graph for as long as the page shows it (``dashboard.ui.live_chart``): appended records
extend it in place. The tests mark the graph divs before an append and check that the same (marked) graphs, not
new ones, then hold the new record. Waits are for states, each with a generous deadline; nothing is timed.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, quote, urlsplit

import pytest

from tests.e2e.conftest import start_streamlit
from tests.e2e.page_helpers import drag as drag_plot
from tests.e2e.page_helpers import metric, open_app, poll, read_graphs, tall_screenshot, wait_for_charts
from tests.helpers import append, train_line

pytestmark = pytest.mark.browser

LABEL = "charts-e2e"
REL = "live/20250101_000000.log"
RUN_ID = f"{LABEL}/{REL}"
N = 2000
FIRST_LAST = 600  # the log holds iterations 10..600 when the page opens
DEADLINE_S = 90.0  # the charts rerun every 0.5 s (CHARTS_INTERVAL); a loaded machine takes much longer


def _lines(first: int, last: int) -> bytes:
    return b"".join(train_line(i, N) for i in range(first, last + 1, 10))


@pytest.fixture(scope="module")
def log_path(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("charts") / LABEL
    path = root / REL
    path.parent.mkdir(parents=True)
    path.write_bytes(_lines(10, FIRST_LAST))
    return path


@pytest.fixture(scope="module")
def server(log_path):
    s = start_streamlit([log_path.parents[1]], extra_env={"MMDASH_DEMO": "0"})
    yield s
    s.stop()


_CHARTS_JS = """() => Array.from(document.querySelectorAll("[class*='st-key-chart_'] .js-plotly-plot")).map(gd => {
  const key = Array.from(gd.closest("[class*='st-key-chart_']").classList).find(c => c.startsWith("st-key-chart_"));
  const xs = (gd.calcdata || []).flatMap(trace => trace.map(pt => Number(pt.x)).filter(Number.isFinite));
  return {key: key.slice("st-key-chart_".length), range: gd._fullLayout.xaxis.range.map(Number),
          maxX: Math.max(...xs), marked: gd.__mmdashOld === true,
          hidden: (gd.data || []).filter(t => t.visible === "legendonly").map(t => t.name)};
})"""


def charts(page) -> list[dict]:
    return read_graphs(page, _CHARTS_JS)


def mark_charts(page) -> None:
    page.evaluate("() => document.querySelectorAll('.js-plotly-plot').forEach(gd => { gd.__mmdashOld = true; })")


def url_query(page) -> dict[str, list[str]]:
    return parse_qs(urlsplit(page.url).query, keep_blank_values=True)


def drag(page, key: str, x0: float, x1: float) -> None:
    """A drag-zoom on chart ``key`` from fraction ``x0`` to ``x1`` of its plot area's width."""
    drag_plot(page, f".st-key-chart_{key}", x0, x1)


def grown_in_place(page, last_iter: int) -> list[dict] | None:
    """The train charts holding ``last_iter``, each on its marked graph (extended, not a new graph), or None."""
    now = charts(page)
    train = [c for c in now if c["key"] in ("losses", "lr", "time", "memory")]
    if len(train) < 4 or min(c["maxX"] for c in train) < last_iter:
        return None
    assert all(c["marked"] for c in now), f"a chart was drawn on a new graph: {now}"
    return now


def test_zoom_holds_across_appends_syncs_every_chart_follows_the_end_and_resets(page, server, log_path):
    open_app(page, server, "/run?run=" + quote(RUN_ID))
    wait_for_charts(page, 3)
    first = poll(lambda: len(charts(page)) >= 4 and charts(page), page=page)  # losses, lr, time, memory
    assert {c["key"] for c in first} >= {"losses", "lr", "time", "memory"}, first

    # 1. A drag-zoom on the loss chart: every chart shows that x range, and the URL holds it.
    drag(page, "losses", 0.3, 0.5)
    got = poll(lambda: url_query(page).get("x_range"), page=page, timeout_s=DEADLINE_S)
    assert got, page.url
    lo, hi = (float(v) for v in got[0].split(","))
    assert 100 < lo < hi < FIRST_LAST, got

    def synced():
        now = charts(page)
        return now if len(now) >= 4 and all(abs(c["range"][0] - lo) < 1e-6 and abs(c["range"][1] - hi) < 1e-6
                                             for c in now) else None

    assert poll(synced, page=page, timeout_s=DEADLINE_S), charts(page)
    page.wait_for_timeout(500)
    # A legend click on the time chart hides data_time; kept across the page's reruns and appends.
    page.locator(".st-key-chart_time .legend .traces", has_text="data_time").first.click()
    assert poll(lambda: any("data_time" in c["hidden"] for c in charts(page) if c["key"] == "time"), page=page,
                timeout_s=DEADLINE_S), charts(page)

    # 2. Records appended: the charts are drawn again with them, and the zoom is where the person left it.
    mark_charts(page)
    append(log_path, _lines(FIRST_LAST + 10, 700))
    # The window in the middle does not hold the new records (only one neighbour each side of it): the page's
    # line under the charts says what the data spans. Every chart is still the graph it was.
    main = page.locator("[data-testid='stMain']")
    assert poll(lambda: "to 700" in main.inner_text(), page=page, timeout_s=DEADLINE_S), main.inner_text()
    after = poll(synced, page=page, timeout_s=DEADLINE_S)
    assert after, charts(page)
    assert all(c["marked"] for c in after), after
    assert any("data_time" in c["hidden"] for c in after if c["key"] == "time"), after
    assert url_query(page)["x_range"] == got
    tall_screenshot(page, "charts_zoom_held")

    # 3. A double-click resets every chart to the whole run.
    box = page.locator(".st-key-chart_losses .nsewdrag").first.bounding_box()
    page.mouse.dblclick(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    assert poll(lambda: "x_range" not in url_query(page), page=page, timeout_s=DEADLINE_S), page.url
    whole = poll(lambda: (c := charts(page)) and all(x["range"][0] <= 10 and x["range"][1] >= 700 for x in c
                                                     if x["key"] in ("losses", "lr")) and c,
                 page=page, timeout_s=DEADLINE_S)
    assert whole, charts(page)

    # 4. A zoom that reaches the end of the data follows it: the URL's range is open ('low,') and new records
    #    appear on every train chart as they arrive.
    drag(page, "losses", 0.5, 0.999)
    follow = poll(lambda: (url_query(page).get("x_range") or [""])[0].endswith(",") and url_query(page)["x_range"],
                  page=page, timeout_s=DEADLINE_S)
    assert follow, page.url
    start = float(follow[0].rstrip(","))
    # The mouse rests on the loss chart: its hover label is shown, and shown again on the graph drawn next.
    box = page.locator(".st-key-chart_losses .nsewdrag").first.bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.5, steps=3)
    hover = ".st-key-chart_losses .hoverlayer > *"  # "x unified": one box for every trace
    assert poll(lambda: page.locator(hover).count() > 0, page=page), "no hover label"
    mark_charts(page)
    append(log_path, _lines(710, 800))
    grown = poll(lambda: grown_in_place(page, 800), page=page, timeout_s=DEADLINE_S)
    assert grown, charts(page)
    assert poll(lambda: page.locator(hover).count() > 0, page=page, timeout_s=5), "the hover label did not come back"
    train = [c for c in grown if c["key"] in ("losses", "lr", "time", "memory")]
    assert all(abs(c["range"][0] - start) < 1e-6 and abs(c["range"][1] - 800) < 1e-6 for c in train), train

    # 5. A copied link opens the same window.
    other = page.context.new_page()
    open_app(other, server, urlsplit(page.url).path + "?" + urlsplit(page.url).query)
    wait_for_charts(other, 3)
    assert poll(lambda: (c := charts(other)) and all(abs(x["range"][0] - start) < 1e-6 for x in c
                                                     if x["key"] in ("losses", "lr", "time", "memory")),
                page=other, timeout_s=DEADLINE_S), charts(other)
    other.close()


def test_rapid_arrow_keys_on_the_smoothing_slider_lose_no_step(page, server):
    open_app(page, server, "/run?run=" + quote(RUN_ID))  # live, as on the demo: timers rerun parts of the page
    wait_for_charts(page, 1)
    slider = page.locator("[data-testid='stSidebar'] [data-testid='stSlider'] input[type='range']").first
    assert slider.input_value() == "0.6"
    slider.focus()
    for _ in range(30):  # a person holding the key: a press every ~0.06 s, each asks for a rerun of the page
        page.keyboard.press("ArrowRight")
        page.wait_for_timeout(60)
    assert poll(lambda: url_query(page).get("smoothing") == ["0.9"], page=page, timeout_s=DEADLINE_S), page.url
    wait_for_charts(page, 1)
    page.wait_for_timeout(1500)  # nothing further arrives and undoes it
    assert slider.input_value() == "0.9" and url_query(page).get("smoothing") == ["0.9"]


def test_a_live_runs_records_download_holds_what_arrived_after_the_page_was_drawn(page, server, log_path):
    open_app(page, server, "/run?run=" + quote(RUN_ID))
    wait_for_charts(page, 1)
    last = int(metric(page, "Iterations n/N").split("/")[0])
    append(log_path, _lines(last + 10, last + 50))  # the header follows it; the page has no full run
    assert poll(lambda: metric(page, "Iterations n/N") == f"{last + 50}/{N}", page=page, timeout_s=DEADLINE_S)
    with page.expect_download() as got:
        page.get_by_role("button", name="Records (CSV)").click()
    rows = Path(got.value.path()).read_text().splitlines()
    header = rows[0].split(",")
    iters = [int(r.split(",")[header.index("iter")]) for r in rows[1:]]
    assert iters[-1] == last + 50 and got.value.suggested_filename.endswith(".records.csv")




def test_a_double_click_resets_to_the_whole_run_after_a_zoom_on_a_zoomed_link(page, server):
    """A copied link with a zoom (``x_range``), a drag to zoom further, a double-click: every chart shows the whole
    run and the URL has no range. A graph first drawn with a range keeps it as plotly's "initial" range, and plotly's
    own double-click ('reset+autosize') went back to it (the link's zoom), not to the whole run; so did a graph the
    page drew whole again under a zoom (a chart whose off-the-scale points come and go with the window)."""
    open_app(page, server, "/run?run=" + quote(RUN_ID) + "&x_range=100,400")
    wait_for_charts(page, 3)
    assert poll(lambda: len(c := charts(page)) >= 4 and all(x["range"] == [100, 400] for x in c), page=page,
                timeout_s=DEADLINE_S), charts(page)
    drag(page, "losses", 0.3, 0.6)
    def zoomed() -> float | None:
        r = url_query(page).get("x_range")
        lo = float(r[0].split(",")[0]) if r else None
        return lo if lo is not None and lo > 100 else None

    lo = poll(zoomed, page=page, timeout_s=DEADLINE_S)
    assert lo, page.url
    got = url_query(page)["x_range"]
    assert poll(lambda: all(abs(c["range"][0] - lo) < 1 for c in charts(page)), page=page,
                timeout_s=DEADLINE_S), charts(page)
    box = page.locator(".st-key-chart_losses .nsewdrag").first.bounding_box()
    page.mouse.dblclick(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    assert poll(lambda: "x_range" not in url_query(page), page=page, timeout_s=DEADLINE_S), (page.url, got)
    whole = poll(lambda: (c := charts(page)) and all(x["range"][0] <= 10 and x["range"][1] >= FIRST_LAST for x in c
                                                     if x["key"] in ("losses", "lr")) and c,
                 page=page, timeout_s=DEADLINE_S)
    assert whole, charts(page)
    page.wait_for_timeout(2000)  # and it stays so (no late relayout brings a zoom back)
    assert "x_range" not in url_query(page), page.url
