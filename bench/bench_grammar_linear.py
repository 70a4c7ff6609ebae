"""The cost per byte of every grammar pattern, and of the parser, on long hostile lines (issue 16, item 4).

For each pattern of ``parsers.grammar`` (after each of its ``starts`` literals), and for the whole parser, a line of
each character class or motif of ``tests/test_grammar_linear.py`` (ended by a letter) is read at 16 KB, 64 KB,
256 KB and 1 MB. The cost per byte (the best of ``--repeat`` runs, CPU time of this process) must be flat: linear
time. A (pattern, class) whose cost per byte grows with the size is SUPERLINEAR; once one reading takes longer than
``--budget`` seconds the larger sizes are skipped (the patterns this fixed took 50 s at 40 KB and would take hours
at 1 MB).

    python bench/bench_grammar_linear.py [--repeat 3] [--budget 2] [--json OUT]

The table shows, per pattern, the worst class: ns per byte at each size and the ratio of the largest size's cost
per byte to the smallest's (1.0 is flat; noise on a shared machine moves it by tens of per cent; a quadratic
pattern shows the size ratio, 64 at 1 MB against 16 KB). Everything goes to ``bench/out/grammar_linear.json``.
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
# What a per-byte cost may grow by from the smallest to the largest size and still be called flat.
FLAT = 2.0


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
    for size in SIZES:
        text = make(size)
        seconds = cost(fn, text, repeat)
        per_byte[size] = seconds / len(text) * 1e9
        if seconds > budget:
            break
    sizes = sorted(per_byte)
    # A size below a few hundred microseconds of work is all timer noise: grade from 64 KB up when it is there.
    low = sizes[1] if len(sizes) > 2 else sizes[0]
    ratio = per_byte[sizes[-1]] / max(per_byte[low], 1e-3)
    return {"ns_per_byte": per_byte, "ratio": ratio, "complete": len(sizes) == len(SIZES)}


def cases():
    for pattern in g.ALL_PATTERNS:
        for start in pattern.starts or ("",):
            yield f"{pattern.name}[{start}]" if start else pattern.name, pattern.match, start
    yield "ansi_escape (sub)", lambda s: g.ANSI_ESCAPE.sub("", s), "\x1b["
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
    header = f"{'pattern':<48} {'worst class':<13}" + "".join(f"{s >> 10:>8} KB" for s in SIZES) + "   ratio"
    print("ns per byte (CPU), worst class per pattern")
    print(header)
    for label, fn, start in cases():
        results = {}
        for name, filler in FILLERS.items():
            results[name] = measure(fn, lambda size, start=start, filler=filler: line(start, filler, size),
                                    args.repeat, args.budget)
        worst = max(results, key=lambda n: (not results[n]["complete"], results[n]["ratio"]))
        w = results[worst]
        verdict = "ok" if w["complete"] and w["ratio"] <= FLAT else "SUPERLINEAR"
        cells = "".join(f"{w['ns_per_byte'][s]:>11.1f}" if s in w["ns_per_byte"] else f"{'-':>11}" for s in SIZES)
        print(f"{label[:48]:<48} {worst:<13}{cells} {w['ratio']:>7.2f} {verdict}", flush=True)
        rows.append({"case": label, "worst": worst, "verdict": verdict,
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
