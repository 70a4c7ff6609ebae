"""A compiled scanner for runs of MMEngine train lines: the hot path of a long log.

Nine lines in ten of a long log are ``Iter(train)`` / ``Epoch(train)`` lines with the same keys in the
same order. CPython spends most of a parse matching them with regular expressions and turning each
value into a float; this module reads them with a compiled loop over the bytes. Two builds of the same
loop, tried in this order: ``_train_scan.c``, compiled on first use with the system C compiler into the
user cache directory and called through ctypes (loading it costs about a millisecond); else
``_train_kernel_numba.py`` (importing numba and loading its cached code costs about 0.4 s). The
environment variable ``MMDASH_SCANNER`` (``c``, ``numba`` or ``none``) picks one; ``kind()`` says which is
in use (``python -m parsers --version`` prints it).

Invariants:
- The scanner accepts a strict subset of what the line-by-line path (``TextLogInterpreter._feed_lines``)
  reads: ASCII lines, level INFO, the keys of one layout joined by exactly two spaces, values written as
  plain decimal numbers, ``nan`` or ``inf`` and an eta in MMEngine's format. On that subset it yields
  exactly the numbers the line path yields (the same IEEE doubles: a decimal with at most 15 significant
  digits and a power of ten up to 22 is converted with one correctly rounded operation, as ``float()``
  does). Any other line stops the scan there; the caller gives that line to the general path.
- Nothing here changes parser state: the scanner fills caller-owned arrays and says how many lines it read.
- The two builds give identical results, byte for byte, on any input (tests/test_train_scan_c.py).
- Nothing is loaded before first use, so importing ``parsers`` stays cheap; ``available()`` is False when
  neither build loads, and the caller then parses every line on the general path.
- The C library lives in ``$MMDASH_CACHE_DIR/scanner`` (else the user cache dir, ``$XDG_CACHE_HOME/mmdash``),
  named by the hash of the source, the compiler flags and the platform; it is compiled to a temporary name
  and renamed into place, so processes racing to build it each load a complete file. The compiler is
  ``$MMDASH_CC``, else the one Python was built with, else ``cc``; without one, numba is used. A library or
  folder that another user owns or may write to is not loaded (numba is used).
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import threading
from pathlib import Path

import numpy as np

from parsers.trust import untrusted

# Columns of the ``head`` array the scanner fills, one row per line.
YEAR, MONTH, DAY, HOUR, MINUTE, SECOND, EPOCH, ITER, N = range(9)
HEAD_COLUMNS = 9

ENV_SCANNER = "MMDASH_SCANNER"
ENV_CC = "MMDASH_CC"
KINDS = ("c", "numba")
C_SOURCE = Path(__file__).with_name("_train_scan.c")
C_FLAGS = ("-O2", "-shared", "-fPIC", "-std=c99", "-ffp-contract=off")  # no fused multiply-add: the doubles of Python

_scan = None
_ema = None  # the C library's debiased EMA, bound when the C build loads (``compiled_ema``)
_kind = "none"
_import_error: Exception | None = None
_LOAD_LOCK = threading.Lock()


#: Train lines a parser reads the general way before it loads the scanner: loading numba and the
#: compiled code costs a process about 0.4 s once, which this many lines read the general way also
#: cost; a short log never pays it.
LOAD_AFTER_LINES = 50_000


def available() -> bool:
    """True when a compiled scanner can be used (the C build or numba loads)."""
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


def kind() -> str:
    """Which scanner this process uses: ``c``, ``numba`` or ``none`` (loads it first if need be)."""
    _load()
    return _kind


def _wanted() -> tuple[str, ...]:
    choice = os.environ.get(ENV_SCANNER, "").strip().lower()
    if choice in ("", "auto"):
        return KINDS
    if choice in KINDS:
        return (choice,)
    return ()  # "none" (or anything else): the general path reads every line


def _load():
    global _scan, _kind, _import_error
    if _scan is None and _import_error is None:
        with _LOAD_LOCK:
            if _scan is None and _import_error is None:
                errors = []
                for name in _wanted():
                    try:
                        fn = _load_c() if name == "c" else _load_numba()
                        _first_call(fn)
                    except Exception as exc:  # no compiler, no numba, a broken build: try the next
                        errors.append(f"{name}: {exc}")
                        continue
                    _scan, _kind = fn, name
                    break
                else:
                    _import_error = RuntimeError("; ".join(errors) or f"{ENV_SCANNER} turns the scanner off")
    return _scan


def _load_numba():
    with _numba_without_scipy():
        from ._train_kernel_numba import scan_lines

        _first_call(scan_lines)  # loads the compiled code (or compiles it, once), while scipy is blocked
    return scan_lines


def cache_dir() -> Path:
    """Where the C build is kept: ``$MMDASH_CACHE_DIR/scanner``, else the user cache dir's."""
    given = os.environ.get("MMDASH_CACHE_DIR", "").strip()
    if given and given.lower() not in ("0", "off", "no", "false", "none"):
        return Path(os.path.expanduser(given)) / "scanner"
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("mmdash", appauthor=False)) / "scanner"


