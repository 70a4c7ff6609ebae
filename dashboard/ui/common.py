"""Streamlit glue every page shares: the process-wide state, the URL, notices and refusals, links between pages,
the upload store and the parse cache, and opening a run reference (a log under a root, or an upload).

- ``app_state()``: one ``dashboard.views.app_state.AppState`` per process and configuration, created by
  ``st.cache_resource`` (so one ``LogWatcher``, one live demo and one alert engine per process, whatever the number
  of browser sessions), released (watcher, demo and alerts stopped) when Streamlit clears the cache.
- ``query_dict()`` / ``set_query()`` / ``write_query()``: read the URL; write it only when it changed. ``seed``
  puts URL values into widgets when the URL is not the one the page wrote last (a pasted link, the back button).
- The upload store and the parse cache are process-wide (``st.cache_resource``).
- Notices and refusals quote user input: they are drawn with ``st.text`` / ``st.code``, never Markdown.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, NoReturn

import streamlit as st
from streamlit.errors import StreamlitAPIException

from dashboard.analysis import RunSummary, summarize
from dashboard.live.roots import LogRoot, UnsafePath, configured_roots
from dashboard.uploads import settings as upload_settings
from dashboard.uploads.store import UploadStore
from dashboard.views import access, review, url_state
from dashboard.views.app_state import AppConfig, AppState, config_from, create
from dashboard.views.run_model import RunSource
from dashboard.views.text import plain
from parsers import SizeLimitExceeded

PAGES_DIR = Path(__file__).resolve().parent / "pages"
SESSION_UPLOADS = "mmdash_session_uploads"


def _release(state: AppState) -> None:
    state.close()


@st.cache_resource(show_spinner="Starting the log watcher…", on_release=_release)
def _shared(roots: tuple[str, ...], roots_from: str, demo: bool, notes: tuple[str, ...]) -> AppState:
    from dashboard.alerts.engine import start_alerts

    state = create(AppConfig(roots, roots_from, demo, notes))
    state.alerts = start_alerts(state)  # the alerts follow this state's watcher (off without a channel)
    return state


def app_state() -> AppState:
    """The process-wide state for the configuration of this process (``--logs`` / ``MMDASH_ROOTS`` / default)."""
    cfg = config_from(sys.argv, os.environ)
    return _shared(cfg.roots, cfg.roots_from, cfg.demo, cfg.notes)


def release_all() -> None:
    """Stop every watcher and demo this process started (tests)."""
    _shared.clear()


def query_dict() -> dict[str, list[str]]:
    return {k: st.query_params.get_all(k) for k in st.query_params}


def _as_lists(params: Mapping[str, str | Sequence[str]]) -> dict[str, list[str]]:
    return {k: ([v] if isinstance(v, str) else list(v)) for k, v in params.items()}


def set_query(params: Mapping[str, str | Sequence[str]]) -> None:
    """Make the browser's URL say ``params`` (only when it says something else: no needless messages)."""
    if query_dict() != _as_lists(params):
        st.query_params.from_dict({k: (v if isinstance(v, str) else list(v)) for k, v in params.items()})


def show_notices(notices: Sequence[str]) -> None:
    if notices:
        st.warning("Some URL parameters were not understood and were ignored:")
        st.text("\n".join(plain(n, 500) for n in notices))


def refuse(requested: str, reason: str) -> NoReturn:
    """Stop the page with a refusal: our words in the banner, the requested id and the reason as text."""
    st.error("Refused: this run id does not name a log file under the configured log roots. Nothing was opened.")
    st.text("Requested id:")
    st.code(plain(requested, 500) or "(empty)", language=None)
    st.text("Reason: " + plain(reason, 500))
    st.page_link("dashboard/ui/pages/runs.py", label="All runs", icon=":material/list:")
    st.stop()


# -------------------------------------------------------------------------------------------- sign-in


def sign_in_providers() -> list[str | None] | None:
    """The sign-in providers Streamlit's ``st.login`` can use (``[auth]`` in the secrets: ``[None]`` for one provider
    configured in ``[auth]`` itself, else the names of its ``[auth.<name>]`` sections), or None when sign-in is not
    configured (no secrets file, or no ``[auth]``)."""
    try:
        auth = st.secrets.get("auth")
    except Exception as e:  # noqa: BLE001 - any failure to read the secrets closes the app, never opens it
        if getattr(e, "error_id", None) == "no-secrets-found":
            return None  # no secrets file at all: sign-in is not configured
        return []  # a secrets file that cannot be read or parsed: refuse rather than open up
    if not isinstance(auth, Mapping):
        return None
    named = [k for k, v in auth.items() if isinstance(v, Mapping)]
    return [None] if "server_metadata_url" in auth or not named else named


