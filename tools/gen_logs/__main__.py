"""``python -m tools.gen_logs OUT [--lines 1000000] [--seed 0]``: write the log (see the package docstring)."""

from __future__ import annotations

import argparse
import sys
import time

import tools.gen_logs as package
from tools.gen_logs.writer import write_log


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tools.gen_logs", description=package.__doc__.split("\n\n")[0])
    ap.add_argument("out", help="output file")
    ap.add_argument("--lines", type=int, default=1_000_000, help="exact number of lines (default 1,000,000)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    if args.lines < 1:
        ap.error("--lines must be positive")
    t = time.perf_counter()
    size = write_log(args.out, args.lines, args.seed)
    print(f"wrote {args.out}: {args.lines:,} lines, {size:,} bytes ({size / args.lines:.0f} bytes/line) "
          f"in {time.perf_counter() - t:.1f}s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
