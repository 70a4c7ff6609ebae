"""The server process's C allocator: memory the process freed goes back to the system.

Two causes, two remedies (both only on glibc; elsewhere nothing is done):

- **Large transient buffers** (``tune_for_server``). A live page sends its charts as JSON of up to about 1 MB per
  redraw, through protobuf messages of the same size, from a new script thread per rerun. glibc raises its mmap
  threshold each time an mmapped block is freed (up to 32 MiB), so after the first redraw these buffers come from
  the heap arenas instead, one arena per thread up to 8 per core, and the freed space is scattered between live
  objects and never returned. Measured with ``mallinfo2`` in the server of ``bench/bench_soak.py`` (5 sessions,
  20 lines/s, 5 minutes): bytes in use 41.6 -> 46.3 MB, free bytes held by the arenas 4.7 -> 53.0 MB, resident
  size 197 -> 245 MB. With a fixed mmap threshold of 128 KiB (which also stops the raising) and at most 2 arenas:
  free 1.5 -> 8.8 MB, resident 195 -> 210 MB. An operator's own settings (``GLIBC_TUNABLES``,
  ``MALLOC_ARENA_MAX``, ...) are left alone.
- **Many small objects of a big read** (``give_back``). Reading a big log makes many short-lived objects (lines,
  match results, chunks); once freed, glibc keeps most of that memory for later use instead of returning it, so
  the server's resident size stays ~40 MB above what it holds for a 1,000,000-line log. ``give_back()`` asks glibc
  to return it (``malloc_trim(0)``: a walk of the heap's free chunks, well under a millisecond to a few). Called
  after a big first read (``tailer``), after a big run model or any chart was built and after the first summaries
  (``views.app_state``).

Neither ever raises.
"""


from __future__ import annotations

import ctypes
import ctypes.util
import os
from collections.abc import Mapping
from functools import lru_cache

#: Give memory back after reading or building from at least this many bytes / records.
BIG_READ = 16 << 20
BIG_MODEL = 100_000


#: ``mallopt`` parameters (glibc's malloc.h).
M_MMAP_THRESHOLD = -3
M_ARENA_MAX = -8
#: Blocks of this size and larger are mmapped (so returned to the system when freed); glibc's initial default.
MMAP_THRESHOLD = 128 * 1024
#: Heap arenas: threads share them (the GIL serialises the Python code that allocates anyway).
ARENA_MAX = 2
#: Environment variables through which an operator tunes glibc's malloc; any of them set means: leave it alone.
OPERATOR_SETTINGS = ("GLIBC_TUNABLES", "MALLOC_ARENA_MAX", "MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_")


@lru_cache(maxsize=1)
def _glibc() -> ctypes.CDLL | None:
    """The process's C library when it is glibc (it has ``gnu_get_libc_version``, ``mallopt``, ``malloc_trim``)."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.gnu_get_libc_version.restype = ctypes.c_char_p
        libc.gnu_get_libc_version()
        libc.mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
        libc.malloc_trim.argtypes = (ctypes.c_size_t,)
        libc.malloc_trim.restype = ctypes.c_int
        return libc
    except (OSError, AttributeError):
        return None


def give_back() -> bool:
    """Return freed heap memory to the system (glibc); True when some was returned."""
    libc = _glibc()
    return bool(libc.malloc_trim(0)) if libc is not None else False


def tune_for_server(environ: Mapping[str, str] = os.environ) -> str:
    """Set the mmap threshold and the arena limit for a long-lived server process; a one-line note of what was done
    (shown in the Runs page's watcher panel)."""
    chosen = [name for name in OPERATOR_SETTINGS if environ.get(name)]
    if chosen:
        return f"memory allocator: left as set by {', '.join(chosen)}"
    libc = _glibc()
    if libc is None:
        return "memory allocator: not glibc, left as it is"
    if libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD) != 1 or libc.mallopt(M_ARENA_MAX, ARENA_MAX) != 1:
        return "memory allocator: glibc refused the settings, left as it is"
    return (f"memory allocator: blocks of {MMAP_THRESHOLD // 1024} KiB and more mmapped, at most {ARENA_MAX} arenas "
            "(MALLOC_ARENA_MAX or GLIBC_TUNABLES in the environment override this)")