def require_sign_in() -> None:
    """The gate every page passes first (``app.py``, before navigation): with sign-in configured, nothing of the app
    (no run name, no upload form, nothing of a log) is drawn or sent until a user is signed in and allowed
    (``MMDASH_ALLOWED_EMAILS``); the page shows only the sign-in prompt or the refusal. Without sign-in, every page
    is open, as on a laptop; an allow list without sign-in configured refuses everyone (it cannot be checked)."""
    providers = sign_in_providers()
    rules = access.allow_list(os.environ)
    if providers is None and rules is None:
        return
    st.title("MMDash")
    if not providers:
        st.error("Refused: sign-in is required (MMDASH_ALLOWED_EMAILS is set, or a secrets file is there) but it "
                 "is not configured: the Streamlit secrets cannot be read or have no [auth] (see README Security "
                 "and the server's log), so nobody can be let in.")
        st.stop()
    if not st.user.get("is_logged_in"):  # absent (a test harness, an old session) is signed out
        st.info("Sign in to see the training runs on this server.")
        for provider in providers:
            label = "Sign in" if provider is None else f"Sign in with {provider}"
            st.button(label, on_click=st.login, args=() if provider is None else (provider,), type="primary",
                      key=f"sign_in_{provider}")
        st.stop()
    why = access.refusal(rules, st.user.get("email"), st.user.get("email_verified"))
    if why is not None:
        st.error("Refused: you are signed in, but this server does not let you in.")
        st.text(f"signed in as: {plain(str(st.user.get('email') or st.user.get('sub') or '?'), 200)}\n"
                f"reason: {why}")
        st.button("Sign out", on_click=st.logout, key="sign_out_refused")
        st.stop()
    with st.sidebar:
        st.text(f"Signed in as {plain(str(st.user.get('email') or st.user.get('name') or '?'), 200)}")
        st.button("Sign out", on_click=st.logout, key="sign_out")


def exposure_note() -> str | None:
    """A line for the Runs page's watcher panel when the server listens beyond this machine with sign-in off."""
    address = st.get_option("server.address")
    if sign_in_providers() or not access.listens_beyond_localhost(address):
        return None
    where = f"address {address}" if address else "every network interface (server.address is not set)"
    return (f"warning: this server listens on {where} and sign-in is off: anyone who can reach its port sees "
            "every log under the roots and every upload (README Security: sign-in)")


# ------------------------------------------------------------------------------------------ resources


def settings() -> upload_settings.UploadSettings:
    return upload_settings.upload_settings(server_max_mb=st.get_option("server.maxUploadSize"))


