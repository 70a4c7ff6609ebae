"""``python -m dashboard report PATH... [--json | --markdown] [setup flags]``.

Output contract (README "Command line"):
- default: a terminal summary per run.
- ``--json``: one JSON object per PATH, one per line: ``{"path", "format", "skipped_lines", "runs": [...]}``,
  each run the keys of ``RunSummary.as_dict()`` (unknown values are null; a value that is not finite,
  e.g. a NaN loss, is the string "nan" / "inf" / "-inf" as ``parsers.jsonout`` writes it). With ``--combine`` all
  PATHs are one experiment: a single object whose ``path`` is the list of paths and whose single run
  is the combined one.
- ``--markdown``: a run report to paste into a document.
- ``--html OUT.html``: the self-contained HTML report (``dashboard.reports.html``) of all PATHs' runs, written to
  OUT.html (``-`` for stdout); plotly.js embedded once, or linked with ``--plotly-js cdn``. Prints one line
  ``wrote OUT.html: <bytes> bytes, <runs> run(s)`` on stdout.
Errors: one line ``error: ...`` on stderr, exit 2.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
from typing import TYPE_CHECKING, Any

from dashboard.analysis.audit import SAMPLERS
from dashboard.views.formatting import (
    finite,
    fmt_clock,
    fmt_duration,
    fmt_fraction,
    fmt_num,
    fmt_percent,
)
from parsers import parse_path, train_kernel
from parsers.jsonout import json_line

if TYPE_CHECKING:
    from dashboard.analysis import RunSummary

#: Input (bytes on disk, all PATHs together) from which the report loads the parser's compiled scanner
#: before parsing: the parser alone loads it only after ``LOAD_AFTER_LINES`` train lines read the slow way,
#: which on a big log costs more than loading it at once (train lines are ~150-400 bytes).
LOAD_SCANNER_BYTES = train_kernel.LOAD_AFTER_LINES * 200



AUDIT_WIDTH = 100


def audit_lines(explanation: str) -> list[str]:
    """The audit's explanation as short lines under ``  audit      `` (a paragraph of 900 characters on one line is
    hard to read in a terminal)."""
    import textwrap

    wrapped = textwrap.wrap(" ".join(explanation.split()), AUDIT_WIDTH - 13) or [""]
    return [f"  audit      {wrapped[0]}", *(f"             {line}" for line in wrapped[1:])]

def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("paths", nargs="+", metavar="PATH", help="log files (.log, .json, .gz)")
    fmt = p.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="machine-readable output (one object per PATH)")
    fmt.add_argument("--markdown", action="store_true", help="a run report in Markdown")
    fmt.add_argument("--html", metavar="OUT.html", help="write a self-contained HTML report (charts included)")
    p.add_argument("--plotly-js", choices=("inline", "cdn"), default="inline",
                   help="with --html: embed plotly.js (default, opens offline) or link it from plotly's CDN "
                        "(a small file that needs the network)")
    p.add_argument("--combine", action="store_true", help="treat all PATHs as one experiment (resumed runs)")
    p.add_argument("--samples", type=int, metavar="N", help="dataset size you believe the run used")
    p.add_argument("--gpus", type=int, metavar="W", help="number of GPUs (processes) you believe it used")
    p.add_argument("--batch-size", type=int, metavar="B", help="per-GPU batch size")
    p.add_argument("--accumulate", type=int, metavar="A", help="accumulative_counts")
    p.add_argument("--epochs", type=int, metavar="E", help="max_epochs")
    p.add_argument("--sampler", choices=SAMPLERS, help="sampler type")
    p.add_argument("--drop-last", action="store_true", default=None, help="the dataloader drops the last batch")
    p.add_argument("--gpu-log", metavar="CSV", help="the run's GPU log (nvidia-smi --query-gpu CSV); default: a GPU "
                                                    "log found beside the log (README: GPU logs)")


def _overrides(args: argparse.Namespace):
    from dashboard.analysis import Overrides

    for name in ("samples", "gpus", "batch_size", "accumulate", "epochs"):
        v = getattr(args, name)
        if v is not None and v <= 0:
            raise ValueError(f"--{name.replace('_', '-')} must be a positive integer")
    return Overrides(args.samples, args.gpus, args.batch_size, args.accumulate, args.epochs, args.sampler,
                     args.drop_last)


def _input_bytes(paths: list[str]) -> int:
    """Bytes on disk of the PATHs (a gzip file counts its compressed size; unreadable ones count 0)."""
    total = 0
    for path in paths:
        try:
            total += os.path.getsize(path)
        except OSError:
            pass
    return total


def terminal_summary(path: str, s: RunSummary) -> str:
    """One run as the terminal report's lines. Numbers, durations, rates, times and unknowns are written by
    ``dashboard.views.formatting`` (as on the pages: unknown is ``—``); iteration and epoch numbers as
    MMEngine writes them."""
    progress = fmt_fraction(s.last_iter, s.max_iters)
    if finite(s.progress):
        progress += f" ({fmt_percent(s.progress)})"
    if s.current_epoch:
        progress += f", epoch {fmt_fraction(s.current_epoch, s.max_epochs)}"
    # Each rate after its unit, so that an unknown one (``—``, no unit) still says what it is.
    throughput = [f"samples/s {fmt_num(s.samples_per_second)}", f"updates/s {fmt_num(s.updates_per_second)}"]
    if s.tokens_per_second:
        throughput.append(f"tokens/s {fmt_num(s.tokens_per_second)}")
    if s.tflops:
        throughput.append(f"TFLOPS {fmt_num(s.tflops)}")
    band = (f" (likely {fmt_clock(s.projected_finish_low_at)} to {fmt_clock(s.projected_finish_high_at)})"
            if s.projected_finish_low_at and s.projected_finish_high_at else "")
    lines = [
        f"{path} run {s.run_index} [{s.status}] {s.status_reason}",
        f"  progress   iter {progress}",
        f"  time       elapsed {fmt_duration(s.wall_seconds)}, compute {fmt_duration(s.compute_seconds)}, "
        f"s/iter median {fmt_num(s.median_iter_seconds)}, p90 {fmt_num(s.p90_iter_seconds)}",
        f"  eta        {fmt_duration(s.eta_seconds)} -> {fmt_clock(s.finish_at)}{band} "
        f"(MMEngine's logged eta: {fmt_duration(s.logged_eta_seconds)} -> {fmt_clock(s.logged_finish_at)})",
        f"  throughput {', '.join(throughput)}",
        f"  setup      world size {fmt_num(s.world_size)}, batch {fmt_num(s.batch_size)}, "
        f"accumulation {fmt_num(s.accumulative_counts)}, dataset {fmt_num(s.dataset_size)}, "
        f"optimizer updates {fmt_num(s.optimizer_updates)}",
        *audit_lines(s.audit.explanation),
    ]
    if s.data_bound:
        lines.append(f"  warning    waiting for data is {fmt_percent(s.data_time_share, 0)} of an iteration")
    if s.first_nonfinite_iter is not None:
        lines.append(f"  warning    NaN/inf first at iteration {s.first_nonfinite_iter} "
                     f"({', '.join(s.nonfinite_fields)})")
    if s.final_metrics:
        shown = list(s.final_metrics.items())[:6]
        lines.append("  val        " + ", ".join(f"{k}={fmt_num(v, 4)}" for k, v in shown))
    return "\n".join(lines)


def _gpu_input(named: str | None, log_path: str):
    """The GPU log of a report: the one named, else the newest found beside the log (``live.gpu_logs``)."""
    from dashboard.live.gpu_logs import find_gpu_logs

    found = [named] if named else find_gpu_logs(log_path)
    if not found:
        return None
    from dashboard.views.gpu_view import GpuInput
    from parsers.gpu_csv import parse_gpu_path

    p = parse_gpu_path(found[0])
    notes = p.notes()
    if len(found) > 1:
        notes.append(f"{len(found) - 1} other GPU log(s) beside the log were not used")
    return GpuInput(os.path.basename(found[0]), p.table(), tuple(notes))


def _gpu_section(gpu, run, summary):
    if gpu is None:
        return None
    from dashboard.views.gpu_view import build_section

    return build_section(gpu.table, gpu.file, run, summary, file_notes=list(gpu.notes))


def gpu_lines(section) -> str:
    """The terminal report's GPU lines of one run."""
    tiles = ", ".join(f"{t.label} {t.value}" for t in section.tiles) or "no samples during the run"
    lines = [f"  gpu        {section.file}: {tiles}"]
    lines += [f"  warning    {b.title}" for b in section.banners]
    lines += [f"  gpu note   {n}" for n in section.notes]
    return "\n".join(lines)


