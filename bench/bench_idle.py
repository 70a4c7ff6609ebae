#!/usr/bin/env python3
"""Idle cost of the LogWatcher: CPU used while watching 200 runs of which none grows.

Builds 200 MMEngine work_dirs (``<wd>/<stamp>/<stamp>.log`` with a few hundred lines, and
``vis_data/scalars.json``: 400 followed files, 600 directories), then for each mode starts a child
process that creates a ``LogWatcher`` with default settings, waits for its first scan, and measures
its own CPU time (``time.process_time()``: every thread of the process, user + system) over a wall
window of ``--seconds`` (default 20). CPU% = CPU seconds / wall seconds x 100, i.e. % of one core.

Targets (issue 4): under 2 % of one core with inotify, under 10 % with polling (1 s poll period).

    python bench/bench_idle.py [--runs 200] [--seconds 20] [--modes inotify poll] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TARGET = {"inotify": 2.0, "poll": 10.0}


def build(root: Path, runs: int, lines: int) -> None:
    for r in range(runs):
        stamp = f"20240101_{r:06d}"
        run_dir = root / f"cfg_{r:03d}" / stamp
        (run_dir / "vis_data").mkdir(parents=True)
        text = []
        scalars = []
        for i in range(1, lines + 1):
            text.append(f"2024/01/01 {i // 3600 % 24:02d}:{i // 60 % 60:02d}:{i % 60:02d} - mmengine - INFO - "
                        f"Iter(train) [{i * 10:>6}/100000]  lr: 1.0000e-04  eta: 1:00:00  time: 1.0000  "
                        f"data_time: 0.0100  memory: 100  loss: 0.5000\n")
            scalars.append(json.dumps({"lr": 1e-4, "loss": 0.5, "time": 1.0, "iter": i * 10, "step": i * 10}) + "\n")
        (run_dir / f"{stamp}.log").write_text("".join(text))
        (run_dir / "vis_data" / "scalars.json").write_text("".join(scalars))


def child(mode: str, root: str, seconds: float) -> None:
    sys.path.insert(0, str(REPO))
    from dashboard.live.watcher import LogWatcher

    w = LogWatcher([root], mode=mode)
    t_start = time.monotonic()
    w.start()
    ready = time.monotonic() - t_start
    n = len(w.sources())
    cpu0, wall0 = time.process_time(), time.monotonic()
    ru0 = resource.getrusage(resource.RUSAGE_SELF)
    time.sleep(seconds)
    cpu1, wall1 = time.process_time(), time.monotonic()
    ru1 = resource.getrusage(resource.RUSAGE_SELF)
    w.stop()
    cpu = cpu1 - cpu0
    print(json.dumps({
        "mode": mode, "effective_mode": w.effective_mode, "sources": n, "first_scan_seconds": round(ready, 3),
        "wall_seconds": round(wall1 - wall0, 3), "cpu_seconds": round(cpu, 4),
        "rusage_cpu_seconds": round((ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime), 4),
        "cpu_percent": round(100 * cpu / (wall1 - wall0), 3), "target_percent": TARGET[mode],
        "mode_note": w.mode_note,
    }))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=200)
    ap.add_argument("--lines", type=int, default=300, help="train lines per run")
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--modes", nargs="+", default=["inotify", "poll"], choices=["inotify", "poll"])
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--child", nargs=2, metavar=("MODE", "ROOT"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child[0], args.child[1], args.seconds)
        return 0
    ok = True
    with tempfile.TemporaryDirectory(prefix="mmdash-idle-") as d:
        root = Path(d) / "work_dirs"
        build(root, args.runs, args.lines)
        for mode in args.modes:
            env = dict(os.environ)
            env.pop("MMDASH_WATCHER", None)
            out = subprocess.run([sys.executable, __file__, "--child", mode, str(root), "--seconds", str(args.seconds)],
                                 capture_output=True, text=True, env=env, timeout=args.seconds + 300)
            if out.returncode != 0:
                print(out.stderr, file=sys.stderr)
                return 2
            r = json.loads(out.stdout)
            met = r["cpu_percent"] < r["target_percent"]
            ok &= met
            if args.json:
                print(json.dumps(r))
            else:
                print(f"{mode:8s} {r['sources']} files, first scan {r['first_scan_seconds']:.2f} s, idle CPU "
                      f"{r['cpu_percent']:.3f}% of one core over {r['wall_seconds']:.0f} s "
                      f"({r['cpu_seconds']:.3f} s CPU; target < {r['target_percent']:g}%: "
                      f"{'met' if met else 'MISSED'})")
            sys.stdout.flush()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
