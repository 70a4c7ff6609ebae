"""Export benchmark: ``python -m parsers export BIG -o out.parquet`` against the naive baseline, whole processes.

    python bench/bench_export.py [--lines 1000000] [--seed 0] [--repeat 3] [--keep] [--log PATH] [--formats parquet]

Uses the generated 1M-line log (``tools/gen_logs``, made as ``bench_parser.py`` makes it and reused from
``bench/out/big_<lines>_s<seed>.log`` when ``--keep`` left it there, or ``--log PATH``). Reads the file once
so every process starts from a warm page cache, then runs, ``--repeat`` times and alternating so both see
the same machine load:

- ``naive``: ``python bench/naive_baseline.py LOG`` (re.search per line, a dict per record, a DataFrame);
- ``export.<fmt>``: ``python -m parsers export LOG -o bench/out/export.<fmt>`` for each of ``--formats``
  (parquet is the goal; csv and jsonl can be added for information).

Each number is a whole process, as a user runs it: wall time from spawn to exit (interpreter start-up,
imports and the parser's compiled-scanner start-up included), CPU time (user + system) and peak RSS,
both from the child's own ``rusage`` (``os.wait4``). The ratios use the median over the repetitions.
Goals (issue 10): naive wall / export wall >= 8, export peak RSS / naive peak RSS <= 0.5.
The export's train rows are checked against the baseline's record count. Results: a table on stdout
and ``bench/out/export_results.json``. Not a timed test: run it by hand, on a quiet machine.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
OUT = HERE / "out"
sys.path.insert(0, str(HERE))

from bench_parser import ensure_log  # noqa: E402  (the same generated log as the parser benchmark)

SPEED_GOAL = 8.0  # naive wall time / export wall time, at least
MEMORY_GOAL = 0.5  # export peak RSS / naive peak RSS, at most


def process_table(runs: dict[str, list[dict]], labels: dict[str, str]):
    """Print the whole-process table (wall median and range, CPU median, peak RSS) of the measured ``runs``, one
    row per name of ``labels``; return ``(med(name, key), peak(name))`` over those runs for the ratios."""

    def med(name: str, key: str) -> float:
        return statistics.median(r[key] for r in runs[name])

    def peak(name: str) -> int:
        return max(r["peak_rss_kb"] for r in runs[name])

    print()
    print(f"{'process':<44} {'wall s (median, min-max)':>26} {'CPU s':>8} {'peak RSS MB':>12}")
    print("-" * 94)
    for name, label in labels.items():
        walls = [r["wall_seconds"] for r in runs[name]]
        print(f"{label:<44} {med(name, 'wall_seconds'):9.2f} ({min(walls):6.2f}-{max(walls):6.2f}) "
              f"{med(name, 'cpu_seconds'):8.2f} {peak(name) / 1024:12.0f}")
    return med, peak


def child_env() -> dict[str, str]:
    """The environment of a measured process: this one's, with Python's bytecode cache on (in
    ``bench/out/pycache``), as a user's installation has it. A shell that sets ``PYTHONDONTWRITEBYTECODE``
    would make every run compile the project's modules again (~0.04 s a process)."""
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(OUT / "pycache")
    return env


def measure(argv: list[str]) -> dict:
    """Run ``argv`` from the repository root (``child_env``); wall time, CPU time and peak RSS of that process
    alone."""
    import tempfile

    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t = time.perf_counter()
        proc = subprocess.Popen(argv, cwd=ROOT, stdout=out, stderr=err, env=child_env())
        # wait4 gives this child's own rusage (RUSAGE_CHILDREN would accumulate over all children).
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t
        proc.returncode = code = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    if code != 0:
        sys.stderr.write(stdout.decode(errors="replace") + stderr.decode(errors="replace"))
        raise SystemExit(f"{' '.join(argv)} failed with exit status {code}")
    return {"wall_seconds": wall, "cpu_seconds": usage.ru_utime + usage.ru_stime,
            "peak_rss_kb": usage.ru_maxrss, "stdout": stdout.decode(errors="replace").strip(),
            "stderr": stderr.decode(errors="replace").strip()}


def train_rows(path: Path) -> int:
    """Rows with kind == train in an export file."""
    if path.suffix == ".parquet":
        import pyarrow.compute as pc
        import pyarrow.parquet as pq

        kinds = pq.read_table(path, columns=["kind"])["kind"]
        return int(pc.sum(pc.equal(kinds, "train")).as_py() or 0)
    if path.suffix == ".csv":
        import pyarrow.csv as pacsv

        kinds = pacsv.read_csv(path, convert_options=pacsv.ConvertOptions(include_columns=["kind"]))["kind"]
        return sum(1 for k in kinds.to_pylist() if k == "train")
    with open(path, encoding="utf-8") as f:
        return sum(1 for line in f if '"kind": "train"' in line)



