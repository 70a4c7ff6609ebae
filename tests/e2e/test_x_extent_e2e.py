"""Unzoomed, every chart of the Run page shows the same x range, the run's extent, in a real browser (issue 12).

A real ``streamlit run app.py`` over a root holding two sample logs, and Debian's Chromium. The range is read from
each plotly graph (``gd._fullLayout.xaxis.range``, in plotly's linear units: milliseconds on a date axis). Before,
plotly padded an axis by 5 % where a trace had markers (checkpoint ticks, nan/inf crosses, validation points) and
a validation chart spanned only its own points: cls_epoch_val's loss chart showed about -4.5 to 314.5, its
validation charts 37.5 to 312.5, the time chart 10 to 300.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from urllib.parse import parse_qs, quote, urlsplit

import pytest

from tests.conftest import SAMPLE_LOGS
from tests.e2e.conftest import start_streamlit
from tests.e2e.page_helpers import copy_samples, drag, open_app, poll, read_graphs, tall_screenshot, wait_for_charts
from tests.helpers import append, train_line

pytestmark = pytest.mark.browser

LABEL = "xr"
CLS = f"{LABEL}/cls_epoch_val/20260315_140000/20260315_140000.log"
LLM = f"{LABEL}/llm_sft_len_grouped/20260314_090000/20260314_090000.log"
GROWING = f"{LABEL}/growing/20250101_000000.log"
DEADLINE_S = 90.0


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = copy_samples(tmp_path_factory.mktemp("xr") / LABEL, ("cls_epoch_val", "llm_sft_len_grouped"))
    grow = root / Path(GROWING).relative_to(LABEL)
    grow.parent.mkdir()
    grow.write_bytes(b"".join(train_line(i, 2000) for i in range(10, 601, 10)))
    s = start_streamlit([root], extra_env={"MMDASH_DEMO": "0"})
    yield s
    s.stop()


_RANGES_JS = """() => Array.from(document.querySelectorAll("[class*='st-key-chart_'] .js-plotly-plot")).map(gd => {
  const key = Array.from(gd.closest("[class*='st-key-chart_']").classList).find(c => c.startsWith("st-key-chart_"));
  const ax = gd._fullLayout.xaxis;
  return {key: key.slice("st-key-chart_".length), range: ax.range.map(v => ax.r2l(v)), type: ax.type};
})"""


def ranges(page) -> list[dict]:
    return read_graphs(page, _RANGES_JS)


def all_at(page, lo: float, hi: float, keys: set[str]) -> list[dict] | None:
    """Every chart of ``keys`` drawn, each with the x range ``[lo, hi]`` (to a millionth of the span), or None."""
    now = ranges(page)
    if not keys <= {c["key"] for c in now}:
        return None
    tol = (hi - lo) * 1e-6
    return now if all(abs(c["range"][0] - lo) <= tol and abs(c["range"][1] - hi) <= tol for c in now) else None


def double_click(page, key: str) -> None:
    drag_layer = page.locator(f".st-key-chart_{key} .nsewdrag").first
    drag_layer.scroll_into_view_if_needed()
    box = drag_layer.bounding_box()
    page.mouse.dblclick(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)


def test_every_chart_shows_the_runs_extent_and_a_double_click_returns_to_it(page, server):
    """cls_epoch_val by iteration: train records 10 to 300, validation results 50 to 300. Every chart (losses,
    lr, time, two validation charts) spans 10 to 300; after a drag-zoom and a double-click on a validation chart
    (plotly's autosize, and the page's reset), every chart spans 10 to 300 again."""
    keys = {"losses", "lr", "time", "eval-accuracy-top1", "eval-accuracy-top5"}  # as the CSS class spells them
    open_app(page, server, "/run?run=" + quote(CLS))
    wait_for_charts(page, 5)
    got = poll(lambda: all_at(page, 10, 300, keys), page=page, timeout_s=DEADLINE_S)
    assert got, ranges(page)
    tall_screenshot(page, "x_extent_cls")

    drag(page, ".st-key-chart_losses", 0.3, 0.6)
    assert poll(lambda: parse_qs(urlsplit(page.url).query).get("x_range"), page=page, timeout_s=DEADLINE_S), page.url
    zoomed = poll(lambda: (r := ranges(page)) and len({tuple(c["range"]) for c in r}) == 1 and r[0]["range"][0] > 10
                  and r, page=page, timeout_s=DEADLINE_S)
    assert zoomed, ranges(page)

    double_click(page, "eval-accuracy-top1")
    assert poll(lambda: "x_range" not in parse_qs(urlsplit(page.url).query), page=page, timeout_s=DEADLINE_S), page.url
    assert poll(lambda: all_at(page, 10, 300, keys), page=page, timeout_s=DEADLINE_S), ranges(page)


def test_on_the_wall_clock_every_chart_of_the_llm_sample_shows_the_same_range(page, server):
    """The LLM sample on the log clock: from its first record (09:04:45) to its last checkpoint (21:30:30.4, just
    after the last record); its loss chart has checkpoint ticks, its time chart none."""
    def ms(text: str) -> float:
        return dt.datetime.fromisoformat(text).replace(tzinfo=dt.timezone.utc).timestamp() * 1000

    lo, hi = ms("2026-03-14T09:04:45"), ms("2026-03-14T21:30:30.400")
    keys = {"losses", "lr", "time", "grad_norm"}
    open_app(page, server, "/run?run=" + quote(LLM) + "&x_axis=wall")
    wait_for_charts(page, 4)
    got = poll(lambda: all_at(page, lo, hi, keys), page=page, timeout_s=DEADLINE_S)
    assert got and all(c["type"] == "date" for c in got), ranges(page)
    double_click(page, "time")
    page.wait_for_timeout(1000)
    assert poll(lambda: all_at(page, lo, hi, keys), page=page, timeout_s=DEADLINE_S), ranges(page)
    tall_screenshot(page, "x_extent_llm_wall")


def test_unzoomed_every_chart_follows_the_run_as_it_grows(page, server):
    """A live run's extent grows with it: after an append every chart spans the run's new extent (the message
    carries the axis that changed, ``chart_stream``'s ``layout_patch``, which the browser applies on the graph)."""
    keys = {"losses", "lr", "time", "memory"}
    path = Path(server.roots[0]) / Path(GROWING).relative_to(LABEL)
    open_app(page, server, "/run?run=" + quote(GROWING))
    wait_for_charts(page, 4)
    assert poll(lambda: all_at(page, 10, 600, keys), page=page, timeout_s=DEADLINE_S), ranges(page)
    append(path, b"".join(train_line(i, 2000) for i in range(610, 801, 10)))
    assert poll(lambda: all_at(page, 10, 800, keys), page=page, timeout_s=DEADLINE_S), ranges(page)


def test_the_module_names_the_logs_it_serves():
    assert all((SAMPLE_LOGS / Path(rel).relative_to(LABEL)).is_file() for rel in (CLS, LLM))
