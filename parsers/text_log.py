"""The state machine that turns text lines of an MMEngine / mmcv log into runs.

Invariants:
- Every line is classified exactly once; ``Run.line_kinds`` counts the classes and
  ``Run.unparsed`` counts (exactly) the lines no rule understood.
- A line after a prefixed message that may span lines (a config dump, a table, a model repr) is a
  continuation of it; a line after a train or eval record, which never spans lines, is not.
- A new run starts at a run header (``System environment:``, mmcv ``Environment info:``, a second
  ``Config:``), at a launch command of a wrapper script, at a resume (``resumed epoch``,
  ``Auto resumed``, ``load checkpoint``) after train records, and when the train iteration goes
  back or N changes without any of those.
- The state is carried between calls, so lines may arrive in any grouping.
"""

from __future__ import annotations

import copy
import datetime as _dt
import math
import re
from dataclasses import dataclass

import numpy as np

from . import grammar as g
from . import train_kernel
from .config_dump import apply_config_facts
from .fields import parse_eta, split_mmcv_fields, split_mmengine_fields
from .lines import RawLines
from .records import EvalRecord, Event, HeaderFacts, Run
from .timestamps import Clock

NAN = math.nan

# The hot path: an MMEngine prefix directly followed by a train header, composed from the grammar.
_MSG_TAIL = r"(?: (?P<msg>.*))?$"
assert g.PREFIX_PATTERNS[0].regex.endswith(_MSG_TAIL)
_FAST_TRAIN = re.compile(g.PREFIX_PATTERNS[0].regex[: -len(_MSG_TAIL)] + " " + g.TRAIN_MMENGINE.regex)
# The next most common line of a long log: a val/test progress line (its fields start with the eta).
_FIELDS_TAIL = r"(?P<fields>.*)$"
assert g.EVAL_MMENGINE.regex.endswith(_FIELDS_TAIL)
_FAST_EVAL_PROGRESS = re.compile(g.PREFIX_PATTERNS[0].regex[: -len(_MSG_TAIL)] + " "
                                 + g.EVAL_MMENGINE.regex[: -len(_FIELDS_TAIL)] + r"eta: ")
_MMENGINE_PREFIX = g.PREFIX_PATTERNS[0].compiled.match
_MMCV_PREFIX = g.PREFIX_PATTERNS[1].compiled.match
_LOOKS_LIKE_RECORD = ("Epoch(", "Iter(", "Epoch [", "Iter [")
_RESUME_KINDS = ("resume", "auto_resume", "load_checkpoint")
_BARE_EVENTS = ("load_checkpoint", "auto_resume", "resume", "checkpoint")
_BARE = {p.name: p for p in g.BARE_PATTERNS}
_ENV_FIELD = g.ENV_FIELD.compiled.match
_GPU_KEY = g.GPU_KEY.compiled.match
_EXCEPTION = g.EXCEPTION_LINE.compiled.match

BATCH_MIN = 32  # shorter runs of train lines are not worth a batch


@dataclass(frozen=True)
class _Layout:
    """The keys of a train line, in order, as the compiled scanner wants them."""

    keys: tuple[str, ...]
    key_bytes: np.ndarray  # the keys' UTF-8 bytes back to back
    key_offsets: np.ndarray  # key j is key_bytes[key_offsets[j]:key_offsets[j + 1]]
    eta_col: int  # index of "eta" in keys, -1 when absent


# Block states: what a bare (unprefixed) line continues.
NONE, MESSAGE, ENV, CONFIG, TRACEBACK = range(5)


