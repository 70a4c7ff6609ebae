"""``python -m dashboard gpu-log [--interval S] [--out PATH] [--count N]``: sample every GPU through NVML.

Output contract (README "Command line"): exactly the CSV that
``nvidia-smi --query-gpu=<parsers.gpu_csv.QUERY> --format=csv -l S`` prints: the same header (with units in
brackets), one line per GPU per sample, values with their units (``97 %``, ``18756 MiB``, ``168.84 W``,
``1410 MHz``), timestamps in local time as ``YYYY/MM/DD HH:MM:SS.mmm``, and ``[N/A]`` / ``[Not Supported]`` /
``[GPU is lost]`` / ``[Unknown Error]`` where NVML gives no reading. Every line is flushed as it is written,
so a dashboard tailing the file sees each sample at once. ``--out`` appends to an existing file (the header only
when the file is empty), so a restarted sampler continues its log.

Errors: no NVIDIA driver (or no ``nvidia-ml-py``) prints one line ``error: ...`` on stderr and exits 2.
NVML is read through NVIDIA's own binding, ``nvidia-ml-py`` (``import pynvml``), imported only here.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import os
import sys
import time

from parsers.gpu_csv import HEADER, QUERY


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--interval", type=float, default=5.0, metavar="S",
                   help="seconds between samples (nvidia-smi's -l; default 5)")
    p.add_argument("--out", metavar="PATH", help="append to this file (default: standard output)")
    p.add_argument("--count", type=int, default=0, metavar="N", help="stop after N samples (default: run until ^C)")
    p.epilog = f"The CSV is nvidia-smi's: --query-gpu={QUERY} --format=csv"


def _reading(nvml, fn, *args, fmt=str):
    """One reading as nvidia-smi writes it, or the bracketed word it writes when NVML has none."""
    try:
        return fmt(fn(*args))
    except nvml.NVMLError as e:
        code = getattr(e, "value", None)
        if code == nvml.NVML_ERROR_NOT_SUPPORTED:
            return "[Not Supported]"
        if code == nvml.NVML_ERROR_GPU_IS_LOST:
            return "[GPU is lost]"
        if code == nvml.NVML_ERROR_UNKNOWN:
            return "[Unknown Error]"
        return "[N/A]"


def _name(raw) -> str:
    return raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)


def sample_lines(nvml, handles, now: _dt.datetime | None = None) -> list[str]:
    """One line per GPU (without newline), in nvidia-smi's format."""
    mib = 1024 * 1024
    out = []
    for i, h in enumerate(handles):
        t = (now or _dt.datetime.now()).strftime("%Y/%m/%d %H:%M:%S.%f")[:-3]
        name = _reading(nvml, nvml.nvmlDeviceGetName, h, fmt=_name)
        util = _reading(nvml, nvml.nvmlDeviceGetUtilizationRates, h, fmt=lambda u: f"{u.gpu} %")
        mem = _reading(nvml, nvml.nvmlDeviceGetMemoryInfo, h, fmt=lambda m: (m.used // mib, m.total // mib))
        used, total = (f"{mem[0]} MiB", f"{mem[1]} MiB") if isinstance(mem, tuple) else (mem, mem)
        power = _reading(nvml, nvml.nvmlDeviceGetPowerUsage, h, fmt=lambda mw: f"{mw / 1000.0:.2f} W")
        limit = _reading(nvml, nvml.nvmlDeviceGetPowerManagementLimit, h, fmt=lambda mw: f"{mw / 1000.0:.2f} W")
        temp = _reading(nvml, nvml.nvmlDeviceGetTemperature, h, nvml.NVML_TEMPERATURE_GPU)
        clock = _reading(nvml, nvml.nvmlDeviceGetClockInfo, h, nvml.NVML_CLOCK_SM, fmt=lambda c: f"{c} MHz")
        out.append(f"{t}, {i}, {name}, {util}, {used}, {total}, {power}, {limit}, {temp}, {clock}")
    return out


def run(args: argparse.Namespace) -> int:
    if not args.interval > 0:
        print("error: --interval must be a positive number of seconds", file=sys.stderr)
        return 2
    try:
        import pynvml as nvml
    except ImportError:
        print("error: the NVML binding is not installed: pip install nvidia-ml-py", file=sys.stderr)
        return 2
    try:
        nvml.nvmlInit()
    except nvml.NVMLError as e:
        print(f"error: no NVIDIA driver to read GPUs from (NVML: {e})", file=sys.stderr)
        return 2
    try:
        try:
            handles = [nvml.nvmlDeviceGetHandleByIndex(i) for i in range(nvml.nvmlDeviceGetCount())]
        except nvml.NVMLError as e:
            print(f"error: NVML cannot list the GPUs ({e})", file=sys.stderr)
            return 2
        if not handles:
            print("error: NVML sees no GPU", file=sys.stderr)
            return 2
        try:
            out = open(args.out, "a", encoding="utf-8", newline="") if args.out else sys.stdout  # noqa: SIM115
        except OSError as e:
            print(f"error: cannot write {args.out}: {e.strerror or e}", file=sys.stderr)
            return 2
        try:
            if not args.out or os.fstat(out.fileno()).st_size == 0:
                out.write(HEADER + "\n")
                out.flush()
            n = 0
            next_at = time.monotonic()
            while True:
                for line in sample_lines(nvml, handles):
                    out.write(line + "\n")
                    out.flush()
                n += 1
                if args.count and n >= args.count:
                    return 0
                next_at += args.interval
                time.sleep(max(0.0, next_at - time.monotonic()))
        except KeyboardInterrupt:
            return 0
        except BrokenPipeError:  # `... | head`
            return 0
        finally:
            if out is not sys.stdout:
                out.close()
    finally:
        try:
            nvml.nvmlShutdown()
        except nvml.NVMLError:
            pass