def _earlier(path, runs: list) -> list[list]:
    """Per run of one PATH, the earlier launches it resumed: the earlier runs of its file, and the earlier
    timestamped folders of its work_dir (``joined.earlier_launches``; ``--combine`` joins them instead). The ETA
    uses the pauses measured in them."""
    if not isinstance(path, str) or not runs:
        return [[] for _ in runs]
    from dashboard.live.launches import earlier_launches, earlier_of

    folders = earlier_launches(path, runs[0].resumed_from_iter is not None)
    return [earlier_of(runs, i, folders) for i in range(len(runs))]


def _write_html(args: argparse.Namespace, items, overrides) -> int:
    """All runs of all PATHs in one HTML file, each as the run model the Run page shows."""
    from dashboard.analysis import summarize
    from dashboard.reports.html import html_report
    from dashboard.views.run_model import RunSource, build_run_model, run_label

    models = []
    for path, _skipped, runs, fmt in items:
        label = path if isinstance(path, str) else " + ".join(path)
        try:
            gpu = _gpu_input(args.gpu_log, path if isinstance(path, str) else path[0])
        except OSError as e:
            print(f"error: cannot read {args.gpu_log}: {e.strerror or e}", file=sys.stderr)
            return 2
        choices = [(i, run_label(r, i, len(runs))) for i, r in enumerate(runs)]
        for i, (run, before) in enumerate(zip(runs, _earlier(path, runs))):
            models.append(build_run_model(
                run, RunSource("file", label, label, fmt), run_index=i if len(runs) > 1 else None, choices=choices,
                is_last_run=i == len(runs) - 1, gpu=gpu,
                summarize_fn=lambda r, label=label, before=before: summarize(r, path=label, overrides=overrides,
                                                                            earlier=before)))
    title = ", ".join(p if isinstance(p, str) else " + ".join(p) for p, *_ in items)
    data = html_report(title, models, plotly_js=args.plotly_js, overrides=overrides).encode("utf-8")
    if args.html == "-":
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return 0
    try:
        with open(args.html, "wb") as f:
            f.write(data)
    except OSError as e:
        print(f"error: cannot write {args.html}: {e.strerror or e}", file=sys.stderr)
        return 2
    print(f"wrote {args.html}: {len(data):,} bytes, {len(models)} run(s)")
    return 0