def _compiler() -> list[str]:
    given = os.environ.get(ENV_CC, "").strip()
    if given:
        return given.split()
    built_with = (sysconfig.get_config_var("CC") or "").split()
    if built_with and shutil.which(built_with[0]):
        return built_with[:1]  # the compiler alone: Python's own flags are not this library's
    found = shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
    if not found:
        raise RuntimeError("no C compiler found (cc, gcc or clang; or set MMDASH_CC)")
    return [found]


def c_library_path() -> Path:
    """The cache file the C build of this source, these flags and this platform is kept in."""
    key = hashlib.sha256(C_SOURCE.read_bytes() + " ".join(C_FLAGS).encode()).hexdigest()[:16]
    plat = sysconfig.get_platform().replace("-", "_").replace(".", "_")
    return cache_dir() / f"train_scan-{key}-{plat}.so"


def _build_c(target: Path) -> None:
    target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=target.name + ".", suffix=".tmp", dir=target.parent)
    os.close(fd)
    try:
        cmd = [*_compiler(), *C_FLAGS, "-o", tmp, str(C_SOURCE)]
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
        if out.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed: {out.stderr.strip()[:500]}")
        os.chmod(tmp, 0o700)  # whatever the umask: _check_private would refuse a group-writable library
        os.replace(tmp, target)  # atomic: a racing process sees no file or a whole one
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def _check_private(path: Path) -> None:
    """Code this process will run: refuse a file or folder that another user owns or can write to."""
    for p in (path.parent, path):
        why = untrusted(p.stat())
        if why:
            raise PermissionError(f"{p} is not private to this user ({why})")


def _load_c():
    target = c_library_path()
    if not target.exists():
        _build_c(target)
    _check_private(target)
    try:
        lib = ctypes.CDLL(str(target))  # CDLL: the GIL is released during each call
    except OSError:  # a damaged cache file: build it again, once
        _build_c(target)
        lib = ctypes.CDLL(str(target))
    fn = lib.scan_lines
    i64, ptr = ctypes.c_int64, ctypes.c_void_p
    _bind_ema(lib)
    fn.argtypes = [ptr, i64, i64, ptr, ptr, i64, i64, ptr, i64, i64, i64, ptr, i64, i64, ptr, i64, ptr]
    fn.restype = i64

    def scan_lines(buf, pos, keys, key_offsets, eta_col, head, values, etas):
        for arr, dtype in ((buf, np.uint8), (keys, np.uint8), (key_offsets, np.int64), (head, np.int64),
                           (values, np.float64), (etas, np.float64)):
            if arr.dtype != dtype:
                raise TypeError(f"scanner array of {arr.dtype}, {np.dtype(dtype)} expected")
        if not (buf.flags.c_contiguous and keys.flags.c_contiguous and key_offsets.flags.c_contiguous):
            raise ValueError("the scanner reads contiguous buffers")
        if head.shape[0] != HEAD_COLUMNS or values.shape[1] < head.shape[1] or etas.shape[0] < head.shape[1] \
                or values.shape[0] < key_offsets.shape[0] - 1 or not head.flags.writeable \
                or not values.flags.writeable or not etas.flags.writeable:
            raise ValueError("scanner arrays of the wrong shape")
        hs, vs, es = head.strides, values.strides, etas.strides
        rows = ctypes.c_int64(0)
        after = fn(buf.ctypes.data, buf.shape[0], pos, keys.ctypes.data, key_offsets.ctypes.data,
                   key_offsets.shape[0] - 1, eta_col, head.ctypes.data, hs[0] // 8, hs[1] // 8, head.shape[1],
                   values.ctypes.data, vs[0] // 8, vs[1] // 8, etas.ctypes.data, es[0] // 8, ctypes.byref(rows))
        return rows.value, after

    return scan_lines


def _bind_ema(lib) -> None:
    """The C library's ``debiased_ema`` as ``compiled_ema()`` gives it (``dashboard.analysis.smoothing``)."""
    global _ema
    fn = lib.debiased_ema
    fn.argtypes = [ctypes.c_void_p, ctypes.c_int64, ctypes.c_double, ctypes.c_void_p]
    fn.restype = None

    def ema_into(y: np.ndarray, decay: float, out: np.ndarray) -> None:
        if y.dtype != np.float64 or out.dtype != np.float64 or not (y.flags.c_contiguous and out.flags.c_contiguous
                                                                    and out.flags.writeable) or out.size < y.size:
            raise ValueError("debiased_ema takes contiguous float64 arrays, out at least as long as y")
        fn(y.ctypes.data, y.size, decay, out.ctypes.data)

    _ema = ema_into


def compiled_ema():
    """``ema_into(y, decay, out)``: the C library's debiased EMA (``smoothing._ema_into`` compiled: the same
    doubles) when the C scanner is the one this process loaded, else None (nothing is loaded for it)."""
    return _ema if _kind == "c" else None


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
    """Load (or, the first time on a machine, compile) the scanner now rather than on the first long
    run of train lines; True when the scanner is available."""
    return _load() is not None
