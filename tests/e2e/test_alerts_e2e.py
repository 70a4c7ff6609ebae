"""Alerts inside the dashboard server (issue 14): a real ``streamlit run`` with ``MMDASH_NOTIFY`` holding a secret, a
real log that crashes under a root, a local HTTP endpoint receiving Apprise's ``json://`` POST, and the Runs page in
Chromium: it shows the active rules and the alert sent, names the channel by ``scheme://host`` only, and the secret
appears nowhere in the page nor in the server's output."""

from __future__ import annotations

import pytest

from tests.conftest import SAMPLE_LOGS
from tests.e2e.conftest import start_streamlit
from tests.e2e.page_helpers import main_text, open_app, poll
from tests.helpers import append
from tests.test_alerts import CRASH_LOG, SECRET, Hook, first_line_with, lines_of, live_copy

pytestmark = pytest.mark.browser


def expand_all(page) -> None:
    for summary in page.locator("[data-testid='stExpander'] summary").all():
        if summary.get_attribute("aria-expanded") != "true":
            summary.click()


def test_runs_page_shows_rules_and_the_alert_without_the_secret(tmp_path, page):
    root = tmp_path / "alert-logs"
    root.mkdir()
    cut = first_line_with(CRASH_LOG, b"Traceback (most recent call last)")
    log = live_copy(CRASH_LOG, root, cut)
    hook = Hook()
    server = start_streamlit([root], extra_env={
        "MMDASH_NOTIFY": hook.url, "MMDASH_DATA_DIR": str(tmp_path / "data"),
        "MMDASH_PUBLIC_URL": "https://mmdash.example.org", "MMDASH_ALERT_RULES": "crashed; loss > 100",
        "MMDASH_CACHE_DIR": str(tmp_path / "cache")})
    try:
        open_app(page, server, "/")  # the first page load starts the watcher and the alerts
        expand_all(page)
        assert poll(lambda: "alerts: on" in main_text(page), page=page), main_text(page)
        assert hook.posts == []
        append(log, b"".join(lines_of(CRASH_LOG)[cut:]))
        assert poll(lambda: hook.posts, page=page), server.output()
        assert "torch.OutOfMemoryError" in hook.posts[0]["message"]

        def shows_alert() -> str:
            open_app(page, server, "/")
            expand_all(page)
            text = main_text(page)
            return text if "Last alerts" in text and "· crashed ·" in text else ""

        text = poll(shows_alert, page=page)
        assert text, main_text(page)
        port = hook.server.server_port
        assert f"channels: json://127.0.0.1:{port}" in text
        assert "rules: crashed; loss > 100" in text
        assert f"json://127.0.0.1:{port}: sent" in text
        assert "alert-logs/exp/20260316_214000.log" in text
        html = page.content()
        assert SECRET not in text and SECRET not in html and "alice" not in html
        assert len(hook.posts) == 1
    finally:
        server.stop()
        hook.close()
    assert SECRET not in server.output(tail=10**7)


def test_a_bad_rule_turns_server_alerts_off_with_one_clear_line(tmp_path, page):
    hook = Hook()
    server = start_streamlit([SAMPLE_LOGS], extra_env={
        "MMDASH_NOTIFY": hook.url, "MMDASH_DATA_DIR": str(tmp_path / "data"), "MMDASH_ALERT_RULES": "loss >> 5"})
    try:
        open_app(page, server, "/")
        expand_all(page)
        text = poll(lambda: "alerts: off" in main_text(page) and main_text(page), page=page)
        assert "configuration error" in text and "not understood" in text
        errors = [line for line in server.output(tail=10**6).splitlines() if line.startswith("error: alerts:")]
        assert len(errors) == 1 and SECRET not in errors[0]
        assert hook.posts == []
    finally:
        server.stop()
        hook.close()
