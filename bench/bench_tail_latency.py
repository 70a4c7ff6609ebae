#!/usr/bin/env python3
"""Latency from a line appended to a log to that record printed by ``python -m dashboard tail --json``.

For each mode (inotify, poll) a real ``tail --json`` subprocess follows a fresh log; this script
appends N train lines (default 200) one at a time at random 10-60 ms intervals (so appends do not
line up with the poll period), notes the wall time right after each write returns, and the wall time
at which the subprocess's stdout line for that iteration arrives. Reports p50 / p95 / max per mode.

Targets (issue 4): p95 <= 0.5 s with inotify, <= 2 s with polling (default 1 s poll period).

    python bench/bench_tail_latency.py [--appends 200] [--modes inotify poll] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TARGET_P95 = {"inotify": 0.5, "poll": 2.0}


def train_line(i: int, n: int = 100_000) -> bytes:
    return (f"2024/08/27 06:{i // 60 % 60:02d}:{i % 60:02d} - mmengine - INFO - Iter(train) [{i:>6}/{n}]  "
            f"lr: 1.0000e-04  eta: 1:00:00  time: 1.0000  data_time: 0.0100  memory: 100  loss: 0.5000\n"
            ).encode()


def percentile(values: list[float], q: float) -> float:
    s = sorted(values)
    k = (len(s) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def measure(mode: str, appends: int, poll_interval: float) -> dict:
    with tempfile.TemporaryDirectory(prefix="mmdash-latency-") as d:
        log = Path(d) / "live.log"
        log.write_bytes(b"")
        env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
        proc = subprocess.Popen(
            [sys.executable, "-m", "dashboard", "tail", str(log), "--json", "--mode", mode,
             "--poll-interval", str(poll_interval)],
            cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, bufsize=0,
        )
        arrived: dict[int, float] = {}
        started = threading.Event()

        def read_out() -> None:
            assert proc.stdout is not None
            for raw in proc.stdout:
                t = time.time()
                arrived[json.loads(raw)["iter"]] = t

        def read_err() -> None:
            assert proc.stderr is not None
            for raw in proc.stderr:
                if raw.startswith(b"note: following"):
                    started.set()

        threading.Thread(target=read_out, daemon=True).start()
        threading.Thread(target=read_err, daemon=True).start()
        try:
            if not started.wait(60):
                raise RuntimeError("tail did not start")
            sent: dict[int, float] = {}
            rng = random.Random(4)
            with open(log, "ab", buffering=0) as f:
                for i in range(1, appends + 1):
                    f.write(train_line(i))
                    sent[i] = time.time()
                    time.sleep(rng.uniform(0.01, 0.06))
            deadline = time.monotonic() + 10 + 2 * poll_interval
            while len(arrived) < appends and time.monotonic() < deadline:
                time.sleep(0.05)
        finally:
            proc.terminate()
            proc.wait(10)
    lat = [arrived[i] - sent[i] for i in sent if i in arrived]
    return {
        "mode": mode, "appends": appends, "received": len(lat),
        "p50": percentile(lat, 0.5) if lat else None, "p95": percentile(lat, 0.95) if lat else None,
        "max": max(lat) if lat else None, "mean": statistics.fmean(lat) if lat else None,
        "poll_interval": poll_interval, "target_p95": TARGET_P95[mode],
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--appends", type=int, default=200)
    ap.add_argument("--modes", nargs="+", default=["inotify", "poll"], choices=["inotify", "poll"])
    ap.add_argument("--poll-interval", type=float, default=1.0, help="tail's poll period in poll mode (default 1)")
    ap.add_argument("--json", action="store_true", help="print one JSON object per mode")
    args = ap.parse_args()
    ok = True
    for mode in args.modes:
        r = measure(mode, args.appends, args.poll_interval)
        met = r["p95"] is not None and r["p95"] <= r["target_p95"] and r["received"] == r["appends"]
        ok &= met
        if args.json:
            print(json.dumps(r))
        else:
            print(f"{mode:8s} {r['received']}/{r['appends']} records  p50 {r['p50'] * 1000:7.1f} ms  "
                  f"p95 {r['p95'] * 1000:7.1f} ms  max {r['max'] * 1000:7.1f} ms  "
                  f"(target p95 <= {r['target_p95']:g} s: {'met' if met else 'MISSED'})")
        sys.stdout.flush()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
