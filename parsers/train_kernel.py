"""A compiled scanner for runs of MMEngine train lines: the hot path of a long log.

Nine lines in ten of a long log are ``Iter(train)`` / ``Epoch(train)`` lines with the same keys in the
same order. CPython spends most of a parse matching them with regular expressions and turning each
value into a float; this module reads them with a loop over the bytes that numba compiles.

Invariants:
- The scanner accepts a strict subset of what the line-by-line path (``TextLogInterpreter._feed_lines``)
  reads: ASCII lines, level INFO, the keys of one layout joined by exactly two spaces, values written as
  plain decimal numbers, ``nan`` or ``inf`` and an eta in MMEngine's format. On that subset it yields
  exactly the numbers the line path yields (the same IEEE doubles: a decimal with at most 15 significant
  digits and a power of ten up to 22 is converted with one correctly rounded operation, as ``float()``
  does). Any other line stops the scan there; the caller gives that line to the general path.
- Nothing here changes parser state: the scanner fills caller-owned arrays and says how many lines it read.
- numba is imported on first use, so importing ``parsers`` stays cheap; ``available()`` is False when
  numba cannot be imported, and the caller then parses every line on the general path.
"""

from __future__ import annotations

import contextlib
import sys
import threading

import numpy as np

# Columns of the ``head`` array the scanner fills, one row per line.
YEAR, MONTH, DAY, HOUR, MINUTE, SECOND, EPOCH, ITER, N = range(9)
HEAD_COLUMNS = 9

_scan = None
_import_error: Exception | None = None
_LOAD_LOCK = threading.Lock()


#: Train lines a parser reads the general way before it loads the scanner: loading numba and the
#: compiled code costs a process about 0.4 s once, which this many lines read the general way also
#: cost; a short log never pays it.
LOAD_AFTER_LINES = 50_000


def available() -> bool:
    """True when the compiled scanner can be used (numba imports and compiles)."""
    return _load() is not None


def loaded() -> bool:
    """True when the scanner is already in this process (using it costs nothing more)."""
    return _scan is not None


def scan(buf: np.ndarray, pos: int, keys: np.ndarray, key_offsets: np.ndarray, eta_col: int,
         head: np.ndarray, values: np.ndarray, etas: np.ndarray) -> tuple[int, int]:
    """Read train lines of one key layout from byte ``pos`` of ``buf`` (uint8, lines ended by ``\\n``).

    ``keys`` holds the layout's key names back to back (``key_offsets[j]:key_offsets[j + 1]`` is key j);
    ``eta_col`` is the index of ``eta`` among them or -1. Line r goes to column r of ``head`` (int64,
    ``HEAD_COLUMNS`` rows) and of ``values`` (float64, one row per key; the eta row is left alone), and
    to ``etas[r]`` (float64 seconds, NaN without an eta key). Column-major, so that each field comes
    out contiguous. A year-less line has year -1, an ``Iter`` line epoch -1.

    Returns (lines read, byte position after them). It stops at the first line outside the subset
    (the position is that line's start), at the end of ``buf`` or when ``head`` has no column left.
    """
    fn = _load()
    if fn is None:
        return 0, pos
    return fn(buf, pos, keys, key_offsets, eta_col, head, values, etas)


def _load():
    global _scan, _import_error
    if _scan is None and _import_error is None:
        with _LOAD_LOCK:
            if _scan is None and _import_error is None:
                try:
                    with _numba_without_scipy():
                        from ._train_kernel_numba import scan_lines

                        _first_call(scan_lines)  # loads the compiled code (or compiles it, once)
                    _scan = scan_lines
                except Exception as exc:  # no numba here, or it cannot compile: the general path reads
                    _import_error = exc
    return _scan


def _first_call(fn) -> None:
    line = b"2025/01/01 00:00:00 - mmengine - INFO - Iter(train) [1/2]  lr: 1.0\n"
    got, _ = fn(np.frombuffer(line, np.uint8), 0, np.frombuffer(b"lr", np.uint8), np.array([0, 2], np.int64), -1,
                np.empty((HEAD_COLUMNS, 1), np.int64), np.empty((1, 1)), np.empty(1))
    if got != 1:
        raise RuntimeError("the compiled scanner does not read a plain train line")


@contextlib.contextmanager
def _numba_without_scipy():
    """Loading numba's compiled code imports ``numba.np.arraymath``, which imports scipy (0.3 s here)
    only to see whether BLAS exists for ``np.dot``. The scanner has no use for it, so while numba
    loads, and only if scipy is not imported yet, ``import scipy`` fails fast instead."""
    if "scipy" in sys.modules:
        yield
        return
    sys.modules["scipy"] = None  # type: ignore[assignment]  # makes "import scipy..." raise ImportError
    try:
        yield
    finally:
        if sys.modules.get("scipy", 0) is None:
            del sys.modules["scipy"]


def warm_up() -> bool:
    """Import numba and load (or, the first time on a machine, compile) the scanner now rather than
    on the first long run of train lines; True when the scanner is available."""
    return _load() is not None
