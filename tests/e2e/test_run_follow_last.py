"""A live Run page that nobody pointed at a run follows the file's last run: a new launch appended to the same log
(a resume writing to one console log), or the later runs of a log that was still being read when the page opened.

Before: the page's timed parts asked for the run that was last at its first full run, and kept showing it.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

import pytest

from tests.e2e.conftest import start_streamlit
from tests.e2e.page_helpers import main_text, metric, open_app, poll
from tests.helpers import append, train_line

pytestmark = pytest.mark.browser

LABEL = "follow-last-e2e"
REL = "w/console.log"


@pytest.fixture
def live_root(tmp_path) -> Path:
    root = tmp_path / LABEL
    (root / "w").mkdir(parents=True)
    (root / REL).write_bytes(b"".join(train_line(i, 100) for i in range(1, 41)))
    return root


def test_a_new_launch_appended_to_the_log_is_followed(page, live_root):
    server = start_streamlit([live_root], extra_env={"MMDASH_DEMO": "0"})
    try:
        open_app(page, server, "/run?run=" + quote(f"{LABEL}/{REL}"))
        assert poll(lambda: metric(page, "Iterations n/N") == "40/100", page=page), main_text(page)[:2000]
        append(live_root / REL, b"".join(train_line(i, 100) for i in range(1, 8)))  # iteration went back: run 2
        assert poll(lambda: metric(page, "Iterations n/N") == "7/100", page=page), (
            f"the page stayed on {metric(page, 'Iterations n/N')}: " + main_text(page)[:2000])
        assert poll(lambda: "run 2 of 2" in main_text(page), page=page)
    finally:
        server.stop()


def test_the_run_picker_moves_to_a_new_last_run_unless_a_person_picked_one(page, live_root):
    """Two runs when the page opens (the picker holds run 2, the last); a third launch is appended; then a widget
    change reruns the whole page: it shows run 3, not run 2 (which nobody picked)."""
    append(live_root / REL, b"".join(train_line(i, 100) for i in range(1, 11)))  # run 2
    server = start_streamlit([live_root], extra_env={"MMDASH_DEMO": "0"})
    try:
        open_app(page, server, "/run?run=" + quote(f"{LABEL}/{REL}"))
        assert poll(lambda: "run 2 of 2" in main_text(page), page=page), main_text(page)[:2000]
        append(live_root / REL, b"".join(train_line(i, 100) for i in range(1, 6)))  # run 3
        assert poll(lambda: "run 3 of 3" in main_text(page), page=page), main_text(page)[:2000]
        page.locator("[data-testid='stSidebar'] [data-testid='stCheckbox']", has_text="Log scale (y)").click()
        assert poll(lambda: "log_y=" in page.url, page=page), page.url  # the full run happened
        assert poll(lambda: "run 3 of 3" in main_text(page) and metric(page, "Iterations n/N") == "5/100",
                    page=page), main_text(page)[:2000]
        assert "r=" not in page.url.split("?", 1)[1]
    finally:
        server.stop()
