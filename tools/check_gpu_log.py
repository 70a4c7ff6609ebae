"""Check ``python -m dashboard gpu-log`` against ``nvidia-smi`` on a machine with NVIDIA GPUs.

    python tools/check_gpu_log.py [--samples 5] [--interval 1]

Runs both samplers side by side for a few samples and compares: the header, the GPU count, each GPU's name,
memory.total and power.limit (must be equal), and utilization, memory.used, power.draw, temperature and SM clock
(medians within a tolerance: the two read at slightly different moments). Exit 0 when they agree, 1 when not,
and 0 with "skipped" when this machine has no nvidia-smi or driver (the sampler's tests use a fake NVML).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from parsers.gpu_csv import QUERY, parse_gpu_bytes  # noqa: E402

TOLERANCE = {"util": 25.0, "mem_used": 2048.0, "power": 60.0, "temp": 5.0, "sm_clock": 400.0}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--samples", type=int, default=5)
    ap.add_argument("--interval", type=int, default=1)
    args = ap.parse_args()
    smi = shutil.which("nvidia-smi")
    if not smi:
        print("skipped: no nvidia-smi on this machine")
        return 0
    cmd_smi = [smi, f"--query-gpu={QUERY}", "--format=csv", "-c", str(args.samples), "-l", str(args.interval)]
    cmd_ours = [sys.executable, "-m", "dashboard", "gpu-log", "--interval", str(args.interval),
                "--count", str(args.samples)]
    root = Path(__file__).resolve().parents[1]
    a = subprocess.Popen(cmd_smi, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    b = subprocess.Popen(cmd_ours, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=root)
    out_smi, err_smi = a.communicate(timeout=120 + args.samples * args.interval)
    out_ours, err_ours = b.communicate(timeout=120 + args.samples * args.interval)
    if a.returncode != 0:
        print(f"skipped: nvidia-smi failed ({err_smi.decode(errors='replace').strip()})")
        return 0
    if b.returncode != 0:
        print(f"FAIL: gpu-log exited {b.returncode}: {err_ours.decode(errors='replace').strip()}")
        return 1
    problems = []
    h_smi, h_ours = out_smi.splitlines()[0], out_ours.splitlines()[0]
    if h_smi != h_ours:
        problems.append(f"header differs:\n  nvidia-smi: {h_smi!r}\n  gpu-log:    {h_ours!r}")
    p_smi, p_ours = parse_gpu_bytes(out_smi), parse_gpu_bytes(out_ours)
    for p, who in ((p_smi, "nvidia-smi"), (p_ours, "gpu-log")):
        if p.bad_lines:
            problems.append(f"{who}: {p.bad_lines} lines MMDash cannot read, e.g. {p.bad_examples[:2]}")
    t_smi, t_ours = p_smi.table(), p_ours.table()
    if t_smi.gpus != t_ours.gpus:
        problems.append(f"GPUs differ: {t_smi.gpus} vs {t_ours.gpus}")
    for g in t_smi.gpus:
        s, o = t_smi.of(g), t_ours.of(g)
        if s.names.get(g) != o.names.get(g):
            problems.append(f"GPU {g}: name {s.names.get(g)!r} vs {o.names.get(g)!r}")
        for key in ("mem_total", "power_limit"):
            if not np.array_equal(np.unique(s.values[key]), np.unique(o.values[key]), equal_nan=True):
                problems.append(f"GPU {g}: {key} {np.unique(s.values[key])} vs {np.unique(o.values[key])}")
        for key, tol in TOLERANCE.items():
            ms = np.nanmedian(s.values[key]) if len(s) else np.nan
            mo = np.nanmedian(o.values[key]) if len(o) else np.nan
            if np.isnan(ms) != np.isnan(mo) or (not np.isnan(ms) and abs(ms - mo) > tol):
                problems.append(f"GPU {g}: median {key} {ms} (nvidia-smi) vs {mo} (gpu-log), tolerance {tol}")
    for line in problems:
        print("FAIL:", line)
    if not problems:
        print(f"OK: {len(t_smi.gpus)} GPU(s), {args.samples} samples each; header, names, totals and limits equal, "
              "readings within tolerance")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
