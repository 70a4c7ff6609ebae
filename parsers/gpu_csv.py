"""GPU logs: the CSV ``nvidia-smi --query-gpu=... --format=csv -l S`` (or ``python -m dashboard gpu-log``) writes.

One row per GPU and sample::

    timestamp, index, name, utilization.gpu [%], memory.used [MiB], memory.total [MiB], power.draw [W], ...
    2026/11/30 13:27:03.123, 0, NVIDIA A100-SXM4-80GB, 97 %, 18756 MiB, 81920 MiB, 168.84 W, 400.00 W, 45, 1410 MHz

Invariants:
- Incremental like the log parser: ``GpuCsvParser.feed`` takes bytes in any chunks; only complete lines are read,
  so any chunking gives the same rows, counts and notes as the whole file. ``finish`` reads a last line without
  its newline (a copy cut short or a file still being written) when it is a whole row, and says so either way.
- Nothing raises on bad input: a file with another header (another tool's CSV) reads no rows and says why;
  missing columns, a column in other units than nvidia-smi's (not read, with a note), a line that is not a row
  of the header (counted, the first ones shown), rows going back in time (counted, then sorted by time) are notes.
- Readings nvidia-smi cannot make (``[N/A]``, ``[Not Supported]``, ``[Unknown Error]``, ...) are NaN and counted.
- Columns are numpy: times as float64 seconds of the file's naive clock (the local time nvidia-smi writes, read
  as if it were UTC: the same convention as the training log's timestamps, so equal wall clocks compare equal),
  GPU index as int16, readings as float32.
- The rows are read by a numba-compiled scanner (``_gpu_csv_numba``), imported on first use.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field

import numpy as np

#: What to pass to ``nvidia-smi --query-gpu=`` (and what ``python -m dashboard gpu-log`` writes).
QUERY = ("timestamp,index,name,utilization.gpu,memory.used,memory.total,power.draw,power.limit,"
         "temperature.gpu,clocks.sm")
#: The header line nvidia-smi prints for ``QUERY`` with ``--format=csv`` (``clocks.sm`` is printed by its long name).
HEADER_FIELDS = ("timestamp", "index", "name", "utilization.gpu [%]", "memory.used [MiB]", "memory.total [MiB]",
                 "power.draw [W]", "power.limit [W]", "temperature.gpu", "clocks.current.sm [MHz]")
HEADER = ", ".join(HEADER_FIELDS)

#: The readings, in the order of ``GpuTable.values``: (name, nvidia-smi's column name, unit in the header).
READINGS = (
    ("util", "utilization.gpu", "%"),
    ("mem_used", "memory.used", "MiB"),
    ("mem_total", "memory.total", "MiB"),
    ("power", "power.draw", "W"),
    ("power_limit", "power.limit", "W"),
    ("temp", "temperature.gpu", None),
    ("sm_clock", "clocks.current.sm", "MHz"),
)
READING_NAMES = tuple(r[0] for r in READINGS)
_BY_COLUMN = {col: (i, unit) for i, (_, col, unit) in enumerate(READINGS)}
_BY_COLUMN["clocks.sm"] = _BY_COLUMN["clocks.current.sm"]
_HEADER_FIELD = re.compile(r"\s*([^\[\]]*?)\s*(?:\[([^\]]*)\])?\s*")
#: The readings a GPU log must have at least one of (else it is not a GPU log for MMDash).
KEY_READINGS = ("utilization.gpu", "memory.used", "power.draw")
MAX_BAD_EXAMPLES = 5
_TIMESTAMP, _INDEX, _NAME, _SKIP = 0, 1, 2, -1


def header_columns(line: str) -> list[tuple[str, str | None]]:
    """``[(column, unit or None), ...]`` of a CSV header line."""
    out = []
    for part in line.strip().lstrip("\ufeff").split(","):
        m = _HEADER_FIELD.fullmatch(part)
        out.append((m.group(1), m.group(2)) if m else (part.strip(), None))
    return out


def is_gpu_header(line: str | bytes) -> bool:
    """Whether a first line is the header of a GPU log MMDash reads: ``timestamp`` and ``index`` columns and at
    least one of utilization, memory used or power draw (nvidia-smi's ``--query-gpu`` names)."""
    if isinstance(line, bytes):
        line = line.decode("utf-8", "replace")
    names = {c for c, _ in header_columns(line.splitlines()[0] if line else "")}
    return "timestamp" in names and "index" in names and any(k in names for k in KEY_READINGS)


@dataclass
class GpuTable:
    """The rows of a GPU log, sorted by time: ``t`` (seconds, naive clock), ``gpu`` (index), one float32 array per
    reading (``values[name]``, NaN where there was none), and each GPU's name."""

    t: np.ndarray
    gpu: np.ndarray
    values: dict[str, np.ndarray]
    names: dict[int, str] = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.t.shape[0])

    @property
    def gpus(self) -> list[int]:
        return [int(g) for g in np.unique(self.gpu)]

    def span(self) -> tuple[float, float] | None:
        return (float(self.t[0]), float(self.t[-1])) if len(self) else None

    def of(self, gpu: int, lo: float | None = None, hi: float | None = None) -> GpuTable:
        """The rows of one GPU, optionally only those with ``lo <= t <= hi``."""
        mask = self.gpu == gpu
        if lo is not None:
            mask &= self.t >= lo
        if hi is not None:
            mask &= self.t <= hi
        return GpuTable(self.t[mask], self.gpu[mask], {k: v[mask] for k, v in self.values.items()},
                        {gpu: self.names.get(gpu, "")})


