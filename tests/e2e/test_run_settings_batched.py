"""A setting changed on the Run page while a trigger of the page fires reaches the URL and the charts (issue 12), in
a real browser: a real ``streamlit run app.py`` and Debian's Chromium.

Streamlit's frontend (1.67) sends the widget changes made before its next 0 ms timeout in one rerun request, and
when one of them belongs to a fragment, the request reruns that fragment only (``WidgetStateManager.scheduleFlush``:
the batch takes the first fragment id; a change outside every fragment has none). The Run page's triggers are in
fragments (the details' after the first chart, the charts' once every chart is drawn). A smoothing step taken in the
same moment went to the server in the trigger's fragment rerun: the slider showed 0.99, the session held it, and
no full run drew the charts or wrote the URL with it (``test_live_pages``' shared-URL test failed now and then, on
a busy machine, where an overdue trigger check and a key press run back to back).

Here the test takes that moment on purpose: a script installed before the page loads presses End on the smoothing
slider (a keyboard event, as Streamlit's slider handles it) inside the details trigger's own check, right when the
check sees the first chart's ``mmdash:drawn:*`` mark and fires. The WebSocket frames show that the slider's change
went out in the trigger's fragment rerun; the page must then show and link the new smoothing all the same. Nothing
is timed against a deadline.
"""

from __future__ import annotations

from urllib.parse import parse_qs, quote, urlsplit

import pytest
from streamlit.proto.BackMsg_pb2 import BackMsg

from tests.conftest import SAMPLE_LOGS
from tests.e2e.conftest import start_streamlit
from tests.e2e.page_helpers import main_text, poll

pytestmark = pytest.mark.browser

CLS_ID = "sample_logs/cls_epoch_val/20260315_140000/20260315_140000.log"
SLOW_S = 90
SLIDER = "[data-testid='stSidebar'] [data-testid='stSlider'] input[type='range']"

#: Presses End on the smoothing slider in the task in which the details trigger fires: its check reads the page's
#: performance marks and fires once a chart's ``mmdash:drawn:*`` mark is there.
_PRESS_WITH_THE_TRIGGER = """
(() => {
  const marks = performance.getEntriesByType.bind(performance);
  window.__mmdashPressed = false;
  performance.getEntriesByType = (type) => {
    const found = marks(type);
    if (!window.__mmdashPressed && type === "mark" && found.some((m) => m.name.startsWith("mmdash:drawn:"))) {
      const slider = document.querySelector(SLIDER);
      if (slider) {
        window.__mmdashPressed = true;
        slider.dispatchEvent(new KeyboardEvent("keydown", {key: "End", bubbles: true, cancelable: true}));
      } else {
        window.__mmdashMissed = (window.__mmdashMissed || 0) + 1;  // a chart drawn before the slider was
      }
    }
    return found;
  };
})();
""".replace("SLIDER", repr(SLIDER))


@pytest.fixture(scope="module")
def server():
    s = start_streamlit([SAMPLE_LOGS], extra_env={"MMDASH_DEMO": "0"})
    yield s
    s.stop()


def _record_reruns(page) -> list[dict]:
    """Every rerun request the page sends: its fragment id, whether a timer sent it, the smoothing slider's value
    and the trigger events it carries."""
    sent: list[dict] = []

    def on_socket(ws) -> None:
        def frame(payload) -> None:
            if isinstance(payload, str):
                return
            msg = BackMsg()
            msg.ParseFromString(payload)
            if msg.WhichOneof("type") != "rerun_script":
                return
            rerun = msg.rerun_script
            widgets = rerun.widget_states.widgets
            sent.append({
                "fragment_id": rerun.fragment_id, "timer": rerun.is_auto_rerun,
                "smoothing": [list(w.double_array_value.data) for w in widgets if w.id.endswith("run_smoothing")],
                "triggers": [w.id.rsplit("-", 1)[-1] for w in widgets
                             if w.WhichOneof("value") == "json_trigger_value" and w.json_trigger_value],
            })
        ws.on("framesent", frame)

    page.on("websocket", on_socket)
    return sent


def test_a_smoothing_step_taken_as_the_first_chart_is_drawn_reaches_the_charts_and_the_url(page, server,
                                                                                             page_errors):
    page.add_init_script(_PRESS_WITH_THE_TRIGGER)
    sent = _record_reruns(page)
    state = """() => ({pressed: window.__mmdashPressed, missed: window.__mmdashMissed || 0,
                       marks: performance.getEntriesByType("mark").map((m) => m.name)})"""
    # The moment this test is about: the step went out with the trigger, in its fragment's rerun (a timer's rerun
    # sent meanwhile may carry it too: a timer sends the widgets' states as they are). A load cannot take it when
    # the first chart was drawn before the slider was, or when the trigger fired while the page's full run still
    # ran (its request is a full run then): the page is loaded again, 5 times at most.
    for _ in range(5):
        sent.clear()
        page.goto(server.url + "/run?run=" + quote(CLS_ID))
        poll(lambda: (lambda s: s["pressed"] or s["missed"])(page.evaluate(state)), timeout_s=SLOW_S, page=page)
        seen = page.evaluate(state)
        if not seen["pressed"]:
            if seen["missed"]:
                continue
            break
        batch = poll(lambda: next((r for r in sent if not r["timer"] and r["smoothing"] == [[0.99]]), None),
                     timeout_s=SLOW_S, page=page)
        if batch is None or (batch["fragment_id"] and any("after_first_chart" in t for t in batch["triggers"])):
            break
    assert seen["pressed"], f"the details trigger never checked for a drawn chart with the slider on the page: {seen}"
    assert batch is not None, sent
    assert batch["fragment_id"] and any("after_first_chart" in t for t in batch["triggers"]), sent

    assert poll(lambda: parse_qs(urlsplit(page.url).query).get("smoothing") == ["0.99"], timeout_s=SLOW_S,
                page=page), page.url
    assert not [r for r in sent[1:] if not r["fragment_id"]], sent  # the browser asked for no full run after the load
    # The charts are drawn with it (their note says the smoothing they apply) and the slider shows it.
    assert poll(lambda: "Smoothing 0.99 applies to" in main_text(page), timeout_s=SLOW_S, page=page)
    assert page.locator(SLIDER).first.input_value() == "0.99"
    page.get_by_text("Check the setup you believe you ran").wait_for(timeout=SLOW_S * 1000)  # the details too
    assert page_errors == []
