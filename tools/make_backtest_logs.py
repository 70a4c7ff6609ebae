#!/usr/bin/env python3
"""Make the ETA backtest's logs with real MMEngine runs on CPU and a simulated clock (issue 17).

Each scenario is a genuine ``mmengine.runner.Runner`` training run of the sample logs' tiny classifier
(``tools/make_sample_logs.py``: its dataset, model and metric, and its ``SimClock``, which replaces ``time.time``
and friends so that MMEngine's own IterTimerHook, logger and eta see the simulated time). ``PaceHook`` makes
every iteration, validation and checkpoint save take the time its scenario says: a slow start, a temporary
slow-down, a lasting change of pace, validations, checkpoint saves, a crash and a resume. The text log MMEngine
writes is the backtest's input; ``bench/bench_eta_backtest.py`` cuts it and compares the estimates with its end.

Needs mmengine and a CPU torch, which the dashboard, its tests and CI do not: the sample logs' environment
(``tools/requirements-samples.txt``)::

    python3.11 -m venv /tmp/mmenv
    /tmp/mmenv/bin/pip install /opt/wheels/torch-2.13.0+cpu-cp311-cp311-manylinux_2_28_x86_64.whl
    /tmp/mmenv/bin/pip install -r tools/requirements-samples.txt
    /tmp/mmenv/bin/python tools/make_backtest_logs.py --out bench/data/backtest

One fresh interpreter per launch (``--worker SCENARIO --phase N``) keeps MMEngine's global state apart.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Seconds per iteration: BASE x the scenario's factor at that iteration, times noise (sd NOISE).
BASE = 12.0
NOISE = 0.06

SCENARIOS: dict[str, dict] = {
    # Issue 17's measured case: the first 60 iterations 3x slower, 25% slower for 600 iterations (a neighbour job), a
    # 2-minute checkpoint save every 500 iterations.
    "issue17_ckpt": dict(loop="iter", max_iters=3672, warmup=60, slow=[(1500, 2100, 1.25)], ckpt_every=500,
                         ckpt_s=120.0, start="2026-04-01 08:00:00"),
    # The same with a 20-minute validation at each of the three epoch ends (every 1224 iterations).
    "issue17_val": dict(loop="iter", max_iters=3672, warmup=60, slow=[(1500, 2100, 1.25)], ckpt_every=500,
                        ckpt_s=120.0, val_every=1224, val_s=1200.0, start="2026-04-02 08:00:00"),
    # An mmdet-like epoch run: 12 epochs of 300 iterations, validation (4 min) and a save (40 s) after every
    # epoch, a slow start, then a lasting change: 10% faster from epoch 3 on (the data is in the page cache),
    # and a temporary slow-down in epoch 8.
    "epochs_lasting": dict(loop="epoch", epochs=12, iters_per_epoch=300, warmup=40,
                           slow=[(600, 10**9, 0.9), (2100, 2400, 1.3)], ckpt_every=1, ckpt_s=40.0,
                           val_every=1, val_s=240.0, start="2026-04-03 08:00:00"),
    # A crash at iteration 1290 and a resume from the save at 1200: the backtest reads the resumed launch,
    # whose first iteration skips 1200 batches and whose first 30 are slow again (a new process); a temporary
    # slow-down later.
    "resumed": dict(loop="iter", max_iters=3000, warmup=30, slow=[(2000, 2300, 1.3)], ckpt_every=300,
                    ckpt_s=60.0, val_every=600, val_s=180.0, crash_at=1290, resume_skip_s=0.15,
                    start="2026-04-04 08:00:00", start2="2026-04-04 14:00:00"),
}


END_NOTE = "log-clock seconds (UTC) when runner.train() returned: the end of the run, its last save included"


# ------------------------------------------------------------------------------------------------ worker

def worker(name: str, phase: int) -> None:
    import numpy as np
    from mmengine.hooks import Hook
    from mmengine.runner import Runner

    sys.path.insert(0, str(ROOT / "tools"))
    import make_sample_logs as samples  # registers the tiny dataset, model and metric; has the SimClock

    spec = SCENARIOS[name]
    rng = np.random.default_rng([17, list(SCENARIOS).index(name), phase])
    clock = samples.SimClock(spec["start2"] if phase == 2 else spec["start"])
    clock.install()

    def factor(i: int, since_launch: int) -> float:
        f = 1.0
        for a, b, k in spec.get("slow", ()):
            if a <= i < b:
                f *= k
        if since_launch < spec.get("warmup", 0):
            f *= 3.0  # compiling kernels, warming caches: in every new process, a resumed one too
        return f

    class PaceHook(Hook):
        priority = "VERY_HIGH"  # before IterTimerHook: what it adds is measured as the iteration's time

        def before_run(self, runner) -> None:
            save = runner.save_checkpoint

            def timed_save(*args, **kwargs):
                clock.advance(spec.get("ckpt_s", 0.0))
                return save(*args, **kwargs)

            runner.save_checkpoint = timed_save

        def before_train(self, runner) -> None:
            self.first = runner.iter

        def before_train_iter(self, runner, batch_idx, data_batch=None) -> None:
            dt = 0.05
            if runner.iter == self.first and runner.iter > 0:
                dt += spec.get("resume_skip_s", 0.0) * runner.iter  # skipping the batches already trained
            clock.advance(dt)

        def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
            i = runner.iter  # 0-based index of the iteration just run
            clock.advance(max(0.2, BASE * factor(i, i - self.first) * rng.normal(1.0, NOISE)))
            if phase == 1 and spec.get("crash_at") and i + 1 >= spec["crash_at"]:
                raise RuntimeError("CUDA error: an illegal memory access was encountered (simulated)")

        def before_val_iter(self, runner, batch_idx, data_batch=None) -> None:
            clock.advance(spec.get("val_s", 0.0) / 8)  # 8 validation batches

    work_dir = f"./work_dirs/{name}"
    val = spec.get("val_every")
    if spec["loop"] == "iter":
        train_cfg = dict(type="IterBasedTrainLoop", max_iters=spec["max_iters"], val_interval=val or 10**9)
        sampler = dict(type="InfiniteSampler", shuffle=True)
        n_train = 640
    else:
        train_cfg = dict(type="EpochBasedTrainLoop", max_epochs=spec["epochs"], val_interval=val or 10**9)
        sampler = dict(type="DefaultSampler", shuffle=True)
        n_train = spec["iters_per_epoch"] * 4
    cfg = dict(
        model=dict(type="TinyClassifier"),
        train_dataloader=dict(batch_size=4, num_workers=0, sampler=sampler, collate_fn=dict(type="default_collate"),
                              dataset=dict(type="GaussianClusterDataset", num_samples=n_train, split="train")),
        optim_wrapper=dict(type="OptimWrapper", optimizer=dict(type="SGD", lr=0.01, momentum=0.9)),
        train_cfg=train_cfg,
        default_hooks=dict(
            timer=dict(type="IterTimerHook"),
            logger=dict(type="LoggerHook", interval=10),
            param_scheduler=dict(type="ParamSchedulerHook"),
            checkpoint=dict(type="CheckpointHook", by_epoch=spec["loop"] == "epoch",
                            interval=spec.get("ckpt_every", -1), max_keep_ckpts=2),
            sampler_seed=dict(type="DistSamplerSeedHook"),
        ),
        env_cfg=dict(cudnn_benchmark=False, mp_cfg=dict(mp_start_method="fork", opencv_num_threads=0),
                     dist_cfg=dict(backend="gloo")),
        log_processor=dict(by_epoch=spec["loop"] == "epoch"),
        randomness=dict(seed=17),
        resume=phase == 2,
        work_dir=work_dir,
    )
    if val:
        cfg.update(val_dataloader=dict(batch_size=16, num_workers=0, collate_fn=dict(type="default_collate"),
                                       sampler=dict(type="DefaultSampler", shuffle=False),
                                       dataset=dict(type="GaussianClusterDataset", num_samples=128, split="val")),
                   val_cfg=dict(type="ValLoop"), val_evaluator=dict(type="TopKAccuracy"))
    runner = Runner.from_cfg(cfg)
    runner.register_hook(PaceHook())
    try:
        runner.train()
    finally:
        # The run's true end: when training returned (the last save done), which the log cannot show.
        Path(work_dir, "end_time").write_text(f"{clock.now:.3f}\n")


# ------------------------------------------------------------------------------------------ orchestrator

def launch(stage: Path, name: str, phase: int) -> int:
    env = dict(os.environ, TZ="UTC", PYTHONHASHSEED="0", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1",
               TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD="1")  # MMEngine 0.10.7 resumes with torch.load's old default
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", name, "--phase", str(phase)]
    proc = subprocess.run(cmd, cwd=stage, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if proc.returncode != 0 and not (phase == 1 and SCENARIOS[name].get("crash_at")):
        sys.stdout.write(proc.stdout[-4000:])
        raise SystemExit(f"{name} launch {phase}: exit code {proc.returncode}")
    return proc.returncode


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=str(ROOT / "bench" / "data" / "backtest"))
    ap.add_argument("--only", nargs="*", choices=list(SCENARIOS))
    ap.add_argument("--worker")
    ap.add_argument("--phase", type=int, default=1)
    args = ap.parse_args()
    if args.worker:
        worker(args.worker, args.phase)
        return 0
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for name in args.only or SCENARIOS:
        with tempfile.TemporaryDirectory(prefix="mmdash_backtest_") as tmp:
            stage = Path(tmp)
            phases = (1, 2) if SCENARIOS[name].get("crash_at") else (1,)
            for phase in phases:
                launch(stage, name, phase)
            runs = sorted(d for d in (stage / "work_dirs" / name).iterdir() if re.fullmatch(r"\d{8}_\d{6}", d.name))
            # The last launch's text log: the whole run, or the resumed launch (and then the crashed first
            # launch's beside it, <name>.launch1.log: the experiment the resumed launch continues).
            last = runs[-1]
            shutil.copyfile(last / f"{last.name}.log", out / f"{name}.log")
            if len(runs) > 1:
                shutil.copyfile(runs[0] / f"{runs[0].name}.log", out / f"{name}.launch1.log")
            end = float((stage / "work_dirs" / name / "end_time").read_text())
            (out / f"{name}.end.json").write_text(json.dumps({"end_time": end, "note": END_NOTE}) + "\n")
            print(f"{name}: {len(phases)} launch(es), {(out / f'{name}.log').stat().st_size} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
