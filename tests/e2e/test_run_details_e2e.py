"""The Run page draws its details (validation, audit, setup check, events, downloads) after its first chart (issue
12), in a real browser: a real ``streamlit run app.py`` over the sample logs and Debian's Chromium.

Sent with the charts, the details were rendered by Streamlit's frontend before it mounted the first chart; now
``run_view`` draws them in a fragment once the browser says the first chart is drawn. The page's own clock says
which came first: the chart's ``mmdash:drawn:*`` performance mark and the moment the details' heading entered the
page (a ``MutationObserver`` installed before the page loads). Nothing is timed against a deadline.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import parse_qs, quote, urlsplit

import pytest

from tests.conftest import SAMPLE_LOGS
from tests.e2e.conftest import start_streamlit, wait_app_ready
from tests.e2e.page_helpers import main_text, open_app

pytestmark = pytest.mark.browser

LLM_ID = "sample_logs/llm_sft_len_grouped/20260314_090000/20260314_090000.log"
SLOW_MS = 90_000
HEADING = "Iteration audit: why N is what it is"

_WATCH_DETAILS = """
window.__mmdashDetailsAt = null;
new MutationObserver(() => {
  if (window.__mmdashDetailsAt !== null) return;
  const main = document.querySelector("[data-testid='stMain']");
  if (main && main.textContent.includes(HEADING)) window.__mmdashDetailsAt = performance.now();
}).observe(document, {childList: true, subtree: true, characterData: true});
""".replace("HEADING", json.dumps(HEADING))

_TIMES = """() => ({details: window.__mmdashDetailsAt,
  drawn: performance.getEntriesByType("mark").filter(m => m.name.startsWith("mmdash:drawn:")).map(m => m.startTime)})"""


@pytest.fixture(scope="module")
def server():
    s = start_streamlit([SAMPLE_LOGS])
    yield s
    s.stop()


def test_the_details_come_after_the_first_chart_and_keep_the_setup_check_in_the_url(page, server, page_errors):
    page.add_init_script(_WATCH_DETAILS)
    open_app(page, server, f"/run?run={quote(LLM_ID)}")
    page.get_by_text(HEADING).wait_for(timeout=SLOW_MS)
    times = page.evaluate(_TIMES)
    assert times["drawn"], "no chart was drawn"
    assert times["details"] is not None and times["details"] >= min(times["drawn"]), times

    # Everything of the details is there, once.
    page.get_by_text("This setup gives N = 3672: what the log says.").wait_for(timeout=SLOW_MS)
    page.get_by_role("button", name="Run report (HTML, charts included)").wait_for(timeout=SLOW_MS)  # the last
    text = main_text(page)
    for needle in ("Check the setup you believe you ran", "Events", "Downloads"):
        assert text.count(needle) == 1, needle
    for name in ("Records (Parquet)", "Run report (Markdown)", "Run report (HTML, charts included)"):
        assert page.get_by_role("button", name=name).count() == 1, name
    with page.expect_download(timeout=SLOW_MS) as info:  # made when clicked, from the details' fragment
        page.get_by_role("button", name="Records (CSV)").click()
    assert info.value.suggested_filename == "20260314_090000.records.csv"
    assert Path(info.value.path()).read_text().count("\n") == 368  # the header and 367 train records

    # A change of the setup check reruns the details (a fragment): the verdict and the URL follow.
    box = page.get_by_label("GPUs (processes)", exact=True)
    box.fill("4")
    box.press("Enter")
    page.wait_for_url(re.compile(r"gpus=4"), timeout=SLOW_MS)
    page.get_by_text("This setup gives N = 936, but the log says N = 3672.").wait_for(timeout=SLOW_MS)
    query = parse_qs(urlsplit(page.url).query)
    assert query["run"] == [LLM_ID] and query["gpus"] == ["4"] and "dataset_size" not in query

    # The link opens the same check (its details drawn after its chart again).
    url = page.url
    page.goto(url)
    wait_app_ready(page, timeout_ms=SLOW_MS)
    page.get_by_text("This setup gives N = 936, but the log says N = 3672.").wait_for(timeout=SLOW_MS)
    assert page.get_by_label("GPUs (processes)", exact=True).input_value() == "4"
    assert parse_qs(urlsplit(page.url).query)["gpus"] == ["4"]
    assert page_errors == []
