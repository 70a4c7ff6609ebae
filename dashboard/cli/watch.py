"""``python -m dashboard watch ROOT... [--notify URL]...``: alerts without a browser (a login node).

Follows every log under the roots, as the dashboard server does, and sends the alerts of ``dashboard.alerts``
(the same engine the server runs) through Apprise. Configuration: ``--notify``/``--rule``/``--config``/
``--public-url`` on top of ``MMDASH_NOTIFY``, ``MMDASH_ALERTS_FILE``, ``MMDASH_ALERT_RULES``, ``MMDASH_PUBLIC_URL``
(``dashboard.alerts.config``); the state file (which alerts were sent) is ``--state`` or
``$MMDASH_DATA_DIR/alerts-state.json`` (else the user data dir).

Output (a contract: fields are only added): on stderr, at start, ``watch: ...`` lines saying what is configured
(channels shown as ``scheme://host`` only, never a secret), one ``watch: root ...`` line per root, then
``watch: ready: ...`` once every run was checked (alerts of what happened before the start come before it); on
stdout, one line per alert raised, flushed::

    alert <event> <run name>

where ``<event>`` is ``crashed``, ``stalled``, ``nonfinite``, ``finished`` or the threshold rule's text in
brackets (``[loss > 5 after iter 1000]``); delivery notes (retries, given up) go to stderr as ``watch: ...``.
Exit status: 2 with one ``error: ...`` line on stderr for a bad configuration (unknown scheme, bad rule,
unreadable TOML, no channel) or a root that is not a directory; 130 when interrupted; 0 on SIGTERM.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading

from dashboard.alerts.config import CHECK_INTERVAL, ConfigError, load_config
from dashboard.alerts.rules import BUILTINS


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("roots", metavar="ROOT", nargs="+", help="log roots (directories) to watch")
    parser.add_argument("--notify", action="append", default=[], metavar="URL",
                        help="an Apprise notification URL (repeatable; adds to $MMDASH_NOTIFY)")
    parser.add_argument("--rule", action="append", default=[], metavar="RULE",
                        help=f"an alert rule (repeatable): {', '.join(BUILTINS)}, 'loss > 5 after iter 1000', "
                             "'eta > 12h', 'finish later than 08:00' (default: the four built-in rules)")
    parser.add_argument("--config", metavar="FILE", default=None,
                        help="a TOML alerts file (default: $MMDASH_ALERTS_FILE)")
    parser.add_argument("--public-url", metavar="URL", default=None,
                        help="the dashboard's address as teammates reach it, for links (default: $MMDASH_PUBLIC_URL)")
    parser.add_argument("--state", metavar="FILE", default=None,
                        help="the state file of sent alerts (default: $MMDASH_DATA_DIR/alerts-state.json)")
    parser.add_argument("--interval", type=float, default=CHECK_INTERVAL, metavar="SECONDS",
                        help=f"seconds between looks at runs that may stall (default {CHECK_INTERVAL:g})")


def _print_alert(alert) -> None:
    event = alert.event if alert.event in BUILTINS else f"[{alert.event}]"
    print(f"alert {event} {alert.run}", flush=True)


def run(args: argparse.Namespace) -> int:
    from dashboard.alerts.engine import AlertEngine  # the watcher and the views: not for the other subcommands
    from dashboard.views.app_state import AppConfig, AppState
    from dashboard.views.summary_cache import SummaryCache

    for r in args.roots:
        if "\0" in r or not os.path.isdir(r):
            print(f"error: {r.replace(chr(0), '?')}: not a directory", file=sys.stderr)
            return 2
    if not args.interval > 0:
        print("error: --interval must be a positive number of seconds", file=sys.stderr)
        return 2
    try:
        config = load_config(os.environ, notify=args.notify, rules=args.rule, config_file=args.config,
                             public_url=args.public_url, state_path=args.state)
        if config is None:
            raise ConfigError("no notification channel: give --notify URL or set MMDASH_NOTIFY")
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    roots = tuple(os.path.abspath(os.path.expanduser(r)) for r in args.roots)
    state = AppState(AppConfig(roots, "watch", False), summary_cache=SummaryCache.from_env(), start=False)
    try:
        engine = AlertEngine(state, config, interval=args.interval, on_alert=_print_alert,
                             on_note=lambda note: print(f"watch: {note}", file=sys.stderr, flush=True))
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    for line in config.describe():
        print(f"watch: {line}", file=sys.stderr, flush=True)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    try:
        state.start()
        for r in state.watcher.root_status():
            print(f"watch: root {r.label}: {r.path} · {r.sources} logs · {'ok' if r.ok else r.message}",
                  file=sys.stderr, flush=True)
        engine.start()
        while engine.checks < 1 and not done.wait(0.1):
            pass
        print(f"watch: ready: {len(state.watcher.sources())} logs followed, every run checked once",
              file=sys.stderr, flush=True)
        done.wait()
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
    finally:
        engine.stop()
        state.close()
    return 0