def prepare(name: str, args: argparse.Namespace) -> tuple[Path, int, dict]:
    """What every whole-process benchmark does first: say the machine's state (a busy machine inflates wall
    times), get the big log (``--log``, or the generated one of ``args.lines`` and ``args.seed``) and warm the page
    cache with it. Returns the log's path and size, and the facts for the results file (cpus, load, origin)."""
    load = os.getloadavg()
    ncpu = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    print(f"MMDash {name} benchmark — {_dt.datetime.now().astimezone().isoformat(timespec='seconds')}")
    print(f"python {sys.version.split()[0]}, {ncpu} CPUs available, load average {load[0]:.2f} {load[1]:.2f}")
    if load[0] > 0.5 * ncpu:
        print("WARNING: the machine is busy: wall times are inflated and noisy (the CPU-time ratio is steadier)")
    if args.log:
        path, origin = args.log.resolve(), "given"
    else:
        path, seconds, reused = ensure_log(args.lines, args.seed)
        origin = "reused" if reused else f"generated in {seconds:.1f}s"
    size = path.stat().st_size
    print(f"log: {path}: {size / 1e6:.1f} MB ({origin})")
    with open(path, "rb") as f:  # warm the page cache
        while f.read(64 << 20):
            pass
    return path, size, {"cpus": ncpu, "loadavg": load, "origin": origin}


def big_log_arguments(ap: argparse.ArgumentParser, repeat: int) -> None:
    """The options every whole-process benchmark of the big log takes (what ``prepare`` reads)."""
    ap.add_argument("--lines", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--repeat", type=int, default=repeat)
    ap.add_argument("--keep", action="store_true", help="keep the generated log in bench/out/ for the next run")
    ap.add_argument("--log", type=Path, help="use this log instead of generating one")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="MMDash export benchmark (see module docstring)")
    big_log_arguments(ap, repeat=3)
    ap.add_argument("--formats", default="parquet", help="comma-separated: parquet (the goal), csv, jsonl")
    args = ap.parse_args(argv)
    formats = [f.strip() for f in args.formats.split(",") if f.strip()]

    path, size, machine = prepare("export", args)

    py = sys.executable
    commands = {"naive": [py, str(HERE / "naive_baseline.py"), str(path)]}
    outputs = {}
    for fmt in formats:
        outputs[fmt] = OUT / f"export.{fmt}"
        commands[f"export.{fmt}"] = [py, "-m", "parsers", "export", str(path), "-o", str(outputs[fmt])]
    OUT.mkdir(parents=True, exist_ok=True)

    runs: dict[str, list[dict]] = {name: [] for name in commands}
    for k in range(args.repeat):
        for name, cmd in commands.items():
            print(f"  round {k + 1}/{args.repeat}: {name} ...", flush=True)
            runs[name].append(measure(cmd))

    naive_records = int(runs["naive"][0]["stdout"].split()[0].replace(",", ""))
    for fmt, out in outputs.items():
        n = train_rows(out)
        assert n == naive_records, f"{fmt}: {n} train rows, the baseline found {naive_records} records"

    med, peak = process_table(runs, {n: f"{n}: " + " ".join(Path(c).name if "/" in c else c for c in cmd[1:4])
                                     for n, cmd in commands.items()})
    print(f"(the baseline found {naive_records:,} train records; every export wrote as many train rows)")

    ratios: dict[str, dict] = {}
    print()
    print(f"{'goal':<60} {'measured':>9} {'target':>9}  result")
    print("-" * 88)
    for fmt in formats:
        name = f"export.{fmt}"
        speed = med("naive", "wall_seconds") / med(name, "wall_seconds")
        speed_cpu = med("naive", "cpu_seconds") / med(name, "cpu_seconds")
        pairs = [n["wall_seconds"] / e["wall_seconds"] for n, e in zip(runs["naive"], runs[name])]
        memory = peak(name) / peak("naive")
        ratios[fmt] = {"speed": speed, "speed_cpu": speed_cpu, "speed_per_round": pairs, "memory": memory,
                       "speed_pass": speed >= SPEED_GOAL, "memory_pass": memory <= MEMORY_GOAL}
        label = "(the goal)" if fmt == "parquet" else "(information)"
        print(f"{f'speed {fmt} {label}: naive wall / export wall':<60} {speed:8.2f}x {'>= 8x':>9}  "
              f"{'PASS' if speed >= SPEED_GOAL else 'MISS'}")
        print(f"{'  per round: ' + ', '.join(f'{p:.2f}x' for p in pairs):<60}")
        print(f"{'  same in CPU time':<60} {speed_cpu:8.2f}x")
        print(f"{f'memory {fmt}: export peak RSS / naive peak RSS':<60} {memory:8.3f}x {'<= 0.5x':>9}  "
              f"{'PASS' if memory <= MEMORY_GOAL else 'MISS'}")

    report = {
        "benchmark": "export",
        "date": _dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "python": sys.version.split()[0], "cpus": machine["cpus"], "loadavg_at_start": machine["loadavg"],
        "git_commit": subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                                     cwd=ROOT).stdout.strip(),
        "log": {"path": str(path), "bytes": size, "origin": machine["origin"]},
        "commands": {name: cmd[1:] for name, cmd in commands.items()},
        "runs": runs, "ratios": ratios, "naive_train_records": naive_records,
    }
    (OUT / "export_results.json").write_text(json.dumps(report, indent=2))
    print("\nresults: bench/out/export_results.json")
    for out in outputs.values():
        out.unlink(missing_ok=True)
    if not args.keep and not args.log:
        path.unlink()
        path.with_suffix(".meta.json").unlink(missing_ok=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
