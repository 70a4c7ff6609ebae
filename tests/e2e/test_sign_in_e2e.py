"""Sign-in (issue 15) with a real OpenID Connect provider (``oidc-provider-mock`` on localhost), Streamlit's own
``st.login`` configured by a secrets file, and the real browser.

- Before sign-in every URL (the Runs page, a direct ``/run?run=...``, ``/run?upload=...``, ``/upload``,
  ``/compare``, ``/calculator``) shows only the sign-in prompt: no run name, no upload form, nothing of a log, in
  the whole DOM and in every WebSocket frame the server sent.
- After signing in as an allowed user, the pages work.
- A user outside ``MMDASH_ALLOWED_EMAILS`` is refused, and sees nothing of a log either.
"""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest

from tests.e2e.conftest import free_port, start_streamlit, synthetic_log, wait_app_ready
from tests.e2e.page_helpers import grid_column

SLOW_MS = 90_000
RUN_DIR = "signin-marker-run-7q3"
LOG_TEXT = "MARKER-LOGTEXT-9x4"  # a warning line of the log
RUN_ID = f"signin-logs/{RUN_DIR}/20250101_000000.log"
ALLOWED = "@team.example, bob@other.example"
#: Text of a log or of the roots that must not reach a browser before sign-in.
SECRETS_OF_THE_LOGS = (RUN_DIR, LOG_TEXT, "signin-logs", "20250101_000000", "Iter(train)", "loss")


@pytest.fixture(scope="module")
def provider():
    from oidc_provider_mock import run_server_in_thread

    with run_server_in_thread() as server:
        yield f"http://localhost:{server.server_port}"


@pytest.fixture(scope="module")
def signin_server(provider, tmp_path_factory):
    base = tmp_path_factory.mktemp("signin")
    root = base / "signin-logs"
    (root / RUN_DIR).mkdir(parents=True)
    (root / RUN_DIR / "20250101_000000.log").write_text(
        synthetic_log() + f"2025/01/01 00:03:00 - mmengine - WARNING - {LOG_TEXT}\n")
    port = free_port()
    secrets_file = base / "secrets.toml"
    secrets_file.write_text(
        "[auth]\n"
        f'redirect_uri = "http://127.0.0.1:{port}/oauth2callback"\n'
        f'cookie_secret = "{secrets.token_hex(32)}"\n'
        'client_id = "mmdash-tests"\n'
        'client_secret = "not-a-secret"\n'
        f'server_metadata_url = "{provider}/.well-known/openid-configuration"\n')
    server = start_streamlit([root], port=port, extra_args=["--secrets.files", str(secrets_file)],
                             extra_env={"MMDASH_ALLOWED_EMAILS": ALLOWED,
                                        "MMDASH_UPLOAD_DIR": str(base / "uploads")})
    yield server
    server.stop()


@pytest.fixture
def frames(page) -> list[bytes]:
    """Every WebSocket frame the server sends to this page."""
    got: list[bytes] = []

    def on_socket(ws) -> None:
        ws.on("framereceived", lambda payload: got.append(payload if isinstance(payload, bytes)
                                                         else payload.encode()))

    page.on("websocket", on_socket)
    return got


def open_url(page, url: str) -> None:
    response = page.goto(url)
    assert response is not None and response.status == 200, url
    wait_app_ready(page, timeout_ms=SLOW_MS)


def sign_in(page, server, who: str) -> None:
    open_url(page, server.url + "/")
    page.get_by_role("button", name="Sign in").click()
    page.locator("input[name='sub']").fill(who)  # the provider's own form
    page.get_by_role("button", name="Authorize").click()
    page.wait_for_url(server.url + "/**", timeout=SLOW_MS)
    wait_app_ready(page, timeout_ms=SLOW_MS)


def nothing_of_a_log(page, frames: list[bytes]) -> None:
    dom = page.content()
    sent = b"".join(frames)
    for text in SECRETS_OF_THE_LOGS:
        assert text not in dom, text
        assert text.encode() not in sent, text
    assert page.locator("[data-testid='stFileUploader']").count() == 0
    assert page.locator("[data-testid='stDataFrame']").count() == 0


def test_every_url_shows_only_the_sign_in_prompt_before_sign_in(page, signin_server, frames):
    server = signin_server
    for path in ("/", f"/run?run={RUN_ID}", "/run?upload=0123456789abcdef01234567", "/upload",
                 f"/compare?compare={RUN_ID}", f"/calculator?run={RUN_ID}"):
        open_url(page, server.url + path)
        page.get_by_role("button", name="Sign in").wait_for(timeout=SLOW_MS)
        main = page.locator("[data-testid='stMain']").inner_text()
        assert "Sign in to see the training runs on this server." in main, path
        nothing_of_a_log(page, frames)
    assert frames, "no WebSocket frame was recorded"
    # the app's page list is not sent either: no navigation before sign-in
    assert page.locator("[data-testid='stSidebarNav']").count() == 0


def test_after_sign_in_the_pages_work(page, signin_server):
    server = signin_server
    sign_in(page, server, "alice@team.example")
    page.locator("[data-testid='stDataFrame']").first.wait_for(timeout=SLOW_MS)  # the Runs page's table
    assert RUN_ID in grid_column(page, 0, 1)  # its name column
    assert "Signed in as alice@team.example" in page.locator("[data-testid='stSidebar']").inner_text()
    open_url(page, server.url + f"/run?run={RUN_ID}")
    page.locator("[data-testid='stMetric']").first.wait_for(timeout=SLOW_MS)
    assert RUN_ID in page.locator("[data-testid='stMain']").inner_text()  # the run, after sign-in
    open_url(page, server.url + "/upload")
    page.locator("[data-testid='stFileUploader']").wait_for(timeout=SLOW_MS)
    # signing out closes the app again
    page.get_by_role("button", name="Sign out").click()
    page.get_by_role("button", name="End session").click()  # the provider asks (OIDC RP-initiated logout)
    page.wait_for_url(server.url + "/**", timeout=SLOW_MS)
    open_url(page, server.url + f"/run?run={RUN_ID}")
    page.get_by_role("button", name="Sign in").wait_for(timeout=SLOW_MS)


def test_a_user_outside_the_allowed_list_is_refused(page, signin_server, frames):
    server = signin_server
    frames.clear()
    sign_in(page, server, "mallory@elsewhere.example")
    page.get_by_text("Refused: you are signed in, but this server does not let you in.").wait_for(timeout=SLOW_MS)
    assert "mallory@elsewhere.example" in page.locator("[data-testid='stMain']").inner_text()
    for path in (f"/run?run={RUN_ID}", "/upload"):
        open_url(page, server.url + path)
        page.get_by_text("Refused: you are signed in").wait_for(timeout=SLOW_MS)
    nothing_of_a_log(page, frames)


def test_the_secrets_file_is_outside_the_repository(signin_server):
    # the test configures sign-in by a file given on the command line: nothing is left in .streamlit/
    assert not (Path(__file__).resolve().parents[2] / ".streamlit" / "secrets.toml").exists()
