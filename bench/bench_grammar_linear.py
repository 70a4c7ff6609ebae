"""The cost per byte of every grammar pattern, and of the parser, on long hostile lines (issue 16, item 4).

For each pattern of ``parsers.grammar`` (after each of its ``starts`` literals), and for the whole parser, a line of
each character class or motif of ``tests/test_grammar_linear.py`` (ended by a letter) is read at 16 KB, 64 KB,
256 KB and 1 MB. The cost per byte (the best of ``--repeat`` runs, CPU time of this process) must be flat: linear
time. A (pattern, class) whose cost per byte grows with the size is SUPERLINEAR; once one reading takes longer than
``--budget`` seconds the larger sizes are skipped (the patterns this fixed took 50 s at 40 KB and would take hours
at 1 MB).

    python bench/bench_grammar_linear.py [--repeat 3] [--budget 2] [--json OUT]

The table shows, per pattern, its costliest class (ns per byte at each size) and its worst ratio over the classes:
the cost per byte at 1 MB over the cost per byte at 64 KB (1.0 is flat; noise on a shared machine moves it by tens
of per cent; a quadratic pattern shows the size ratio, 16). Classes a pattern rejects at once (under 1 ms for a
megabyte: an anchored pattern whose first characters do not fit) are timer noise and not graded. The ANSI filter
is timed with ``finditer`` rather than ``sub``: the copy ``sub`` makes costs a step more per byte once it is
large enough to be allocated apart (~1 MB), which is allocation, not matching. Everything goes to
``bench/out/grammar_linear.json``.
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from parsers import grammar as g  # noqa: E402
from parsers import parse_bytes  # noqa: E402
from tests.test_grammar_linear import FILLERS  # noqa: E402

SIZES = (16 << 10, 64 << 10, 256 << 10, 1 << 20)
PREFIX = "2026/03/14 09:00:00 - mmengine - INFO - "
# What a per-byte cost may grow by from 64 KB to 1 MB and still be called flat (quadratic: 16).
FLAT = 2.0
GRADED = 1e-3  # seconds a reading at the largest size must take to be graded (less is a rejection at once)


def line(start: str, filler: str, size: int) -> str:
    return start + filler * ((size - len(start)) // len(filler)) + "x"


def cost(fn, arg, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t = time.process_time()
        fn(arg)
        best = min(best, time.process_time() - t)
    return best


def measure(fn, make, repeat: int, budget: float) -> dict:
    """ns per byte at each size (until one reading takes more than ``budget`` seconds)."""
    per_byte = {}
    seconds = 0.0
    for size in SIZES:
        text = make(size)
        seconds = cost(fn, text, repeat)
        per_byte[size] = seconds / len(text) * 1e9
        if seconds > budget:
            break
    sizes = sorted(per_byte)
    complete = len(sizes) == len(SIZES)
    graded = not complete or seconds >= GRADED
    # 16 KB is a few microseconds of work for most classes, all timer noise: grade from 64 KB. A reading stopped
    # by the budget is graded from the smallest size; stopped at the smallest, its ratio is infinite.
    low = sizes[1] if complete else sizes[0]
    ratio = (per_byte[sizes[-1]] / max(per_byte[low], 1e-3) if low != sizes[-1] else float("inf")) if graded else None
    return {"ns_per_byte": per_byte, "ratio": ratio, "complete": complete}


def cases():
    for pattern in g.ALL_PATTERNS:
        for start in pattern.starts or ("",):
            yield f"{pattern.name}[{start}]" if start else pattern.name, pattern.match, start
    yield "ansi_escape (finditer)", lambda s: sum(1 for _ in g.ANSI_ESCAPE.finditer(s)), "\x1b["
    for start in ("", PREFIX, *(PREFIX + s for s in ("Iter(train) [", "Exp name: ", "Checkpoints will be saved to "))):
        label = "parser: " + (start.replace(PREFIX, "<prefix> ").strip() or "bare line")
        yield label, lambda s: parse_bytes(s.encode() + b"\n"), start


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--budget", type=float, default=2.0, help="seconds one reading may take before larger sizes "
                    "are skipped")
    ap.add_argument("--json", type=Path, default=ROOT / "bench" / "out" / "grammar_linear.json")
    args = ap.parse_args()

    rows = []
    header = (f"{'pattern':<46} {'costliest':<13}" + "".join(f"{s >> 10:>7} KB" for s in SIZES)
              + "  worst ratio")
    print("ns per byte (CPU): each pattern's costliest class at each size; the worst ratio 1 MB / 64 KB of its "
          "classes")
    print(header)
    for label, fn, start in cases():
        results = {}
        for name, filler in FILLERS.items():
            results[name] = measure(fn, lambda size, start=start, filler=filler: line(start, filler, size),
                                    args.repeat, args.budget)
        costliest = max(results, key=lambda n: (not results[n]["complete"], max(results[n]["ns_per_byte"].values())))
        graded = {n: r for n, r in results.items() if r["ratio"] is not None}
        worst = max(graded, key=lambda n: (not graded[n]["complete"], graded[n]["ratio"])) if graded else None
        flat = all(r["complete"] and r["ratio"] <= FLAT for r in graded.values())
        verdict = "ok" if flat else "SUPERLINEAR"
        c = results[costliest]
        cells = "".join(f"{c['ns_per_byte'][s]:>10.1f}" if s in c["ns_per_byte"] else f"{'-':>10}" for s in SIZES)
        ratio = f"{graded[worst]['ratio']:5.2f} {worst}" if worst else "    - (none graded)"
        print(f"{label[:46]:<46} {costliest:<13}{cells}  {ratio:<22} {verdict}", flush=True)
        rows.append({"case": label, "costliest": costliest, "worst_ratio_class": worst, "verdict": verdict,
                     "classes": {n: {"ns_per_byte": {str(k): v for k, v in r["ns_per_byte"].items()},
                                     "ratio": r["ratio"], "complete": r["complete"]} for n, r in results.items()}})

    bad = [r["case"] for r in rows if r["verdict"] != "ok"]
    print(f"\n{len(rows) - len(bad)} of {len(rows)} flat (ratio <= {FLAT})" + (f"; not flat: {', '.join(bad)}" if bad
                                                                            else ""))
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    except OSError:
        commit = ""
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({
        "sizes": SIZES, "repeat": args.repeat, "budget": args.budget, "flat": FLAT, "rows": rows,
        "python": sys.version, "machine": platform.platform(), "commit": commit,
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
    }, indent=1))
    print(f"written: {args.json}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
