"""``python -m parsers inspect|export``: the parser's command line (its output is a documented contract).

inspect PATH... [--json]
    Per file: format, runs, record counts, iteration range, N, header facts, events, unparsed lines.
    ``--json`` prints one JSON object per file, one per line (JSON Lines), keys as in ``inspect_dict``.
export PATH -o OUT.csv|OUT.parquet|OUT.jsonl
    Train and val records, one row each, with ``run``, ``kind`` (train/val/test) and the fields: the
    table of ``parsers.export``.
JSON output follows ``parsers.jsonout``: a non-finite number is the string "nan", "inf" or "-inf".
Exit status: 0 on success; 2 with a one-line ``error: ...`` on stderr for a missing or unreadable
file or a bad option.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
from collections import Counter
from typing import Any

from . import train_kernel
from .export import SUFFIXES, export_table
from .jsonout import json_line
from .records import ParsedLog, Run
from .stream import parse_path

SCHEMA_VERSION = 1

#: A file at least this big is read with the compiled train-line scanner from its first line: loading it
#: (~0.4 s) costs what reading ``train_kernel.LOAD_AFTER_LINES`` train lines the general way costs,
#: and that many lines of ~200 bytes make this many bytes. Smaller files load it only when they need it.
WARM_UP_BYTES = train_kernel.LOAD_AFTER_LINES * 200


def run_dict(run: Run) -> dict[str, Any]:
    t = run.train
    events = Counter(e.kind for e in run.events)
    return {
        "index": run.index,
        "format": run.format,
        "started_by": run.started_by,
        "lines": [run.start_line, run.end_line],
        "train_records": len(t),
        "eval_records": sum(1 for e in run.evals if e.mode == "val"),
        "test_records": sum(1 for e in run.evals if e.mode == "test"),
        "first_iter": run.first_iter,
        "last_iter": run.last_iter,
        "max_iters": run.max_iters,
        "iters_per_epoch": run.iters_per_epoch,
        "fields": t.field_names,
        "eval_metrics": sorted({k for e in run.evals for k in e.metrics}),
        "header": run.header.as_dict(),
        "events": dict(sorted(events.items())),
        "errors": [
            {"line": e.line_no, "kind": e.kind, "text": e.text.splitlines()[-1] if e.text else ""}
            for e in run.events if e.kind in ("traceback", "error")
        ],
        "unparsed_lines": run.unparsed.count,
        "unparsed_examples": [{"line": n, "text": s[:300]} for n, s in run.unparsed.examples[:10]],
        "line_kinds": dict(sorted(run.line_kinds.items())),
    }


def inspect_dict(path: str, parsed: ParsedLog) -> dict[str, Any]:
    return {
        "schema": SCHEMA_VERSION,
        "path": path,
        "format": parsed.format,
        "lines": parsed.lines,
        "bytes": parsed.bytes_consumed,
        "runs": [run_dict(r) for r in parsed.runs],
        "unparsed_lines": parsed.unparsed_count,
    }


def _print_text(d: dict[str, Any], out) -> None:
    print(f"{d['path']}: {d['format'] or 'empty'}, {d['lines']} lines, {len(d['runs'])} run(s), "
          f"{d['unparsed_lines']} unparsed line(s)", file=out)
    for r in d["runs"]:
        h = r["header"]
        print(f"  run {r['index']} (lines {r['lines'][0]}-{r['lines'][1]}, started by {r['started_by']}): "
              f"{r['train_records']} train, {r['eval_records']} val, {r['test_records']} test records; "
              f"{_fmt_range_d(r)}", file=out)
        facts = {k: h[k] for k in ("world_size", "batch_size", "accumulative_counts", "max_epochs", "max_iters",
                                   "train_loop", "sampler", "per_device_batch_size", "log_interval",
                                   "dataset_size", "gpus_listed") if h.get(k) is not None}
        if facts:
            print("    setup: " + ", ".join(f"{k}={v}" for k, v in facts.items()), file=out)
        if r["fields"]:
            print("    fields: " + ", ".join(r["fields"]), file=out)
        if r["events"]:
            print("    events: " + ", ".join(f"{k}={v}" for k, v in r["events"].items()), file=out)
        for e in r["errors"][:5]:
            print(f"    {e['kind']} at line {e['line']}: {e['text'][:200]}", file=out)
        if r["unparsed_lines"]:
            print(f"    unparsed: {r['unparsed_lines']} line(s), e.g.", file=out)
            for ex in r["unparsed_examples"][:3]:
                print(f"      {ex['line']}: {ex['text'][:150]!r}", file=out)


def _fmt_range_d(r: dict[str, Any]) -> str:
    if r["first_iter"] is None:
        return "no train records"
    return f"iter {r['first_iter']}..{r['last_iter']} of {r['max_iters'] if r['max_iters'] else '?'}"


def _parse(path: str) -> ParsedLog:
    """``parse_path``, with the scanner loaded first for a big file (raises OSError like it)."""
    if os.path.getsize(path) >= WARM_UP_BYTES:
        train_kernel.warm_up()
        # numba's many objects live as long as the process: out of the collector's sight they cost nothing
        # more (the collector walking them during a big parse and at exit takes a tenth of the export's time).
        gc.freeze()
    return parse_path(path)


def export(parsed: ParsedLog, out_path: str) -> int:
    """Write the export table of ``parsed`` to ``out_path`` (format by suffix); returns the row count. The runs
    are done: the table reads their columns in place."""
    return export_table(parsed.runs, snapshot=False).write(out_path)


class _Version(argparse.Action):
    def __call__(self, parser, namespace, values, option_string=None):
        kind = train_kernel.kind()
        where = f" ({train_kernel.c_library_path()})" if kind == "c" else ""
        print(f"mmdash parsers: train-line scanner {kind}{where}")
        parser.exit()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m parsers", description="Parse MMEngine / mmcv training logs.")
    ap.add_argument("--version", action=_Version, nargs=0,
                    help="say which train-line scanner this machine uses (c, numba or none) and exit")
    sub = ap.add_subparsers(dest="cmd", required=True)
    p_in = sub.add_parser("inspect", help="summarise what a log holds")
    p_in.add_argument("paths", nargs="+", metavar="PATH")
    p_in.add_argument("--json", action="store_true", help="one JSON object per file (JSON Lines)")
    p_ex = sub.add_parser("export", help="write train and val records as CSV, Parquet or JSON Lines")
    p_ex.add_argument("path", metavar="PATH")
    p_ex.add_argument("-o", "--output", required=True, metavar="OUT")
    args = ap.parse_args(argv)

    if args.cmd == "inspect":
        for path in args.paths:
            try:
                parsed = _parse(path)
            except OSError as e:
                print(f"error: cannot read {path}: {e.strerror or e}", file=sys.stderr)
                return 2
            d = inspect_dict(path, parsed)
            if args.json:
                sys.stdout.write(json_line(d) + "\n")
            else:
                _print_text(d, sys.stdout)
        return 0
    if not args.output.lower().endswith(SUFFIXES):
        print("error: -o must end in .csv, .parquet or .jsonl", file=sys.stderr)
        return 2
    try:
        parsed = _parse(args.path)
    except OSError as e:
        print(f"error: cannot read {args.path}: {e.strerror or e}", file=sys.stderr)
        return 2
    n = export(parsed, args.output)
    print(f"wrote {n} rows to {args.output}", file=sys.stderr)
    return 0
