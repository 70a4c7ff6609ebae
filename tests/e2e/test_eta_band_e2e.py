"""The Run page of a running log shows our finish time with its low-high band beside MMEngine's (issue 17), in a
real browser against a real ``streamlit run``.

The log is a copy of the LLM sample cut at half, written into the root just before the server starts: a log
written just before the dashboard found it is live, and with its last update seconds ago it is running.
"""

from __future__ import annotations

from urllib.parse import quote

import pytest

from tests.conftest import SAMPLE_LOGS
from tests.e2e.conftest import start_streamlit
from tests.e2e.page_helpers import main_text, metric, open_app, poll, tall_screenshot

pytestmark = pytest.mark.browser

LLM_SRC = SAMPLE_LOGS / "llm_sft_len_grouped" / "20260314_090000" / "20260314_090000.log"
LABEL = "eta-e2e"
RUN_ID = f"{LABEL}/llm/20260314_090000/20260314_090000.log"


@pytest.fixture(scope="module")
def eta_server(tmp_path_factory):
    root = tmp_path_factory.mktemp("eta") / LABEL
    dest = root / "llm" / "20260314_090000" / "20260314_090000.log"
    dest.parent.mkdir(parents=True)
    lines = LLM_SRC.read_bytes().split(b"\n")
    cut = next(i for i, ln in enumerate(lines) if b"Iter(train) [1840/3672]" in ln)
    dest.write_bytes(b"\n".join(lines[:cut + 1]) + b"\n")
    server = start_streamlit([root], extra_env={"MMDASH_DEMO": "0"})
    yield server
    server.stop()


def test_a_running_log_shows_the_finish_band_and_the_method(page, eta_server):
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    open_app(page, eta_server, "/run?run=" + quote(RUN_ID))
    assert poll(lambda: metric(page, "Iterations n/N"), page=page) == "1840/3672"
    assert metric(page, "Status") == "▶ running", main_text(page)[:2000]
    text = main_text(page)
    assert "Finish (log clock): 2026-03-14 " in text and "(likely between 2026-03-14 " in text, text[:3000]
    assert "MMEngine's estimate: 2026-03-14 " in text
    assert "ETA method: 1832 iterations left x" in text and "checkpoint save(s) x" in text
    assert metric(page, "ETA") not in (None, "—")
    tall_screenshot(page, "eta_band_running")
    assert errors == []
