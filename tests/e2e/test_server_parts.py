"""What the dashboard adds to Streamlit's server (``dashboard.ui.server``, through ``app.py``'s ``st.App``): the
warm start reads the logs before any page is opened, and plotly.js is served from the dashboard's own route with a
cache lifetime and gzip, under ``server.baseUrlPath`` too. Real ``streamlit run`` servers, real HTTP."""

from __future__ import annotations

import gzip
import hashlib
import time
import urllib.request

import pytest

from dashboard.charts.plotly_js import served
from dashboard.ui.server import _accepts_gzip
from tests.conftest import SAMPLE_LOGS
from tests.e2e.conftest import start_streamlit

pytestmark = pytest.mark.browser  # a real server: with the page tests


def plotly_path(prefix: str = "") -> str:
    js = served()
    digest = hashlib.sha256(js.path.read_bytes()).hexdigest()[:16]
    return f"{prefix}/_mmdash/plotly-{js.kind}-{js.version}-{digest}.min.js"


def get(url: str, encoding: str | None) -> tuple[int, dict[str, str], bytes]:
    req = urllib.request.Request(url, headers={"Accept-Encoding": encoding} if encoding else {})
    with urllib.request.urlopen(req, timeout=30) as r:
        return r.status, {k.lower(): v for k, v in r.headers.items()}, r.read()


def test_the_server_reads_its_logs_before_any_page_is_opened(tmp_path):
    """The warm start makes the watcher at server start: the sample logs' summaries reach the summary cache while
    no browser has opened a page (before, nothing was read until the first page view)."""
    cache = tmp_path / "cache"
    server = start_streamlit([SAMPLE_LOGS], extra_env={"MMDASH_CACHE_DIR": str(cache), "MMDASH_DEMO": "0"})
    try:
        logs = sorted(SAMPLE_LOGS.rglob("*.log"))
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and len(list((cache / "summaries").glob("*"))) < len(logs):
            time.sleep(0.5)
        assert len(list((cache / "summaries").glob("*"))) >= len(logs), (logs, server.output()[-3000:])
    finally:
        server.stop()


@pytest.mark.parametrize("prefix", ["", "/under/here"])
def test_plotly_js_is_served_immutable_and_gzipped_from_the_dashboards_route(prefix):
    server = start_streamlit([SAMPLE_LOGS], extra_env={"MMDASH_DEMO": "0"}, base_url_path=prefix.strip("/"))
    try:
        origin = server.url[: len(server.url) - len(prefix)] if prefix else server.url
        url = origin + plotly_path(prefix)
        raw = served().path.read_bytes()
        status, headers, body = get(url, "gzip, deflate, br")
        assert status == 200 and headers["content-encoding"] == "gzip" and "javascript" in headers["content-type"]
        assert headers["cache-control"] == "public, max-age=31536000, immutable"
        assert headers["vary"] == "Accept-Encoding"
        assert gzip.decompress(body) == raw and len(body) < len(raw) / 2
        status, headers, body = get(url, None)  # no gzip asked for: the file as it is
        assert status == 200 and "content-encoding" not in headers and body == raw
    finally:
        server.stop()


@pytest.mark.parametrize(("header", "takes"), [
    ("gzip", True), ("gzip, deflate, br, zstd", True), ("br;q=1.0, gzip;q=0.8", True), ("*", True),
    ("GZIP", True), ("", False), ("br", False), ("gzip;q=0", False), ("gzip; q=0.000", False), ("identity", False),
])
def test_accept_encoding_is_read_as_http_says(header, takes):
    assert _accepts_gzip(header) is takes
