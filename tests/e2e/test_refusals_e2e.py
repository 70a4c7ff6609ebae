"""Refusals in a real browser against a real ``streamlit run app.py``, with the server's own log checked."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from tests.e2e.page_helpers import main_text, open_app

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("upload_id", ["<script>alert(1)</script>", "../../etc/passwd", "",
                                       "0123456789abcdef01234567"])
def test_the_run_page_refuses_an_upload_id_that_names_no_upload_and_logs_at_most_a_line(app_server, page,
                                                                                         upload_id):
    """Issue 16, item 6: an invalid id and an unknown well-formed id both get the refusal, nothing is raised, and
    the server's log (stdout and stderr of ``streamlit run``) gets at most one line."""
    before = len(app_server.log_path.read_bytes())
    open_app(page, app_server, "/run?upload=" + quote(upload_id, safe=""))
    text = main_text(page)
    assert "This upload cannot be shown" in text, text
    assert "Traceback" not in text and "Error" not in text.replace("This upload cannot be shown", "")
    logged = app_server.log_path.read_bytes()[before:].decode(errors="replace")
    lines = [line for line in logged.splitlines() if line.strip()]
    assert len(lines) <= 1 and "Traceback" not in logged, lines
