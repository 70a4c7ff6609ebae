"""GPU log benchmark: a week of 1 s samples for 8 GPUs (4,838,400 rows) read by ``parsers.gpu_csv`` against
``pandas.read_csv(engine="pyarrow")`` on the same file.

    python bench/bench_gpu_csv.py [--days 7] [--gpus 8] [--repeat 3] [--keep]

Writes the file with ``tools/gen_logs/gpu.py`` (nvidia-smi's exact CSV; kept in ``bench/out/`` with ``--keep``
and reused), reads it once for a warm page cache, loads the GPU parser's compiled scanner (its start-up is
reported on its own, like the imports), then alternates, ``--repeat`` times in this process:

- ``pandas``: ``pd.read_csv(path, engine="pyarrow")`` (strings with units stay strings: less work than ours);
- ``gpu_csv``: ``parsers.gpu_csv.parse_gpu_path(path).table()``: numbers without units, NaN for ``[N/A]``,
  the time as seconds, rows checked and sorted by time.

Goal (issue 13): gpu_csv / pandas <= 1.5 (median times). Then the chart check: the per-GPU traces of the
Run page's GPU charts for the whole week stay at or under 4,000 points. Results: stdout and
``bench/out/gpu_csv_results.json``. Not a timed test: run by hand.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
OUT = HERE / "out"
sys.path.insert(0, str(ROOT))

GOAL = 1.5


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--days", type=int, default=7)
    ap.add_argument("--gpus", type=int, default=8)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()
    import numpy as np
    import pandas as pd

    from parsers import gpu_csv
    from tools.gen_logs.gpu import write_gpu_log

    OUT.mkdir(exist_ok=True)
    path = OUT / f"gpu_{args.days}d_{args.gpus}g.csv"
    samples = args.days * 86400
    if not path.exists():
        t = time.perf_counter()
        write_gpu_log(path, _dt.datetime(2026, 1, 1), samples, gpus=args.gpus, busy=range(args.gpus),
                      na_gpus=(args.gpus - 1,))
        print(f"wrote {path} in {time.perf_counter() - t:.0f} s")
    size = path.stat().st_size
    with open(path, "rb") as f:
        while f.read(1 << 24):
            pass
    t = time.perf_counter()
    gpu_csv.parse_gpu_bytes(gpu_csv.HEADER.encode() + b"\n")
    gpu_csv._scan()
    startup = time.perf_counter() - t
    times: dict[str, list[float]] = {"pandas": [], "gpu_csv": []}
    rows = {}
    for _ in range(args.repeat):
        t = time.perf_counter()
        df = pd.read_csv(path, engine="pyarrow")
        times["pandas"].append(time.perf_counter() - t)
        rows["pandas"] = len(df)
        del df
        t = time.perf_counter()
        tab = gpu_csv.parse_gpu_path(str(path)).table()
        times["gpu_csv"].append(time.perf_counter() - t)
        rows["gpu_csv"] = len(tab)
        del tab
    med = {k: statistics.median(v) for k, v in times.items()}
    ratio = med["gpu_csv"] / med["pandas"]
    assert rows["pandas"] == rows["gpu_csv"] == samples * args.gpus, rows
    print(f"file: {path.name}, {size / 1e6:.0f} MB, {rows['gpu_csv']:,} rows; load average {os.getloadavg()[0]:.1f}")
    print(f"scanner start-up (numba cache load): {startup:.2f} s (not in the times)")
    for k, v in times.items():
        print(f"{k:8s} median {med[k]:.2f} s  rounds {', '.join(f'{x:.2f}' for x in v)}")
    print(f"gpu_csv / pandas = {ratio:.2f} (goal <= {GOAL}): {'PASS' if ratio <= GOAL else 'MISS'}")
    points = None
    try:
        from dashboard.charts.gpu import gpu_figures

        tab = gpu_csv.parse_gpu_path(str(path)).table()
        t = time.perf_counter()
        figs = gpu_figures(tab, x_axis="wall")
        fig_s = time.perf_counter() - t
        points = max(len(tr["x"]) for fig in figs.values() for tr in fig["data"] if tr.get("x") is not None)
        print(f"charts: {len(figs)} figures in {fig_s:.2f} s, at most {points} points per trace "
              f"(goal <= 4000): {'PASS' if points <= 4000 else 'MISS'}")
    except ImportError as e:
        print(f"charts: not measured ({e})")
    (OUT / "gpu_csv_results.json").write_text(json.dumps({
        "date": _dt.datetime.now(_dt.timezone.utc).isoformat(), "rows": rows["gpu_csv"], "bytes": size,
        "times": times, "median": med, "ratio": ratio, "startup": startup, "max_points_per_trace": points,
        "loadavg": os.getloadavg(), "numpy": np.__version__, "pandas": pd.__version__,
    }, indent=1))
    if not args.keep:
        path.unlink()
    return 0 if ratio <= GOAL else 1


if __name__ == "__main__":
    raise SystemExit(main())
