"""ETA accuracy: MMDash's estimator against MMEngine's logged eta on finished real logs.

For every run that reaches N (the corpus in ../shared/real_logs and sample_logs/) with timestamps,
cut it at the first record at or past 10%, 25%, 50% and 75% of N, predict the finish time from that
prefix only, and compare with the real end (the timestamp of the last train record, extrapolated by
the final iteration time when the log stops logging a few iterations before N). The error of a
prediction is |predicted finish - real finish| / (real finish - time of the cut): a share of the
time that was left. The report gives the median and p90 over all cuts, for both estimators.

    python bench/bench_eta.py [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dashboard.analysis import estimate  # noqa: E402
from dashboard.analysis.timing import column, iters, timestamps  # noqa: E402
from parsers import parse_path  # noqa: E402

FRACTIONS = (0.10, 0.25, 0.50, 0.75)


def candidate_logs() -> list[Path]:
    files = []
    shared = ROOT.parent / "shared" / "real_logs"
    if shared.is_dir():
        files += sorted(shared.glob("*.log"))
    files += sorted((ROOT / "sample_logs").rglob("*.log"))
    return files


def real_end(run) -> float | None:
    N = run.max_iters
    it, ts = iters(run), timestamps(run)
    if not N or not len(it) or not math.isfinite(ts[-1]):
        return None
    interval = run.header.log_interval or int(np.median(np.diff(it))) if len(it) > 1 else 1
    if N - it[-1] >= max(interval, 1):
        return None  # did not reach the end
    t = column(run, "time")
    tail = (N - it[-1]) * (t[-1] if t is not None and math.isfinite(t[-1]) else 0.0)
    end = float(ts[-1] + tail)
    # The run ends with its last line: the final validation and checkpoint save are part of the schedule.
    return max(end, run.last_timestamp) if run.last_timestamp is not None else end


def evaluate() -> dict:
    points = []
    for path in candidate_logs():
        for run in parse_path(path).runs:
            end = real_end(run)
            if end is None or len(run.train) < 8:
                continue
            it, ts = iters(run), timestamps(run)
            N = run.max_iters
            first = it[0]
            for frac in FRACTIONS:
                target = first + frac * (N - first)
                k = int(np.searchsorted(it, target)) + 1
                if k >= len(it) or not math.isfinite(ts[k - 1]):
                    continue
                cut_ts = float(ts[k - 1])
                left = end - cut_ts
                if left <= 0:
                    continue
                ours = estimate(run, N, upto=k)
                row = {"log": path.name, "run": run.index, "fraction": frac, "cut_iter": int(it[k - 1]),
                       "seconds_left": left}
                row["ours_error"] = abs(ours.finish_at - end) / left if ours.finish_at is not None else None
                row["mmengine_error"] = (abs(ours.logged_finish_at - end) / left
                                         if ours.logged_finish_at is not None else None)
                banded = ours.finish_low_at is not None and ours.finish_high_at is not None
                row["in_band"] = banded and ours.finish_low_at - 1 <= end <= ours.finish_high_at + 1
                row["band_width"] = (ours.finish_high_at - ours.finish_low_at) / left if banded else None
                points.append(row)
    both = [p for p in points if p["ours_error"] is not None and p["mmengine_error"] is not None]

    def stats(key: str) -> dict:
        vals = sorted(p[key] for p in both)
        if not vals:
            return {}
        return {"median": statistics.median(vals), "p90": vals[int(0.9 * (len(vals) - 1))], "n": len(vals)}

    per_fraction = {}
    for frac in FRACTIONS:
        sub = [p for p in both if p["fraction"] == frac]
        if sub:
            per_fraction[str(frac)] = {
                "ours_median": statistics.median(p["ours_error"] for p in sub),
                "mmengine_median": statistics.median(p["mmengine_error"] for p in sub), "n": len(sub)}
    banded = [p for p in both if p["band_width"] is not None]
    band = {"in_band": sum(p["in_band"] for p in banded), "n": len(banded),
            "mean_width": statistics.mean(p["band_width"] for p in banded) if banded else None,
            "median_width": statistics.median(p["band_width"] for p in banded) if banded else None}
    return {"points": points, "ours": stats("ours_error"), "mmengine": stats("mmengine_error"),
            "per_fraction": per_fraction, "runs": len({(p["log"], p["run"]) for p in both}), "band": band}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--json", help="write all points and the summary here")
    args = ap.parse_args()
    res = evaluate()
    print(f"{'log':58s} run  cut   left(s)   ours   mmengine")
    for p in res["points"]:
        o = "-" if p["ours_error"] is None else f"{p['ours_error']:.1%}"
        m = "-" if p["mmengine_error"] is None else f"{p['mmengine_error']:.1%}"
        print(f"{p['log'][:58]:58s} {p['run']:3d}  {p['fraction']:.2f} {p['seconds_left']:9.0f} {o:>7s} {m:>9s}")
    print()
    print(f"finished runs evaluated: {res['runs']}, cut points: {res['ours'].get('n', 0)}")
    for frac, d in res["per_fraction"].items():
        print(f"  at {float(frac):.0%}: ours median {d['ours_median']:.2%}, MMEngine median {d['mmengine_median']:.2%}"
              f" (n={d['n']})")
    o, m = res["ours"], res["mmengine"]
    if o and m:
        print(f"median absolute error as a share of the remaining time: ours {o['median']:.2%} (p90 {o['p90']:.2%}), "
              f"MMEngine {m['median']:.2%} (p90 {m['p90']:.2%})")
        b = res["band"]
        if b["n"]:
            print(f"true end inside our low-high band: {b['in_band']}/{b['n']} cuts; band width as a share of the "
                  f"remaining time: mean {b['mean_width']:.1%}, median {b['median_width']:.1%}")
        ok = o["median"] <= 0.05 and o["median"] < m["median"]
        print(f"goal (ours <= 5% and better than MMEngine's): {'PASS' if ok else 'MISS'}")
    if args.json:
        Path(args.json).write_text(json.dumps(res, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
