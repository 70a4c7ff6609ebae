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
import operator
import re
from array import array
from dataclasses import dataclass

from . import grammar as g
from .config_dump import apply_config_facts
from .fields import parse_eta, split_mmcv_fields, split_mmengine_fields
from .records import EvalRecord, Event, HeaderFacts, Run
from .timestamps import Clock

NAN = math.nan

# The hot path: an MMEngine prefix directly followed by a train header, composed from the grammar.
_MSG_TAIL = r"(?: (?P<msg>.*))?$"
assert g.PREFIX_PATTERNS[0].regex.endswith(_MSG_TAIL)
_FAST_TRAIN = re.compile(g.PREFIX_PATTERNS[0].regex[: -len(_MSG_TAIL)] + " " + g.TRAIN_MMENGINE.regex)
_MMENGINE_PREFIX = g.PREFIX_PATTERNS[0].compiled.match
_MMCV_PREFIX = g.PREFIX_PATTERNS[1].compiled.match
_LOOKS_LIKE_RECORD = ("Epoch(", "Iter(", "Epoch [", "Iter [")
_RESUME_KINDS = ("resume", "auto_resume", "load_checkpoint")
_BARE_EVENTS = ("load_checkpoint", "auto_resume", "resume", "checkpoint")
_BARE = {p.name: p for p in g.BARE_PATTERNS}
_ENV_FIELD = g.ENV_FIELD.compiled.match
_GPU_KEY = g.GPU_KEY.compiled.match
_EXCEPTION = g.EXCEPTION_LINE.compiled.match

# The batched hot path (``_train_batch``): the same composition, over many lines at once.
_FAST_TRAIN_ML = re.compile("^" + _FAST_TRAIN.pattern, re.M)
_ETA_VALUE = "(" + g.ETA.regex.rstrip("$").replace("(?P<days>", "(?:").replace("(?P<h>", "(?:")\
    .replace("(?P<m>", "(?:").replace("(?P<s>", "(?:") + ")"
BATCH_MIN = 32  # shorter runs of train lines are not worth a batch