class TextLogInterpreter:
    def __init__(self, runs: list[Run], reference: _dt.datetime | None = None) -> None:
        self.runs = runs
        self.clock = Clock(reference)
        self.format: str | None = None
        self.block = NONE
        self.config_lines: list[str] = []
        self.tb: dict | None = None
        self.last_ts: float = NAN
        self.unparsed_before_runs = 0
        self.pending_eval_text: dict[str, str] = {}
        self._layouts: dict[tuple[str, ...], _Layout] = {}
        self._batched_lines = 0  # train lines seen in runs of BATCH_MIN or more

    # -- runs --------------------------------------------------------------------------------------
    @property
    def cur(self) -> Run:
        if not self.runs:
            self.runs.append(Run(index=0, format=self.format or "mmengine-text", start_line=1))
        return self.runs[-1]

    def _new_run(self, line_no: int, why: str, *, keep_header: bool = False) -> Run:
        prev = self.runs[-1] if self.runs else None
        if prev is not None and _reusable(prev, why):
            if prev.started_by == "start of file":
                prev.started_by = why
            return prev
        if prev is not None:
            prev.end_line = line_no - 1
        run = Run(index=len(self.runs), format=self.format or "mmengine-text", start_line=line_no, started_by=why)
        if keep_header and prev is not None:
            run.header = copy.deepcopy(prev.header)
        self.runs.append(run)
        return run

    # -- entry point -------------------------------------------------------------------------------
    def feed(self, blocks) -> None:
        for first, lines in blocks:
            if isinstance(lines, RawLines):
                if train_kernel.loaded():
                    self._feed_raw(first, lines.data, lines.start, lines.end, lines.count)
                    continue
                lines = lines.lines
            if len(lines) >= BATCH_MIN:
                self._feed_batched(first, lines)
            else:
                self._feed_lines(first, lines)

    def _feed_batched(self, first: int, lines: list[str]) -> None:
        """Runs of consecutive train lines go through ``_train_run``; everything else line by line."""
        mask = ["(train)" in line for line in lines]
        n = len(lines)
        i = 0
        while i < n:
            try:
                j = mask.index(not mask[i], i)
            except ValueError:
                j = n
            if mask[i] and j - i >= BATCH_MIN:
                self._train_run(first + i, lines[i:j])
            else:
                self._feed_lines(first + i, lines[i:j])
            i = j

    def _feed_lines(self, first: int, lines: list[str]) -> None:
        fast = _FAST_TRAIN.match
        fast_progress = _FAST_EVAL_PROGRESS.match
        no = first
        for line in lines:
            m = fast(line)
            if m is not None:
                self._end_block()
                ts = self._prefix_time(m)
                self.last_ts = ts
                self._train(m.group("epoch"), m.group("i"), m.group("n"), m.group("fields"), ts, no, True)
                self._stamp(ts)
            elif (m := fast_progress(line)) is not None and "\x1b" not in line:
                # What _line -> _prefixed -> _eval does with a progress line, without the detours.
                self._end_block()
                ts = self._prefix_time(m)
                self.last_ts = ts
                run = self.cur
                epoch = m.group("epoch")
                run.eval_progress = (m.group("mode"), int(epoch) if epoch else None, int(m.group("i")),
                                     int(m.group("n")))
                run.line_kinds["eval_progress"] += 1
                self._stamp(ts)
            else:
                self._line(line, no)
            no += 1
        if self.runs:
            self.runs[-1].end_line = no - 1

    def close(self) -> None:
        self._end_block()

    # -- the batched hot path ----------------------------------------------------------------------
    def _train_run(self, first: int, lines: list[str]) -> None:
        """Consecutive lines that all look like train lines: the compiled scanner reads them once it is
        loaded (which it is after ``LOAD_AFTER_LINES`` such lines); until then the general path."""
        self._batched_lines += len(lines)
        if train_kernel.loaded() or (self._batched_lines >= train_kernel.LOAD_AFTER_LINES
                                     and train_kernel.available()):
            data = ("\n".join(lines) + "\n").encode("utf-8")
            self._feed_raw(first, data, 0, len(data), len(lines))
        else:
            self._feed_lines(first, lines)

    def _feed_raw(self, first: int, data: bytes, pos: int, size: int, count: int) -> None:
        """Complete lines ``data[pos:size]`` as UTF-8 bytes (no ``\\r``): the compiled scanner reads the
        train lines of its subset in bulk, straight from the bytes; every other line is decoded and
        goes through the general path, in order. ``count`` is the number of lines."""
        cap = count
        head = np.empty((train_kernel.HEAD_COLUMNS, cap), np.int64)
        etas = np.empty(cap)
        buf = np.frombuffer(data, np.uint8)[:size]
        no = first
        while pos < size:
            end = data.find(b"\n", pos, size)
            if end < 0:
                end = size
            layout = self._layout_of(data[pos:end].decode("utf-8", "replace"))
            if layout is None:
                # Not a train line: decode up to the line holding the next "(train)" in one go.
                hit = data.find(b"(train)", end, size)
                stop = size if hit < 0 else data.rfind(b"\n", end, hit) + 1
                no = self._feed_text(no, data[pos:stop])
                pos = stop
                continue
            values = np.empty((len(layout.keys), cap))
            got, after = train_kernel.scan(buf, pos, layout.key_bytes,
                                           layout.key_offsets, layout.eta_col, head, values, etas)
            if got == 0:  # outside the scanner's subset: the general path reads this one line
                no = self._feed_text(no, data[pos:min(end + 1, size)])
                pos = end + 1
            elif self._store_train_rows(no, head[:, :got], values[:, :got], etas[:got], layout):
                no += got
                pos = after
            else:
                no = self._feed_text(no, data[pos:after])
                pos = after

    def _feed_text(self, first: int, data: bytes) -> int:
        """Decode complete lines and read them on the general path; the next line number."""
        lines = data.decode("utf-8", "replace").split("\n")
        if data.endswith(b"\n"):
            lines.pop()
        self._feed_lines(first, lines)
        return first + len(lines)

    def _layout_of(self, line: str) -> _Layout | None:
        """The key layout of a train line, or None when the line is not a plain MMEngine train line."""
        m = _FAST_TRAIN.match(line)
        if m is None:
            return None
        keys = tuple(k for k, _ in split_mmengine_fields(m.group("fields")))
        layout = self._layouts.get(keys)
        if layout is None:
            if not keys or len(set(keys)) != len(keys):
                return None
            encoded = [k.encode("utf-8") for k in keys]
            layout = _Layout(
                keys=keys,
                key_bytes=np.frombuffer(b"".join(encoded), np.uint8),
                key_offsets=np.cumsum([0] + [len(k) for k in encoded], dtype=np.int64),
                eta_col=keys.index("eta") if "eta" in keys else -1,
            )
            if len(self._layouts) > 256:
                self._layouts.clear()
            self._layouts[keys] = layout
        return layout

    def _store_train_rows(self, first: int, head: np.ndarray, values: np.ndarray, etas: np.ndarray,
                          layout: _Layout) -> bool:
        """Append rows the scanner read, exactly as ``_feed_lines`` would have appended them.

        Returns False, having changed nothing, when the rows need the line-by-line rules: a run
        boundary inside them, a clock going back (a year-less log crossing New Year), an invalid
        date, or a mix of time-stamp or loop styles.
        """
        self._end_block()  # what the line path does first for every train line
        k = train_kernel
        n_rows = head.shape[1]
        years = head[k.YEAR]
        yearful = bool(years[0] >= 0)
        if bool((years >= 0).any()) != yearful or bool((years < 0).any()) == yearful:
            return False
        # "YYYY/MM/DD HH:MM" as a number with the same order as the text (hours and minutes may be
        # anything from 00 to 99, as the line path's arithmetic allows).
        minutes = (((np.maximum(years, 0) * 100 + head[k.MONTH]) * 100 + head[k.DAY]) * 100
                   + head[k.HOUR]) * 100 + head[k.MINUTE]
        steps = np.diff(minutes)
        if (steps < 0).any():
            return False
        epochs = head[k.EPOCH]
        epoch_style = bool(epochs[0] >= 0)
        if bool((epochs >= 0).all()) != epoch_style or bool((epochs < 0).all()) == epoch_style:
            return False
        iters_in, ns = head[k.ITER], head[k.N]
        run = self.cur
        h = run.header
        t = run.train
        if epoch_style:
            its = (epochs - 1) * ns + iters_in
            maxs = h.max_epochs * ns if h.max_epochs else np.full(n_rows, -1, np.int64)
            eps, iies, ipes = epochs, iters_in, ns
        else:
            its, maxs = iters_in, ns
            eps = iies = ipes = np.full(n_rows, -1, np.int64)
        # Run boundaries inside the rows (the iteration went back, N changed) are rare: the general
        # path splits runs line by line.
        if (np.diff(its) < 0).any() or (maxs != maxs[0]).any():
            return False
        if len(t) and (its[0] < t.iters[-1] or (maxs[0] > 0 and t.max_iters[-1] > 0 and maxs[0] != t.max_iters[-1])):
            return False
        # Time stamps: one clock call per distinct day, in order (the clock's year logic only looks
        # at the month and day), then the hours and minutes added, as timegm would.
        clock = self.clock
        day_keys = minutes // 10000
        starts = np.flatnonzero(np.concatenate(([True], day_keys[1:] != day_keys[:-1])))
        bases = []
        for r in starts.tolist():
            y, mo, d = (int(v) for v in head[:3, r])
            bases.append(clock.full(y, mo, d, "00:00:00") if yearful else clock.yearless(mo, d, "00:00:00"))
        tss = (np.repeat(np.array(bases), np.diff(np.append(starts, n_rows)))
               + head[k.HOUR] * 3600 + head[k.MINUTE] * 60 + head[k.SECOND])
        if np.isnan(tss).any():
            return False  # an impossible date: the line path keeps such stamps out of the run's times
        columns = {key: values[j] for j, key in enumerate(layout.keys) if j != layout.eta_col}
        t.extend(_q(its), _q(maxs), _q(eps), _q(iies), _q(ipes), tss.astype(np.float64),
                 np.ascontiguousarray(etas), np.arange(first, first + n_rows, dtype=np.int64), columns)
        run.line_kinds["train"] += n_rows
        ts_last = float(tss[-1])
        self.last_ts = ts_last
        if run.first_timestamp is None:
            run.first_timestamp = float(tss[0])
        run.last_timestamp = ts_last
        run.end_line = first + n_rows - 1
        return True

    # -- classification ----------------------------------------------------------------------------
    def _line(self, line: str, no: int) -> None:
        if "\x1b" in line:
            line = g.ANSI_ESCAPE.sub("", line)
        m = _MMENGINE_PREFIX(line)
        if m is not None:
            if self.format is None:
                self.format = "mmengine-text"
            ts = self._prefix_time(m)
            self._prefixed(m.group("level"), m.group("msg") or "", ts, no, True)
            self._stamp(ts)
            return
        m = _MMCV_PREFIX(line)
        if m is not None:
            if self.format is None:
                self.format = "mmcv-text"
            d = m.group("date")
            ts = self.clock.full(int(d[:4]), int(d[5:7]), int(d[8:10]), m.group("hms")) + int(m.group("ms")) / 1000
            self._prefixed(m.group("level"), m.group("msg") or "", ts, no, False)
            self._stamp(ts)
            return
        self._bare(line, no)

    def _prefix_time(self, m: re.Match) -> float:
        """The time stamp of a line matched by a pattern built on the MMEngine prefix."""
        y = m.group("year")
        month, day, hms = int(m.group("month")), int(m.group("day")), m.group("hms")
        return self.clock.full(int(y), month, day, hms) if y else self.clock.yearless(month, day, hms)

    def _stamp(self, ts: float) -> None:
        run = self.runs[-1]
        if ts == ts:
            if run.first_timestamp is None:
                run.first_timestamp = ts
            run.last_timestamp = ts

    def _prefixed(self, level: str, msg: str, ts: float, no: int, mmengine: bool) -> None:
        self._end_block()
        self.last_ts = ts
        if msg.startswith(_LOOKS_LIKE_RECORD):
            for pattern in (g.TRAIN_MMENGINE, g.EVAL_MMENGINE, g.TRAIN_MMCV_EPOCH, g.TRAIN_MMCV_ITER,
                            g.EVAL_MMCV_EPOCH, g.EVAL_MMCV_ITER):
                m = pattern.match(msg)
                if m is None:
                    continue
                gd = m.groupdict()
                if pattern.name.startswith("train"):
                    self._train(gd.get("epoch"), gd["i"], gd["n"], gd["fields"], ts, no,
                                pattern is g.TRAIN_MMENGINE)
                else:
                    self._eval(pattern.name, gd, ts, no)
                return
            # It looks like a record but no rule reads it: a grammar bug, counted and shown.
            self._unparsed(no, msg)
            return
        for pattern in g.EVENT_PATTERNS:
            m = pattern.match(msg)
            if m is not None:
                self._event(pattern.name, m, level, msg, ts, no)
                return
        run = self.cur
        run.line_kinds["message"] += 1
        if level == "WARNING":
            run.events.append(Event("warning", no, ts, msg))
        elif level in ("ERROR", "CRITICAL"):
            run.events.append(Event("error", no, ts, msg))
        self.block = MESSAGE

    def _bare(self, line: str, no: int) -> None:
        block = self.block
        stripped = line.strip()
        if block == CONFIG:
            if stripped in ("System environment:", "Traceback (most recent call last):") or line.startswith("[rank"):
                self._end_block()
            else:
                self.config_lines.append(line)
                self.cur.line_kinds["config"] += 1
                return
        if block == TRACEBACK:
            if self._traceback_line(line, no):
                return
        m = _BARE["rank_prefix"].match(line)
        if m is not None:
            # torchrun prefixes a rank's whole stream: the rest may be a logger line too.
            self.cur.line_kinds["rank_prefix"] += 1
            self._line(m.group("rest"), no)
            return
        if not stripped:
            self.cur.line_kinds["blank"] += 1
            return
        if stripped == "System environment:":
            run = self._new_run(no, "run header")
            run.line_kinds["header"] += 1
            self.block = ENV
            return
        if stripped == "Runtime environment:":
            self.cur.line_kinds["header"] += 1
            self.block = ENV
            return
        if stripped == "Traceback (most recent call last):":
            self.tb = {"line_no": no, "ts": self.last_ts, "lines": [line]}
            self.block = TRACEBACK
            self.cur.line_kinds["traceback"] += 1
            return
        if block == ENV:
            self._env_line(line)
            return
        m = _BARE["foreign_logger"].match(line)
        if m is not None:
            try:
                self.clock.note_year(int(line[1:5]))
            except ValueError:
                pass
            self.cur.line_kinds["foreign"] += 1
            return
        m = _BARE["launch"].match(line)
        if m is not None:
            run = self._new_run(no, "launch command")
            run.events.append(Event("launch", no, None, stripped, {"command": m.group("command")}))
            run.line_kinds["launch"] += 1
            self.block = NONE
            return
        if _BARE["progress_bar"].match(line) or _BARE["python_warning"].match(line) or _BARE["nohup"].match(line):
            self.cur.line_kinds["foreign"] += 1
            return
        for pattern in g.EVENT_PATTERNS:
            # Some events are print()ed without the logger prefix (checkpoint loading, for one).
            if pattern.name in _BARE_EVENTS:
                m = pattern.match(stripped)
                if m is not None:
                    self._event(pattern.name, m, "INFO", stripped, NAN, no)
                    return
        if block == MESSAGE:
            self.cur.line_kinds["continuation"] += 1
            return
        self._unparsed(no, line)

    def _unparsed(self, no: int, text: str) -> None:
        if not self.runs:
            self.unparsed_before_runs += 1
        self.cur.unparsed.add(no, text)
        self.cur.line_kinds["unparsed"] += 1

    # -- blocks ------------------------------------------------------------------------------------
    def _end_block(self) -> None:
        if self.block == CONFIG:
            apply_config_facts("\n".join(self.config_lines), self.cur.header)
            self.config_lines = []
        elif self.block == TRACEBACK:
            self._finish_traceback(None)
        self.block = NONE

    def _env_line(self, line: str) -> None:
        run = self.cur
        run.line_kinds["header"] += 1
        apply_env_line(run.header, line)

    def _traceback_line(self, line: str, no: int) -> bool:
        """True when the line belongs to the open traceback."""
        tb = self.tb
        assert tb is not None
        body = line
        m = _BARE["rank_prefix"].match(line)
        if m is not None:
            body = m.group("rest")
        if not body.strip() or body[:1] in (" ", "\t") or body.startswith(("During handling", "The above exception")):
            tb["lines"].append(body)
            self.cur.line_kinds["traceback"] += 1
            return True
        if body.strip() == "Traceback (most recent call last):":
            tb["lines"].append(body)  # a chained exception: one event holds the chain
            self.cur.line_kinds["traceback"] += 1
            return True
        em = _EXCEPTION(body.strip())
        if em is not None:
            tb["lines"].append(body)
            self.cur.line_kinds["traceback"] += 1
            tb["exception"] = em.group("type")
            tb["message"] = em.group("message") or ""
            tb["end"] = no
            # A crash is usually the last thing a log says: publish the event now rather than when
            # the next line arrives (a live view would wait forever). Later lines of the same chain
            # update this event in place.
            self._publish_traceback(tb)
            return True
        if "exception" in tb:
            # After the exception line: more lines of its message until something else appears.
            self._finish_traceback(None)
            return False
        tb["lines"].append(body)
        self.cur.line_kinds["traceback"] += 1
        return True

    def _finish_traceback(self, _no: int | None) -> None:
        tb, self.tb = self.tb, None
        if self.block == TRACEBACK:
            self.block = NONE
        if tb is None:
            return
        while tb["lines"] and not tb["lines"][-1].strip():
            tb["lines"].pop()
        self._publish_traceback(tb)

    def _publish_traceback(self, tb: dict) -> None:
        """Add the traceback's event, or replace the one published earlier for the same traceback."""
        lines = list(tb["lines"])
        while lines and not lines[-1].strip():
            lines.pop()
        event = Event(
            "traceback", tb["line_no"], tb["ts"] if tb["ts"] == tb["ts"] else None, "\n".join(lines),
            {"exception": tb.get("exception"), "message": tb.get("message"), "lines": len(lines)},
        )
        run = self.cur
        slot = tb.get("slot")
        same = slot is not None and slot[0] is run and slot[1] < len(run.events)
        if same and run.events[slot[1]].kind == "traceback":
            run.events[slot[1]] = event
        else:
            tb["slot"] = (run, len(run.events))
            run.events.append(event)

    # -- records -----------------------------------------------------------------------------------
    def _train(self, epoch_s, i_s, n_s, fields: str, ts: float, no: int, mmengine: bool) -> None:
        i, n = int(i_s), int(n_s)
        run = self.cur
        h = run.header
        if epoch_s is not None:
            epoch = int(epoch_s)
            it = (epoch - 1) * n + i
            ipe = n
            max_iters = h.max_epochs * n if h.max_epochs else -1
            iie = i
        else:
            epoch = ipe = iie = -1
            it, max_iters = i, n
        t = run.train
        if len(t):
            last = t.iters[-1]
            last_n = t.max_iters[-1]
            if it < last or (max_iters > 0 and last_n > 0 and max_iters != last_n):
                why = (f"iteration went back from {last} to {it}" if it < last
                       else f"N changed from {last_n} to {max_iters}")
                run = self._new_run(no, why, keep_header=True)
                t = run.train
        values: dict[str, float] = {}
        eta = NAN
        pairs = split_mmengine_fields(fields) if mmengine else split_mmcv_fields(fields)
        for key, raw in pairs:
            if key == "eta":
                e = parse_eta(raw)
                eta = NAN if e is None else e
                continue
            try:
                values[key] = float(raw)
            except ValueError:
                run.line_kinds["train_text_field"] += 1
        t.append(it, max_iters, epoch, iie, ipe, ts, eta, no, values)
        run.line_kinds["train"] += 1

    def _eval(self, name: str, gd: dict, ts: float, no: int) -> None:
        run = self.cur
        mmengine = name == "eval_mmengine"
        pairs = split_mmengine_fields(gd["fields"]) if mmengine else split_mmcv_fields(gd["fields"])
        epoch = int(gd["epoch"]) if gd.get("epoch") else None
        if mmengine and any(k == "eta" for k, _ in pairs):
            run.eval_progress = (gd["mode"], epoch, int(gd["i"]), int(gd["n"]))
            run.line_kinds["eval_progress"] += 1
            return
        metrics: dict[str, float] = {}
        text: dict[str, str] = {}
        for key, raw in pairs:
            try:
                metrics[key] = float(raw)
            except ValueError:
                text[key] = raw
        if self.pending_eval_text:
            text.update(self.pending_eval_text)
            self.pending_eval_text = {}
        batches = int(gd["n"]) if gd.get("n") else None
        run.evals.append(EvalRecord(
            mode=gd["mode"], epoch=epoch, train_iter=run.last_iter, metrics=metrics, text=text,
            timestamp=ts, line_no=no, batches=batches,
        ))
        run.eval_progress = None
        run.line_kinds["eval"] += 1

    def _event(self, name: str, m: re.Match, level: str, msg: str, ts: float, no: int) -> None:
        run = self.cur
        if name in _RESUME_KINDS and len(run.train):
            run = self._new_run(no, "resume", keep_header=True)
        h = run.header
        data: dict = {}
        kind = name
        if name == "checkpoint":
            n, unit = int(m.group("n")), m.group("unit")
            ipe = run.iters_per_epoch
            it = n if unit == "iterations" else (n * ipe if ipe else None)
            data = {"n": n, "unit": unit, "iter": it}
        elif name == "best_checkpoint":
            data = {"metric": m.group("metric"), "value": _num(m.group("value")), "n": int(m.group("n")),
                    "unit": m.group("unit"), "path": m.group("path")}
        elif name == "resume":
            data = {"epoch": int(m.group("epoch")), "iter": int(m.group("iter"))}
        elif name in ("auto_resume", "load_checkpoint"):
            data = {"path": m.group("path").strip()}
        elif name == "advance_dataloader":
            data = {"steps": int(m.group("steps"))}
        elif name == "epoch_wrap":
            data = {"iter": run.last_iter}
        elif name == "exp_name":
            data = {"name": m.group("name")}
            h.set("exp_name", m.group("name"), "log: Exp name")
        elif name == "work_dir":
            data = {"path": m.group("path")}
            h.set("work_dir", m.group("path"), "log: Checkpoints will be saved to")
        elif name == "dataset_size":
            samples = int(m.group("n") or m.group("n2"))
            data = {"samples": samples}
            h.set("dataset_size", samples, "log: " + msg.strip("= "), override=True)
        elif name == "config_start":
            if run.line_kinds.get("config") or len(run.train):
                run = self._new_run(no, "config dump")
            run.line_kinds["config"] += 1
            inline = m.group("inline")
            self.config_lines = [inline] if inline else []
            self.block = CONFIG
            return
        elif name == "mmcv_env_start":
            run = self._new_run(no, "run header")
            run.line_kinds["header"] += 1
            self.block = ENV
            return
        elif name == "distributed":
            h.set("distributed", m.group("value") == "True", "log: Distributed training")
            run.line_kinds["header"] += 1
            return
        elif name == "copypaste":
            # mmdet's metric prints it just before the loop prints the summary it belongs to.
            self.pending_eval_text[m.group("name")] = m.group("values")
            run.line_kinds["eval_text"] += 1
            return
        run.events.append(Event(kind, no, ts if ts == ts else None, msg.strip(), data))
        run.line_kinds["event"] += 1
        if level == "WARNING" and kind != "epoch_wrap":
            run.events.append(Event("warning", no, ts, msg))
        self.block = MESSAGE


