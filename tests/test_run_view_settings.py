"""``run_view.changed_elsewhere``: the piece that decides whether a rerun of one of the Run page's fragments must
run the whole page instead (issue 12). The session is a plain dict here (the decision reads ``st.session_state``
only); the browser test ``tests/e2e/test_run_settings_batched.py`` shows the case it exists for, in Chromium."""

from __future__ import annotations

import pytest
import streamlit as st

from dashboard.ui import live as live_page
from dashboard.ui import run_view as rv


@pytest.fixture
def session(monkeypatch) -> dict:
    state = {"run_smoothing": 0.6, "run_x_axis": "iter", "run_metrics": ["loss"], "run_x_from": None,
             "run_x_from_t": "", "run_calc_gpus": None, "run_calc_sampler": "default", rv._HIDDEN_TRACES: {},
             "unrelated": 1}
    monkeypatch.setattr(st, "session_state", state)
    return state


def test_a_page_setting_changed_since_the_full_run_is_a_change_the_fragment_does_not_draw(session):
    drawn = rv._page_settings()
    session[rv._SETUP_DRAWN] = rv._setup_settings()
    assert not rv.changed_elsewhere(drawn)
    session["unrelated"] = 2  # not a setting of the page
    session["run_calc_gpus"] = None
    assert not rv.changed_elsewhere(drawn)
    session["run_smoothing"] = 0.99
    assert rv.changed_elsewhere(drawn) and rv.changed_elsewhere(drawn, in_details=True)
    session["run_smoothing"] = 0.6
    session["run_metrics"] = ["loss", "lr"]
    assert rv.changed_elsewhere(drawn)
    session["run_metrics"] = ["loss"]
    session[rv._HIDDEN_TRACES] = {"losses": ("loss",)}  # a legend click (chart_sync's callback)
    assert rv.changed_elsewhere(drawn)
    session[rv._HIDDEN_TRACES] = {}
    session["run_x_from"] = 157.0  # a zoom (chart_sync's callback sets the range inputs)
    assert rv.changed_elsewhere(drawn)


def test_a_widget_state_streamlit_dropped_is_no_change(session):
    drawn = rv._page_settings()
    del session["run_x_from_t"]  # a range input of the wall-clock axis, not drawn on the iteration axis
    assert not rv.changed_elsewhere(drawn)


def test_a_setup_check_input_is_a_change_outside_the_details_only_until_they_draw_it(session):
    drawn = rv._page_settings()
    session[rv._SETUP_DRAWN] = rv._setup_settings()
    session["run_calc_gpus"] = 4
    assert rv.changed_elsewhere(drawn)  # in the charts' rerun: the details and the URL have not drawn it
    assert not rv.changed_elsewhere(drawn, in_details=True)  # the details' own rerun draws it
    session[rv._SETUP_DRAWN] = rv._setup_settings()  # as the details record when they draw
    assert not rv.changed_elsewhere(drawn)


def test_a_watchdog_recovery_runs_the_page(session):
    drawn = rv._page_settings()
    session[live_page._NOTE_KEY] = ("12:00:00", {"attempt": 1, "stale_s": 12})
    assert rv.changed_elsewhere(drawn)
