"""The sweep: the four run kinds one after the other, cut to an exact number of lines, and the file writer.

``iter_log_lines(lines, seed)`` is a pure function of its arguments: the same (lines, seed) give the same bytes,
and its lines past ``lines`` continue the last run (``extra_lines``), so a benchmark can append what the training
would have written next.
"""

from __future__ import annotations

import calendar
import itertools
from collections.abc import Callable, Iterator
from pathlib import Path

from tools.gen_logs.cls import ClsRun
from tools.gen_logs.common import Run
from tools.gen_logs.det import DetRun
from tools.gen_logs.llm import LlmRun
from tools.gen_logs.seg import SegRun

# Share of the line budget per run (the last run takes whatever is left).
SHARES = (0.22, 0.24, 0.14, 0.40)

T0 = float(calendar.timegm((2025, 3, 2, 21, 14, 7)))  # wall clock of the first line (rendered as UTC)


RUN_KINDS: tuple[Callable[..., Run], ...] = (DetRun, SegRun, ClsRun, LlmRun)


def iter_log_lines(lines: int = 1_000_000, seed: int = 0) -> Iterator[str]:
    """The log's lines (no newlines). The first ``lines`` lines are the log; later ones continue it."""
    t = T0
    budgets = [int(lines * s) for s in SHARES]
    emitted = 0
    for index, (kind, budget) in enumerate(zip(RUN_KINDS, budgets)):
        last = index == len(RUN_KINDS) - 1
        if last:
            budget = max(1, lines - emitted)
        run = kind(index, budget, seed, t, last)
        for line in run.lines():
            yield line
            emitted += 1
        t = run.clock.t + 60 * 17.0  # the next launch, a few minutes later


def write_log(path: str | Path, lines: int = 1_000_000, seed: int = 0) -> int:
    """Write the log; returns its size in bytes."""
    size = 0
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        batch: list[str] = []
        for line in itertools.islice(iter_log_lines(lines, seed), lines):
            batch.append(line)
            if len(batch) >= 20000:
                text = "\n".join(batch) + "\n"
                f.write(text)
                size += len(text.encode("utf-8"))
                batch = []
        if batch:
            text = "\n".join(batch) + "\n"
            f.write(text)
            size += len(text.encode("utf-8"))
    return size


def extra_lines(lines: int, seed: int, count: int) -> list[str]:
    """The ``count`` lines that would follow a ``lines``-line log: the training goes on."""
    return list(itertools.islice(iter_log_lines(lines, seed), lines, lines + count))
