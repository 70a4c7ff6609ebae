"""ETA backtest (issue 17): MMDash's estimate against MMEngine's logged eta on logs of real MMEngine runs with a
simulated clock (``tools/make_backtest_logs.py``; the logs and their true ends are in ``bench/data/backtest``).

Each log is cut at the first train line at or past 10, 25, 50, 75 and 90% of its iterations (of the resumed range
for a resumed launch); the text up to that line is parsed as a log of its own (a copy taken mid-run) and
both estimates are read from it: ours (``summarize``'s ``projected_finish_at``, the same number ``report --json``
gives) and MMEngine's (the cut line's time + its ``eta``). The error of an estimate is
|predicted end - true end| / (true end - time of the cut line): a share of the time that was really left. The true
end is when ``runner.train()`` returned (``<log>.end.json``), its last save included. A resumed launch is read
three ways: as the newest log of a work_dir whose earlier timestamped folder holds the crashed first launch
(``<log>.launch1.log``), the way ``report`` and the Run page read it (``joined.earlier_launches``: the pauses
measured in the first launch count); as a lone file (``-alone``: an upload of that log only); and combined with
the first launch (``+launch1``: ``report --combine``, the Run page's ``combine=1``, a two-file upload).

Goal: on every log, our worst error <= 6% at the 25-90% cuts and <= 10% at the 10% cut, and our mean error at most
half of MMEngine's. Also reported: whether the true end fell inside our low-high band.

    python bench/bench_eta_backtest.py [--data DIR] [--json OUT]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dashboard.analysis import combine, summarize  # noqa: E402
from dashboard.live.launches import earlier_launches  # noqa: E402
from parsers import parse_bytes  # noqa: E402

CUTS = (0.10, 0.25, 0.50, 0.75, 0.90)
DATA = ROOT / "bench" / "data" / "backtest"


def _ts(iso: str | None) -> float | None:
    if iso is None:
        return None
    return dt.datetime.fromisoformat(iso).replace(tzinfo=dt.timezone.utc).timestamp()


def _stamp(data: bytes) -> str:
    """MMEngine's run folder name (``YYYYMMDD_HHMMSS``) from a log's first time stamp."""
    return data.split(b" - ", 1)[0].decode().replace("/", "").replace(":", "").replace(" ", "_")


def backtest(path: Path, before: Path | None = None, how: str = "") -> list[dict]:
    """Every cut of the log at ``path``; with ``before`` (the crashed first launch of a resumed run) each cut is
    read ``how``: "work_dir" (the newest of two timestamped folders, as ``report`` reads it), "combined"."""
    data = path.read_bytes()
    end = json.loads(path.with_name(path.stem + ".end.json").read_text())["end_time"]
    earlier = parse_bytes(before.read_bytes()).runs if before is not None else []
    tmp = Path(tempfile.mkdtemp(prefix="eta-backtest-")) / path.stem
    if before is not None and how == "work_dir":
        first = before.read_bytes()
        (tmp / _stamp(first)).mkdir(parents=True)
        (tmp / _stamp(first) / f"{_stamp(first)}.log").write_bytes(first)
        (tmp / _stamp(data)).mkdir()
        newest = tmp / _stamp(data) / f"{_stamp(data)}.log"
    full = parse_bytes(data).runs[-1]
    first, N = int(full.train.iters[0]), int(full.max_iters)
    base = full.resumed_from_iter or 0
    lines = data.split(b"\n")
    line_of = {int(full.train.iters[i]): int(full.train.line_nos[i]) for i in range(len(full.train))}
    rows = []
    for frac in CUTS:
        target = base + frac * (N - base)
        cut_iter = next(it for it in sorted(line_of) if it >= target and it >= first)
        part = b"\n".join(lines[:line_of[cut_iter]]) + b"\n"
        run = parse_bytes(part).runs[-1]
        if how == "work_dir":
            newest.write_bytes(part)
            s = summarize(run, earlier=earlier_launches(newest, run.resumed_from_iter is not None))
        else:
            s = summarize(combine([*earlier, run]) if earlier else run)
        cut_ts = float(run.train.timestamps[-1])
        left = end - cut_ts
        ours = _ts(s.projected_finish_at)
        mm = cut_ts + s.logged_eta_seconds if s.logged_eta_seconds is not None else None
        low, high = _ts(s.projected_finish_low_at), _ts(s.projected_finish_high_at)
        rows.append({
            "log": path.stem + {"combined": "+launch1", "alone": "-alone"}.get(how, ""), "cut": frac,
            "cut_iter": cut_iter, "seconds_left": left,
            "ours_error": abs(ours - end) / left if ours is not None else None,
            "mmengine_error": abs(mm - end) / left if mm is not None else None,
            "in_band": (low is not None and high is not None and low - 1 <= end <= high + 1),
            "band_width": ((high - low) / left) if (low is not None and high is not None) else None,
            "method": s.eta_method,
        })
    shutil.rmtree(tmp.parent, ignore_errors=True)
    return rows


def verdict(rows: list[dict]) -> dict:
    out = {}
    for log in dict.fromkeys(r["log"] for r in rows):
        sub = [r for r in rows if r["log"] == log]
        early = max(r["ours_error"] for r in sub if r["cut"] < 0.2)
        later = max(r["ours_error"] for r in sub if r["cut"] >= 0.2)
        ours = sum(r["ours_error"] for r in sub) / len(sub)
        mm = sum(r["mmengine_error"] for r in sub) / len(sub)
        out[log] = {"worst_10": early, "worst_25_90": later, "ours_mean": ours, "mmengine_mean": mm,
                    "in_band": sum(r["in_band"] for r in sub), "cuts": len(sub),
                    "band_width": sum(r["band_width"] for r in sub) / len(sub),
                    "pass": early <= 0.10 and later <= 0.06 and ours <= mm / 2}
    return out


def all_rows(data: Path) -> list[dict]:
    """Every cut of every log in ``data`` (a resumed one read the three ways, see the module docstring)."""
    rows = []
    for p in sorted(p for p in data.glob("*.log") if p.with_name(p.stem + ".end.json").exists()):
        first = p.with_name(p.stem + ".launch1.log")
        if first.exists():
            rows += backtest(p, first, "work_dir") + backtest(p, None, "alone") + backtest(p, first, "combined")
        else:
            rows += backtest(p)
    return rows


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=str(DATA))
    ap.add_argument("--json", help="write every cut and the verdicts here")
    args = ap.parse_args()
    rows = all_rows(Path(args.data))
    if not rows:
        print(f"no logs in {args.data}: make them with tools/make_backtest_logs.py", file=sys.stderr)
        return 2
    print(f"{'log':24s} {'cut':>4s} {'iter':>5s} {'left':>8s} {'ours':>6s} {'MMEngine':>8s}  band")
    for r in rows:
        print(f"{r['log']:24s} {r['cut']:4.0%} {r['cut_iter']:5d} {r['seconds_left'] / 3600:7.2f}h "
              f"{r['ours_error']:6.1%} {r['mmengine_error']:8.1%}  {'in' if r['in_band'] else 'OUT'} "
              f"(width {r['band_width']:.0%})")
    print()
    res = verdict(rows)
    for log, v in res.items():
        print(f"{log:24s} ours worst {v['worst_10']:.1%} at 10%, {v['worst_25_90']:.1%} at 25-90%; mean ours "
              f"{v['ours_mean']:.1%} vs MMEngine {v['mmengine_mean']:.1%}; true end in band {v['in_band']}/"
              f"{v['cuts']} (mean width {v['band_width']:.0%} of the time left): {'PASS' if v['pass'] else 'MISS'}")
    n = len(rows)
    print(f"all {n} cuts: mean error ours {sum(r['ours_error'] for r in rows) / n:.1%}, MMEngine "
          f"{sum(r['mmengine_error'] for r in rows) / n:.1%}; true end in band {sum(r['in_band'] for r in rows)}"
          f"/{n}, mean band width {sum(r['band_width'] for r in rows) / n:.0%} of the time left")
    if args.json:
        Path(args.json).write_text(json.dumps({"rows": rows, "verdicts": res}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
