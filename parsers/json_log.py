"""JSON-lines logs: MMEngine ``vis_data/scalars.json`` and mmcv 1.x ``*.log.json``.

- scalars.json: a train record has ``iter`` (global) and ``step``; an eval record has no ``iter``
  and its ``step`` is the epoch (epoch-based runs, whose train records carry ``epoch``) or the iteration.
- mmcv .log.json: ``{"mode": "train"|"val", "epoch": e, "iter": i, ...}``. A meta line (``{}``,
  ``{"hook_msgs": {}}``, ``{"env_info": ...}``, a checkpoint meta dict) after records opens a run: a file
  that several launches appended to holds one per launch. Meta lines before any record belong to the run
  they precede (one launch may write several, e.g. two ``{}``). ``iter`` is inside the epoch for the
  EpochBasedRunner and global for the IterBasedRunner. Which, and the iterations per epoch the global
  iteration needs, come in order from: the text twin (``X.log`` beside ``X.log.json``: ``EpochHint``),
  a checkpoint meta line of an EpochBasedRunner (``iter`` after ``epoch`` epochs), the config's runner
  type (which loop; the epoch length stays unknown), the first epoch change (``iter`` restarting). When
  the epoch length is unknown the largest ``iter`` of a complete epoch stands in for it (a lower bound)
  and ``iters_per_epoch`` stays unknown (-1). ``header.iters_per_epoch`` and
  ``header.sources["iters_per_epoch"]`` say which source answered (or that the lower bound stands in).
- Invariant: the iteration going back (globally) opens a new run, as in text logs.
"""

from __future__ import annotations

import copy
import json
import math

from .config_dump import apply_config_facts
from .lines import NUL, after_nuls, as_lines
from .records import EvalRecord, Event, OutOfRange, Run, in_range
from .text_log import apply_env_line
from .twins import EpochHint

NAN = math.nan
_META_KEYS = ("env_info", "hook_msgs", "mmdet_version", "mmcv_version", "config", "seed", "exp_name")
_NOT_VALUES = ("mode", "epoch", "iter", "step")


