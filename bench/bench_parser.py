"""Parser benchmark: MMDash's parser against the naive baseline, on a generated 1M-line log.

    python bench/bench_parser.py [--lines 1000000] [--seed 0] [--keep]

Generates ``bench/out/big_<lines>_s<seed>.log`` (with ``tools/gen_logs``; reused when ``--keep`` left one
behind), then measures, each in a fresh Python subprocess so that the peak RSS (the child's own
``VmHWM``) belongs to one measurement only:

a. ``naive``: bench/naive_baseline.py (re.search per line, dict per record, DataFrame at the end);
b. ``parse``: ``parsers.parse_path`` (full parse, no DataFrame);
   ``parse_df``: ``parse_path`` + a pandas DataFrame of the train records built from the columns;
c. ``incremental``: feed the whole file to a ``LogParser`` in 8 MB chunks, then append 100 lines of
   the same run to the file (5 times) and time reading + feeding only the new bytes each time.
   The file is cut back to its original size afterwards.

Wall times are measured inside the child around the work only (interpreter start-up and imports
excluded for every measurement alike). The file is read once beforehand so every measurement starts
from a warm page cache. Results: a table on stdout and ``bench/out/parser_results.json``.
Goals (from the issue): speed >= 8x the baseline, peak RSS <= 0.5x, a 100-line increment <= 1/1000
of the full parse. Not a timed test: run it by hand, on a quiet machine.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
OUT = HERE / "out"

SPEED_GOAL = 8.0  # naive time / our time, at least
MEMORY_GOAL = 0.5  # our peak RSS / naive peak RSS, at most
INCREMENT_GOAL = 1 / 1000  # increment time / full parse time, at most
APPEND_LINES = 100
APPEND_ROUNDS = 5


# -- child side ---------------------------------------------------------------------------------------------
def _peak_rss_kb() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return -1


def _rss_kb() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return -1


def _train_frame(runs):
    import numpy as np
    import pandas as pd

    from parsers.records import int_column

    frames = []
    for run in runs:
        t = run.train
        if not len(t):
            continue
        frames.append(pd.DataFrame({
            "iter": int_column(t.iters),
            **{k: np.frombuffer(t.column(k)) for k in t.field_names},
        }))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def child(mode: str, path: str, lines: int, seed: int) -> dict:
    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(HERE))
    out: dict = {"mode": mode}
    if mode == "naive":
        import naive_baseline

        out["rss_before_kb"] = _rss_kb()
        t, c = time.perf_counter(), time.process_time()
        df = naive_baseline.load_train_records(path)
        out["seconds"] = time.perf_counter() - t
        out["cpu_seconds"] = time.process_time() - c
        out["train_records"] = len(df)
        out["columns"] = len(df.columns)
    elif mode in ("parse", "parse_df"):
        import parsers

        if mode == "parse_df":
            import numpy  # noqa: F401
            import pandas  # noqa: F401
        _kernel_startup(out)
        out["rss_before_kb"] = _rss_kb()
        t, c = time.perf_counter(), time.process_time()
        result = parsers.parse_path(path)
        out["parse_seconds"] = time.perf_counter() - t
        if mode == "parse_df":
            df = _train_frame(result.runs)
            out["columns"] = len(df.columns)
        out["seconds"] = time.perf_counter() - t
        out["cpu_seconds"] = time.process_time() - c
        out["train_records"] = sum(len(r.train) for r in result.runs)
        out["runs"] = len(result.runs)
        out["lines"] = result.lines
        out["evals"] = sum(len(r.evals) for r in result.runs)
        out["events"] = sum(len(r.events) for r in result.runs)
        out["unparsed"] = result.unparsed_count
    elif mode == "incremental":
        import parsers
        from parsers.stream import READ_CHUNK

        _kernel_startup(out)
        out["rss_before_kb"] = _rss_kb()
        parser = parsers.LogParser(reference=parsers.reference_time_for(path))
        t, c = time.perf_counter(), time.process_time()
        with open(path, "rb") as f:
            while chunk := f.read(READ_CHUNK):
                parser.feed(chunk)
        out["full_feed_seconds"] = time.perf_counter() - t
        out["cpu_seconds"] = time.process_time() - c
        out["train_records"] = sum(len(r.train) for r in parser.runs)
        from tools.gen_logs import extra_lines

        extra = extra_lines(lines, seed, APPEND_LINES * APPEND_ROUNDS)
        rounds = []
        for k in range(APPEND_ROUNDS):
            block = extra[k * APPEND_LINES:(k + 1) * APPEND_LINES]
            offset = os.path.getsize(path)
            with open(path, "a", encoding="utf-8", newline="\n") as f:  # the training writes 100 more lines
                f.write("\n".join(block) + "\n")
            before_train = sum(len(r.train) for r in parser.runs)
            before_lines = parser.lines
            t, c = time.perf_counter(), time.process_time()
            with open(path, "rb") as f:  # what a tailer does: read from the old size, feed the new bytes
                f.seek(offset)
                data = f.read()
            parser.feed(data)
            dt = time.perf_counter() - t
            rounds.append({
                "seconds": dt, "cpu_seconds": time.process_time() - c, "bytes": len(data),
                "new_lines": parser.lines - before_lines,
                "new_train_records": sum(len(r.train) for r in parser.runs) - before_train,
                "expected_train_records": sum(1 for ln in block if "Iter(train)" in ln or "Epoch(train)" in ln),
            })
        out["rounds"] = rounds
        out["increment_seconds_median"] = statistics.median(r["seconds"] for r in rounds)
        out["increment_seconds_max"] = max(r["seconds"] for r in rounds)
        out["seconds"] = out["full_feed_seconds"]
    else:
        raise SystemExit(f"unknown mode {mode}")
    out["peak_rss_kb"] = _peak_rss_kb()
    import resource

    out["ru_maxrss_kb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return out


def _kernel_startup(out: dict) -> None:
    """Import numba and load the parser's compiled scanner, timed on its own: a once-per-process cost
    like the imports (the first run on a machine also compiles it, which ``kernel_compiled`` shows)."""
    from parsers import train_kernel

    cache = list((ROOT / "parsers" / "__pycache__").glob("_train_kernel_numba.*.nbi"))
    t = time.perf_counter()
    out["kernel_available"] = train_kernel.warm_up()
    out["kernel_startup_seconds"] = time.perf_counter() - t
    out["kernel_compiled"] = not cache


# -- parent side ----------------------------------------------------------------------------------------------
def run_child(mode: str, path: Path, lines: int, seed: int) -> dict:
    t = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--child", mode, str(path), "--lines", str(lines),
         "--seed", str(seed)],
        capture_output=True, text=True, cwd=ROOT,
    )
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout + proc.stderr)
        raise SystemExit(f"child {mode} failed with exit code {proc.returncode}")
    res = json.loads(proc.stdout.strip().splitlines()[-1])
    res["process_seconds"] = time.perf_counter() - t  # including interpreter start-up and imports
    return res


def machine_info() -> dict:
    def cmd(*args: str) -> str:
        try:
            return subprocess.run(args, capture_output=True, text=True, cwd=ROOT).stdout.strip()
        except OSError:
            return ""

    import numpy
    import pandas

    cpu = ""
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")), "")
    except OSError:
        pass
    mem_total = ""
    try:
        with open("/proc/meminfo") as f:
            mem_total = next(ln.split(":", 1)[1].strip() for ln in f if ln.startswith("MemTotal"))
    except OSError:
        pass
    return {
        "date": _dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "cpu": cpu,
        "nproc": os.cpu_count(),
        "nproc_available": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "mem_total": mem_total,
        "loadavg_at_start": os.getloadavg(),
        "pandas": pandas.__version__,
        "numpy": numpy.__version__,
        "git_commit": cmd("git", "rev-parse", "--short", "HEAD"),
        "parsers_sha1": _parsers_digest(),
        "parsers_dirty": bool(cmd("git", "status", "--porcelain", "parsers")),
    }


def _parsers_digest() -> str:
    """A digest of parsers/*.py as measured (the parser changes often and is not always committed)."""
    import hashlib

    h = hashlib.sha1()
    for p in sorted((ROOT / "parsers").glob("*.py")):
        h.update(p.name.encode() + b"\0" + p.read_bytes())
    return h.hexdigest()[:12]


def ensure_log(lines: int, seed: int) -> tuple[Path, float, bool]:
    """The generated log; reused when a kept one with the same lines/seed/generator exists."""
    sys.path.insert(0, str(ROOT))
    from tools.gen_logs import write_log

    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"big_{lines}_s{seed}.log"
    meta_path = path.with_suffix(".meta.json")
    generator_mtime = max(p.stat().st_mtime for p in (ROOT / "tools" / "gen_logs").glob("*.py"))
    meta = {"lines": lines, "seed": seed, "generator_mtime": generator_mtime}
    if path.exists() and meta_path.exists():
        try:
            old = json.loads(meta_path.read_text())
        except ValueError:
            old = {}
        if old.get("meta") == meta and old.get("size") == path.stat().st_size:
            return path, 0.0, True
    t = time.perf_counter()
    size = write_log(path, lines, seed)
    seconds = time.perf_counter() - t
    meta_path.write_text(json.dumps({"meta": meta, "size": size}))
    return path, seconds, False


def mb(kb: int) -> float:
    return kb / 1024


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="MMDash parser benchmark (see module docstring)")
    ap.add_argument("--lines", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--keep", action="store_true", help="keep the generated log in bench/out/ for the next run")
    ap.add_argument("--child", nargs=2, metavar=("MODE", "PATH"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args.child:
        print(json.dumps(child(args.child[0], args.child[1], args.lines, args.seed)))
        return 0

    info = machine_info()
    print(f"MMDash parser benchmark — {info['date']}")
    if info["loadavg_at_start"][0] > 0.5 * (info["nproc_available"] or 1):
        print("WARNING: the machine is busy (see the load average): wall times will be inflated and noisy")
    print(f"python {info['python']} ({info['implementation']}), {info['platform']}")
    print(f"cpu: {info['cpu']}, nproc {info['nproc']} (available {info['nproc_available']}), "
          f"mem {info['mem_total']}, load avg at start {', '.join(f'{x:.2f}' for x in info['loadavg_at_start'])}")
    print(f"pandas {info['pandas']}, numpy {info['numpy']}, git {info['git_commit']}"
          f"{' (parsers/ has uncommitted changes)' if info['parsers_dirty'] else ''}, "
          f"parsers/*.py sha1 {info['parsers_sha1']}")

    path, gen_seconds, reused = ensure_log(args.lines, args.seed)
    size = path.stat().st_size
    original_size = size
    print(f"log: {path.relative_to(ROOT)}: {args.lines:,} lines, {size / 1e6:.1f} MB ({size / args.lines:.0f} B/line)"
          f"{' (reused)' if reused else f', generated in {gen_seconds:.1f}s'}")

    # Warm the page cache so that no measurement pays for the first disk read.
    with open(path, "rb") as f:
        while f.read(64 << 20):
            pass

    results: dict = {}
    try:
        for mode in ("parse", "naive", "parse_df", "incremental"):
            print(f"  running {mode} ...", flush=True)
            results[mode] = run_child(mode, path, args.lines, args.seed)
    finally:
        with open(path, "r+b") as f:  # undo the appends of the incremental measurement
            f.truncate(original_size)

    naive, parse, parse_df, inc = results["naive"], results["parse"], results["parse_df"], results["incremental"]
    counts = {m: r["train_records"] for m, r in results.items()}
    assert naive["train_records"] == parse["train_records"] == parse_df["train_records"] == inc["train_records"], (
        f"train record counts differ: {counts}")
    for r in inc["rounds"]:
        assert r["new_lines"] == APPEND_LINES, r
        assert r["new_train_records"] == r["expected_train_records"], r

    speed = naive["seconds"] / parse["seconds"]
    speed_df = naive["seconds"] / parse_df["seconds"]
    speed_cpu = naive["cpu_seconds"] / parse["cpu_seconds"]
    speed_startup = naive["seconds"] / (parse["seconds"] + parse["kernel_startup_seconds"])
    memory = parse["peak_rss_kb"] / naive["peak_rss_kb"]
    memory_df = parse_df["peak_rss_kb"] / naive["peak_rss_kb"]
    increment = inc["increment_seconds_median"] / parse["seconds"]
    increment_worst = inc["increment_seconds_max"] / parse["seconds"]

    print()
    print(f"{'measurement':<44} {'wall s':>9} {'µs/line':>8} {'CPU s':>8} {'peak RSS MB':>12} "
          f"{'train records':>14}")
    print("-" * 100)

    def row(name: str, r: dict, seconds: float) -> None:
        print(f"{name:<44} {seconds:9.3f} {seconds / args.lines * 1e6:8.2f} {r['cpu_seconds']:8.2f} "
              f"{mb(r['peak_rss_kb']):12.0f} {r['train_records']:14,}")

    row("naive baseline (re + dicts + DataFrame)", naive, naive["seconds"])
    row("parsers.parse_path", parse, parse["seconds"])
    row("parsers.parse_path + train DataFrame", parse_df, parse_df["seconds"])
    row("LogParser.feed, 8 MB chunks (whole file)", inc, inc["full_feed_seconds"])
    for k, r in enumerate(inc["rounds"], 1):
        print(f"  + append {APPEND_LINES} lines #{k}: read+feed {r['bytes']:,} B in {r['seconds'] * 1e3:.3f} ms "
              f"({r['new_train_records']} train records)")
    print(f"(peak RSS of an idle child after imports: naive {mb(naive['rss_before_kb']):.0f} MB, "
          f"parse {mb(parse['rss_before_kb']):.0f} MB, parse+df {mb(parse_df['rss_before_kb']):.0f} MB)")
    print(f"(compiled scanner: available {parse['kernel_available']}, start-up {parse['kernel_startup_seconds']:.2f} s"
          f"{' including its first compilation' if parse['kernel_compiled'] else ' from the on-disk cache'}, "
          "outside the timed parse like the imports)")
    print(f"(our parse also found {parse['runs']} runs, {parse['evals']:,} eval records, {parse['events']:,} "
          f"events, {parse['unparsed']:,} unparsed lines)")
    print()
    print(f"{'goal':<58} {'measured':>10} {'target':>9}  result")
    print("-" * 87)
    print(f"{'speed: naive time / parse_path time':<58} {speed:9.2f}x {'>= 8x':>9}  {verdict(speed >= SPEED_GOAL)}")
    print(f"{'  (same in CPU time, less sensitive to a busy machine)':<58} {speed_cpu:9.2f}x")
    label = f"  (counting the scanner's start-up, {parse['kernel_startup_seconds']:.2f} s, as parse time)"
    print(f"{label:<58} {speed_startup:9.2f}x")
    print(f"{'memory: parse_path peak RSS / naive peak RSS':<58} {memory:9.3f}x {'<= 0.5x':>9}  "
          f"{verdict(memory <= MEMORY_GOAL)}")
    print(f"{'increment: median 100-line increment / full parse':<58} {increment:10.2e} {'<= 1e-03':>9}  "
          f"{verdict(increment <= INCREMENT_GOAL)}")
    label = f"  (slowest of the {APPEND_ROUNDS} increments / full parse)"
    print(f"{label:<58} {increment_worst:10.2e}")
    print(f"{'speed incl. DataFrame: naive / (parse_path + DataFrame)':<58} {speed_df:9.2f}x {'>= 8x':>9}  "
          f"{verdict(speed_df >= SPEED_GOAL)}")
    print(f"{'memory incl. DataFrame: (parse_path + DataFrame) / naive':<58} {memory_df:9.3f}x {'<= 0.5x':>9}  "
          f"{verdict(memory_df <= MEMORY_GOAL)}")

    report = {
        "benchmark": "parser",
        "machine": info,
        "log": {"path": str(path.relative_to(ROOT)), "lines": args.lines, "seed": args.seed, "bytes": original_size,
                "bytes_per_line": original_size / args.lines, "generated_seconds": gen_seconds, "reused": reused},
        "results": results,
        "ratios": {
            "speed": speed, "speed_cpu_time": speed_cpu, "speed_counting_kernel_startup": speed_startup,
            "speed_with_dataframe": speed_df,
            "memory": memory, "memory_with_dataframe": memory_df,
            "increment_median": increment, "increment_worst": increment_worst,
        },
        "goals": {
            "speed": {"target": f">= {SPEED_GOAL}", "pass": speed >= SPEED_GOAL},
            "memory": {"target": f"<= {MEMORY_GOAL}", "pass": memory <= MEMORY_GOAL},
            "increment": {"target": f"<= {INCREMENT_GOAL}", "pass": increment <= INCREMENT_GOAL},
            "speed_with_dataframe": {"target": f">= {SPEED_GOAL}", "pass": speed_df >= SPEED_GOAL},
            "memory_with_dataframe": {"target": f"<= {MEMORY_GOAL}", "pass": memory_df <= MEMORY_GOAL},
        },
    }
    text = json.dumps(report, indent=2)
    (OUT / "parser_results.json").write_text(text)
    (OUT / f"parser_results_{args.lines}.json").write_text(text)
    print(f"\nresults: bench/out/parser_results.json (and parser_results_{args.lines}.json)")

    if not args.keep:
        path.unlink()
        path.with_suffix(".meta.json").unlink(missing_ok=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
