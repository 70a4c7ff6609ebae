"""``python -m dashboard replay SRC DEST``: write a real log into DEST at its own pace, to demo or test
live views without training anything.

SRC is read line by line (plain text or gzip, told apart by its magic bytes, so a ``.log.gz`` works).
Each line is written to DEST whole and flushed at once, never split. Before a line with a logger
timestamp (MMEngine ``[YYYY/]MM/DD HH:MM:SS``, mmcv ``YYYY-MM-DD HH:MM:SS,mmm``) the replay waits
for the time that separated it from the previous timestamped line, divided by ``--speed``
(default 1: real time), and at most ``--max-gap`` seconds (default 5). ``--speed 0`` writes as fast
as possible. Lines without a timestamp (config dumps, tracebacks) follow their predecessor at
once; a log with no timestamps at all (``scalars.json``) gets ``UNTIMED_GAP`` seconds per line,
divided by the speed. Time going back (a resume, a clock change) means no wait.

DEST is created (with its parent folders) or truncated, unless ``--append``; an existing directory
means ``DEST/<name of SRC without .gz>``. With ``--loop``, DEST is truncated at the end of each pass
and the log written again, forever (a watcher then sees a truncation each time).

Bytes are copied as they are (CRLF, bare CR, invalid UTF-8 included); a last line without a newline
gets one. Exit status 0 when done, 2 with ``error: ...`` for an unreadable SRC or unwritable DEST.

Library use: ``replay(src, dest, ...)`` blocks; ``ReplayThread`` runs it in the background and
``stop()`` ends it between two lines (the dashboard's live demo).
"""

from __future__ import annotations

import argparse
import gzip
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator

from parsers import reference_time_for
from parsers.grammar import PREFIX_PATTERNS
from parsers.sniff import is_gzip
from parsers.timestamps import Clock

UNTIMED_GAP = 0.2
DEFAULT_MAX_GAP = 5.0

_MMENGINE = PREFIX_PATTERNS[0].compiled.match
_MMCV = PREFIX_PATTERNS[1].compiled.match


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("src", metavar="SRC", help="a real log (plain or gzip)")
    parser.add_argument("dest", metavar="DEST", help="the file to write (or a directory to write it into)")
    parser.add_argument("--speed", type=float, default=1.0, metavar="X",
                        help="X times faster than the log's own pace (default 1; 0 = as fast as possible)")
    parser.add_argument("--max-gap", type=float, default=DEFAULT_MAX_GAP, metavar="SECONDS",
                        help=f"wait at most this long between two lines (default {DEFAULT_MAX_GAP:g})")
    parser.add_argument("--loop", action="store_true", help="start over (truncating DEST) at the end, forever")
    parser.add_argument("--append", action="store_true", help="append to DEST instead of truncating it first")


def line_time(line: bytes, clock: Clock) -> float | None:
    """Seconds of the logger timestamp that starts ``line``, or None."""
    if not line[:1].isdigit():
        return None
    # The prefix regexes match a whole line; its first 160 bytes hold any timestamp prefix.
    text = line[:160].decode("utf-8", "replace").rstrip("\r\n")
    m = _MMENGINE(text)
    if m is not None:
        y = m.group("year")
        month, day = int(m.group("month")), int(m.group("day"))
        ts = clock.full(int(y), month, day, m.group("hms")) if y else clock.yearless(month, day, m.group("hms"))
    else:
        m = _MMCV(text)
        if m is None:
            return None
        d = m.group("date")
        ts = clock.full(int(d[:4]), int(d[5:7]), int(d[8:10]), m.group("hms")) + int(m.group("ms")) / 1000
    return None if ts != ts else ts


def _open_src(src: str):
    with open(src, "rb") as f:
        magic = f.read(2)
    return gzip.open(src, "rb") if is_gzip(magic) else open(src, "rb")


def _lines(src: str) -> Iterator[bytes]:
    with _open_src(src) as f:
        yield from f


