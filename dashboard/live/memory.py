"""Memory the process freed, given back to the system.

Reading a big log makes many short-lived objects (lines, match results, chunks); once freed, glibc's allocator
keeps most of that memory for later use instead of returning it, so the server's resident size stays ~40 MB above
what it holds for a 1,000,000-line log. ``give_back()`` asks glibc to return it (``malloc_trim(0)``: a walk of the
heap's free chunks, well under a millisecond to a few); elsewhere (another C library) it does nothing. Called after
a big first read (``tailer``), after a big run model or any chart was built and after the first summaries
(``views.app_state``).
"""

from __future__ import annotations

import ctypes
import ctypes.util
from functools import lru_cache

#: Give memory back after reading or building from at least this many bytes / records.
BIG_READ = 16 << 20
BIG_MODEL = 100_000


@lru_cache(maxsize=1)
def _trim():
    try:
        lib = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        fn = lib.malloc_trim
    except (OSError, AttributeError):
        return None
    fn.argtypes = [ctypes.c_size_t]
    fn.restype = ctypes.c_int
    return fn


def give_back() -> bool:
    """Return freed heap memory to the system (glibc); True when some was returned."""
    fn = _trim()
    return bool(fn(0)) if fn is not None else False