def apply_env_line(h: HeaderFacts, line: str) -> None:
    """One ``key: value`` line of a System/Runtime environment block (mmcv: ``Environment info``)."""
    m = _ENV_FIELD(line)
    if m is None:
        return
    key, value = m.group("key").strip(), m.group("value").strip()
    gm = _GPU_KEY(key)
    if gm is not None:
        ids = gm.group("ids").split(",")
        h.gpu_names.extend([value] * len(ids))
        h.gpus_listed = len(h.gpu_names)
        h.sources["gpus_listed"] = "system env: GPU lines"
    elif key == "CUDA available":
        h.set("cuda_available", value == "True", "system env")
    elif key == "PyTorch":
        h.set("pytorch_version", value, "system env")
    elif key in ("MMEngine", "MMCV"):
        h.set("mmengine_version", value, "system env")
    elif key == "Distributed launcher":
        h.set("launcher", value, "runtime env: Distributed launcher")
    elif key == "Distributed training":
        h.set("distributed", value == "True", "runtime env: Distributed training")
    elif key == "GPU number":
        try:
            h.set("world_size", int(value), "runtime env: GPU number (world size)")
        except ValueError:
            pass


def _reusable(run: Run, why: str) -> bool:
    """A run that has nothing yet but its launch line takes the header that follows."""
    if len(run.train) or run.evals or run.line_kinds.get("header") or run.line_kinds.get("config"):
        return False
    launches = [e for e in run.events if e.kind == "launch"]
    if len(launches) != len(run.events):
        return False
    return not (launches and why == "launch command")


def _num(s: str) -> float | None:
    try:
        return float(s)
    except ValueError:
        return None


def _q(values: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(values, dtype=np.int64)