def resolve_dest(src: str, dest: str) -> str:
    if os.path.isdir(dest):
        name = os.path.basename(src)
        if name.lower().endswith(".gz"):
            name = name[:-3]
        return os.path.join(dest, name)
    return dest


def replay(
    src: str | os.PathLike,
    dest: str | os.PathLike,
    *,
    speed: float = 1.0,
    max_gap: float = DEFAULT_MAX_GAP,
    loop: bool = False,
    append: bool = False,
    stop: threading.Event | None = None,
    on_line: Callable[[bytes], None] | None = None,
    untimed_gap: float = UNTIMED_GAP,
) -> int:
    """Write SRC's lines into DEST at their pace (see the module docstring); the number of lines written.

    Raises OSError when SRC cannot be read or DEST cannot be written.
    """
    if speed < 0:
        raise ValueError("speed must be >= 0")
    src, dest = os.fspath(src), resolve_dest(os.fspath(src), os.fspath(dest))
    stop = stop or threading.Event()
    parent = os.path.dirname(os.path.abspath(dest))
    os.makedirs(parent, exist_ok=True)
    written = 0
    with open(dest, "ab" if append else "wb") as out:
        while not stop.is_set():
            clock = Clock(reference_time_for(src))
            prev: float | None = None
            any_time = False
            for line in _lines(src):
                if stop.is_set():
                    break
                ts = line_time(line, clock)
                wait = 0.0
                if ts is not None:
                    any_time = True
                    if prev is not None and ts > prev:
                        wait = ts - prev
                    prev = ts
                elif not any_time and line.strip():
                    wait = untimed_gap
                if speed > 0 and wait > 0:
                    if stop.wait(min(wait / speed, max_gap)):
                        break
                if not line.endswith(b"\n"):
                    line += b"\n"
                out.write(line)
                out.flush()
                written += 1
                if on_line is not None:
                    on_line(line)
            if not loop or stop.is_set():
                break
            if stop.wait(min(max_gap, 1.0) if speed > 0 else 0.0):
                break
            out.truncate(0)
            out.seek(0)
    return written


class ReplayThread(threading.Thread):
    """``replay()`` in a daemon thread; ``stop()`` ends it between two lines. ``error`` holds an OSError."""

    def __init__(self, src: str | os.PathLike, dest: str | os.PathLike, **kwargs) -> None:
        super().__init__(name="mmdash-replay", daemon=True)
        self.src, self.dest, self.kwargs = src, dest, kwargs
        self._stop_event = threading.Event()
        self.lines_written = 0
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.lines_written = replay(self.src, self.dest, stop=self._stop_event, **self.kwargs)
        except (OSError, ValueError, EOFError) as e:
            self.error = e

    def stop(self, timeout: float | None = 5.0) -> None:
        self._stop_event.set()
        if self.is_alive():
            self.join(timeout)


def run(args: argparse.Namespace) -> int:
    if args.speed < 0:
        print("error: --speed must be >= 0", file=sys.stderr)
        return 2
    if args.max_gap < 0:
        print("error: --max-gap must be >= 0", file=sys.stderr)
        return 2
    try:
        with open(args.src, "rb"):
            pass
    except OSError as e:
        print(f"error: cannot read {args.src}: {e.strerror or e}", file=sys.stderr)
        return 2
    t0 = time.monotonic()
    try:
        n = replay(args.src, args.dest, speed=args.speed, max_gap=args.max_gap, loop=args.loop, append=args.append)
    except (OSError, EOFError, gzip.BadGzipFile) as e:
        print(f"error: replay failed: {getattr(e, 'strerror', None) or e}", file=sys.stderr)
        return 2
    print(f"replayed {n} lines from {args.src} into {resolve_dest(args.src, args.dest)} "
          f"in {time.monotonic() - t0:.1f} s", file=sys.stderr)
    return 0
