#!/usr/bin/env python3
"""Idle cost of alerts (issue 14): the server's state watching 200 runs, with alerts on vs off.

Builds the 200 MMEngine work_dirs of ``bench_idle.py`` (400 followed files: text logs and ``vis_data/scalars.json``),
then runs child processes alternately with alerts off and on (``--rounds`` each, off first). Each child builds what
the dashboard server builds for its process (``AppState``: the ``LogWatcher``, the summaries worker, the summary
cache in a temporary folder) and, when on, the ``AlertEngine`` exactly as the server starts it (the four built-in
rules, a ``json://`` channel to a local HTTP sink, the default 5 s interval), waits until the watcher's first scan
and the engine's first check are done and a ``--settle`` period passed, then measures its own CPU time
(``time.process_time()``: every thread, user + system) over ``--seconds`` of wall time.

Two cases (``--cases``): ``old``, the logs' file times a day back (finished or abandoned runs: the common idle
server; the engine looks at a log only when the watcher reports a change), and ``fresh``, the logs' file times set
to now just before each child starts, so every run counts as live and may stall: the engine looks at all 400
files every interval (the worst idle case; none stalls within the window, whose end is well before the 180 s an
alert waits). Streamlit's own idle cost is left out of both sides, which makes the ratio stricter than a whole
server's.

Goal: median CPU with alerts on / median CPU with alerts off <= 1.2.

    python bench/bench_alerts_idle.py [--runs 200] [--seconds 40] [--rounds 3] [--cases old fresh] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
GOAL = 1.2


def child(root: str, on: bool, seconds: float, settle: float, port: int) -> None:
    sys.path.insert(0, str(REPO))
    from dashboard.views.app_state import AppConfig, AppState
    from dashboard.views.summary_cache import SummaryCache

    with tempfile.TemporaryDirectory(prefix="mmdash-bench-alerts-") as d:
        state = AppState(AppConfig((root,), "bench", False), summary_cache=SummaryCache(Path(d) / "cache"))
        engine = None
        if on:
            from dashboard.alerts.config import load_config
            from dashboard.alerts.engine import AlertEngine

            config = load_config({}, notify=[f"json://127.0.0.1:{port}/sink"], state_path=Path(d) / "state.json")
            engine = AlertEngine(state, config).start()
            while engine.checks < 1:
                time.sleep(0.05)
        time.sleep(settle)
        cpu0, wall0 = time.process_time(), time.monotonic()
        checks0 = engine.checks if engine else 0
        time.sleep(seconds)
        cpu1, wall1 = time.process_time(), time.monotonic()
        checks = (engine.checks - checks0) if engine else 0
        sent = engine.sender.sent if engine else 0
        if engine is not None:
            engine.stop()
        n = len(state.watcher.sources())
        state.close()
    print(json.dumps({"alerts": on, "sources": n, "wall_seconds": round(wall1 - wall0, 3),
                      "cpu_seconds": round(cpu1 - cpu0, 4),
                      "cpu_percent": round(100 * (cpu1 - cpu0) / (wall1 - wall0), 3),
                      "engine_checks": checks, "alerts_sent": sent}))


class _Sink(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=200)
    ap.add_argument("--lines", type=int, default=300, help="train lines per run")
    ap.add_argument("--seconds", type=float, default=40.0)
    ap.add_argument("--settle", type=float, default=5.0, help="seconds after start-up before measuring")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--cases", nargs="+", default=["old", "fresh"], choices=["old", "fresh"])
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--child", nargs=3, metavar=("ROOT", "ON", "PORT"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child[0], args.child[1] == "1", args.seconds, args.settle, int(args.child[2]))
        return 0
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from bench_idle import build

    sink = ThreadingHTTPServer(("127.0.0.1", 0), _Sink)
    threading.Thread(target=sink.serve_forever, daemon=True).start()
    results: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="mmdash-alerts-idle-") as d:
        root = Path(d) / "work_dirs"
        build(root, args.runs, args.lines)
        files = [p for p in root.rglob("*") if p.is_file()]
        env = {k: v for k, v in os.environ.items() if not k.startswith("MMDASH_")}
        for case in args.cases:
            for _ in range(args.rounds):
                for on in (False, True):
                    when = time.time() - (86400 if case == "old" else 0)
                    for p in files:
                        os.utime(p, (when, when))
                    out = subprocess.run([sys.executable, __file__, "--child", str(root), "1" if on else "0",
                                          str(sink.server_port), "--seconds", str(args.seconds), "--settle",
                                          str(args.settle)], capture_output=True, text=True, env=env,
                                         timeout=args.seconds + args.settle + 600)
                    if out.returncode != 0:
                        print(out.stderr, file=sys.stderr)
                        return 2
                    r = json.loads(out.stdout.strip().splitlines()[-1])
                    r["case"] = case
                    results.append(r)
                    if not args.json:
                        print(f"{case:5s} alerts {'on ' if on else 'off'}: {r['sources']} files, CPU "
                              f"{r['cpu_percent']:.3f}% of one core over {r['wall_seconds']:.0f} s "
                              f"({r['cpu_seconds']:.3f} s), engine checks {r['engine_checks']}, "
                              f"alerts sent {r['alerts_sent']}", flush=True)
    sink.shutdown()
    cases = {}
    for case in args.cases:
        off = statistics.median(r["cpu_seconds"] for r in results if r["case"] == case and not r["alerts"])
        on = statistics.median(r["cpu_seconds"] for r in results if r["case"] == case and r["alerts"])
        ratio = on / off if off > 0 else float("inf")
        cases[case] = {"off_cpu_seconds": off, "on_cpu_seconds": on, "ratio": round(ratio, 3), "met": ratio <= GOAL}
    ok = all(c["met"] for c in cases.values())
    summary = {"goal": GOAL, "cases": cases, "met": ok, "seconds": args.seconds, "load_average": os.getloadavg(),
               "rounds": results, "date": time.strftime("%Y-%m-%d %H:%M:%S")}
    out_dir = REPO / "bench" / "out"
    out_dir.mkdir(exist_ok=True)
    (out_dir / "alerts_idle_results.json").write_text(json.dumps(summary, indent=1))
    if args.json:
        print(json.dumps(summary))
    else:
        for case, c in cases.items():
            print(f"{case}: median CPU off {c['off_cpu_seconds']:.3f} s, on {c['on_cpu_seconds']:.3f} s over "
                  f"{args.seconds:g} s: ratio {c['ratio']:.3f} (goal <= {GOAL:g}: {'met' if c['met'] else 'MISSED'})")
        print(f"load average {os.getloadavg()[0]:.1f}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
