"""GPU logs in the exact CSV of ``nvidia-smi --query-gpu=<parsers.gpu_csv.QUERY> --format=csv -l S``.

Test and benchmark data written by this project (no GPU here): a header, then one line per GPU per sample, the
GPUs of one sample a few milliseconds apart as nvidia-smi stamps them. ``busy`` says which GPUs train (the others
sit idle at 0 %, a few hundred MiB, idle power); ``na_gpus`` report ``[N/A]`` power and ``[Not Supported]``
clocks, as some boards do. The output is a pure function of the arguments.
"""

from __future__ import annotations

import datetime as _dt
import random
from collections.abc import Callable, Iterable, Iterator

from parsers.gpu_csv import HEADER

NAME = "NVIDIA A100-SXM4-80GB"
MEM_TOTAL = 81920
POWER_LIMIT = 400.0


def stamp(t: _dt.datetime) -> str:
    """nvidia-smi's timestamp: ``YYYY/MM/DD HH:MM:SS.mmm`` (local time, no zone)."""
    return t.strftime("%Y/%m/%d %H:%M:%S.%f")[:-3]


def gpu_lines(start: _dt.datetime, samples: int, *, interval: float = 1.0, gpus: int = 4,
              busy: Iterable[int] | Callable[[int, _dt.datetime], bool] = (0,), na_gpus: Iterable[int] = (),
              util: int = 97, seed: int = 0, name: str = NAME) -> Iterator[str]:
    """The data lines (no header), each ending with a newline."""
    rng = random.Random(seed)
    busy_set = None if callable(busy) else set(busy)
    na = set(na_gpus)
    for k in range(samples):
        t0 = start + _dt.timedelta(seconds=k * interval)
        for i in range(gpus):
            t = t0 + _dt.timedelta(milliseconds=2 * i)
            on = busy(i, t) if busy_set is None else i in busy_set  # type: ignore[operator]
            if on:
                u = max(0, min(100, util + rng.randint(-3, 3)))
                mem = 18000 + rng.randint(0, 4000)
                power = 166.0 + rng.random() * 3.0
                temp, clock = 60 + rng.randint(0, 5), 1410
            else:
                u, mem, power, temp, clock = 0, 425, 55.0 + rng.random(), 34, 210
            p = "[N/A]" if i in na else f"{power:.2f} W"
            c = "[Not Supported]" if i in na else f"{clock} MHz"
            yield (f"{stamp(t)}, {i}, {name}, {u} %, {mem} MiB, {MEM_TOTAL} MiB, {p}, {POWER_LIMIT:.2f} W, "
                   f"{temp}, {c}\n")


def write_gpu_log(path, start: _dt.datetime, samples: int, **kw) -> int:
    """Header and lines into ``path``; returns the bytes written."""
    size = 0
    with open(path, "w", encoding="ascii", newline="") as f:
        f.write(HEADER + "\n")
        size += len(HEADER) + 1
        buf = []
        for line in gpu_lines(start, samples, **kw):
            buf.append(line)
            if len(buf) >= 65536:
                chunk = "".join(buf)
                f.write(chunk)
                size += len(chunk)
                buf.clear()
        chunk = "".join(buf)
        f.write(chunk)
        size += len(chunk)
    return size
