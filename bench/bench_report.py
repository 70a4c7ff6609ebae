"""Report benchmark: ``python -m dashboard report BIG --json`` against the naive baseline, whole processes.

    python bench/bench_report.py [--lines 1000000] [--seed 0] [--repeat 5] [--keep] [--log PATH] [--phases]

Uses the generated 1M-line log (``tools/gen_logs``, made as ``bench_parser.py`` makes it and reused from
``bench/out/big_<lines>_s<seed>.log`` when ``--keep`` left it there, or ``--log PATH``). Reads the file once
so every process starts from a warm page cache, then runs, ``--repeat`` times and alternating so that both
see the same machine load:

- ``naive``: ``python bench/naive_baseline.py LOG`` (re.search per line, a dict per record, a DataFrame);
- ``report``: ``python -m dashboard report LOG --json`` (stdout to a file, as a user redirects it).

Each number is a whole process, as a user runs it: wall time from spawn to exit (interpreter start-up,
imports and the parser's compiled-scanner start-up included), CPU time (user + system) and peak RSS, both
from the child's own ``rusage``. The ratios use the medians over the repetitions; the ratio of each round
(naive and report run back to back) is shown too. The report's train records (summed over its runs) are
checked against the baseline's record count. ``--phases`` adds one in-process breakdown of the report
(imports, scanner start-up, parse, summarize, JSON) to show where its time goes.
Goal (issue 10): naive wall / report wall >= 8. Results: a table on stdout and
``bench/out/report_results.json``. Not a timed test: run it by hand, on a quiet machine.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
OUT = HERE / "out"
sys.path.insert(0, str(HERE))

from bench_export import big_log_arguments, child_env, measure, prepare, process_table  # noqa: E402  (the export benchmark's per-process measure and set-up)

SPEED_GOAL = 8.0  # naive wall time / report wall time, at least

# The in-process breakdown (--phases), run as ``python -c`` in a fresh interpreter from the repository root.
PHASES = """
import json, sys, time
t0 = time.perf_counter()
from dashboard.cli import report
from dashboard.analysis import summarize
t1 = time.perf_counter()
from parsers import parse_path, train_kernel
path = sys.argv[1]
if report._input_bytes([path]) >= report.LOAD_SCANNER_BYTES:
    train_kernel.warm_up()
t2 = time.perf_counter()
parsed = parse_path(path)
t3 = time.perf_counter()
summaries = [summarize(r, path=path) for r in parsed.runs]
t4 = time.perf_counter()
from parsers.jsonout import json_line
text = json_line({"path": path, "format": parsed.format, "skipped_lines": parsed.unparsed_count,
                  "runs": [s.as_dict() for s in summaries]})
t5 = time.perf_counter()
print(json.dumps({"imports": t1 - t0, "scanner_startup": t2 - t1, "parse": t3 - t2, "summarize": t4 - t3,
                  "json": t5 - t4}))
"""


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="MMDash report benchmark (see module docstring)")
    big_log_arguments(ap, repeat=5)
    ap.add_argument("--phases", action="store_true", help="also time the report's phases in one process")
    args = ap.parse_args(argv)

    path, size, machine = prepare("report", args)

    py = sys.executable
    commands = {
        "naive": [py, str(HERE / "naive_baseline.py"), str(path)],
        "report": [py, "-m", "dashboard", "report", str(path), "--json"],
    }
    runs: dict[str, list[dict]] = {name: [] for name in commands}
    for k in range(args.repeat):
        for name, cmd in commands.items():
            print(f"  round {k + 1}/{args.repeat}: {name} ...", flush=True)
            runs[name].append(measure(cmd))

    naive_records = int(runs["naive"][0]["stdout"].split()[0].replace(",", ""))
    report_records = sum(r["train_records"] for r in json.loads(runs["report"][0]["stdout"])["runs"])
    assert report_records == naive_records, f"report: {report_records} train records, naive: {naive_records}"
    outputs = {r["stdout"] for r in runs["report"]}
    assert len(outputs) == 1, "the report's output differs between repetitions"
    for r in runs["report"]:  # kept once in the results file, not once per round
        r["stdout"] = f"{len(r['stdout'])} characters"

    phases = None
    if args.phases:
        print("  phases ...", flush=True)
        proc = subprocess.run([py, "-c", PHASES, str(path)], cwd=ROOT, capture_output=True, text=True, check=True,
                              env=child_env())
        phases = json.loads(proc.stdout.strip().splitlines()[-1])

    med, peak = process_table(runs, {n: " ".join(Path(c).name if "/" in c else c for c in cmd[1:])
                                     for n, cmd in commands.items()})
    print(f"(both found {naive_records:,} train records)")
    if phases:
        print("report phases in one process: " + ", ".join(f"{k} {v:.3f} s" for k, v in phases.items()))

    speed = med("naive", "wall_seconds") / med("report", "wall_seconds")
    speed_cpu = med("naive", "cpu_seconds") / med("report", "cpu_seconds")
    pairs = [n["wall_seconds"] / r["wall_seconds"] for n, r in zip(runs["naive"], runs["report"])]
    print()
    print(f"{'goal':<60} {'measured':>9} {'target':>9}  result")
    print("-" * 88)
    print(f"{'speed: naive wall / report --json wall (medians)':<60} {speed:8.2f}x {'>= 8x':>9}  "
          f"{'PASS' if speed >= SPEED_GOAL else 'MISS'}")
    print(f"{'  per round: ' + ', '.join(f'{p:.2f}x' for p in pairs):<60}")
    print(f"{'  same in CPU time':<60} {speed_cpu:8.2f}x")

    results = {
        "benchmark": "report",
        "date": _dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "python": sys.version.split()[0], "cpus": machine["cpus"], "loadavg_at_start": machine["loadavg"],
        "git_commit": subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                                     cwd=ROOT).stdout.strip(),
        "log": {"path": str(path), "bytes": size, "origin": machine["origin"]},
        "commands": {name: cmd[1:] for name, cmd in commands.items()},
        "runs": runs, "phases": phases, "naive_train_records": naive_records,
        "ratios": {"speed": speed, "speed_cpu": speed_cpu, "speed_per_round": pairs, "speed_pass": speed >= SPEED_GOAL},
    }
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "report_results.json").write_text(json.dumps(results, indent=2))
    print("\nresults: bench/out/report_results.json")
    if not args.keep and not args.log:
        path.unlink()
        path.with_suffix(".meta.json").unlink(missing_ok=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
