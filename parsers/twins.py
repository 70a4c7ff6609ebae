"""An mmcv ``X.log.json`` and its text twin ``X.log`` (same folder, same stem): the epoch length the JSON lacks.

mmcv's EpochBasedRunner writes the iteration inside the epoch as the JSON's ``iter``; the text log's train lines
(``Epoch [e][i/n]``) say the epoch's length n, and ``Iter [i/N]`` lines say that ``iter`` is global
(IterBasedRunner). ``epoch_hint_for(path)`` reads the twin up to its first train line and says which, with the
source to show (``EpochHint.source``). Only the twin's head is read, at most ``MAX_TWIN_BYTES``.

The twin is opened by ``opener`` (the dashboard passes one that keeps every open inside the log root,
``dashboard.live.roots.open_inside``); by default without following a symlink at its last component and
without blocking on a FIFO, so a twin swapped for a link after ``text_twin`` looked at it is not read.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from .lines import LineSplitter
from .records import Run
from .text_log import TextLogInterpreter

JSON_SUFFIX = ".log.json"
MAX_TWIN_BYTES = 64 << 20  # the first train line of a text log comes after its header and config
_CHUNK = 1 << 20
_OPEN_FLAGS = (os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
               | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0))

Opener = Callable[[Path], BinaryIO]


def open_no_follow(path: Path) -> BinaryIO:
    """``path`` opened for reading when it is a regular file and its last component is not a symlink."""
    fd = os.open(path, _OPEN_FLAGS)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(errno.EINVAL, "not a regular file", str(path))
        return open(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


@dataclass(frozen=True)
class EpochHint:
    """How to read an mmcv JSON log's ``iter``: inside epochs of ``iters_per_epoch``, or global (None)."""

    iters_per_epoch: int | None
    source: str


def text_twin(path: str | os.PathLike) -> Path | None:
    """``X.log`` beside ``X.log.json`` when it is a regular file; else None (a symbolic link may lead out of the
    folder the JSON log was allowed from, so it is not followed)."""
    p = Path(path)
    if not p.name.endswith(JSON_SUFFIX):
        return None
    twin = p.with_name(p.name[: -len(".json")])
    return twin if twin.is_file() and not twin.is_symlink() else None


def epoch_hint_for(path: str | os.PathLike, opener: Opener | None = None) -> EpochHint | None:
    """What the text twin of an mmcv JSON log says about its epochs; None without a twin (or a train line in it),
    or when ``opener`` (default ``open_no_follow``) refuses it (``OSError`` or ``ValueError``)."""
    twin = text_twin(path)
    if twin is None:
        return None
    run = _first_train_run(twin, opener or open_no_follow)
    if run is None:
        return None
    ipe = run.iters_per_epoch
    if ipe:
        return EpochHint(ipe, f"text twin {twin.name}: Epoch [e][i/{ipe}] lines")
    return EpochHint(None, f"text twin {twin.name}: Iter [i/N] lines (iter is global)")


def _first_train_run(path: Path, opener: Opener) -> Run | None:
    runs: list[Run] = []
    interp = TextLogInterpreter(runs)
    lines = LineSplitter()
    read = 0
    try:
        with opener(path) as f:
            while read < MAX_TWIN_BYTES:
                chunk = f.read(_CHUNK)
                if not chunk:
                    interp.feed(lines.close())
                    break
                read += len(chunk)
                interp.feed(lines.feed(chunk))
                if any(len(r.train) for r in runs):
                    break
    except (OSError, ValueError):
        return None
    return next((r for r in runs if len(r.train)), None)
