"""A live Run page keeps following a growing log, also after its browser lost the fragment timer (issue 16 item 10).

Streamlit's browser clears every ``st.fragment(run_every=...)`` timer when a full run starts and arms it again
only when that run's ``AutoRerun`` message arrives; Streamlit's server can lose that message (an event of a
ScriptRunner that is no longer current is ignored), and the page then stops asking for reruns for good. Here the
test plays that loss on purpose: a WebSocket route drops the first ``AutoRerun`` messages the server sends to the
page (every other message goes through). The page must notice by itself (its watchdog, ``dashboard.ui.live``),
say so, and go on following the log. Before the watchdog, the page kept showing its first numbers forever.

Waits are for states (the page showing an iteration that reached the file after a given moment), each with a
generous deadline; nothing waits for a fixed time.
"""

from __future__ import annotations

import re
import threading
import time
from pathlib import Path
from urllib.parse import quote

import pytest

from tests.e2e.conftest import start_streamlit
from tests.e2e.page_helpers import main_text, metric, open_app, poll

pytestmark = pytest.mark.browser

LABEL = "follow-e2e"
REL = "live/20250101_000000.log"
MAX_ITERS = 100_000
RATE = 4.0  # train lines a second
STEP_DEADLINE_S = 90.0  # per "shows a newer iteration" step: the watchdog needs ~10 s, a loaded machine more


def train_line(it: int) -> str:
    secs = 5 * it
    stamp = f"2025/01/01 {secs // 3600 % 24:02d}:{secs // 60 % 60:02d}:{secs % 60:02d}"
    return (f"{stamp} - mmengine - INFO - Iter(train) [{it:6d}/{MAX_ITERS}]  lr: 1.0000e-04  eta: 1:00:00  "
            f"time: 0.5000  data_time: 0.0100  memory: 1234  loss: {2.0 / (1 + 0.001 * it):.4f}")


class Writer(threading.Thread):
    """Appends one train line every 1/RATE s; ``iter_at(t)``: the last iteration in the file at monotonic t."""

    def __init__(self, path: Path, first: int) -> None:
        super().__init__(daemon=True)
        self.path, self.next = path, first
        self.stamps: list[tuple[float, int]] = []
        self.stop_event = threading.Event()

    def run(self) -> None:
        with open(self.path, "a") as f:
            while not self.stop_event.wait(1 / RATE):
                f.write(train_line(self.next) + "\n")
                f.flush()
                self.stamps.append((time.monotonic(), self.next))
                self.next += 1

    def iter_at(self, t: float) -> int:
        return max((it for at, it in self.stamps if at <= t), default=0)


@pytest.fixture(scope="module")
def follow_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("follow") / LABEL
    (root / "live").mkdir(parents=True)
    (root / REL).write_text("".join(train_line(i) + "\n" for i in range(1, 41)))
    return root


@pytest.fixture(scope="module")
def follow_server(follow_root):
    server = start_streamlit([follow_root], extra_env={"MMDASH_DEMO": "0"})
    yield server
    server.stop()


def drop_first_auto_reruns(page, count: int) -> list[float]:
    """Route the page's Streamlit WebSocket and drop the first ``count`` AutoRerun messages from the server."""
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    dropped: list[float] = []

    def handler(route) -> None:
        server = route.connect_to_server()

        def from_server(message) -> None:
            if isinstance(message, bytes) and len(dropped) < count:
                try:
                    kind = ForwardMsg.FromString(message).WhichOneof("type")
                except Exception:  # noqa: BLE001 - not a ForwardMsg: pass it on
                    kind = None
                if kind == "auto_rerun":
                    dropped.append(time.monotonic())
                    return
            route.send(message)

        server.on_message(from_server)

    page.route_web_socket(re.compile(r"/_stcore/stream"), handler)
    return dropped


def shown_iteration(page) -> int | None:
    value = metric(page, "Iterations n/N")
    m = re.match(r"\s*([\d,]+)\s*/", value or "")
    return int(m.group(1).replace(",", "")) if m else None


def test_a_live_page_that_lost_its_timer_notices_and_keeps_following(page, follow_server, follow_root):
    writer = Writer(follow_root / REL, 41)
    dropped = drop_first_auto_reruns(page, 2)  # the first full run's timers: the header's and the charts'
    writer.start()
    try:
        open_app(page, follow_server, "/run?run=" + quote(f"{LABEL}/{REL}"))
        assert poll(lambda: shown_iteration(page), page=page), main_text(page)[:2000]
        assert poll(lambda: dropped, page=page), "no AutoRerun message reached the page: nothing was dropped"
        # The page follows the log: three times over, it shows an iteration the file only got after we looked.
        for _ in range(3):
            since = writer.iter_at(time.monotonic())
            newer = poll(lambda s=since: (v := shown_iteration(page)) is not None and v > s and v,
                         timeout_s=STEP_DEADLINE_S, interval_ms=250, page=page)
            assert newer, (f"the page stopped at {shown_iteration(page)} while the file went on to "
                           f"{writer.iter_at(time.monotonic())} (dropped AutoRerun messages: {len(dropped)})")
        text = main_text(page)
        assert "Live check:" in text  # the heartbeat a reader (and the watchdog) sees
        assert "were restarted at" in text, text[:3000]  # and the page says what happened
    finally:
        writer.stop_event.set()
        writer.join(5)