class JsonLogInterpreter:
    def __init__(self, runs: list[Run], epoch_hint: EpochHint | None = None) -> None:
        self.runs = runs
        self.format: str | None = None
        self.epoch_hint = epoch_hint  # mmcv: what the text twin says about epochs
        self._epoch_local: bool | None = None  # mmcv: iter counts inside the epoch?
        self._epoch_max: dict[int, int] = {}  # mmcv: largest iter seen per epoch
        self._complete_max = 0  # mmcv: largest iter seen in an epoch that has ended
        self._noted_max: int | None = None  # the stand-in the run's header names
        self._last_epoch: int | None = None
        self._last_raw_iter: int | None = None

    @property
    def cur(self) -> Run:
        if not self.runs:
            self.runs.append(Run(index=0, format=self.format or "mmengine-scalars-json", start_line=1))
        return self.runs[-1]

    def _new_run(self, no: int, why: str, *, keep_header: bool = False, force: bool = False) -> Run:
        prev = self.runs[-1] if self.runs else None
        if prev is not None and not force and not len(prev.train) and not prev.evals:
            prev.started_by = why
            return prev
        if prev is not None:
            prev.end_line = no - 1
        run = Run(index=len(self.runs), format=self.format or "mmengine-scalars-json", start_line=no, started_by=why)
        if keep_header and prev is not None:
            run.header = copy.deepcopy(prev.header)
        self.runs.append(run)
        self._epoch_local = None
        self._epoch_max = {}
        self._complete_max = 0
        self._noted_max = None
        self._last_epoch = None
        self._last_raw_iter = None
        return run

    def feed(self, blocks) -> None:
        for first, lines in blocks:
            no = first
            for line in as_lines(lines):
                try:
                    self._line(line, no)
                except Exception:  # no line may stop the parse (OutOfRange is the one the rules raise)
                    # A record whose numbers do not fit (an iter beyond int64, an integer beyond a double) or
                    # that breaks a rule is an unparsed line; its numbers are checked before it is stored.
                    self._unparsed(no, line)
                no += 1
            if self.runs:
                self.runs[-1].end_line = no - 1

    def close(self) -> None:
        pass

    def _line(self, line: str, no: int) -> None:
        s = line.strip()
        if NUL in s:
            s = after_nuls(s).strip()  # what a crash left before the record is not part of it
            if not s:
                self._unparsed(no, line)
                return
        if not s:
            self.cur.line_kinds["blank"] += 1
            return
        try:
            rec = json.loads(s)
        except (ValueError, RecursionError):  # RecursionError: nested deeper than the decoder goes
            rec = None
        if not isinstance(rec, dict):
            self._unparsed(no, line)
            return
        for key in _NOT_VALUES:
            v = rec.get(key)
            if isinstance(v, int):
                in_range(v)  # OutOfRange: the line is unparsed
        if "mode" in rec:
            self.format = self.format or "mmcv-json"
            self._mmcv(rec, no)
        elif not rec or any(k in rec for k in _META_KEYS):
            self.format = self.format or "mmcv-json"
            self._meta(rec, no)
        elif "step" in rec or "iter" in rec:
            self.format = self.format or "mmengine-scalars-json"
            self._scalars(rec, no)
        else:
            self._unparsed(no, line)
        run = self.cur
        run.format = self.format or run.format

    def _unparsed(self, no: int, line: str) -> None:
        run = self.cur
        run.unparsed.add(no, line)
        run.line_kinds["unparsed"] += 1

    def _meta(self, rec: dict, no: int) -> None:
        run = self._new_run(no, "meta line (a new launch)")
        run.line_kinds["header"] += 1
        env = rec.get("env_info")
        if isinstance(env, str):  # the same text as the text log's "Environment info" block
            for line in env.splitlines():
                apply_env_line(run.header, line)
        cfg = rec.get("config")
        if isinstance(cfg, str):
            apply_config_facts(cfg, run.header)
        if isinstance(rec.get("exp_name"), str):
            run.header.set("exp_name", rec["exp_name"], "json meta: exp_name")
        if isinstance(rec.get("iter"), int) and isinstance(rec.get("epoch"), int):
            data = {"epoch": rec["epoch"], "iter": rec["iter"]}
            run.events.append(Event("resume", no, None, "checkpoint meta", data))
            e, i = rec["epoch"], rec["iter"]
            # An EpochBasedRunner saves its checkpoints at epoch ends: iter = epoch x iterations per epoch.
            if self.epoch_hint is None and "EpochBasedRunner" in (run.header.train_loop or "") \
                    and e > 0 and i > 0 and i % e == 0:
                run.header.set("iters_per_epoch", i // e, f"checkpoint meta: iter {i} after epoch {e}")

    def _mmcv(self, rec: dict, no: int) -> None:
        run = self.cur
        mode = rec.get("mode")
        epoch = rec.get("epoch") if isinstance(rec.get("epoch"), int) else None
        raw_iter = rec.get("iter") if isinstance(rec.get("iter"), int) else None
        values = _numbers(rec)
        if mode == "train" and raw_iter is not None:
            if epoch is not None and self._last_epoch is not None and epoch != self._last_epoch:
                self._complete_max = max(self._complete_max, self._epoch_max.get(self._last_epoch, 0))
                if self._epoch_local is None and self._last_raw_iter is not None:
                    self._epoch_local = raw_iter <= self._last_raw_iter
            it, iie, ipe, max_iters = self._global_iter(run, epoch, raw_iter)
            in_range(it), in_range(max_iters)
            t = run.train
            if len(t) and it < t.iters[-1] and not (iie >= 0 and epoch and epoch > (self._last_epoch or 0)):
                run = self._new_run(no, f"iteration went back from {t.iters[-1]} to {it}", keep_header=True, force=True)
                t = run.train
                it, iie, ipe, max_iters = self._global_iter(run, epoch, raw_iter)
            if epoch is not None:
                self._epoch_max[epoch] = max(self._epoch_max.get(epoch, 0), raw_iter)
            self._last_epoch, self._last_raw_iter = epoch, raw_iter
            t.append(it, max_iters, epoch if epoch is not None else -1, iie, ipe, NAN, NAN, no, values)
            run.line_kinds["train"] += 1
        elif mode in ("val", "test"):
            run.evals.append(EvalRecord(
                mode=mode, epoch=epoch, train_iter=run.last_iter,
                metrics={k: v for k, v in values.items() if k != "lr"},
                text={k: str(v) for k, v in rec.items() if k not in _NOT_VALUES and not _is_num(v)},
                timestamp=None, line_no=no, batches=raw_iter,
            ))
            run.line_kinds["eval"] += 1
        else:
            run.unparsed.add(no, json.dumps(rec)[:500])
            run.line_kinds["unparsed"] += 1

    def _global_iter(self, run: Run, epoch: int | None, raw: int) -> tuple[int, int, int, int]:
        """(global iteration, iteration in epoch, iterations per epoch, N) of an mmcv train record; -1 unknown."""
        h = run.header
        hint = self.epoch_hint
        if hint is not None:
            local = hint.iters_per_epoch is not None
            if local and h.iters_per_epoch is None:
                h.set("iters_per_epoch", hint.iters_per_epoch, hint.source)
        elif h.iters_per_epoch:
            local = True
        else:
            loop = h.train_loop or ""
            local = (True if "EpochBasedRunner" in loop else False if "IterBasedRunner" in loop
                     else self._epoch_local)
        if not local or epoch is None:
            return raw, -1, -1, -1
        ipe = h.iters_per_epoch
        if ipe:
            return (epoch - 1) * ipe + raw, raw, ipe, (h.max_epochs * ipe if h.max_epochs else -1)
        m = self._complete_max
        if epoch > 1 and self._noted_max != m:
            self._noted_max = m
            h.sources["iters_per_epoch"] = (
                f"unknown: the largest iter logged in a complete epoch ({m}) stands in for it in global "
                "iterations, a lower bound" if m else
                f"unknown: iter counts inside epoch {epoch} and no complete epoch is logged")
        return (epoch - 1) * m + raw, raw, -1, -1

    def _scalars(self, rec: dict, no: int) -> None:
        run = self.cur
        values = _numbers(rec)
        epoch = rec.get("epoch") if isinstance(rec.get("epoch"), int) else None
        if isinstance(rec.get("iter"), int):
            it = rec["iter"]
            t = run.train
            if len(t) and it < t.iters[-1]:
                run = self._new_run(no, f"iteration went back from {t.iters[-1]} to {it}", keep_header=True, force=True)
                t = run.train
            t.append(it, -1, epoch if epoch is not None else -1, -1, -1, NAN, NAN, no, values)
            run.line_kinds["train"] += 1
            if epoch is not None:
                run.header.set("by_epoch", True, "scalars.json: train records carry epoch")
            return
        step = rec.get("step") if isinstance(rec.get("step"), int) else None
        by_epoch = bool(len(run.train)) and run.train.epochs[-1] >= 0
        run.evals.append(EvalRecord(
            mode="val", epoch=step if by_epoch else None,
            train_iter=(run.last_iter if by_epoch else step),
            metrics=values,
            text={k: str(v) for k, v in rec.items() if k not in _NOT_VALUES and not _is_num(v)},
            timestamp=None, line_no=no,
        ))
        run.line_kinds["eval"] += 1


def _is_num(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _numbers(rec: dict) -> dict[str, float]:
    out = {}
    for k, v in rec.items():
        if k in _NOT_VALUES:
            continue
        if _is_num(v):
            try:
                out[k] = float(v)
            except OverflowError:  # an integer beyond a double
                raise OutOfRange(f"{k}: an integer beyond a double") from None
        elif isinstance(v, str) and v.lower() in ("nan", "inf", "-inf"):
            out[k] = float(v)
    return out
