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
- No line stops the parse: a line the rules cannot take (a count beyond int64, which the record columns
  hold, or anything a rule raises on) is an unparsed line, counted and shown, and the next line is read as
  if it had not been there. Numbers are checked before a record is added, so none is half added.
"""

from __future__ import annotations

import copy
import datetime as _dt
import math
import re
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from . import grammar as g
from . import train_kernel
from .config_dump import apply_config_facts
from .fields import parse_eta, split_mmcv_fields, split_mmengine_fields
from .lines import NUL, RawLines, after_nuls
from .records import INT64_MAX, EvalRecord, Event, HeaderFacts, OutOfRange, Run, in_range
from .timestamps import Clock, Reference

NAN = math.nan

# The hot path: an MMEngine prefix directly followed by a train header; the next most common line of a
# long log: a val/test progress line. Both composed in the grammar from its prefix and message patterns.
_FAST_TRAIN = g.MMENGINE_TRAIN_LINE.compiled
_FAST_EVAL_PROGRESS = g.MMENGINE_EVAL_PROGRESS_LINE.compiled
_TRAIN_MARK = g.TRAIN_MARK
_TRAIN_MARK_BYTES = g.TRAIN_MARK.encode("utf-8")
_ESC = g.ESC
_ETA_KEY = g.ETA_KEY
_MMENGINE_PREFIX = g.MMENGINE_PREFIX.compiled.match
_MMCV_PREFIX = g.MMCV_PREFIX.compiled.match
_RECORD_STARTS = g.RECORD_LIKE.starts
_WARNING_LEVELS = frozenset(level for level, kind in g.LEVEL_EVENTS.items() if kind == "warning")
_RANK = g.RANK_PREFIX.match
_RANK_STARTS = g.RANK_PREFIX.starts
_FOREIGN = g.FOREIGN_LOGGER.match
_LAUNCH = g.LAUNCH.match
_PROGRESS_BAR = g.PROGRESS_BAR.match
_PYTHON_WARNING = g.PYTHON_WARNING.match
_NOHUP = g.NOHUP.match
_TRACEBACK_START = g.TRACEBACK_START.literal
_TRACEBACK_BODY_STARTS = g.TRACEBACK_BODY.starts
# A config dump ends at the next run header or traceback, and at a torchrun rank prefix.
_ENDS_CONFIG = frozenset({g.SYSTEM_ENV_START.literal, g.TRACEBACK_START.literal})
# A traceback event keeps its first and last lines; a traceback followed by thousands of exception-like lines
# would otherwise rebuild an ever longer text at each of them (quadratic time). The lines between are counted.
TRACEBACK_HEAD_LINES = 100
TRACEBACK_TAIL_LINES = 100


def _keep_traceback_line(tb: dict, line: str) -> None:
    """Add a line to an open traceback: the first ``TRACEBACK_HEAD_LINES`` and the last ``TRACEBACK_TAIL_LINES``."""
    tb["count"] += 1
    if len(tb["lines"]) < TRACEBACK_HEAD_LINES:
        tb["lines"].append(line)
    else:
        tb["tail"].append(line)
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


@dataclass
class _HeaderLead:
    """An empty prefixed message (lines ``first``..``last`` with the dash lines after it) that opens the
    next run when ``System environment:`` follows at once; what it added to ``run`` is kept to move it."""

    first: int
    last: int
    ts: float
    run: Run
    prev_first_ts: float | None  # the run's first and last timestamps before this line
    prev_last_ts: float | None
    kinds: dict[str, int] = field(default_factory=lambda: {"message": 1})


# Block states: what a bare (unprefixed) line continues.
NONE, MESSAGE, ENV, CONFIG, TRACEBACK = range(5)


class TextLogInterpreter:
    def __init__(self, runs: list[Run], reference: _dt.datetime | Reference | None = None) -> None:
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
        self._lead: _HeaderLead | None = None  # an empty prefixed message that may open the next run's header
        self._year_run: Run | None = None  # the last run told where its year-less lines' year came from

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
        mark = _TRAIN_MARK
        mask = [mark in line for line in lines]
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
            try:
                if NUL in line:
                    self._line(line, no)  # the general rules, after the NUL bytes (``_line``)
                elif (m := fast(line)) is not None:
                    self._end_block()
                    ts = self._prefix_time(m)
                    self.last_ts = ts
                    self._train(m.group("epoch"), m.group("i"), m.group("n"), m.group("fields"), ts, no, True)
                    self._stamp(ts)
                elif (m := fast_progress(line)) is not None and _ESC not in line:
                    # What _line -> _prefixed -> _eval does with a progress line, without the detours.
                    self._end_block()
                    ts = self._prefix_time(m)
                    self.last_ts = ts
                    epoch = m.group("epoch")
                    progress = (m.group("mode"), _count(epoch) if epoch else None, _count(m.group("i")),
                                _count(m.group("n")))
                    run = self.cur
                    run.eval_progress = progress
                    run.line_kinds["eval_progress"] += 1
                    self._stamp(ts)
                else:
                    self._line(line, no)
            except Exception:  # no line may stop the parse (OutOfRange is the one the rules raise)
                # A line the rules cannot take (a count beyond int64, a pathological config value, a bug) is
                # an unparsed line; the rules check a line's numbers before they add its record, so no half
                # record is left behind and the next line starts clean.
                self._unparsed(no, line)
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
        # One values array per key layout for all the scans of ``data`` (the rows are copied out before
        # the next scan), zeroed so that the eta row the scanner leaves alone holds no NaN.
        blocks: dict[tuple[str, ...], np.ndarray] = {}
        no = first
        while pos < size:
            end = data.find(b"\n", pos, size)
            if end < 0:
                end = size
            layout = self._layout_of(data[pos:end].decode("utf-8", "replace"))
            if layout is None:
                # Not a train line: decode up to the line holding the next "(train)" in one go.
                hit = data.find(_TRAIN_MARK_BYTES, end, size)
                stop = size if hit < 0 else data.rfind(b"\n", end, hit) + 1
                no = self._feed_text(no, data[pos:stop])
                pos = stop
                continue
            values = blocks.get(layout.keys)
            if values is None:
                values = blocks[layout.keys] = np.zeros((len(layout.keys), cap))
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
        if m is None or NUL in line:
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
                eta_col=keys.index(_ETA_KEY) if _ETA_KEY in keys else -1,
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
        # A few hundred rows at a time, a thousand times a big log: few numpy calls per check (min/max
        # pairs, one product for the minutes) keep this cheap next to the scan itself.
        k = train_kernel
        n_rows = head.shape[1]
        years = head[k.YEAR]
        yearful = bool(years[0] >= 0)
        if (int(years.min()) >= 0) != yearful or (int(years.max()) < 0) == yearful:
            return False
        # "YYYY/MM/DD HH:MM" as a number with the same order as the text (hours and minutes may be
        # anything from 00 to 99, as the line path's arithmetic allows). A year-less row's year is -1 in
        # every row, a constant that keeps the order.
        minutes = _MINUTE_WEIGHTS @ head[k.YEAR:k.SECOND]
        if n_rows > 1 and bool((minutes[1:] < minutes[:-1]).any()):
            return False
        epochs = head[k.EPOCH]
        epoch_style = bool(epochs[0] >= 0)
        if (int(epochs.min()) >= 0) != epoch_style or (int(epochs.max()) < 0) == epoch_style:
            return False
        iters_in, ns = head[k.ITER], head[k.N]
        run = self.cur
        h = run.header
        t = run.train
        if epoch_style:
            # The scanner's numbers fit int64; a product of two may not (numpy would wrap it): the line path
            # rejects such lines one by one.
            n_max = int(ns.max())
            if int(epochs.max()) * n_max + int(iters_in.max()) > INT64_MAX or (h.max_epochs or 0) * n_max > INT64_MAX:
                return False
            its = (epochs - 1) * ns + iters_in
            maxs = h.max_epochs * ns if h.max_epochs else np.full(n_rows, -1, np.int64)
            eps, iies, ipes = epochs, iters_in, ns
        else:
            its, maxs = iters_in, ns
            eps = iies = ipes = np.full(n_rows, -1, np.int64)
        # Run boundaries inside the rows (the iteration went back, N changed) are rare: the general
        # path splits runs line by line.
        if n_rows > 1 and (bool((its[1:] < its[:-1]).any()) or int(maxs.min()) != int(maxs.max())):
            return False
        if len(t) and (its[0] < t.iters[-1] or (maxs[0] > 0 and t.max_iters[-1] > 0 and maxs[0] != t.max_iters[-1])):
            return False
        # Time stamps: one clock call per distinct day, in order (the clock's year logic only looks
        # at the month and day), then the hours and minutes added, as timegm would.
        clock = self.clock
        day_keys = minutes // 10000
        if int(day_keys[0]) == int(day_keys[-1]):  # one day (the rows are in time order): the usual case
            starts = [0]
        else:
            starts = [0, *(np.flatnonzero(day_keys[1:] != day_keys[:-1]) + 1).tolist()]
        bases = []
        for r in starts:
            y, mo, d = (int(v) for v in head[:3, r])
            bases.append(clock.full(y, mo, d, "00:00:00") if yearful else clock.yearless(mo, d, "00:00:00"))
        if not yearful and run is not self._year_run:
            self._note_year(run)
        if any(b != b for b in bases):
            return False  # an impossible date: the line path keeps such stamps out of the run's times
        seconds = _SECOND_WEIGHTS @ head[k.HOUR:k.EPOCH]
        if len(bases) == 1:
            tss = seconds + bases[0]
        else:
            tss = np.repeat(np.array(bases), np.diff([*starts, n_rows])) + seconds
        columns = {key: values[j] for j, key in enumerate(layout.keys) if j != layout.eta_col}
        t.extend(_q(its), _q(maxs), _q(eps), _q(iies), _q(ipes), tss,
                 np.ascontiguousarray(etas), np.arange(first, first + n_rows, dtype=np.int64), columns,
                 nan=bool(np.isnan(values).any()))
        run.line_kinds["train"] += n_rows
        ts_last = float(tss[-1])
        self.last_ts = ts_last
        if run.first_timestamp is None:
            run.first_timestamp = float(tss[0])
        run.last_timestamp = ts_last
        run.end_line = first + n_rows - 1
        return True

    # -- classification ----------------------------------------------------------------------------
    def _line(self, line: str, no: int, nested: bool = False) -> None:
        if NUL in line:
            text = after_nuls(line)  # what a crash left before the text is not part of it
            if not text.strip():
                self._unparsed(no, line)
                return
            line = text
        if _ESC in line:
            line = g.ANSI_ESCAPE.sub("", line)
        m = _MMENGINE_PREFIX(line)
        if m is not None:
            if self.format is None:
                self.format = "mmengine-text"
            ts = self._prefix_time(m)
            self._prefixed(m.group("level"), m.group("msg") or "", ts, no)
            self._stamp(ts)
            return
        m = _MMCV_PREFIX(line)
        if m is not None:
            if self.format is None:
                self.format = "mmcv-text"
            d = m.group("date")
            ts = self.clock.full(int(d[:4]), int(d[5:7]), int(d[8:10]), m.group("hms")) + int(m.group("ms")) / 1000
            self._prefixed(m.group("level"), m.group("msg") or "", ts, no)
            self._stamp(ts)
            return
        self._bare(line, no, nested)

    def _prefix_time(self, m: re.Match) -> float:
        """The time stamp of a line matched by a pattern built on the MMEngine prefix."""
        y = m.group("year")
        month, day, hms = int(m.group("month")), int(m.group("day")), m.group("hms")
        if y:
            return self.clock.full(int(y), month, day, hms)
        ts = self.clock.yearless(month, day, hms)
        run = self.cur
        if run is not self._year_run:
            self._note_year(run)
        return ts

    def _note_year(self, run: Run) -> None:
        """Tell the run where the year of its first year-less line came from (the first one told wins)."""
        self._year_run = run
        h = run.header
        if h.year_source is None:
            h.year_source, h.year_assumed = self.clock.year_source, self.clock.year_assumed

    def _stamp(self, ts: float) -> None:
        run = self.runs[-1]
        if ts == ts:
            if run.first_timestamp is None:
                run.first_timestamp = ts
            run.last_timestamp = ts

    def _prefixed(self, level: str, msg: str, ts: float, no: int) -> None:
        self._end_block()
        self.last_ts = ts
        if msg.startswith(_RECORD_STARTS):
            for pattern, read, mmengine_fields in _RECORDS:
                m = pattern.match(msg)
                if m is not None:
                    read(self, m.groupdict(), ts, no, mmengine_fields)
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
        kind = g.LEVEL_EVENTS.get(level)
        if kind is not None:
            run.events.append(Event(kind, no, ts, msg))
        elif not msg.strip():
            # MMEngine logs its run header as one message that starts with a newline: this line, then a
            # dash line, then "System environment:". If that follows, the line belongs to the next run.
            self._lead = _HeaderLead(no, no, ts, run, run.first_timestamp, run.last_timestamp)
        self.block = MESSAGE

    def _bare(self, line: str, no: int, nested: bool = False) -> None:
        block = self.block
        stripped = line.strip()
        if block == CONFIG:
            if stripped in _ENDS_CONFIG or line.startswith(_RANK_STARTS):
                self._end_block()
            else:
                self.config_lines.append(line)
                self.cur.line_kinds["config"] += 1
                return
        if block == TRACEBACK:
            if self._traceback_line(line, no):
                return
        m = _RANK(line)
        if m is not None and not nested:
            # torchrun prefixes a rank's whole stream: the rest may be a logger line too. The pattern takes
            # repeated prefixes at once; a rest that is prefixed again (once colour codes are gone) is not
            # read a third time, so a line of nested prefixes costs two readings, not one per prefix.
            self.cur.line_kinds["rank_prefix"] += 1
            self._line(m.group("rest"), no, nested=True)
            return
        if not stripped:
            self.cur.line_kinds["blank"] += 1
            self._extend_lead(no, "blank")
            return
        start = _SECTION_STARTS.get(stripped)
        if start is not None:
            start(self, line, no)
            return
        if block == ENV:
            self._env_line(line)
            return
        m = _FOREIGN(line)
        if m is not None:
            self.clock.note_year(int(m.group("year")))
            self.cur.line_kinds["foreign"] += 1
            return
        m = _LAUNCH(line)
        if m is not None:
            run = self._new_run(no, "launch command")
            run.events.append(Event("launch", no, None, stripped, {"command": m.group("command")}))
            run.line_kinds["launch"] += 1
            self.block = NONE
            return
        if _PROGRESS_BAR(line) or _PYTHON_WARNING(line) or _NOHUP(line):
            self.cur.line_kinds["foreign"] += 1
            return
        for pattern in g.UNPREFIXED_EVENT_PATTERNS:
            m = pattern.match(stripped)
            if m is not None:
                self._event(pattern.name, m, None, stripped, NAN, no)
                return
        if block == MESSAGE:
            self.cur.line_kinds["continuation"] += 1
            if not stripped.strip("-"):
                self._extend_lead(no, "continuation")
            return
        self._unparsed(no, line)

    # -- section starts (bare lines) ----------------------------------------------------------------
    def _system_env(self, line: str, no: int) -> None:
        lead, self._lead = self._lead, None
        prev = self.runs[-1] if self.runs else None
        if lead is not None and lead.last == no - 1 and lead.run is prev and lead.first > prev.start_line:
            # The header's first lines (its prefixed empty message and the dash line) open the run.
            run = self._new_run(lead.first, "run header")
            if run is not prev:
                for kind, n in lead.kinds.items():
                    prev.line_kinds[kind] -= n
                    if prev.line_kinds[kind] <= 0:
                        del prev.line_kinds[kind]
                run.line_kinds.update(lead.kinds)
                prev.first_timestamp, prev.last_timestamp = lead.prev_first_ts, lead.prev_last_ts
                if lead.ts == lead.ts:
                    run.first_timestamp = run.last_timestamp = lead.ts
        else:
            run = self._new_run(no, "run header")
        run.line_kinds["header"] += 1
        self.block = ENV

    def _extend_lead(self, no: int, kind: str) -> None:
        """A blank or dash line right after the header lead (or after such a line) keeps it open."""
        lead = self._lead
        if lead is not None and lead.last == no - 1:
            lead.last = no
            lead.kinds[kind] = lead.kinds.get(kind, 0) + 1

    def _runtime_env(self, line: str, no: int) -> None:
        self.cur.line_kinds["header"] += 1
        self.block = ENV

    def _traceback(self, line: str, no: int) -> None:
        self.tb = {"line_no": no, "ts": self.last_ts, "lines": [line], "tail": deque(maxlen=TRACEBACK_TAIL_LINES),
                   "count": 1}
        self.block = TRACEBACK
        self.cur.line_kinds["traceback"] += 1

    def _unparsed(self, no: int, text: str) -> None:
        if not self.runs:
            self.unparsed_before_runs += 1
        self.cur.unparsed.add(no, text)
        self.cur.line_kinds["unparsed"] += 1

    # -- blocks ------------------------------------------------------------------------------------
    def _end_block(self) -> None:
        if self.block == CONFIG:
            # The block is closed before its facts are read: the dump is read once, whatever happens.
            text, self.config_lines, self.block = "\n".join(self.config_lines), [], NONE
            apply_config_facts(text, self.cur.header)
        elif self.block == TRACEBACK:
            self._finish_traceback()
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
        m = _RANK(line)
        if m is not None:
            body = m.group("rest")
        if not body.strip() or body.startswith(_TRACEBACK_BODY_STARTS):
            _keep_traceback_line(tb, body)
            self.cur.line_kinds["traceback"] += 1
            return True
        if body.strip() == _TRACEBACK_START:
            _keep_traceback_line(tb, body)  # a chained exception: one event holds the chain
            self.cur.line_kinds["traceback"] += 1
            return True
        em = _EXCEPTION(body.strip())
        if em is not None:
            _keep_traceback_line(tb, body)
            self.cur.line_kinds["traceback"] += 1
            tb["exception"] = em.group("type")
            tb["message"] = em.group("message") or ""
            # A crash is usually the last thing a log says: publish the event now rather than when
            # the next line arrives (a live view would wait forever). Later lines of the same chain
            # update this event in place.
            self._publish_traceback(tb)
            return True
        if "exception" in tb:
            # After the exception line: more lines of its message until something else appears.
            self._finish_traceback()
            return False
        _keep_traceback_line(tb, body)
        self.cur.line_kinds["traceback"] += 1
        return True

    def _finish_traceback(self) -> None:
        tb, self.tb = self.tb, None
        if self.block == TRACEBACK:
            self.block = NONE
        if tb is not None:
            self._publish_traceback(tb)

    def _publish_traceback(self, tb: dict) -> None:
        """Add the traceback's event, or replace the one published earlier for the same traceback."""
        lines = list(tb["lines"])
        omitted = tb["count"] - len(lines) - len(tb["tail"])
        if omitted:
            lines.append(f"... {omitted} more traceback lines not kept ...")
        lines.extend(tb["tail"])
        blank_end = 0
        while len(lines) > blank_end and not lines[-1 - blank_end].strip():
            blank_end += 1
        if blank_end:
            del lines[-blank_end:]
        event = Event(
            "traceback", tb["line_no"], tb["ts"] if tb["ts"] == tb["ts"] else None, "\n".join(lines),
            {"exception": tb.get("exception"), "message": tb.get("message"), "lines": tb["count"] - blank_end},
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
        i, n = _count(i_s), _count(n_s)
        run = self.cur
        h = run.header
        if epoch_s is not None:
            epoch = _count(epoch_s)
            it = in_range((epoch - 1) * n + i)
            ipe = n
            max_iters = in_range(h.max_epochs * n) if h.max_epochs else -1
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
            if key == _ETA_KEY:
                e = parse_eta(raw)
                eta = NAN if e is None else e
                continue
            try:
                values[key] = float(raw)
            except ValueError:
                run.line_kinds["train_text_field"] += 1
        t.append(it, max_iters, epoch, iie, ipe, ts, eta, no, values)
        run.line_kinds["train"] += 1

    def _train_line(self, gd: dict, ts: float, no: int, mmengine: bool) -> None:
        self._train(gd.get("epoch"), gd["i"], gd["n"], gd["fields"], ts, no, mmengine)

    def _eval(self, gd: dict, ts: float, no: int, mmengine: bool) -> None:
        run = self.cur
        pairs = split_mmengine_fields(gd["fields"]) if mmengine else split_mmcv_fields(gd["fields"])
        epoch = _count(gd["epoch"]) if gd.get("epoch") else None
        if mmengine and any(k == _ETA_KEY for k, _ in pairs):
            run.eval_progress = (gd["mode"], epoch, _count(gd["i"]), _count(gd["n"]))
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
        batches = _count(gd["n"]) if gd.get("n") else None
        run.evals.append(EvalRecord(
            mode=gd["mode"], epoch=epoch, train_iter=run.last_iter, metrics=metrics, text=text,
            timestamp=ts, line_no=no, batches=batches,
        ))
        run.eval_progress = None
        run.line_kinds["eval"] += 1

    # -- events: ``_EVENTS`` maps each event pattern's name to its handler --------------------------
    def _event(self, name: str, m: re.Match, level: str | None, msg: str, ts: float, no: int) -> None:
        """A line an event pattern matched (``level`` is None for a line without logger prefix)."""
        on = _EVENTS[name]
        run = self.cur
        if on.resumes:
            # Read first (a resume's numbers may not fit), then start the run it opens: its handler reads
            # only the line.
            data = on.handler(self, run, m, msg, no)
            if len(run.train):
                run = self._new_run(no, "resume", keep_header=True)
        else:
            data = on.handler(self, run, m, msg, no)
        if data is None:
            return  # a header or section line: counted by its handler, no event
        run.events.append(Event(name, no, ts, msg.strip(), data))
        run.line_kinds["event"] += 1
        if on.warns and level in _WARNING_LEVELS:
            run.events.append(Event("warning", no, ts, msg))
        self.block = MESSAGE

    def _checkpoint(self, run: Run, m: re.Match, msg: str, no: int) -> dict:
        n, unit = _count(m.group("n")), m.group("unit")
        ipe = run.iters_per_epoch
        it = n if m.group("iters") else (in_range(n * ipe) if ipe else None)
        return {"n": n, "unit": unit, "iter": it}

    def _best_checkpoint(self, run: Run, m: re.Match, msg: str, no: int) -> dict:
        return {"metric": m.group("metric"), "value": _num(m.group("value")), "n": _count(m.group("n")),
                "unit": m.group("unit"), "path": m.group("path")}

    def _resume(self, run: Run, m: re.Match, msg: str, no: int) -> dict:
        return {"epoch": _count(m.group("epoch")), "iter": _count(m.group("iter"))}

    def _checkpoint_path(self, run: Run, m: re.Match, msg: str, no: int) -> dict:
        return {"path": m.group("path").strip()}

    def _advance_dataloader(self, run: Run, m: re.Match, msg: str, no: int) -> dict:
        return {"steps": _count(m.group("steps"))}

    def _epoch_wrap(self, run: Run, m: re.Match, msg: str, no: int) -> dict:
        return {"iter": run.last_iter}

    def _exp_name(self, run: Run, m: re.Match, msg: str, no: int) -> dict:
        run.header.set("exp_name", m.group("name"), "log: Exp name")
        return {"name": m.group("name")}

    def _work_dir(self, run: Run, m: re.Match, msg: str, no: int) -> dict:
        run.header.set("work_dir", m.group("path"), "log: Checkpoints will be saved to")
        return {"path": m.group("path")}

    def _dataset_size(self, run: Run, m: re.Match, msg: str, no: int) -> dict:
        samples = _count(m.group("n") or m.group("n2"))
        run.header.set("dataset_size", samples, "log: " + msg.strip("= "), override=True)
        return {"samples": samples}

    def _config_start(self, run: Run, m: re.Match, msg: str, no: int) -> None:
        if run.line_kinds.get("config") or len(run.train):
            run = self._new_run(no, "config dump")
        run.line_kinds["config"] += 1
        inline = m.group("inline")
        self.config_lines = [inline] if inline else []
        self.block = CONFIG

    def _mmcv_env_start(self, run: Run, m: re.Match, msg: str, no: int) -> None:
        run = self._new_run(no, "run header")
        run.line_kinds["header"] += 1
        self.block = ENV

    def _distributed(self, run: Run, m: re.Match, msg: str, no: int) -> None:
        run.header.set("distributed", m.group("value") == g.TRUE, "log: Distributed training")
        run.line_kinds["header"] += 1

    def _copypaste(self, run: Run, m: re.Match, msg: str, no: int) -> None:
        # mmdet's metric prints it just before the loop prints the summary it belongs to.
        self.pending_eval_text[m.group("name")] = m.group("values")
        run.line_kinds["eval_text"] += 1


# Record patterns, in the grammar's order, with their reader and whether the fields are MMEngine's.
_RECORD_READERS: dict[str, tuple[Callable, bool]] = {
    "train_mmengine": (TextLogInterpreter._train_line, True),
    "eval_mmengine": (TextLogInterpreter._eval, True),
    "train_mmcv_epoch": (TextLogInterpreter._train_line, False),
    "train_mmcv_iter": (TextLogInterpreter._train_line, False),
    "eval_mmcv_epoch": (TextLogInterpreter._eval, False),
    "eval_mmcv_iter": (TextLogInterpreter._eval, False),
}
_RECORDS = tuple((p, *_RECORD_READERS[p.name]) for p in g.RECORD_PATTERNS)


@dataclass(frozen=True)
class _On:
    """How the interpreter takes an event line."""

    # (interpreter, run, match, message, line number) -> the event's data, or None for a header or
    # section line that is not an event
    handler: Callable[..., dict | None]
    resumes: bool = False  # after train records the line starts a new run (a resume); its handler reads only the line
    warns: bool = True  # a WARNING line is a warning event too


_EVENTS: dict[str, _On] = {
    "checkpoint": _On(TextLogInterpreter._checkpoint),
    "best_checkpoint": _On(TextLogInterpreter._best_checkpoint),
    "resume": _On(TextLogInterpreter._resume, resumes=True),
    "auto_resume": _On(TextLogInterpreter._checkpoint_path, resumes=True),
    "load_checkpoint": _On(TextLogInterpreter._checkpoint_path, resumes=True),
    "advance_dataloader": _On(TextLogInterpreter._advance_dataloader),
    "epoch_wrap": _On(TextLogInterpreter._epoch_wrap, warns=False),  # xtuner warns at every epoch end
    "exp_name": _On(TextLogInterpreter._exp_name),
    "work_dir": _On(TextLogInterpreter._work_dir),
    "dataset_size": _On(TextLogInterpreter._dataset_size),
    "config_start": _On(TextLogInterpreter._config_start),
    "mmcv_env_start": _On(TextLogInterpreter._mmcv_env_start),
    "distributed": _On(TextLogInterpreter._distributed),
    "copypaste": _On(TextLogInterpreter._copypaste),
}

# Bare lines that open a section, by their literal (stripped) text.
_SECTION_STARTS: dict[str, Callable[[TextLogInterpreter, str, int], None]] = {
    g.SYSTEM_ENV_START.literal: TextLogInterpreter._system_env,
    g.RUNTIME_ENV_START.literal: TextLogInterpreter._runtime_env,
    g.TRACEBACK_START.literal: TextLogInterpreter._traceback,
}


def _same(value: str) -> str:
    return value


def _is_true(value: str) -> bool:
    return value == g.TRUE


def _int_or_none(value: str) -> int | None:
    try:
        return in_range(int(value))
    except ValueError:  # not a number, more than 4300 digits, or beyond int64 (OutOfRange)
        return None


def _count(digits: str) -> int:
    """A count a line wrote in digits (``\\d+``); ``OutOfRange`` when it does not fit a record's int64 columns,
    decided from the length before ``int()`` (which refuses more than 4300 digits with a ValueError)."""
    if len(digits) > 19 and len(digits.lstrip("0")) > 19:
        raise OutOfRange(f"{len(digits)}-digit number")
    return in_range(int(digits))


# Each header fact an environment key gives (``grammar.ENV_KEYS``): how its value is read, and its source.
_ENV_FACTS: dict[str, tuple[Callable[[str], object], str]] = {
    "cuda_available": (_is_true, "system env"),
    "pytorch_version": (_same, "system env"),
    "mmengine_version": (_same, "system env"),
    "launcher": (_same, "runtime env: Distributed launcher"),
    "distributed": (_is_true, "runtime env: Distributed training"),
    "world_size": (_int_or_none, "runtime env: GPU number (world size)"),
}


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
        return
    fact = g.ENV_KEYS.get(key)
    if fact is not None:
        read, source = _ENV_FACTS[fact]
        h.set(fact, read(value), source)


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


# ``head`` rows YEAR..MINUTE to one number ordered like the text; HOUR..SECOND to seconds of the day.
_MINUTE_WEIGHTS = np.array([10**8, 10**6, 10**4, 10**2, 1], dtype=np.int64)
_SECOND_WEIGHTS = np.array([3600.0, 60.0, 1.0])


def _q(values: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(values, dtype=np.int64)
