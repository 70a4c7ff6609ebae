"""Helpers every test shares: a comparable snapshot of a parse, real-file append/truncate/rotate, a train line,
and waiting for a state (never for a fixed time)."""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from parsers import LogParser, ParsedLog

T = TypeVar("T")

#: How long a test waits for a state before it fails: generous, because the machines are shared and noisy; a
#: test that gets its state sooner goes on at once.
WAIT_TIMEOUT = 30.0


def _f(v: float):
    return "nan" if isinstance(v, float) and math.isnan(v) else v


def snapshot(parsed: ParsedLog) -> list:
    """Everything a parse produced, as plain comparable data (NaN made comparable)."""
    out = []
    for r in parsed.runs:
        t = r.train
        out.append({
            "index": r.index, "format": r.format, "start": r.start_line, "end": r.end_line,
            "started_by": r.started_by,
            "iters": list(t.iters), "max": list(t.max_iters), "epochs": list(t.epochs),
            "iters_in_epoch": list(t.iters_in_epoch), "iters_per_epoch": list(t.iters_per_epoch),
            "ts": [_f(x) for x in t.timestamps], "eta": [_f(x) for x in t.etas], "lines": list(t.line_nos),
            "cols": {k: [_f(x) for x in v] for k, v in t.columns().items()},
            "logged_nan": sorted(t.logged_nan),
            "evals": [(e.mode, e.epoch, e.train_iter, sorted((k, _f(v)) for k, v in e.metrics.items()),
                       sorted(e.text.items()), _f(e.timestamp) if e.timestamp is not None else None, e.line_no)
                      for e in r.evals],
            "events": [(e.kind, e.line_no, e.timestamp, e.text, sorted(e.data.items())) for e in r.events],
            "header": r.header.as_dict(with_config=True),
            "unparsed": (r.unparsed.count, list(r.unparsed.examples)),
            "kinds": dict(r.line_kinds),
            "eval_progress": r.eval_progress,
            "first_last_ts": (_f(r.first_timestamp) if r.first_timestamp is not None else None,
                              _f(r.last_timestamp) if r.last_timestamp is not None else None),
        })
    return out


def append(path: Path, data: bytes) -> None:
    with open(path, "ab") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def copytruncate(path: Path, rotated: Path) -> None:
    """What logrotate's copytruncate does: copy the file away, then truncate it in place."""
    rotated.write_bytes(path.read_bytes())
    with open(path, "r+b") as f:
        f.truncate(0)


def rotate(path: Path, rotated: Path) -> None:
    """Rename the file away; the writer then starts a new file at the old name."""
    os.replace(path, rotated)


def wait_until(predicate: Callable[[], T], timeout: float = WAIT_TIMEOUT, interval: float = 0.02) -> T:
    """Call ``predicate`` until it returns something true (returned) or ``timeout`` passes (its last value)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)


def log_clock(at: float) -> str:
    """The ``YYYY/MM/DD HH:MM:SS`` prefix clock of an MMEngine line at ``at`` seconds (UTC)."""
    return time.strftime("%Y/%m/%d %H:%M:%S", time.gmtime(at))


def train_line(i: int, n: int = 1000, *, eta: str = "1:00:00", data_time: bool = True, seconds: float = 1.0,
               at: float | None = None) -> bytes:
    """One MMEngine ``Iter(train) [i/n]`` line (the log clock advances a second per iteration unless ``at``, the
    line's time in seconds, is given; ``time`` is ``seconds``; loss 1/i)."""
    extra = "data_time: 0.0100  memory: 100  " if data_time else ""
    clock = f"2024/08/27 06:{i // 60 % 60:02d}:{i % 60:02d}" if at is None else log_clock(at)
    return (f"{clock} - mmengine - INFO - Iter(train) [{i:>4}/{n}]  "
            f"lr: 1.0000e-04  eta: {eta}  time: {seconds:.4f}  {extra}loss: {1 / i:.4f}\n").encode()


# ----------------------------------------------------------------------------------- pages (AppTest, no browser)

APP_TIMEOUT = 90


def live_charts(at) -> list[dict]:
    """The Run page's charts as the browser gets them the first time (``dashboard.ui.live_chart``'s whole-figure
    messages: ``{"data": [...], "layout": {...}}``, x and y as numpy arrays), in page order."""
    import json

    from dashboard.views.chart_stream import figure_of

    out = []
    for c in at.get("bidi_component"):
        data = json.loads(c.proto.json) if c.proto.component_name == "mmdash_live_chart" else {}
        if "msg" in data:  # (not the plotly.js preload)
            out.append(figure_of(data["msg"]))
    return out


def open_page(name: str | None = None, query: dict | None = None, details: bool = True):
    """The app (``app.py``, so pages can switch to each other) opened at page ``name`` (None: the default page)
    with ``query`` in the URL, run once; fails on a script exception. ``details``: see ``rerun``."""
    from streamlit.testing.v1 import AppTest

    from tests.conftest import ROOT

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=APP_TIMEOUT)
    for k, v in (query or {}).items():
        at.query_params[k] = v
    if name is not None:
        at.switch_page(str(ROOT / "dashboard" / "ui" / "pages" / f"{name}.py"))
    return rerun(at, details)


def rerun(at, details: bool = True):
    """Run the page again (after a widget change); fails on a script exception. A Run page that waits for its
    first chart to be drawn before it draws the details below the charts (``run_view._after_first_chart``) gets
    what the browser sends then: the component's trigger, and the run it causes (``details=False``: not yet; in
    the browser that run is the details' fragment's alone, AppTest runs the whole page: the notices of a page
    just opened are gone from it)."""
    at.run()
    assert not at.exception, at.exception
    waiting = [c for c in at.get("bidi_component") if c.proto.component_name.endswith("mmdash_after_first_chart")]
    if waiting and details:
        fire_trigger(at, waiting[0].proto.id, "ready", True)
    return at


def fire_trigger(at, component_id: str, event: str, value) -> None:
    """A ``st.components.v2`` component's ``setTriggerValue(event, value)``, as the browser sends it: the page's
    widget states plus the component's trigger, then a run."""
    import json

    from streamlit.components.v2.bidi_component.main import _make_trigger_id
    from streamlit.proto.WidgetStates_pb2 import WidgetStates

    states = WidgetStates()
    states.CopyFrom(at._tree.get_widget_states())
    trigger = states.widgets.add()
    trigger.id = _make_trigger_id(component_id, "events")
    trigger.json_trigger_value = json.dumps([{"event": event, "value": value}])
    at._run(states)
    assert not at.exception, at.exception


def page_text(at) -> str:
    """Every text a page shows (text, code, Markdown, alerts, metric tiles), one element a line."""
    parts = [e.value for e in at.text] + [e.value for e in at.code] + [e.value for e in at.markdown]
    parts += [e.value for e in at.error] + [e.value for e in at.warning] + [e.value for e in at.info]
    parts += [e.value for e in at.success] + [f"{m.label} {m.value}" for m in at.metric]
    return "\n".join(str(p) for p in parts)


def tiles(at) -> dict[str, str]:
    """The metric tiles of a page: label -> value."""
    return {m.label: m.value for m in at.metric}


def parse_in_chunks(data: bytes, size: int) -> ParsedLog:
    """``data`` fed to one parser ``size`` bytes at a time (the result must be that of a whole parse)."""
    p = LogParser()
    for i in range(0, len(data), size):
        p.feed(data[i:i + size])
    p.close()
    return p.result()
