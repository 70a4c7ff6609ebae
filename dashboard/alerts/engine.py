"""``AlertEngine``: checks every run the watcher follows against the alert rules and sends each alert once.

The same engine runs inside the dashboard server (``dashboard.ui.common`` starts it beside the ``AppState``) and
headless (``python -m dashboard watch``, which makes an ``AppState`` of its own): it reads the run summaries the
Runs page reads (``AppState.run_summaries``, cached on the watcher's versions) and the status the Runs page shows
(``run_model.live_status``; for ``stalled`` with the alert's own factor, floor and hysteresis).

When it looks: after every change the watcher reports (``wait_for_change``), and, for a live log whose last run is
running, once more when that run would count as stalled if nothing came (its last update + the alert's stall
threshold; checked every ``interval`` seconds). A log whose version did not change is not looked at otherwise: an
idle server with hundreds of runs costs a comparison per log per interval.

Once per run and event (``store.AlertStore``), across restarts:

- a run seen for the first time in the first pass after start-up, or in a log that is not live (an old log
  copied under a root), has what is already true about it recorded as ``start-up``: old finished or crashed
  runs page nobody;
- a run already known to the state file (seen by an earlier start) pages for what happened since, also when it
  happened while the watcher was down;
- ``stalled`` is keyed by the iteration the run stalled at: a run that resumes and stalls again later pages again.

Nothing here blocks on the network: ``Sender`` delivers in its own threads.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from dashboard.alerts.config import CHECK_INTERVAL, AlertConfig, ConfigError
from dashboard.alerts.rules import check
from dashboard.alerts.sender import Alert, Sender
from dashboard.alerts.store import AlertStore
from dashboard.analysis.summary import RunSummary
from dashboard.views import run_model
from dashboard.views.app_state import AppState, reading_of
from dashboard.views.formatting import fmt_clock, fmt_duration, fmt_num
from dashboard.views.text import one_line
from dashboard.views.url_state import run_href

TITLES = {"crashed": "crashed", "stalled": "stalled", "nonfinite": "loss turned NaN/inf", "finished": "finished"}
TYPES = {"crashed": "failure", "stalled": "warning", "nonfinite": "failure", "finished": "success"}


@dataclass(frozen=True)
class Event:
    key: str  # the state file's event key
    rule: str  # the rule's text
    reason: str


def run_name(source_id: str, index: int, count: int) -> str:
    """The run's name as the Runs page writes it (``runs_table.run_row``)."""
    return source_id if count == 1 else f"{source_id} · run {index + 1}/{count}"


def _metrics_text(values: dict[str, float], limit: int = 8) -> str:
    return ", ".join(f"{one_line(k, 60)} {fmt_num(v, 4)}" for k, v in list(values.items())[:limit])


def message(name: str, link: str, summary: RunSummary, status: str, reason: str, event: Event) -> tuple[str, str]:
    """The alert's title and plain-text body: run name, status and reason, n/N, ETA and finish, the event's facts,
    the link to the run page."""
    what = TITLES.get(event.rule, f"threshold {event.rule}")
    title = f"MMDash: {one_line(name, 120)} {what}"
    lines = [f"Run: {one_line(name, 300)}",
             f"Status: {run_model.status_badge(status, summary.first_nonfinite_iter)} — {one_line(reason, 400)}",
             f"Progress: {run_model.progress_text(summary)}"]
    if status == "finished":
        lines.append(f"Finished (log clock): {fmt_clock(summary.finish_at)}")
    elif run_model.shows_eta(status):
        lines.append(f"ETA: {fmt_duration(summary.eta_seconds)} · finish (log clock): {fmt_clock(summary.finish_at)}")
    else:
        lines.append(run_model.finish_text(summary, status))
    if event.rule == "crashed":
        err = (summary.error_text or "").strip().splitlines()
        lines.append(f"Error: {one_line(err[-1] if err else reason, 400)}")
    elif event.rule == "nonfinite":
        fields = ", ".join(summary.nonfinite_fields) or "a loss"
        lines.append(f"First non-finite value: {one_line(fields, 200)} at iteration {summary.first_nonfinite_iter}")
    elif event.rule == "finished":
        lines.append(f"Wall time: {fmt_duration(summary.wall_seconds)} "
                     f"({fmt_clock(summary.started_at)} → {fmt_clock(summary.ended_at)}, log clock)")
        if summary.final_metrics:
            lines.append(f"Final validation: {_metrics_text(summary.final_metrics)}")
            best = {k: b["value"] for k, b in summary.best_metrics.items()}
            lines.append(f"Best validation: {_metrics_text(best)}")
        else:
            lines.append("Validation: none in the log")
    elif event.rule not in TITLES:
        lines.append(f"Rule: {event.reason}")
    lines.append(link)
    return title, "\n".join(lines)


