"""Streamlit glue shared by the Runs and Run pages: the process-wide ``AppState``, the URL, notices, refusals.

- ``app_state()``: one ``dashboard.live.app_state.AppState`` per process and configuration, created by
  ``st.cache_resource`` (so one ``LogWatcher`` and one live demo per process, whatever the number of browser
  sessions), released (watcher and demo stopped) when Streamlit clears the cache.
- ``query_dict()`` / ``set_query()``: read the URL; write it only when it changed.
- Notices and refusals quote user input: they are drawn with ``st.text`` / ``st.code``, never Markdown.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from typing import NoReturn

import streamlit as st

from dashboard.live.app_state import AppConfig, AppState, config_from, create
from dashboard.views.text import plain


def _release(state: AppState) -> None:
    state.close()


@st.cache_resource(show_spinner="Starting the log watcher…", on_release=_release)
def _shared(roots: tuple[str, ...], roots_from: str, demo: bool, notes: tuple[str, ...]) -> AppState:
    return create(AppConfig(roots, roots_from, demo, notes))


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