@st.cache_resource(show_spinner=False)
def _store_for(root: str, max_bytes: int, max_total_mb: int, max_age_days: float) -> UploadStore:
    s = upload_settings.UploadSettings(Path(root), max_bytes // upload_settings.MB, max_total_mb, max_age_days).store()
    s.enforce_retention()  # also when nobody uploads (the store applies it at every upload too)
    return s


def store(s: upload_settings.UploadSettings | None = None) -> UploadStore:
    """The process-wide upload store for the current settings."""
    s = s or settings()
    return _store_for(str(s.root), s.max_bytes, s.max_total_mb, s.max_age_days)


@st.cache_resource(show_spinner=False)
def parse_cache() -> review.ParseCache:
    return review.ParseCache(max_entries=8)


def log_roots() -> list[LogRoot]:
    """The log roots the Runs page shows: the process-wide ``AppState``'s (``--logs``, ``MMDASH_ROOTS``, or
    sample_logs plus the live demo), else, without it, ``dashboard.live.roots.configured_roots()``."""
    try:
        return list(app_state().roots)
    except (ImportError, AttributeError):
        return configured_roots()


@st.cache_data(ttl=15, show_spinner=False, max_entries=8)
def _root_logs(key: tuple[tuple[str, str], ...]) -> list[review.RootFile]:
    return review.list_root_logs([LogRoot(label, path) for label, path in key])


def root_logs(roots: Sequence[LogRoot] | None = None) -> list[review.RootFile]:
    roots = list(roots if roots is not None else log_roots())
    return _root_logs(tuple((r.label, r.path) for r in roots))


# ---------------------------------------------------------------------------------------------- URL




def canonical(params: Mapping[str, str | Sequence[str]]) -> tuple:
    return tuple(sorted((k, (v,) if isinstance(v, str) else tuple(v)) for k, v in params.items()))


def write_query(params: Mapping[str, str | Sequence[str]], scope: str) -> None:
    """Make the URL say ``params`` (only when it differs) and remember it as this page's own URL."""
    if canonical(params) != canonical(query_dict()):
        st.query_params.from_dict({k: (v if isinstance(v, str) else list(v)) for k, v in params.items()})
    st.session_state[f"_url_{scope}"] = canonical(params)


def seed(scope: str, values: Mapping[str, Any]) -> bool:
    """Put URL-derived ``values`` into the widgets' session state when the URL is not the one this page
    wrote last (first visit, pasted link, back button) or a widget has no state yet. True if seeded."""
    own = st.session_state.get(f"_url_{scope}")
    if own == canonical(query_dict()) and all(k in st.session_state for k in values):
        return False
    for k, v in values.items():
        st.session_state[k] = v
    return True






def page_link(page: str, label: str, query: Mapping[str, str | Sequence[str]] | None = None,
              icon: str | None = None) -> None:
    """``st.page_link`` to one of the app's pages; nothing when that page is not registered."""
    try:
        st.page_link(str(PAGES_DIR / f"{page}.py"), label=label, icon=icon,
                     query_params={k: (v if isinstance(v, str) else list(v)) for k, v in (query or {}).items()})
    except StreamlitAPIException:
        pass


# ------------------------------------------------------------------------------------------- opening


def remember_upload(upload_id: str, title: str) -> None:
    """Uploads this browser session has made or opened (offered on Compare and Calculator)."""
    known: dict[str, str] = st.session_state.setdefault(SESSION_UPLOADS, {})
    known[upload_id] = title


def session_uploads() -> dict[str, str]:
    return dict(st.session_state.get(SESSION_UPLOADS, {}))


def _progress_bar(text: str):
    bar = st.progress(0.0, text=text)

    def update(fraction: float, message: str) -> None:
        bar.progress(max(0.0, min(1.0, fraction)), text=message)

    return bar, update


def open_upload(upload_id: str, *, show_progress: bool = True) -> tuple[review.Review | None, str | None]:
    """The review of a stored upload (parsed once per process), or ``(None, reason)``; any ``upload_id`` (from a
    URL) is refused with a reason, never an exception."""
    if not UploadStore.valid_id(upload_id):
        return None, "this is not an upload id (an upload id is 24 characters, 0-9 and a-f)"
    try:
        s = store()
    except OSError as e:
        return None, f"the upload store cannot be used ({type(e).__name__}: {e.strerror or e})"
    stored = s.get(upload_id)
    if stored is None:
        return None, ("there is no upload with this id on this server (a wrong link, or it was removed "
                      "by the retention limits)")
    s.pin(upload_id)
    try:
        try:
            s.touch(upload_id)  # best effort: it only dates the last opening for retention
        except OSError:  # UploadStore.touch races with itself (fixed temp name); see the report
            pass
        cache = parse_cache()
        key = ("upload", str(s.root), upload_id)
        found = cache.get(key)
        if found is not None:
            return found, None
        bar, update = _progress_bar("Parsing the upload…") if show_progress else (None, None)
        try:
            rev = cache.get_or_compute(key, lambda: review.review_upload(
                stored, max_bytes=s.max_bytes, progress=update))
        except SizeLimitExceeded:
            return None, f"a file of this upload expands to more than {s.max_bytes:,} bytes"
        except OSError as e:
            return None, f"the upload's files cannot be read ({type(e).__name__})"
        finally:
            if bar is not None:
                bar.empty()
        return rev, None
    finally:
        s.unpin(upload_id)


def open_root_file(source_id: str, *, show_progress: bool = True) -> tuple[review.Review | None, str | None]:
    """The review of a log under a configured root (parsed again when its size or mtime changes)."""
    rf, reason = review.resolve_root_file(source_id, log_roots())
    if rf is None:
        return None, reason
    bar, update = _progress_bar("Parsing the log…") if show_progress else (None, None)
    try:
        return parse_cache().get_or_compute(("root", rf.path, rf.ident, rf.size, rf.mtime_ns),
                                            lambda: review.review_root_file(rf, progress=update)), None
    except UnsafePath as e:
        return None, f"the log is not opened: {e}"
    except OSError as e:
        return None, f"the log cannot be read ({type(e).__name__})"
    finally:
        if bar is not None:
            bar.empty()


def open_target(target: review.Target, *, show_progress: bool = True) -> tuple[review.Review | None, str | None]:
    if target.kind == "upload":
        return open_upload(target.id, show_progress=show_progress)
    return open_root_file(target.id, show_progress=show_progress)


def summary_of(rev: review.Review, index: int | None) -> RunSummary | None:
    return rev.summary(index, lambda run: summarize(run, path=rev.title, live=False))


def model_of(rev: review.Review, index: int | None, source: RunSource):
    """The run model of one view of a review (built once per view; summaries shared with ``summary_of``)."""
    return rev.model(index, source, lambda run: summarize(run, path=rev.title, live=False))


def compare_ref(source: RunSource, index: int | None) -> str:
    """The Compare page's reference to a run: ``<source id>[::k]`` or ``upload:<id>[::k]``."""
    return str(review.Target("upload" if source.kind == "upload" else "root", source.id, index))


def upload_source(upload_id: str, rev: review.Review) -> RunSource:
    return RunSource("upload", upload_id, rev.title, rev.format)


def base_path() -> str:
    """The path prefix every page is served under: ``/``, or e.g. ``/mmdash/`` with ``server.baseUrlPath`` (behind a
    reverse proxy). Every link the app makes is built under it (``url_state.page_href``)."""
    return url_state.base_path(st.get_option("server.baseUrlPath"))


def app_url(page: str, params: Mapping[str, str | Sequence[str]] | None = None) -> str:
    """The full URL of ``page`` with ``params`` on this server: the scheme and host the browser reached it at
    (``st.context.url``), the path under the app's prefix (``base_path``)."""
    try:
        context_url = st.context.url
    except AttributeError:  # an older Streamlit, or no browser (AppTest)
        context_url = None
    return url_state.app_url(context_url, page, params, base_path() if context_url else None)
