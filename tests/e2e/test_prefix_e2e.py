"""The app served under a path prefix, as behind a reverse proxy (issue 15): ``server.baseUrlPath = mmdash``. Every
page is opened under ``/mmdash/``, every link on it (navigation, page links, the Runs table's links, the permalink
of an upload) carries the prefix, and every one of them is followed and opens a page of the app."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest

from tests.conftest import SAMPLE_LOGS
from tests.e2e.conftest import start_streamlit, wait_app_ready
from tests.e2e.page_helpers import grid_column, poll, wait_for_charts
from tests.e2e.test_review_e2e import LLM, LLM_ID, SLOW_MS, goto, main_text, upload
from tests.e2e.test_runs_e2e import click_row

PREFIX = "/mmdash/"
TITLES = ("Runs", "Run", "Upload", "Compare", "Calculator")


@pytest.fixture(scope="module")
def prefixed_server(tmp_path_factory):
    server = start_streamlit([SAMPLE_LOGS], base_url_path="mmdash",
                             extra_env={"MMDASH_UPLOAD_DIR": str(tmp_path_factory.mktemp("uploads"))})
    yield server
    server.stop()


def app_links(page, origin: str) -> list[str]:
    """Every link of the page (``a[href]``, resolved, without a heading's ``#anchor``) to this server."""
    hrefs = page.eval_on_selector_all("a[href]", "els => els.map(e => e.href)")
    return sorted({h.split("#")[0] for h in hrefs if h.startswith(origin)})


def title(page) -> str:
    page.locator("[data-testid='stMain'] h1").first.wait_for(timeout=SLOW_MS)
    return page.locator("[data-testid='stMain'] h1").first.inner_text().strip()


def test_every_link_on_every_page_carries_the_prefix_and_opens_a_page(page, prefixed_server):
    server = prefixed_server
    origin = server.url.split(PREFIX.rstrip("/"))[0]
    assert server.url.endswith("/mmdash")
    starts = ["/", f"/run?run={LLM_ID}", "/upload", f"/compare?compare={LLM_ID}", f"/calculator?run={LLM_ID}"]
    found: dict[str, str] = {}
    for path in starts:
        goto(page, server.url + path)
        assert title(page) in TITLES, path
        if path == f"/run?run={LLM_ID}":
            page.get_by_text("Compare with other runs").first.wait_for(timeout=SLOW_MS)
            # the charts' plotly.js comes from the app's route under the prefix, and draws
            wait_for_charts(page, 1)
            plotly_js = page.evaluate("() => [...document.querySelectorAll('script[src]')].map(s => s.src)"
                                      ".filter(u => u.includes('plotly'))")
            assert len(plotly_js) == 1 and plotly_js[0].startswith(server.url + "/_mmdash/plotly-"), plotly_js
        for link in app_links(page, origin):
            found.setdefault(link, path)
    # the Runs table: its "open" links, read from the grid's accessible table (the canvas draws them), with the
    # resumed runs joined too (combine=1: a joined row's link)
    for path in ("/", "/?combine=1"):
        goto(page, server.url + path)
        poll(lambda: len(grid_column(page, 0, 0)) >= 4, 90.0, page=page)
        table_links = [origin + h for h in grid_column(page, 0, 0)]
        assert len(table_links) >= 4 and all(h.startswith(server.url + "/run?run=sample_logs/") for h in table_links)
        for link in table_links:
            found.setdefault(link, f"{path} (the Runs table)")
    assert any(link.endswith("&combine=1") for link in found)
    # a click on a row opens its run under the prefix (st.switch_page)
    goto(page, server.url + "/")
    poll(lambda: len(grid_column(page, 0, 0)) >= 4, 90.0, page=page)
    click_row(page, 0)
    page.wait_for_url(re.compile(r"/mmdash/run\?run="), timeout=SLOW_MS)
    wait_app_ready(page, timeout_ms=SLOW_MS)
    assert title(page) == "Run"

    assert found, "no links found"
    paths = {urlsplit(link).path for link in found}
    assert all(p.startswith(PREFIX) for p in paths), sorted(paths)
    # navigation to each page, and the page links to the Run page, the Calculator and Compare
    for page_name in ("run", "upload", "compare", "calculator"):
        assert PREFIX + page_name in paths, (page_name, sorted(paths))
    assert any(re.search(r"/mmdash/run\?run=sample_logs/", link) for link in found), sorted(found)
    assert any("/mmdash/calculator?" in link and "run=" in link for link in found), sorted(found)
    assert any("/mmdash/compare?compare=" in link for link in found), sorted(found)
    for link, where in sorted(found.items()):
        goto(page, link)
        shown = title(page)
        assert shown in TITLES, (link, where, shown)
        text = main_text(page)
        assert "Page not found" not in text and "Refused" not in text, (link, where)


def test_an_upload_permalink_carries_the_prefix_and_opens_the_run(page, prefixed_server):
    server = prefixed_server
    goto(page, server.url + "/upload")
    upload(page, LLM)
    page.wait_for_url(re.compile(r"/mmdash/run\?upload=[0-9a-f]{24}$"), timeout=SLOW_MS)
    wait_app_ready(page, timeout_ms=SLOW_MS)
    page.get_by_text("About this log").click()
    page.get_by_text("permalink: ").wait_for(timeout=SLOW_MS)
    m = re.search(r"permalink: (\S+)", main_text(page))
    assert m is not None
    permalink = m.group(1)
    assert permalink == page.url and permalink.startswith(server.url + "/run?upload=")
    goto(page, permalink)
    assert title(page) == "Run" and "20260314_090000.log" in main_text(page)
