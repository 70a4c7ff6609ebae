"""Live pages that cannot freeze for good: a heartbeat every timed fragment draws, and a watchdog in the browser.

Why (issue 16 item 10): a ``st.fragment(run_every=...)`` timer lives in the browser. Streamlit's frontend clears
every fragment timer when a *full* run starts (``App.handleNewSession`` -> ``cleanupAutoReruns``) and arms one
again only when that run's ``AutoRerun`` message arrives (sent by ``@st.fragment`` when the full run calls the
fragment; a fragment rerun never sends it again). Streamlit can lose that message: ``AppSession`` ignores every
event of a ScriptRunner that is no longer current (``_handle_scriptrunner_event_on_event_loop``: ``sender is not
self._scriptrunner``), and a fragment tick that reaches the server after the full run's runner stopped, but before
the event loop handled the runner's queued events, makes ``request_rerun`` start a new runner (the race its own
comment describes for streamlit#9921). The full run's ``NewSession`` got through (timers cleared), its
``AutoRerun`` did not: the page never asks for a rerun again and stays as it is, "Live updates on" and all,
until a reload. Full runs happen on a page load, on every widget change and after every reconnect (Streamlit
disconnects a browser whose send queue of 500 messages is full), so the chance is small per full run and real
over hours.

What this module adds, in pure Streamlit (``st.components.v2``, inline JavaScript, no build step):

- ``heartbeat(text)``: drawn by a timed fragment at each run, in a keyed container (CSS class
  ``st-key-mmdash_live_beat``): the page says when it was last refreshed (server clock), so a reader sees it too.
- ``watchdog(stale_after_s)``: mounted in the page body (outside every fragment). Once a second it reads the
  heartbeat's text; while the app is connected, idle (no script running) and the tab is visible, a text that did
  not change for ``stale_after_s`` seconds means the page lost its refresh timer: it asks for a full rerun (a
  trigger value: the rerun draws the page and arms its timers again). After ``MAX_ATTEMPTS`` reruns that did not
  bring the heartbeat back it reloads the page (every setting is in the URL, so nothing is lost). A hidden tab is
  left alone (the browser slows its timers on purpose) and checked again when shown.
- ``recovery_note()``: the page's note after a recovery; ``AppState.counters.live_recoveries`` counts them.

The watchdog reads the app's ``data-test-connection-state`` and ``data-test-script-state`` attributes (Streamlit's
own end-to-end tests wait on them); a Streamlit without them leaves the watchdog idle (no false alarms, no
recovery), which ``tests/e2e/test_live_follow.py`` would show.
"""

from __future__ import annotations

import time

import streamlit as st

BEAT_KEY = "mmdash_live_beat"
WATCHDOG_KEY = "mmdash_live_watchdog"
MAX_ATTEMPTS = 3
_NOTE_KEY = "_live_recovered"

_WATCHDOG_JS = """
export default function (component) {
  const { data, setTriggerValue } = component;
  const staleMs = Math.max(2, Number(data && data.stale_after_s) || 10) * 1000;
  const maxAttempts = Number(data && data.max_attempts) || 3;
  const beat = String((data && data.beat) || "");
  let lastText = null;
  let lastChange = performance.now();
  let lastAttempt = 0;
  let attempts = 0;
  const check = () => {
    const now = performance.now();
    const app = document.querySelector("[data-testid='stApp']");
    if (!app || document.visibilityState !== "visible"
        || app.getAttribute("data-test-connection-state") !== "CONNECTED") {
      lastChange = now;  // Streamlit reconnects by itself; a hidden tab is slowed down on purpose
      return;
    }
    const el = beat ? document.querySelector(beat) : null;
    const text = el ? el.textContent : null;
    if (text !== lastText) {
      lastText = text;
      lastChange = now;
      attempts = 0;
      return;
    }
    if (app.getAttribute("data-test-script-state") === "running") return;  // the server is at work for us
    if (now - lastChange < staleMs || now - lastAttempt < staleMs) return;
    lastAttempt = now;
    attempts += 1;
    if (attempts > maxAttempts) {
      window.location.reload();
      return;
    }
    setTriggerValue("stale", { attempt: attempts, stale_s: Math.round((now - lastChange) / 1000) });
  };
  const id = setInterval(check, 1000);
  return () => clearInterval(id);
}
"""

_watchdog = st.components.v2.component("mmdash_live_watchdog", js=_WATCHDOG_JS)


def heartbeat(text: str) -> None:
    """The line a timed fragment draws at each run (the watchdog watches it)."""
    with st.container(key=BEAT_KEY):
        st.caption(text)


def beat_text(what: str) -> str:
    return f"Live check: {what} refreshed at {time.strftime('%H:%M:%S')} (server clock)"


def footer(what: str) -> None:
    """The end of a timed fragment: the note of the last recovery (if any) and the heartbeat, which says what
    refreshes how often (``what``) and when it last did."""
    note = recovery_note()
    if note:
        st.caption(note)
    heartbeat(beat_text(what))


def watchdog(stale_after_s: float, on_recover=None) -> None:
    """Mount the watchdog (outside every fragment; once per page run). ``on_recover()`` runs on a recovery."""

    def recovered_now() -> None:
        value = st.session_state.get(WATCHDOG_KEY)
        stale = value.get("stale") if hasattr(value, "get") else None
        st.session_state[_NOTE_KEY] = (time.strftime("%H:%M:%S"), stale)
        from dashboard.ui import common  # here: common imports the upload store, which pages may not need

        common.app_state().counters.live_recoveries += 1
        if on_recover is not None:
            on_recover()

    _watchdog(key=WATCHDOG_KEY, data={"beat": f".st-key-{BEAT_KEY}", "stale_after_s": float(stale_after_s),
                                      "max_attempts": MAX_ATTEMPTS},
              on_stale_change=recovered_now, height=0)


def recovery_note() -> str | None:
    """One line about the last recovery in this browser session, or None."""
    note = st.session_state.get(_NOTE_KEY)
    if not note:
        return None
    at, stale = note
    waited = ""
    if isinstance(stale, dict) and stale.get("stale_s") is not None:
        waited = f" after {stale['stale_s']} s without a refresh"
    return (f"Live updates stopped{waited} and were restarted at {at} (server clock): the browser had lost "
            "this page's refresh timer")