def empty_table() -> GpuTable:
    return GpuTable(np.empty(0, np.float64), np.empty(0, np.int16),
                    {k: np.empty(0, np.float32) for k in READING_NAMES})


_kernel = None
_kernel_error: Exception | None = None
_KERNEL_LOCK = threading.Lock()


def _scan():
    global _kernel, _kernel_error
    if _kernel is None and _kernel_error is None:
        with _KERNEL_LOCK:
            if _kernel is None and _kernel_error is None:
                try:
                    from . import train_kernel

                    with train_kernel._numba_without_scipy():
                        from ._gpu_csv_numba import scan_rows
                    _kernel = scan_rows
                except Exception as exc:  # numba missing or broken: the parser says so in a note
                    _kernel_error = exc
    return _kernel


class GpuCsvParser:
    """Reads a GPU log incrementally (see the module docstring). ``table()`` is a snapshot of the rows so far."""

    def __init__(self) -> None:
        self._pending = b""
        self._header: list[tuple[str, str | None]] | None = None
        self._kinds: np.ndarray | None = None
        self._units = np.empty(0, np.uint8)
        self._unit_off = np.zeros(1, np.int64)
        self.readable = True  # False: the header is not a GPU log's; no row is read
        self.header_notes: list[str] = []
        self.lines = 0  # complete lines read (header included)
        self.rows = 0
        self.bad_lines = 0
        self.bad_examples: list[tuple[int, str]] = []  # (line number, text)
        self.na_readings = 0
        self.ignored_lines = 0  # lines of a file that is not a GPU log
        self.tail_note: str | None = None
        # The rows, in file order, in arrays that grow by doubling (a snapshot is a view of their first
        # ``_n`` rows: appending writes after them, so a table handed out never changes).
        self._n = 0
        self._t = np.empty(0, np.float64)
        self._g = np.empty(0, np.int16)
        self._v = np.empty((len(READINGS), 0), np.float32)
        self._in_order = True  # every row so far at or after the one before it (then none goes back in time)
        self._max_t = -np.inf
        self._back: tuple[int, int] = (0, 0)  # (rows when counted, rows going back in time)
        self._names: dict[int, str] = {}
        self._table: GpuTable | None = None

    # ------------------------------------------------------------------ input

    def feed(self, data: bytes) -> None:
        if not data:
            return
        buf = self._pending + bytes(data) if self._pending else bytes(data)
        end = buf.rfind(b"\n") + 1
        self._pending = buf[end:]
        if end:
            self.tail_note = None
            self._read_lines(buf, end)

    def finish(self) -> None:
        """The file ended: read a last line that has no newline, and say what became of it."""
        if not self._pending:
            return
        rest, self._pending = self._pending, b""
        rows_before, bad_before = self.rows, self.bad_lines
        self._read_lines(rest + b"\n", len(rest) + 1)
        if self.rows > rows_before:
            self.tail_note = "the last line has no newline (the file is cut short or still being written): it was read"
        elif self.bad_lines > bad_before:
            self.tail_note = (f"the last line is cut short ({len(rest):,} bytes without a newline): "
                              "not a whole row, counted with the bad lines")

    @property
    def pending_bytes(self) -> int:
        """Bytes of a line whose newline has not arrived yet."""
        return len(self._pending)

    def _read_lines(self, buf: bytes, end: int) -> None:
        pos = 0
        if self._header is None:
            while pos < end and self._header is None:
                nl = buf.index(b"\n", pos)
                line = buf[pos:nl].decode("utf-8", "replace").strip()
                pos = nl + 1
                self.lines += 1
                if line:
                    self._set_header(line)
        if pos >= end:
            return
        if not self.readable:
            n = buf.count(b"\n", pos, end)
            self.lines += n
            self.ignored_lines += n
            return
        scan = _scan()
        if scan is None:
            n = buf.count(b"\n", pos, end)
            self.lines += n
            self.ignored_lines += n
            return
        arr = np.frombuffer(buf, np.uint8, count=end)
        while pos < end:
            cap = max(1, buf.count(b"\n", pos, end))
            t = np.empty(cap, np.float64)
            gpu = np.empty(cap, np.int64)
            vals = np.empty((len(READINGS), cap), np.float64)
            name_s = np.empty(cap, np.int64)
            name_e = np.empty(cap, np.int64)
            bad_pos = np.empty(MAX_BAD_EXAMPLES, np.int64)
            counts = np.zeros(5, np.int64)
            lines_before = self.lines
            new_pos = scan(arr, pos, end, self._kinds, self._units, self._unit_off, t, gpu, vals, name_s, name_e,
                           bad_pos, counts)
            n = int(counts[0])
            self.lines += int(counts[4])
            self.rows += n
            self.na_readings += int(counts[3])
            for k in range(min(int(counts[1]), MAX_BAD_EXAMPLES - len(self.bad_examples))):
                p = int(bad_pos[k])
                nl = buf.find(b"\n", p, end)
                text = buf[p:nl if nl >= 0 else end].decode("utf-8", "replace").rstrip("\r")
                self.bad_examples.append((lines_before + buf.count(b"\n", pos, p) + 1, text[:300]))
            self.bad_lines += int(counts[1])
            if n:
                g = gpu[:n]
                if g.max() > np.iinfo(np.int16).max:
                    g = np.minimum(g, np.iinfo(np.int16).max)
                self._append(t[:n], g, vals[:, :n])
                self._learn_names(buf, g, name_s[:n], name_e[:n])
                self._table = None
            if new_pos <= pos:  # cannot happen (cap counts every line); never loop forever
                break
            pos = new_pos

    def _learn_names(self, buf: bytes, gpu: np.ndarray, name_s: np.ndarray, name_e: np.ndarray) -> None:
        uniq, first = np.unique(gpu, return_index=True)
        for g, i in zip(uniq.tolist(), first.tolist(), strict=True):
            if g not in self._names:
                self._names[g] = buf[int(name_s[i]):int(name_e[i])].decode("utf-8", "replace")

    def _set_header(self, line: str) -> None:
        cols = header_columns(line)
        self._header = cols
        names = [c for c, _ in cols]
        if not is_gpu_header(line):
            self.readable = False
            self.header_notes.append(
                "not a GPU log of nvidia-smi's format: its header has no "
                + ", ".join(n for n in ("timestamp", "index") if n not in names)
                + ("" if any(k in names for k in KEY_READINGS) else
                   (" and " if "timestamp" not in names or "index" not in names else "")
                   + "utilization.gpu, memory.used or power.draw")
                + f" column (expected: {QUERY.replace(',', ', ')}); no row read")
            return
        kinds, units, offsets, unused, moved = [], bytearray(), [0], [], []
        for col, unit in cols:
            unit_text = b""
            if col == "timestamp":
                kind = _TIMESTAMP
            elif col == "index":
                kind = _INDEX
            elif col == "name":
                kind = _NAME
            elif col in _BY_COLUMN:
                i, expected = _BY_COLUMN[col]
                if unit is not None and unit != expected:
                    kind = _SKIP
                    moved.append(f"{col} is in [{unit}], nvidia-smi writes [{expected}]")
                else:
                    kind = 3 + i
                    unit_text = (expected or "").encode()
            else:
                kind = _SKIP
                unused.append(col + (f" [{unit}]" if unit else ""))
            kinds.append(kind)
            units += unit_text
            offsets.append(len(units))
        self._kinds = np.array(kinds, np.int64)
        self._units = np.frombuffer(bytes(units), np.uint8) if units else np.zeros(1, np.uint8)[:0]
        self._unit_off = np.array(offsets, np.int64)
        read = {READINGS[k - 3][1] for k in kinds if k >= 3}
        missing = [col for _, col, _ in READINGS if col not in read and not any(m.startswith(col + " ") for m in moved)]
        if moved:
            self.header_notes.append("columns in other units, not read: " + "; ".join(moved))
        if missing:
            self.header_notes.append("columns missing (their charts and numbers stay empty): " + ", ".join(missing))
        if unused:
            self.header_notes.append("columns MMDash does not use: " + ", ".join(unused))
        if _scan() is None:
            self.readable = False
            self.header_notes.append(f"GPU logs need numba, which cannot be loaded here ({_kernel_error}); no row read")

    # ------------------------------------------------------------------ output

    def _append(self, t: np.ndarray, g: np.ndarray, vals: np.ndarray) -> None:
        k = t.shape[0]
        need = self._n + k
        if need > self._t.shape[0]:
            cap = max(need, 2 * self._t.shape[0], 1024)
            nt, ng, nv = np.empty(cap, np.float64), np.empty(cap, np.int16), np.empty((len(READINGS), cap), np.float32)
            nt[:self._n], ng[:self._n], nv[:, :self._n] = self._t[:self._n], self._g[:self._n], self._v[:, :self._n]
            self._t, self._g, self._v = nt, ng, nv
        self._t[self._n:need] = t
        self._g[self._n:need] = g
        self._v[:, self._n:need] = vals
        if self._in_order and (t[0] < self._max_t or (k > 1 and bool((np.diff(t) < 0).any()))):
            self._in_order = False
        self._max_t = max(self._max_t, float(t.max()))
        self._n = need

    def table(self) -> GpuTable:
        """The rows read so far, sorted by time (stable: rows of one time keep their file order)."""
        if self._table is None:
            n = self._n
            t, gpu, vals = self._t[:n], self._g[:n], self._v[:, :n]
            if not self._in_order:
                order = np.argsort(t, kind="stable")
                t, gpu, vals = t[order], gpu[order], vals[:, order]
            self._table = GpuTable(t, gpu, {k: vals[i] for i, k in enumerate(READING_NAMES)}, dict(self._names))
        return self._table

    @property
    def rows_back_in_time(self) -> int:
        """Rows whose time is before the previous row of the same GPU (in file order)."""
        if self._in_order:
            return 0
        if self._back[0] != self._n:
            self._back = (self._n, _rows_back_in_time(self._t[:self._n], self._g[:self._n]))
        return self._back[1]

    def notes(self) -> list[str]:
        """What a person should know about this file, in plain words (may quote the file: show as text)."""
        out = list(self.header_notes)
        if self._header is None and self.lines == 0 and not self._pending:
            out.append("the GPU log is empty")
        if self.bad_lines:
            first = self.bad_examples[0] if self.bad_examples else None
            where = f" (first: line {first[0]}: {first[1][:120]!r})" if first else ""
            out.append(f"{self.bad_lines:,} line{'s are' if self.bad_lines != 1 else ' is'} not rows of this header "
                       f"and were skipped{where}")
        back = self.rows_back_in_time
        if back:
            out.append(f"{back:,} row{'s' if back != 1 else ''} go back in time (clock changed, or files joined): "
                       "the rows are shown sorted by time")
        if self.na_readings:
            out.append(f"{self.na_readings:,} readings the GPU could not give ([N/A], [Not Supported], ...): "
                       "left out of the means")
        if self.tail_note:
            out.append(self.tail_note)
        return out


def _rows_back_in_time(t: np.ndarray, gpu: np.ndarray) -> int:
    """Rows whose time is before the previous row of the same GPU."""
    if t.shape[0] < 2:
        return 0
    d = np.diff(t)
    if not (d < 0).any():
        return 0
    back = 0
    for g in np.unique(gpu):
        back += int((np.diff(t[gpu == g]) < 0).sum())
    return back


def parse_gpu_bytes(data: bytes) -> GpuCsvParser:
    """A whole GPU log from bytes (``finish`` called)."""
    p = GpuCsvParser()
    p.feed(data)
    p.finish()
    return p


def parse_gpu_path(path: str) -> GpuCsvParser:
    with open(path, "rb") as f:
        return parse_gpu_bytes(f.read())
