"""``LogParser``: the incremental entry point (bytes in, runs out) and whole-file helpers.

Invariant (tested with hypothesis): for any split of the input into chunks,
``feed(c1); feed(c2); ...; close()`` produces exactly the runs and records of ``parse_bytes(whole)``.
Before ``close()``, a trailing line without newline is held back (a live log is mid-write).
"""

from __future__ import annotations

import datetime as _dt
import os
from collections.abc import Callable
from pathlib import Path

from .json_log import JsonLogInterpreter
from .lines import LineSplitter, after_nuls, as_lines
from .records import ParsedLog, Run
from .text_log import TextLogInterpreter
from .timestamps import Reference, name_reference, time_reference
from .twins import EpochHint, epoch_hint_for

READ_CHUNK = 8 << 20


class LogParser:
    """Feed bytes as they arrive; read ``runs`` at any time."""

    def __init__(self, reference: _dt.datetime | Reference | None = None, max_bytes: int | None = None, *,
                 epoch_hint: EpochHint | None = None) -> None:
        """``reference``: the date year-less lines are near (``reference_of`` a path says where it came from;
        a bare date is an assumed one). ``epoch_hint``: how an mmcv JSON log counts ``iter``
        (``twins.epoch_hint_for`` its path)."""
        self.runs: list[Run] = []
        self._lines = LineSplitter(max_bytes=max_bytes)
        self._reference = reference
        self._epoch_hint = epoch_hint
        self._interp: TextLogInterpreter | JsonLogInterpreter | None = None
        self._pending: list = []  # blocks of blank lines (or NUL bytes) before the first line that decides
        self._closed = False

    @property
    def format(self) -> str | None:
        if self._interp is None:
            return None
        if isinstance(self._interp, JsonLogInterpreter):
            return self._interp.format or "mmengine-scalars-json"
        return self._interp.format or ("mmengine-text" if self.runs else None)

    @property
    def lines(self) -> int:
        return self._lines.line_no

    @property
    def settings(self) -> tuple:
        """What this parser was made with besides the bytes (the year reference, the epoch hint, the size limit):
        two parsers with equal settings give the same records for the same bytes (a saved parse is resumed only
        into equal settings: ``dashboard.live.parse_cache``)."""
        return (self._reference, self._epoch_hint, self._lines.max_bytes)

    @property
    def is_gzip(self) -> bool:
        return self._lines.is_gzip

    @property
    def notes(self) -> list[str]:
        """What happened to the bytes before they were lines (damaged gzip data, ...): ``ParsedLog.notes``."""
        return list(self._lines.notes)

    def feed(self, data: bytes) -> None:
        if self._closed:
            raise ValueError("feed() after close()")
        self._dispatch(self._lines.feed(data))

    def close(self) -> None:
        """End of input: the last line counts even without its newline."""
        if self._closed:
            return
        self._dispatch(self._lines.close())
        if self._interp is None and any(ln.strip() for _, lines in self._pending for ln in as_lines(lines)):
            # Nothing but NUL bytes (and blank lines): a text log whose NUL lines are unparsed lines.
            self._start(TextLogInterpreter(self.runs, self._reference), [])
        if self._interp is not None:
            self._interp.close()
        self._closed = True

    def result(self) -> ParsedLog:
        return ParsedLog(
            format=self.format, runs=self.runs, lines=self._lines.line_no,
            bytes_consumed=self._lines.input_bytes, notes=self.notes,
        )

    def _dispatch(self, blocks) -> None:
        if not blocks:
            return
        if self._interp is None:
            # The first line with text decides; NUL bytes a crash left are not text (``after_nuls``).
            first = next((t for _, lines in blocks for ln in as_lines(lines) if (t := after_nuls(ln).strip())),
                         None)
            if first is None:
                # Only blank lines (or NUL bytes) so far: decide later.
                self._pending += blocks
                return
            if first.startswith("{"):
                self._start(JsonLogInterpreter(self.runs, self._epoch_hint), blocks)
            else:
                self._start(TextLogInterpreter(self.runs, self._reference), blocks)
            return
        self._interp.feed(blocks)

    def _start(self, interp: TextLogInterpreter | JsonLogInterpreter, blocks) -> None:
        self._interp = interp
        blocks, self._pending = self._pending + list(blocks), []
        interp.feed(blocks)


def reference_of(path: str | os.PathLike) -> Reference | None:
    """When a file was written, and how that is known: a ``YYYYMMDD_HHMMSS`` stamp in its path (a fact), else its
    mtime (assumed)."""
    p = Path(path)
    for part in (p.name, p.parent.name, str(p)):
        ref = name_reference(part)
        if ref is not None:
            return ref
    try:
        return time_reference(p.stat().st_mtime)
    except (OSError, ValueError, OverflowError):
        return None


def reference_time_for(path: str | os.PathLike) -> _dt.datetime | None:
    """When a file was written: a ``YYYYMMDD_HHMMSS`` stamp in its path, else its mtime (``reference_of``'s date)."""
    ref = reference_of(path)
    return ref.when if ref is not None else None


def parse_bytes(data: bytes, reference: _dt.datetime | Reference | None = None,
                max_bytes: int | None = None) -> ParsedLog:
    parser = LogParser(reference=reference, max_bytes=max_bytes)
    parser.feed(data)
    parser.close()
    return parser.result()


def parse_path(
    path: str | os.PathLike,
    max_bytes: int | None = None,
    *,
    reference: _dt.datetime | Reference | None = None,
    on_chunk: Callable[[int], None] | None = None,
    chunk_size: int = READ_CHUNK,
) -> ParsedLog:
    """Parse a whole file (plain or gzip) in chunks; raises OSError for a missing/unreadable file.

    ``reference`` overrides the date year-less lines are placed near (default: ``reference_of``, which says
    where the date came from);
    ``on_chunk(n)`` is called with the size of every chunk read (a progress bar's hook). An mmcv ``X.log.json``
    reads its epoch length from its text twin ``X.log`` when that is beside it (``twins``).
    """
    parser = LogParser(reference=reference or reference_of(path), max_bytes=max_bytes,
                       epoch_hint=epoch_hint_for(path))
    with open(path, "rb") as f:
        while True:
            chunk = f.read(chunk_size)
            if not chunk:
                break
            parser.feed(chunk)
            if on_chunk is not None:
                on_chunk(len(chunk))
    parser.close()
    return parser.result()