@dataclass(frozen=True)
class _Signature:
    keys: tuple[str, ...]
    regex: re.Pattern


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
        self._sig = None  # the key layout of the last batch of train lines
        self._sigs: dict[tuple, _Signature] = {}

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
            if len(lines) >= BATCH_MIN:
                self._feed_batched(first, lines)
            else:
                self._feed_lines(first, lines)

    def _feed_batched(self, first: int, lines: list[str]) -> None:
        """Runs of consecutive train lines go through ``_train_batch``; everything else line by line."""
        mask = ["(train)" in line for line in lines]
        n = len(lines)
        i = 0
        while i < n:
            try:
                j = mask.index(not mask[i], i)
            except ValueError:
                j = n
            if mask[i] and j - i >= BATCH_MIN and self._train_batch(first + i, lines[i:j]):
                pass
            else:
                self._feed_lines(first + i, lines[i:j])
            i = j

    def _feed_lines(self, first: int, lines: list[str]) -> None:
        fast = _FAST_TRAIN.match
        no = first
        for line in lines:
            m = fast(line)
            if m is not None:
                self._end_block()
                y = m.group("year")
                ts = (self.clock.full(int(y), int(m.group("month")), int(m.group("day")), m.group("hms")) if y
                      else self.clock.yearless(int(m.group("month")), int(m.group("day")), m.group("hms")))
                self.last_ts = ts
                self._train(m.group("epoch"), m.group("i"), m.group("n"), m.group("fields"), ts, no, True)
                self._stamp(ts)
            else:
                self._line(line, no)
            no += 1
        if self.runs:
            self.runs[-1].end_line = no - 1

    def close(self) -> None:
        self._end_block()

    # -- the batched hot path ----------------------------------------------------------------------
    def _train_batch(self, first: int, lines: list[str]) -> bool:
        """Parse consecutive MMEngine train lines in bulk; False (nothing changed) when any line
        needs the general path. Produces exactly what ``_feed_lines`` would for these lines."""
        rows = _FAST_TRAIN_ML.findall("\n".join(lines))
        if len(rows) != len(lines):
            return False
        fields = [r[10] for r in rows]
        groups = self._signature_groups(fields)
        if groups is None:
            return False
        # Convert every value before changing any state, so a failure leaves nothing half done.
        columns_by_group = []
        for start, end, sig, values in groups:
            cols = list(zip(*values)) if values else []
            conv: dict[str, array] = {}
            eta_raw = None
            try:
                for key, col in zip(sig.keys, cols):
                    if key == "eta":
                        eta_raw = list(col)
                    else:
                        conv[key] = array("d", map(float, col))
            except ValueError:
                return False
            columns_by_group.append((start, end, conv, eta_raw))

        n_rows = len(rows)
        y_col, mo_col, d_col, _hms, _lg, _lv, _loop, ep_col, i_col, n_col, _f = zip(*rows)
        # Timestamps: one clock call per distinct minute. The batch must be in time order (a
        # year-less log crossing New Year, or a clock going back, takes the general path).
        if y_col[0]:
            if y_col.count("") or mo_col.count(""):
                return False
            minute = [line[:16] for line in lines]
            secs = array("q", map(int, [line[17:19] for line in lines]))
        else:
            if y_col.count("") != n_rows:
                return False
            minute = [line[:11] for line in lines]
            secs = array("q", map(int, [line[12:14] for line in lines]))
        if minute != sorted(minute):
            return False
        its_raw = array("q", map(int, i_col))
        ns = array("q", map(int, n_col))
        epoch_style = bool(ep_col[0])
        if epoch_style != bool(ep_col[-1]) or (ep_col.count("") not in (0, n_rows)):
            return False
        run = self.cur
        h = run.header
        t = run.train
        if epoch_style:
            eps = array("q", map(int, ep_col))
            its = array("q", [(e - 1) * n + i for e, n, i in zip(eps, ns, its_raw)])
            maxs = array("q", [h.max_epochs * n for n in ns]) if h.max_epochs else array("q", [-1]) * n_rows
            iies, ipes = its_raw, ns
        else:
            its, maxs = its_raw, ns
            eps = iies = ipes = array("q", [-1]) * n_rows
        # Run boundaries inside the batch (the iteration went back, N changed) are rare: the
        # general path splits runs line by line.
        if list(its) != sorted(its) or maxs.count(maxs[0]) != n_rows:
            return False
        if len(t) and (its[0] < t.iters[-1] or (maxs[0] > 0 and t.max_iters[-1] > 0 and maxs[0] != t.max_iters[-1])):
            return False
        self._end_block()
        clock = self.clock
        bases = {}
        if y_col[0]:
            for key in dict.fromkeys(minute):
                bases[key] = clock.full(int(key[:4]), int(key[5:7]), int(key[8:10]), key[11:16] + ":00")
        else:
            for key in dict.fromkeys(minute):
                bases[key] = clock.yearless(int(key[:2]), int(key[3:5]), key[6:11] + ":00")
        tss = array("d", map(operator.add, map(bases.__getitem__, minute), secs))
        line_nos = array("q", range(first, first + n_rows))
        for start, end, conv, eta_raw in columns_by_group:
            sl = slice(start, end)
            t.extend(its[sl], maxs[sl], eps[sl], iies[sl], ipes[sl], tss[sl],
                     eta_raw if eta_raw is not None else array("d", [NAN]) * (end - start),
                     line_nos[sl], conv)
        run.line_kinds["train"] += n_rows
        ts_last = tss[-1]
        self.last_ts = ts_last
        if run.first_timestamp is None:
            run.first_timestamp = tss[0]
        run.last_timestamp = ts_last
        run.end_line = first + n_rows - 1
        return True

    def _signature_groups(self, fields: list[str]):
        """Split rows into runs that share one key layout: [(start, end, signature, value tuples)]."""
        sig = self._sig
        if sig is not None:
            values = sig.regex.findall("\n".join(fields))
            if len(values) == len(fields):
                return [(0, len(fields), sig, values)]
        groups = []
        start = 0
        cur_vals: list = []
        for k, f in enumerate(fields):
            m = sig.regex.match(f) if sig is not None else None
            if m is None:
                if cur_vals:
                    groups.append((start, k, sig, cur_vals))
                sig = self._signature_for(f)
                if sig is None:
                    return None
                m = sig.regex.match(f)
                if m is None:
                    return None
                start, cur_vals = k, []
            cur_vals.append(m.groups() if len(sig.keys) > 1 else (m.group(1),))
        if cur_vals:
            groups.append((start, len(fields), sig, cur_vals))
        self._sig = sig
        return groups

    def _signature_for(self, fields: str):
        pairs = split_mmengine_fields(fields)
        keys = tuple(k for k, _ in pairs)
        if not keys or len(set(keys)) != len(keys):
            return None
        sig = self._sigs.get(keys)
        if sig is None:
            parts = [re.escape(k) + ": " + (_ETA_VALUE if k == "eta" else r"(\S+)") for k in keys]
            sig = _Signature(keys, re.compile("^" + "  ".join(parts) + "$", re.M))
            if len(self._sigs) > 256:
                self._sigs.clear()
            self._sigs[keys] = sig
        return sig

    # -- classification ----------------------------------------------------------------------------
    def _line(self, line: str, no: int) -> None:
        if "\x1b" in line:
            line = g.ANSI_ESCAPE.sub("", line)
        m = _MMENGINE_PREFIX(line)
        if m is not None:
            if self.format is None:
                self.format = "mmengine-text"
            y = m.group("year")
            ts = (self.clock.full(int(y), int(m.group("month")), int(m.group("day")), m.group("hms")) if y
                  else self.clock.yearless(int(m.group("month")), int(m.group("day")), m.group("hms")))
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
