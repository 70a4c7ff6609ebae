"""Who may see the dashboard (issue 15): the allowed list, the exposure check, and the gate in ``app.py`` with
Streamlit's AppTest (the real sign-in with a real provider and browser: ``tests/e2e/test_sign_in_e2e.py``)."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from dashboard.views import access

from .conftest import ROOT, SAMPLE_LOGS

AUTH = {"redirect_uri": "http://127.0.0.1:8501/oauth2callback", "cookie_secret": "x" * 32, "client_id": "c",
        "client_secret": "s", "server_metadata_url": "http://127.0.0.1:1/.well-known/openid-configuration"}


@pytest.mark.parametrize(("text", "emails", "domains"), [
    ("alice@lab.example, @team.example other.example", {"alice@lab.example"}, {"team.example", "other.example"}),
    ("  Bob@Lab.Example ;\n", {"bob@lab.example"}, set()),
])
def test_allow_list_reads_addresses_and_domains(text, emails, domains):
    rules = access.allow_list({access.ALLOWED_ENV: text})
    assert rules is not None and rules.emails == emails and rules.domains == domains


@pytest.mark.parametrize("text", ["", "  ", ", ;"])
def test_no_allow_list_lets_in_anyone_signed_in(text):
    assert access.allow_list({access.ALLOWED_ENV: text}) is None
    assert access.allow_list({}) is None
    assert access.refusal(None, "anyone@anywhere.example", None) is None


@pytest.mark.parametrize(("email", "verified", "ok"), [
    ("alice@lab.example", True, True),
    ("ALICE@lab.example", None, True),  # case does not matter; no claim is not "unverified"
    ("carol@team.example", None, True),  # a listed domain
    ("carol@sub.team.example", None, False),  # not its subdomains
    ("carol@team.example.evil", None, False),
    ("team.example@evil.example", None, False),
    ("alice@lab.example", False, False),  # the provider says unverified
    (None, None, False),
    ("no-at-sign", None, False),
])
def test_refusal(email, verified, ok):
    rules = access.allow_list({access.ALLOWED_ENV: "alice@lab.example, @team.example"})
    assert (access.refusal(rules, email, verified) is None) == ok


@pytest.mark.parametrize(("address", "beyond"), [
    ("127.0.0.1", False), ("localhost", False), ("::1", False), ("[::1]", False), ("127.0.0.2", False),
    ("", True), (None, True), ("0.0.0.0", True), ("::", True), ("192.168.1.5", True), ("myhost.lan", True),
])
def test_listens_beyond_localhost(address, beyond):
    assert access.listens_beyond_localhost(address) == beyond


def app(monkeypatch, env: dict[str, str] | None = None) -> AppTest:
    monkeypatch.setenv("MMDASH_ROOTS", str(SAMPLE_LOGS))
    for k, v in (env or {}).items():
        monkeypatch.setenv(k, v)
    return AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)


def everything(at: AppTest) -> str:
    return repr(at._tree)  # every element the script produced, with its text


def test_without_sign_in_configured_the_app_opens_the_runs_page(monkeypatch):
    at = app(monkeypatch).run()
    assert not at.exception
    assert [t.value for t in at.title] == ["Runs"]


def test_with_sign_in_configured_only_the_prompt_is_drawn(monkeypatch):
    at = app(monkeypatch)
    at.secrets["auth"] = AUTH
    at.run()
    assert not at.exception
    assert [t.value for t in at.title] == ["MMDash"]
    assert [b.label for b in at.button] == ["Sign in"]
    tree = everything(at)
    for text in ("sample_logs", "20260314_090000", "llm_sft", "Runs", "Upload"):
        assert text not in tree


def test_named_providers_get_a_button_each(monkeypatch):
    at = app(monkeypatch)
    at.secrets["auth"] = {"redirect_uri": AUTH["redirect_uri"], "cookie_secret": AUTH["cookie_secret"],
                          "google": {k: AUTH[k] for k in ("client_id", "client_secret", "server_metadata_url")},
                          "okta": {k: AUTH[k] for k in ("client_id", "client_secret", "server_metadata_url")}}
    at.run()
    assert [b.label for b in at.button] == ["Sign in with google", "Sign in with okta"]


def test_an_allow_list_without_sign_in_configured_refuses_everyone(monkeypatch):
    at = app(monkeypatch, {access.ALLOWED_ENV: "@team.example"}).run()
    assert not at.exception
    assert at.error and at.error[0].value.startswith("Refused: sign-in is required")
    assert "sample_logs" not in everything(at)


@pytest.mark.parametrize(("address", "warned"), [("0.0.0.0", True), ("127.0.0.1", False)])
def test_the_watcher_panel_warns_once_when_the_server_listens_beyond_localhost_with_sign_in_off(
        monkeypatch, address, warned):
    from streamlit import config

    before = config.get_option("server.address")
    config.set_option("server.address", address)
    try:
        at = app(monkeypatch).run()
    finally:
        config.set_option("server.address", before)
    assert not at.exception
    panel = "\n".join(t.value for t in at.text)
    assert panel.count("warning: this server listens on address") == (1 if warned else 0)
    if warned:
        assert "sign-in is off: anyone who can reach its port sees every log" in panel
