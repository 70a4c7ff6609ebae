"""``python -m dashboard report PATH... [--json | --markdown] [setup flags]``.

Output contract (README "Command line"):
- default: a terminal summary per run.
- ``--json``: one JSON object per PATH, one per line: ``{"path", "format", "skipped_lines", "runs": [...]}``,
  each run the keys of ``RunSummary.as_dict()`` (unknown values are null; a value that is not finite,
  e.g. a NaN loss, is the string "nan" / "inf" / "-inf" as ``parsers.jsonout`` writes it). With ``--combine`` all
  PATHs are one experiment: a single object whose ``path`` is the list of paths and whose single run
  is the combined one.
- ``--markdown``: a run report to paste into a document.
Errors: one line ``error: ...`` on stderr, exit 2.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from dashboard.views.formatting import hms
from parsers import parse_path
from parsers.jsonout import json_line

if TYPE_CHECKING:
    from dashboard.analysis import RunSummary

# The analysis pulls in numpy and pandas: imported in run(), so `tail` and `replay` start fast.
SAMPLERS = ("default", "length-grouped", "infinite")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("paths", nargs="+", metavar="PATH", help="log files (.log, .json, .gz)")
    fmt = p.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="machine-readable output (one object per PATH)")
    fmt.add_argument("--markdown", action="store_true", help="a run report in Markdown")
    p.add_argument("--combine", action="store_true", help="treat all PATHs as one experiment (resumed runs)")
    p.add_argument("--samples", type=int, metavar="N", help="dataset size you believe the run used")
    p.add_argument("--gpus", type=int, metavar="W", help="number of GPUs (processes) you believe it used")
    p.add_argument("--batch-size", type=int, metavar="B", help="per-GPU batch size")
    p.add_argument("--accumulate", type=int, metavar="A", help="accumulative_counts")
    p.add_argument("--epochs", type=int, metavar="E", help="max_epochs")
    p.add_argument("--sampler", choices=SAMPLERS, help="sampler type")
    p.add_argument("--drop-last", action="store_true", default=None, help="the dataloader drops the last batch")


def _overrides(args: argparse.Namespace):
    from dashboard.analysis import Overrides

    for name in ("samples", "gpus", "batch_size", "accumulate", "epochs"):
        v = getattr(args, name)
        if v is not None and v <= 0:
            raise ValueError(f"--{name.replace('_', '-')} must be a positive integer")
    return Overrides(args.samples, args.gpus, args.batch_size, args.accumulate, args.epochs, args.sampler,
                     args.drop_last)


def _num(v: float | None, fmt: str = "{:.4g}") -> str:
    return "unknown" if v is None else fmt.format(v)


def terminal_summary(path: str, s: RunSummary) -> str:
    pct = f" ({s.progress:.1%})" if s.progress is not None else ""
    lines = [
        f"{path} run {s.run_index} [{s.status}] {s.status_reason}",
        f"  progress   iter {s.last_iter if s.last_iter is not None else '-'} / "
        f"{s.max_iters if s.max_iters else '?'}{pct}"
        + (f", epoch {s.current_epoch} / {s.max_epochs or '?'}" if s.current_epoch else ""),
        f"  time       elapsed {hms(s.wall_seconds)}, compute {hms(s.compute_seconds)}, "
        f"median {_num(s.median_iter_seconds)} s/iter (p90 {_num(s.p90_iter_seconds)})",
        f"  eta        {hms(s.eta_seconds)} -> {s.finish_at or 'unknown'} "
        f"(MMEngine's logged eta: {hms(s.logged_eta_seconds)})",
        f"  throughput {_num(s.samples_per_second)} samples/s, {_num(s.updates_per_second)} updates/s"
        + (f", {_num(s.tokens_per_second)} tokens/s" if s.tokens_per_second else "")
        + (f", {_num(s.tflops)} TFLOPS" if s.tflops else ""),
        f"  setup      world size {s.world_size or '?'}, batch {s.batch_size or '?'}, "
        f"accumulation {s.accumulative_counts or '?'}, dataset {s.dataset_size or '?'}, "
        f"optimizer updates {s.optimizer_updates or '?'}",
        f"  audit      {s.audit.explanation}",
    ]
    if s.data_bound:
        lines.append(f"  warning    waiting for data is {s.data_time_share:.0%} of an iteration")
    if s.first_nonfinite_iter is not None:
        lines.append(f"  warning    NaN/inf first at iteration {s.first_nonfinite_iter} "
                     f"({', '.join(s.nonfinite_fields)})")
    if s.final_metrics:
        shown = list(s.final_metrics.items())[:6]
        lines.append("  val        " + ", ".join(f"{k}={v:.4g}" for k, v in shown))
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from dashboard.analysis import combine, summarize
    from dashboard.reports.markdown import markdown_report

    try:
        overrides = _overrides(args)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    parsed = []
    for path in args.paths:
        try:
            parsed.append((path, parse_path(path)))
        except OSError as e:
            print(f"error: cannot read {path}: {e.strerror or e}", file=sys.stderr)
            return 2
    if args.combine:
        runs = [r for _, p in parsed for r in p.runs]
        combined = combine(runs)
        items: list[tuple[Any, Any, list]] = [
            ([p for p, _ in parsed], sum(p.unparsed_count for _, p in parsed), [combined],
             parsed[0][1].format)]
    else:
        items = [(path, p.unparsed_count, p.runs, p.format) for path, p in parsed]
    out = sys.stdout
    for path, skipped, runs, fmt in items:
        summaries = [summarize(r, path=path if isinstance(path, str) else None, overrides=overrides) for r in runs]
        if args.json:
            obj = {"path": path, "format": fmt, "skipped_lines": skipped,
                   "runs": [s.as_dict() for s in summaries]}
            out.write(json_line(obj) + "\n")
        elif args.markdown:
            out.write(markdown_report(path if isinstance(path, str) else ", ".join(path), runs, summaries) + "\n")
        else:
            label = path if isinstance(path, str) else " + ".join(path)
            if not summaries:
                out.write(f"{label}: no runs found ({skipped} unparsed lines)\n")
            for s in summaries:
                out.write(terminal_summary(label, s) + "\n")
            if skipped:
                out.write(f"  ({skipped} line(s) not understood: `python -m parsers inspect {label}` shows them)\n")
        out.flush()
    return 0