class AlertEngine:
    """See the module docstring. ``start()`` runs it in a daemon thread; tests may call ``check()`` themselves."""

    def __init__(self, state: AppState, config: AlertConfig, *, interval: float = CHECK_INTERVAL,
                 clock: Callable[[], float] = time.time, sender: Sender | None = None,
                 store: AlertStore | None = None, on_alert: Callable[[Alert], None] | None = None,
                 on_note: Callable[[str], None] | None = None) -> None:
        labels = {r.label for r in state.roots}
        for label in [*config.roots, *(x for r in config.rules for x in r.roots)]:
            if label not in labels:
                raise ConfigError(f"alert scope names log root {one_line(label, 60)!r}, which is not configured "
                                  f"(roots: {', '.join(sorted(labels))})")
        self.state = state
        self.config = config
        self.interval = interval
        self._clock = clock
        self.store = store if store is not None else AlertStore(config.state_path)
        self.sender = sender if sender is not None else Sender(
            config.channels, attempts=config.retry_attempts, first=config.retry_first, max_delay=config.retry_max,
            on_note=on_note)
        self._on_alert = on_alert
        self._versions: dict[str, int] = {}  # source id -> version last checked
        self._seen_version = -1  # the watcher's version at the last look
        #: source id -> when its running last run would count as stalled (``time.time()``): looked at again then
        self._due: dict[str, float] = {}
        self._startup: set[str] | None = None  # sources present at start-up, not yet judged
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.checks = 0
        self.error: str | None = None

    # -- life cycle ---------------------------------------------------------------------------------------
    def start(self) -> AlertEngine:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="mmdash-alerts", daemon=True)
            self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self.sender.stop(timeout)
        self.store.save()

    def _run(self) -> None:
        watcher = self.state.watcher
        while not watcher.wait_ready(1.0):
            if self._stop.is_set():
                return
        version = -1
        while not self._stop.is_set():
            try:
                self.check()
            except Exception as e:  # noqa: BLE001 - the engine must survive a bug in one step
                self.error = f"{type(e).__name__}: {e}"
            version = watcher.wait_for_change(version, timeout=self.interval)
            if self._stop.wait(0.2):  # a burst of appends is one look
                break
            version = watcher.version

    # -- one look -------------------------------------------------------------------------------------------
    def check(self) -> int:
        """Look at every source that changed (or may stall); send what is new. The number of alerts sent."""
        now = self._clock()
        watcher = self.state.watcher
        version = watcher.version
        if (version == self._seen_version and self._startup is not None
                and not any(due <= now for due in self._due.values())):
            self.checks += 1  # nothing changed and nothing can stall: no source to look at
            return 0
        self._seen_version = version
        sources = watcher.sources()
        if self._startup is None:
            self._startup = {s.id for s in sources}
        sent = 0
        for src in sources:
            # still being read (a big log is read in pieces): judged once whole (looked for again at the next check)
            if not getattr(src.tailer, "deferred", False) and reading_of(src) is not None:
                self._seen_version = -1
                continue
            if self._versions.get(src.id) == src.version and self._due.get(src.id, now + 1) > now:
                continue
            self._versions[src.id] = src.version
            sent += self._check_source(src, now, startup=src.id in self._startup)
            if not self.state.summaries_current(src):  # a young summary stood for a newer state: look again
                self._versions.pop(src.id, None)
                self._seen_version = -1
            self._startup.discard(src.id)
        self.checks += 1
        self.store.save(now)
        return sent

    def _check_source(self, src, now: float, *, startup: bool) -> int:
        try:
            mtime: float | None = os.stat(src.path).st_mtime
        except OSError:
            mtime = None
        lv = run_model.liveness(discovered_at=src.discovered_at, last_growth_at=src.last_growth_at, mtime=mtime)
        summaries = self.state.run_summaries(src)
        cfg = self.config
        self._due.pop(src.id, None)
        sent = 0
        for i, (summary, gap) in enumerate(summaries):
            name = run_name(src.id, i, len(summaries))
            if not cfg.in_scope(src.root.label, name):
                continue
            last = i == len(summaries) - 1
            status, reason = run_model.live_status(
                summary.status, summary.status_reason, live=lv.live, is_last_run=last, now=now,
                last_update=lv.last_update, median_gap=gap, stall_factor=cfg.stall_factor * cfg.hysteresis,
                stall_floor=cfg.stall_floor * cfg.hysteresis)
            if status == "running" and lv.last_update is not None:  # may stall: when, if nothing comes
                threshold = max(cfg.stall_factor * (gap or 0.0), cfg.stall_floor) * cfg.hysteresis
                self._due[src.id] = lv.last_update + threshold + 0.01
            key = f"{src.id}|{i}|{summary.started_at}"
            first_sight = not self.store.knows(key)
            self.store.seen(key, now)
            quiet = first_sight and (startup or not lv.live)
            for ev in self._events(summary, status, reason, src.root.label, name):
                if self.store.has(key, ev.key):
                    continue
                if quiet:
                    self.store.mark(key, ev.key, "start-up", now)
                    continue
                link = (f"Open: {cfg.public_url}/{run_href(src.id, i if len(summaries) > 1 else None)}"
                        if cfg.public_url else
                        f"Run page: {run_href(src.id, i if len(summaries) > 1 else None)} "
                        "(set MMDASH_PUBLIC_URL for a full link)")
                title, body = message(name, link, summary, status, reason, ev)
                self.store.mark(key, ev.key, "sent", now)
                alert = Alert(name, ev.rule, title, body, TYPES.get(ev.rule, "warning"))
                self.sender.send(alert)
                if self._on_alert is not None:
                    self._on_alert(alert)
                sent += 1
        return sent

    def _events(self, summary: RunSummary, status: str, reason: str, root: str, name: str) -> list[Event]:
        out = []
        for sr in self.config.rules:
            if not sr.applies(root, name):
                continue
            r = sr.rule
            if r.kind == "crashed" and status == "crashed":
                out.append(Event("crashed", "crashed", reason))
            elif r.kind == "finished" and status == "finished":
                out.append(Event("finished", "finished", reason))
            elif r.kind == "nonfinite" and summary.first_nonfinite_iter is not None:
                out.append(Event("nonfinite", "nonfinite", reason))
            elif r.kind == "stalled" and status == "stalled":
                out.append(Event(f"stalled@{summary.last_iter}", "stalled", reason))
            elif r.kind in ("metric", "eta", "finish"):
                why = check(r, summary, status)
                if why is not None:
                    out.append(Event(f"rule:{r.text}", r.text, why))
        return out

    # -- what the Runs page and ``watch`` show ----------------------------------------------------------------
    def status_lines(self) -> list[str]:
        lines = ["alerts: on"] + self.config.describe()
        if self.error:
            lines.append(f"alerts error: {one_line(self.error, 300)}")
        lines.extend(one_line(n, 300) for n in self.store.notes)
        lines.append(f"sent: {self.sender.sent} · given up: {self.sender.failed} · waiting: {self.sender.pending()}")
        lines.extend(one_line(n, 300) for n in self.sender.notes)
        return lines

    def last_alerts(self) -> list[dict[str, str]]:
        """The last alerts, newest first: when, run, event, and per channel (shown redacted) what became of it."""
        return [{"time": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(a.created)), "run": one_line(a.run, 200),
                 "alert": one_line(a.event, 120),
                 "delivery": "; ".join(f"{c}: {o}" for c, o in list(a.outcome.items()))}
                for a in reversed(list(self.sender.history))]


class AlertsOff:
    """What the Runs page shows when alerts are not running: why (no channel, or the configuration's error)."""

    def __init__(self, why: str) -> None:
        self.why = why

    def status_lines(self) -> list[str]:
        return [f"alerts: off ({self.why})"]

    def last_alerts(self) -> list[dict[str, str]]:
        return []

    def stop(self, timeout: float = 5.0) -> None:
        pass


def start_alerts(state: AppState, environ=None, **kwargs) -> AlertEngine | AlertsOff:
    """The server's alerts: the engine for the environment's configuration, started; else ``AlertsOff`` saying
    why (a configuration error is also printed as one ``error: alerts: ...`` line on stderr)."""
    import sys

    from dashboard.alerts.config import load_config

    try:
        config = load_config(environ, **kwargs)
        if config is None:
            return AlertsOff("no channel: set MMDASH_NOTIFY or MMDASH_ALERTS_FILE")
        return AlertEngine(state, config).start()
    except ConfigError as e:
        print(f"error: alerts: {e}", file=sys.stderr, flush=True)
        return AlertsOff(f"configuration error: {e}")
