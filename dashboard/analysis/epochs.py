"""Iterations per epoch and the global iteration where each epoch ends.

Sources, in order of trust (the first that answers wins, and is named in ``source``):
1. ``Epoch(train) [e][i/n]`` lines: n is the dataloader length (an mmcv ``.log.json``: what its header names,
   the text twin's lines or a checkpoint meta line).
2. the config: N / max_epochs, when N is a multiple of max_epochs and the loop counts epochs
   (EpochBasedTrainLoop, or xtuner's TrainLoop which turns epochs into iterations).
3. the phase shift in logged iterations: with EpochBasedTrainLoop and ``log_processor.by_epoch=False``
   the logger fires when (index in epoch + 1) % interval == 0, so at an epoch boundary B the next
   logged iteration is B + interval instead of a multiple of the interval (GUIDE section 3).
4. events: xtuner's "Reach the end of the dataloader" after the epoch's last line, and
   "Saving checkpoint at k epochs" after the last iteration of epoch k.
An iteration-based run without epochs has none.

The current epoch is the latest one a train line names (or the one its iteration falls in), and at least
the latest one a validation line names (``Epoch(val) [e]``): a log of validation lines only knows its
epoch too. ``current_epoch_source`` says which.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from parsers import Run

from .timing import iters


@dataclass(frozen=True)
class EpochInfo:
    iters_per_epoch: int | None
    max_epochs: int | None
    epoch_ends: list[int] = field(default_factory=list)  # global iterations, up to N when known
    current_epoch: int | None = None
    source: str = "none"  # where iters_per_epoch came from
    current_epoch_source: str = "none"


def _val_epoch(run: Run) -> int | None:
    """The latest epoch a validation line names; None beside iteration-style train lines (an mmcv IterBasedRunner's
    JSON names the data loader's passes there, and an epoch-based loop's epoch then comes from its iterations)."""
    if len(run.train) and run.train.iters_in_epoch[-1] < 0:
        return None
    epochs = [e.epoch for e in run.evals if e.mode == "val" and e.epoch is not None and e.epoch > 0]
    return max(epochs) if epochs else None


def _current_epoch(run: Run, from_iters: int | None) -> tuple[int | None, str]:
    current, source = from_iters, "iteration / iterations per epoch"
    # An epoch a train line names, when it counts its iterations inside epochs (an mmcv IterBasedRunner's JSON
    # names the data loader's passes, not epochs of its loop).
    if len(run.train) and run.train.epochs[-1] > 0 and run.train.iters_in_epoch[-1] >= 0:
        current, source = run.train.epochs[-1], "train lines"
    val = _val_epoch(run)
    if val is not None and (current is None or val > current):
        current, source = val, "validation lines"
    return current, (source if current is not None else "none")


def _from_lines(run: Run) -> int | None:
    return run.iters_per_epoch


def _from_config(run: Run) -> int | None:
    h = run.header
    N = run.max_iters
    E = h.max_epochs
    loop = (h.train_loop or "").lower()
    epochish = "epoch" in loop or "trainloop" in loop.replace(".", "").replace("_", "") or h.by_epoch
    if N and E and N % E == 0 and epochish and not (h.max_iters and not h.by_epoch and "xtuner" not in loop):
        return N // E
    return None


def _from_phase_shift(run: Run) -> int | None:
    interval = run.header.log_interval
    it = iters(run)
    if not interval or len(it) < 3:
        return None
    d = np.diff(it)
    odd = np.nonzero((d != interval) & (d > 0))[0]
    # A shifted step lands at B + interval with B the epoch boundary: B = it[j+1] - interval.
    bounds = [int(it[j + 1] - interval) for j in odd if (it[j + 1] - interval) % interval != 0]
    if not bounds:
        return None
    b0 = bounds[0]
    if all(b % b0 == 0 for b in bounds):
        return b0
    return None


def _from_events(run: Run) -> int | None:
    ends = [e.data.get("iter") for e in run.events if e.kind == "epoch_wrap" and e.data.get("iter")]
    if ends:
        return int(ends[0]) if all(x % ends[0] == 0 for x in ends) else None
    ck = [e for e in run.events if e.kind == "checkpoint" and e.data.get("unit") == "epochs"]
    for e in ck:
        # the last train record before this checkpoint ends epoch n
        prior = [i for i, ln in zip(run.train.iters, run.train.line_nos) if ln < e.line_no]
        if prior and e.data["n"] and prior[-1] % e.data["n"] == 0 and run.header.log_interval in (1, None):
            return prior[-1] // e.data["n"]
    return None


def epoch_info(run: Run) -> EpochInfo:
    h = run.header
    ipe, source = None, "none"
    for fn, name in ((_from_lines, "Epoch(train) lines"), (_from_config, "config: N / max_epochs"),
                     (_from_phase_shift, "phase shift of logged iterations at epoch ends"),
                     (_from_events, "epoch-wrap / checkpoint events")):
        ipe = fn(run)
        if ipe:
            source = name
            break
    if not ipe:
        current, current_source = _current_epoch(run, None)
        return EpochInfo(None, h.max_epochs, [], current, h.sources.get("iters_per_epoch", "none"), current_source)
    if source == "Epoch(train) lines" and h.iters_per_epoch == ipe and h.sources.get("iters_per_epoch"):
        source = h.sources["iters_per_epoch"]
    N = run.max_iters
    E = h.max_epochs or (N // ipe if N and N % ipe == 0 else None)
    last = run.last_iter or 0
    horizon = N or max(last, ipe)
    ends = list(range(ipe, horizon + 1, ipe))
    current, current_source = _current_epoch(run, -(-last // ipe) if last else None)
    return EpochInfo(ipe, E, ends, current, source, current_source)