def run(args: argparse.Namespace) -> int:
    from dashboard.analysis import combine, summarize
    from dashboard.reports.markdown import markdown_report

    try:
        overrides = _overrides(args)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if _input_bytes(args.paths) >= LOAD_SCANNER_BYTES:
        train_kernel.warm_up()
        # numba's hundreds of thousands of objects live as long as the process: out of the collector's sight,
        # they cost nothing more (walking them at interpreter exit alone took 0.2 s a report).
        gc.freeze()
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
    if args.html:
        return _write_html(args, items, overrides)
    out = sys.stdout
    for path, skipped, runs, fmt in items:
        summaries = [summarize(r, path=path if isinstance(path, str) else None, overrides=overrides,
                               earlier=before)
                     for r, before in zip(runs, _earlier(path, runs))]
        try:
            gpu = _gpu_input(args.gpu_log, path if isinstance(path, str) else path[0])
        except OSError as e:
            print(f"error: cannot read {args.gpu_log}: {e.strerror or e}", file=sys.stderr)
            return 2
        sections = [_gpu_section(gpu, r, s) for r, s in zip(runs, summaries)]
        if args.json:
            obj = {"path": path, "format": fmt, "skipped_lines": skipped,
                   "runs": [{**s.as_dict(), "gpu": None if g is None else g.as_dict()}
                            for s, g in zip(summaries, sections)]}
            out.write(json_line(obj) + "\n")
        elif args.markdown:
            out.write(markdown_report(path if isinstance(path, str) else ", ".join(path), runs, summaries,
                                      overrides, gpu=sections) + "\n")
        else:
            label = path if isinstance(path, str) else " + ".join(path)
            if not summaries:
                out.write(f"{label}: no runs found ({fmt_num(skipped)} unparsed lines)\n")
            for s, g in zip(summaries, sections):
                out.write(terminal_summary(label, s) + "\n")
                if g is not None:
                    out.write(gpu_lines(g) + "\n")
            if skipped:
                out.write(f"  ({fmt_num(skipped)} line(s) not understood: `python -m parsers inspect {label}` "
                          "shows them)\n")
        out.flush()
    return 0
