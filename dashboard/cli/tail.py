"""``python -m dashboard tail PATH_OR_ROOT``: follow a log, or every log under a root, like ``tail -f``.

Prints one line per new train or val/test record, and flushes after each line:

    <source id> run <k> iter <n>/<N> (<pct>%) eta <H:MM:SS> loss <x>
    <source id> run <k> val epoch <e> <metric>=<v> ...

(``?`` stands for an unknown N, percentage or ETA, ``-`` for a record without ``loss``; an
evaluation without an epoch says ``iter <i>``, the train iteration it followed.)

``--json`` prints one JSON object per record instead (JSON Lines), with exactly these keys:

    source       the source id, ``<root label>/<path relative to the root>``
    run          index of the run inside the file (a resume or a new header starts a new run)
    kind         "train", "val" or "test"
    iter         global train iteration (for val/test: the train iteration it followed, or null)
    max_iters    N, when known
    epoch        epoch, when known
    progress     iter / max_iters as a fraction between 0 and 1, or null
    eta_seconds  the ETA the log printed, in seconds, or null
    timestamp    the line's time, seconds since 1970 of the log's own clock (no time zone), or null
    values       numeric fields of a train line (lr, loss, time, ...) or metrics of an evaluation;
                 a value the log wrote as nan or +-inf is the string "nan" / "inf" / "-inf"
                 (``parsers.jsonout``)

By default only records that arrive after the start are printed, like ``tail -f``; ``--from-start``
prints every record already in the files first. A PATH that names a file follows that one file
whatever its content (binary files excepted), even before it exists if its directory does; a
directory is a log root: runs that appear under it later are followed too. When a file is
truncated, replaced or deleted, the records read from it before it ended are printed (a rotated
file is read to its end first, see ``dashboard.live.tailer``), a note goes to stderr and its records
are printed again from the new content: every record once, in order. Notes (mode, skipped files,
restarts) go to stderr, records to stdout.

Watching: ``--mode auto|inotify|poll`` (default: ``$MMDASH_WATCHER``, else auto), see
``dashboard.live.watcher``. Runs until interrupted (exit status 130) or stdout closes; exit status 2
with ``error: ...`` on stderr when PATH cannot be followed.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from dataclasses import dataclass, field
from typing import Any, TextIO

from dashboard.live.discovery import has_log_suffix
from dashboard.live.watcher import MODES, POLL_INTERVAL, LogWatcher, Source
from parsers import Run
from parsers.jsonout import json_line, json_safe


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", metavar="PATH_OR_ROOT", help="a log file, or a directory to search for logs")
    parser.add_argument("--json", action="store_true", help="one JSON object per record (JSON Lines)")
    parser.add_argument("--from-start", action="store_true",
                        help="print the records already in the files first (default: only new ones)")
    parser.add_argument("--mode", choices=MODES, default=None,
                        help="how to notice changes (default: $MMDASH_WATCHER, else auto)")
    parser.add_argument("--poll-interval", type=float, default=POLL_INTERVAL, metavar="SECONDS",
                        help=f"seconds between stat() polls in poll mode (default {POLL_INTERVAL:g})")


def _num(v: float) -> str:
    return format(v, "g")


def format_eta(seconds: float | None) -> str:
    """``H:MM:SS`` (hours may exceed 24), ``?`` when unknown."""
    if seconds is None or seconds != seconds or seconds < 0 or math.isinf(seconds):
        return "?"
    s = int(round(seconds))
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


def train_records(src_id: str, run: Run, start: int) -> list[dict[str, Any]]:
    """The train records of ``run`` from row ``start`` on, as --json objects (call under the lock)."""
    t = run.train
    out = []
    for i in range(start, len(t)):
        rec = t.row(i)
        n, big_n = rec.iter, rec.max_iters
        out.append({
            "source": src_id, "run": run.index, "kind": "train", "iter": n, "max_iters": big_n,
            "epoch": rec.epoch, "progress": (n / big_n) if big_n else None,
            "eta_seconds": json_safe(rec.eta_seconds), "timestamp": json_safe(rec.timestamp),
            "values": json_safe(rec.values),
        })
    return out


def eval_records(src_id: str, run: Run, start: int) -> list[dict[str, Any]]:
    out = []
    for e in run.evals[start:]:
        out.append({
            "source": src_id, "run": run.index, "kind": e.mode, "iter": e.train_iter, "max_iters": None,
            "epoch": e.epoch, "progress": None, "eta_seconds": None, "timestamp": json_safe(e.timestamp),
            "values": json_safe(e.metrics),
        })
    return out


def format_text(rec: dict[str, Any]) -> str:
    head = f"{rec['source']} run {rec['run']}"
    values = rec["values"]
    if rec["kind"] == "train":
        big_n = rec["max_iters"]
        pct = f"{100.0 * rec['progress']:.1f}" if rec["progress"] is not None else "?"
        if "loss" not in values:
            loss_s = "-"
        else:
            loss = values["loss"]
            loss_s = "nan" if loss is None else (loss if isinstance(loss, str) else _num(loss))
        return (f"{head} iter {rec['iter']}/{big_n if big_n else '?'} ({pct}%) "
                f"eta {format_eta(rec['eta_seconds'])} loss {loss_s}")
    where = f"epoch {rec['epoch']}" if rec["epoch"] is not None else \
        f"iter {rec['iter'] if rec['iter'] is not None else '?'}"
    metrics = " ".join(
        f"{k}={'nan' if v is None else (v if isinstance(v, str) else _num(v))}" for k, v in values.items()
    )
    return f"{head} {rec['kind']} {where} {metrics}".rstrip()


@dataclass
class _Seen:
    generation: int
    train: dict[int, int] = field(default_factory=dict)  # run index -> train rows printed
    evals: dict[int, int] = field(default_factory=dict)


class RecordPrinter:
    """Prints each record of each source once, per generation of the file."""

    def __init__(self, out: TextIO, err: TextIO, *, as_json: bool) -> None:
        self.out = out
        self.err = err
        self.as_json = as_json
        self._seen: dict[str, _Seen] = {}

    def mark_existing(self, sources: list[Source]) -> None:
        """Treat what the sources hold now as already printed (``tail -f`` semantics)."""
        for src in sources:
            with src.lock:
                seen = _Seen(src.generation)
                for run in src.runs:
                    seen.train[run.index] = len(run.train)
                    seen.evals[run.index] = len(run.evals)
            self._seen[src.id] = seen

    def emit_new(self, sources: list[Source]) -> int:
        printed = 0
        for src in sources:
            for rec in self._new_records(src):
                line = json_line(rec) if self.as_json else format_text(rec)
                self.out.write(line + "\n")
                self.out.flush()
                printed += 1
        return printed

    def _new_records(self, src: Source) -> list[dict[str, Any]]:
        """What ``src`` holds that was not printed yet, in file order. When generations ended since the last
        look, the rest of each (what the tailer read into it before the restart: the end of a rotated file)
        comes first, then the current one."""
        seen = self._seen.get(src.id)
        out: list[dict[str, Any]] = []
        with src.lock:
            generation = src.generation
            if seen is not None and seen.generation != generation:
                ended = getattr(src.tailer, "ended_runs", None)
                restarts = {r.generation: r for r in src.tailer.restarts}
                for g in range(seen.generation, generation):
                    runs = ended(g) if ended is not None else None
                    if runs is not None:
                        out += self._unseen(src.id, runs, seen)
                    else:
                        self.err.write(f"note: {src.id}: records of the file before it started over may be "
                                       "missing (it ended too long ago)\n")
                    last = restarts.get(g)
                    why = f"{last.reason}: {last.detail}" if last else "restarted"
                    self.err.write(f"note: {src.id} starts over ({why})\n")
                    self.err.flush()
                    seen = _Seen(g + 1)
                seen = None
            if seen is None:
                seen = self._seen[src.id] = _Seen(generation)
            out += self._unseen(src.id, src.runs, seen)
        return out

    @staticmethod
    def _unseen(src_id: str, runs: list[Run], seen: _Seen) -> list[dict[str, Any]]:
        """The records of ``runs`` past what ``seen`` counts (which is moved on), in file order (under the lock)."""
        records: list[tuple[int, int, dict[str, Any]]] = []
        for run in runs:
            t0 = seen.train.get(run.index, 0)
            e0 = seen.evals.get(run.index, 0)
            new_train = train_records(src_id, run, t0) if len(run.train) > t0 else []
            new_evals = eval_records(src_id, run, e0) if len(run.evals) > e0 else []
            seen.train[run.index] = len(run.train)
            seen.evals[run.index] = len(run.evals)
            # In file order: train rows and evaluations interleave by line number.
            for i, rec in enumerate(new_train):
                records.append((run.index, run.train.line_nos[t0 + i], rec))
            for j, rec in enumerate(new_evals):
                records.append((run.index, run.evals[e0 + j].line_no, rec))
        records.sort(key=lambda r: (r[0], r[1]))
        return [r[2] for r in records]


def run(args: argparse.Namespace) -> int:
    path = os.path.abspath(args.path)
    if "\x00" in args.path:
        print("error: PATH contains a NUL byte", file=sys.stderr)
        return 2
    if not os.path.exists(path):
        parent = os.path.dirname(path)
        if not (os.path.isdir(parent) and has_log_suffix(os.path.basename(path))):
            print(f"error: {args.path}: no such file or directory", file=sys.stderr)
            return 2
        print(f"note: waiting for {args.path} to appear", file=sys.stderr)
    elif not (os.path.isdir(path) or os.path.isfile(path)):
        print(f"error: {args.path} is neither a file nor a directory", file=sys.stderr)
        return 2
    try:
        watcher = LogWatcher.for_path(path, mode=args.mode, poll_interval=args.poll_interval)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    printer = RecordPrinter(sys.stdout, sys.stderr, as_json=args.json)
    with watcher:
        status = watcher.root_status()[0]
        if not status.ok:
            print(f"error: {status.message}", file=sys.stderr)
            return 2
        for note in watcher.notes:
            print(f"note: {note}", file=sys.stderr)
        if not args.from_start:
            printer.mark_existing(watcher.sources(include_missing=True))
        # Said after the baseline is taken: whatever is appended from now on gets printed.
        n = len(watcher.sources())
        print(f"note: following {n} log{'s' if n != 1 else ''}; {watcher.mode_note}", file=sys.stderr)
        sys.stderr.flush()
        notes_shown = set(watcher.notes)
        while True:
            version = watcher.version
            sources = watcher.sources(include_missing=True)
            printer.emit_new(sources)
            for note in watcher.notes + [f"{s.id}: {n}" for s in sources for n in s.notes]:
                if note not in notes_shown:
                    notes_shown.add(note)
                    print(f"note: {note}", file=sys.stderr)
                    sys.stderr.flush()
            watcher.wait_for_change(version, timeout=5.0)
