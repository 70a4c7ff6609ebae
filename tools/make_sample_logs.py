#!/usr/bin/env python3
"""Regenerate MMDash's bundled sample logs with real MMEngine runs on CPU.

Usage (see sample_logs/README.md for the venv setup)::

    /tmp/mmenv/bin/python tools/make_sample_logs.py --out sample_logs

Every run below is a genuine ``mmengine.runner.Runner`` training run of a
tiny torch model on synthetic data.  The text logs, ``vis_data/scalars.json``
and config dumps are exactly what MMEngine writes, with two deliberate
exceptions, both documented in the generated README:

* the clock is simulated (see ``SimClock``): ``time.time`` and friends are
  replaced inside each worker process, so iterations "take" 1-15 s and a run
  spans up to ~12 hours while the real run takes seconds;
* in ``det_crash_resume`` the first launch dies with an injected
  ``torch.OutOfMemoryError`` and the script appends the Python traceback to
  that launch's ``.log`` (MMEngine 0.10 itself never writes it there).

Design: the orchestrator (``main``) copies this file to
``<stage>/train.py`` and starts one fresh interpreter per launch
(``python train.py --worker RUN --phase N``) with ``cwd=<stage>``.  Fresh
processes keep MMEngine's global state (loggers, message hub, registries,
the patched clock) apart, give us the genuine console stream for
``console_tee.log``, and the fixed stage path keeps absolute paths that
MMEngine writes into the logs (checkpoint dirs, traceback frames)
identical from one regeneration to the next.
"""
import argparse
import calendar
import math
import os
import os.path as osp
import re
import shutil
import subprocess
import sys
import threading
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.dist import get_dist_info, sync_random_seed
from mmengine.evaluator import BaseMetric
from mmengine.hooks import Hook
from mmengine.logging import MessageHub, print_log
from mmengine.model import BaseModel
from mmengine.registry import DATA_SAMPLERS, DATASETS, LOOPS, METRICS, MODELS
from mmengine.runner import IterBasedTrainLoop, Runner
from torch.utils.data import Dataset, Sampler

DEFAULT_STAGE = '/tmp/mmdash_sample_runs'
STAGE_MARKER = '.mmdash_sample_stage'
RUN_NAMES = ('llm_sft_len_grouped', 'cls_epoch_val', 'det_crash_resume',
             'seg_nan_loss')

# --------------------------------------------------------------------------
# Simulated clock
# --------------------------------------------------------------------------
#
# What MMEngine 0.10.7 (+ Python 3.11 logging) reads the clock through:
#   * logging.LogRecord.__init__        -> time.time()  (time_ns() on 3.13+)
#     => the "YYYY/MM/DD HH:MM:SS" / "MM/DD HH:MM:SS" prefixes; the
#        formatter converts record.created with time.localtime(secs)
#   * Runner.setup_env / strategies     -> time.time() + time.localtime(ts)
#     => the <timestamp> folder and log file names
#   * IterTimerHook                     -> time.time()
#     => the `time` / `data_time` fields and the `eta` estimate
#   * Runner.save_checkpoint            -> time.strftime(..., time.localtime())
#     => checkpoint meta only (the .pth files are deleted anyway)
#   * _InfiniteDataloaderIterator       -> time.sleep(2) at each epoch wrap
# datetime.datetime.now() is only used by MMEngine for registry scans and
# some remote vis backends, none of which reach these logs, so it is left
# alone.  time.perf_counter/monotonic are not used on these code paths and
# are left real so nothing that waits on them can hang.


class SimClock:
    """A deterministic clock that only moves when told to."""

    def __init__(self, start: str):
        # All workers run with TZ=UTC, so local time == the given wall time.
        self.now = float(
            calendar.timegm(time.strptime(start, '%Y-%m-%d %H:%M:%S')))

    def advance(self, seconds: float) -> None:
        self.now += max(0.0, float(seconds))

    def install(self) -> None:
        real_localtime, real_gmtime = time.localtime, time.gmtime
        real_strftime, real_sleep = time.strftime, time.sleep

        def _time():
            return self.now

        def _time_ns():
            return int(round(self.now * 1e9))

        def _localtime(secs=None):
            return real_localtime(self.now if secs is None else secs)

        def _gmtime(secs=None):
            return real_gmtime(self.now if secs is None else secs)

        def _strftime(fmt, t=None):
            return real_strftime(fmt, _localtime() if t is None else t)

        def _sleep(secs):
            # e.g. MMEngine's 2 s pause at every epoch wrap: cost no real
            # time, but show up in the next iteration's data_time.  Sleeps
            # in helper threads stay real so they cannot move the clock.
            if threading.current_thread() is threading.main_thread():
                self.advance(secs)
            else:
                real_sleep(secs)

        time.time, time.time_ns = _time, _time_ns
        time.localtime, time.gmtime = _localtime, _gmtime
        time.strftime, time.sleep = _strftime, _sleep


CLOCK = None  # the worker's SimClock
PROFILE = {}  # the worker's timing profile (see RUN_SPECS)
SIM_RNG = np.random.default_rng(0)  # re-seeded per launch


def sim_pause(key: str) -> None:
    """Advance the simulated clock by a one-off pause named in PROFILE."""
    if CLOCK is None or key not in PROFILE:
        return
    lo, hi = PROFILE[key]
    CLOCK.advance(SIM_RNG.uniform(lo, hi))


class SimClockHook(Hook):
    """Makes iterations, validation and checkpoints take simulated time.

    Registered with ``runner.register_hook`` after the Runner is built, so it
    appears neither in the config dump nor in the logged hook table.  With
    priority VERY_HIGH it runs before IterTimerHook (NORMAL), so the time it
    adds in ``before_*_iter`` is measured as ``data_time`` and the time it
    adds in ``after_*_iter`` as the rest of the iteration ``time``.
    """

    priority = 'VERY_HIGH'

    def __init__(self, profile: dict, rng: np.random.Generator):
        self.p = profile
        self.rng = rng
        self.first_iter = None

    # ---- run level -------------------------------------------------------
    def before_run(self, runner) -> None:
        sim_pause('startup')
        # Saving a checkpoint takes a while: the pause lands after the
        # "Saving checkpoint at ..." line, i.e. in the next iteration's
        # data_time, exactly as on a real machine.
        save_checkpoint = runner.save_checkpoint

        def _timed_save_checkpoint(*args, **kwargs):
            sim_pause('checkpoint')
            return save_checkpoint(*args, **kwargs)

        runner.save_checkpoint = _timed_save_checkpoint

    def before_train(self, runner) -> None:
        self.first_iter = runner.iter

    # ---- train iterations ------------------------------------------------
    def _noisy(self, mean, std, floor):
        return max(floor, self.rng.normal(mean, std))

    def before_train_iter(self, runner, batch_idx, data_batch=None) -> None:
        p = self.p
        dt = self._noisy(p['data_mean'], p['data_std'], 0.002)
        if self.rng.random() < p.get('data_spike_prob', 0.0):
            dt += self.rng.uniform(*p['data_spike'])
        if runner.iter == self.first_iter and runner.iter > 0:
            # resumed launch: skipping already-trained batches
            dt += p.get('resume_skip_per_iter', 0.0) * runner.iter
        CLOCK.advance(dt)

    def after_train_iter(self,
                         runner,
                         batch_idx,
                         data_batch=None,
                         outputs=None) -> None:
        p = self.p
        t = self._noisy(p['iter_mean'], p['iter_std'], 0.05)
        if 'per_token' in p and isinstance(data_batch, dict):
            # LLM: cost grows with the sequence length of the micro-batch
            ntok = sum(int(x.numel()) for x in data_batch['input_ids'])
            t += p['per_token'] * ntok
        k = runner.iter - self.first_iter
        warmup = p.get('warmup', ())
        if k < len(warmup):
            t += warmup[k] * self.rng.uniform(0.85, 1.15)
        if self.rng.random() < p.get('slow_prob', 0.0):
            t += self.rng.uniform(*p['slow'])
        CLOCK.advance(t)

    # ---- validation ------------------------------------------------------
    def before_val_epoch(self, runner) -> None:
        sim_pause('val_start')

    def before_val_iter(self, runner, batch_idx, data_batch=None) -> None:
        CLOCK.advance(
            self._noisy(self.p['val_data_mean'], self.p['val_data_mean'] / 4,
                        0.002))

    def after_val_iter(self,
                       runner,
                       batch_idx,
                       data_batch=None,
                       outputs=None) -> None:
        CLOCK.advance(
            self._noisy(self.p['val_iter_mean'], self.p['val_iter_mean'] / 10,
                        0.01))

    def after_val_epoch(self, runner, metrics=None) -> None:
        sim_pause('val_end')


# --------------------------------------------------------------------------
# Run 1: LLM supervised fine-tune, xtuner-style
# --------------------------------------------------------------------------


def markov_chain(vocab_size: int, seed: int) -> np.ndarray:
    """A peaked random next-token distribution, shared by data and model."""
    rng = np.random.default_rng(seed)
    probs = rng.dirichlet(np.full(vocab_size, 0.02), size=vocab_size)
    probs = 0.995 * probs + 0.005 / vocab_size
    return probs / probs.sum(1, keepdims=True)


@DATASETS.register_module()
class SyntheticSFTDataset(Dataset):
    """Token sequences of varied length sampled from a Markov chain."""

    def __init__(self, num_samples, max_length, vocab_size, seed=0):
        rng = np.random.default_rng(seed)
        probs = markov_chain(vocab_size, seed)
        cdf = probs.cumsum(1)
        lengths = np.clip(
            rng.lognormal(mean=6.1, sigma=0.7, size=num_samples), 24,
            max_length).astype(int)
        self.samples = []
        for n in lengths:
            toks = np.empty(n, dtype=np.int64)
            toks[0] = rng.integers(vocab_size)
            u = rng.random(n)
            for i in range(1, n):
                toks[i] = min(
                    np.searchsorted(cdf[toks[i - 1]], u[i]), vocab_size - 1)
            self.samples.append(torch.from_numpy(toks))
        # the property LengthGroupedSampler groups by
        self.length = [int(n) for n in lengths]
        sim_pause('dataset_build')  # "tokenizing / map" time

    def __len__(self):
        return len(self.samples)

    def __getitem__(self, idx):
        return dict(input_ids=self.samples[idx])


@DATA_SAMPLERS.register_module()
class LengthGroupedSampler(Sampler):
    """Shuffle, then order samples by length inside large "mega-batches".

    Counting follows xtuner's sampler of the same name: with world size W
    and per_device_batch_size P (= batch_size * accumulative_counts), every
    rank yields ``ceil(len(dataset) / (P * W)) * P`` indices per epoch; the
    shortfall is filled by repeating the start of the shuffled order.
    """

    def __init__(self,
                 dataset,
                 per_device_batch_size,
                 length_property='length',
                 mega_batch_mult=None,
                 seed=None,
                 round_up=True):
        self.rank, self.world_size = get_dist_info()
        self.dataset = dataset
        self.lengths = list(getattr(dataset, length_property))
        self.seed = sync_random_seed() if seed is None else seed
        self.epoch = 0
        n = len(dataset)
        per_step = per_device_batch_size * self.world_size
        if round_up:
            self.num_samples = math.ceil(n / per_step) * per_device_batch_size
        else:
            self.num_samples = (n // per_step) * per_device_batch_size
        self.total_size = self.num_samples * self.world_size
        if mega_batch_mult is None:
            mega_batch_mult = max(1, min(n // (per_step * 4), 50))
        self.group_size = mega_batch_mult * per_step

    def __iter__(self):
        gen = torch.Generator()
        gen.manual_seed(self.seed + self.epoch)
        order = torch.randperm(len(self.dataset), generator=gen).tolist()
        while len(order) < self.total_size:
            order += order[:self.total_size - len(order)]
        order = order[:self.total_size]
        grouped = []
        for start in range(0, self.total_size, self.group_size):
            chunk = order[start:start + self.group_size]
            grouped += sorted(chunk, key=lambda i: -self.lengths[i])
        return iter(grouped[self.rank::self.world_size])

    def __len__(self):
        return self.num_samples

    def set_epoch(self, epoch):
        self.epoch = epoch


@LOOPS.register_module()
class TrainLoop(IterBasedTrainLoop):
    """Iteration-based loop whose length may be given in epochs.

    ``max_iters = max_epochs * len(dataloader)``, so the log counts
    iterations (``Iter(train) [  10/3672]``) while the config speaks in
    epochs, like xtuner's TrainLoop.
    """

    def __init__(self,
                 runner,
                 dataloader,
                 max_iters=None,
                 max_epochs=None,
                 **kwargs):
        if (max_iters is None) == (max_epochs is None):
            raise ValueError('Set exactly one of max_iters and max_epochs')
        if max_epochs is not None:
            if isinstance(dataloader, dict):
                dataloader = runner.build_dataloader(
                    dataloader,
                    seed=runner.seed,
                    diff_rank_seed=runner._randomness_cfg.get(
                        'diff_rank_seed', False))
            print_log(
                f'Num train samples {len(dataloader.dataset)}',
                logger='current')
            max_iters = max_epochs * len(dataloader)
        super().__init__(runner, dataloader, max_iters=max_iters, **kwargs)


@MODELS.register_module()
class TinyCausalLM(BaseModel):
    """A bigram "LLM": frozen, slightly wrong base logits + a trainable
    adapter (scaled like a LoRA so that a fine-tuning lr of 2e-4 moves it).
    """

    def __init__(self, vocab_size, base_seed, base_noise=1.6,
                 adapter_scale=40.0, data_preprocessor=None):
        super().__init__(data_preprocessor=data_preprocessor)
        rng = np.random.default_rng(base_seed + 1)
        base = np.log(markov_chain(vocab_size, base_seed))
        base += rng.normal(0.0, base_noise, size=base.shape)
        self.register_buffer('base_logits',
                             torch.tensor(base, dtype=torch.float32))
        self.adapter = nn.Embedding(vocab_size, vocab_size)
        nn.init.zeros_(self.adapter.weight)
        self.adapter_scale = adapter_scale

    def forward(self, input_ids, mode='loss'):
        losses = []
        for ids in input_ids:
            prev, nxt = ids[:-1], ids[1:]
            logits = self.base_logits[prev] + \
                self.adapter_scale * self.adapter(prev)
            losses.append(F.cross_entropy(logits, nxt))
        loss = torch.stack(losses).mean()
        if mode == 'loss':
            return dict(loss=loss)
        return [dict(loss=loss.detach())]


def cfg_llm(work_dir, phase):
    # xtuner-style "settings" block, dumped verbatim at the top of the config
    max_length = 2048
    batch_size = 1  # per_device
    accumulative_counts = 8
    dataloader_num_workers = 0
    max_epochs = 3
    lr = 2e-4
    betas = (0.9, 0.999)
    weight_decay = 0
    max_norm = 1  # grad clip
    warmup_ratio = 0.03
    save_steps = 1000
    save_total_limit = 2
    train_dataset = dict(
        type='SyntheticSFTDataset',
        num_samples=1220,
        max_length=max_length,
        vocab_size=64,
        seed=1220)
    return dict(
        max_length=max_length,
        batch_size=batch_size,
        accumulative_counts=accumulative_counts,
        dataloader_num_workers=dataloader_num_workers,
        max_epochs=max_epochs,
        lr=lr,
        betas=betas,
        weight_decay=weight_decay,
        max_norm=max_norm,
        warmup_ratio=warmup_ratio,
        save_steps=save_steps,
        save_total_limit=save_total_limit,
        model=dict(type='TinyCausalLM', vocab_size=64, base_seed=1220),
        train_dataset=train_dataset,
        train_dataloader=dict(
            batch_size=batch_size,
            num_workers=dataloader_num_workers,
            dataset=train_dataset,
            sampler=dict(
                type='LengthGroupedSampler',
                length_property='length',
                per_device_batch_size=batch_size * accumulative_counts),
            collate_fn=dict(type='pseudo_collate')),
        optim_wrapper=dict(
            type='OptimWrapper',
            optimizer=dict(
                type='AdamW', lr=lr, betas=betas, weight_decay=weight_decay),
            clip_grad=dict(max_norm=max_norm, error_if_nonfinite=False),
            accumulative_counts=accumulative_counts),
        param_scheduler=[
            dict(
                type='LinearLR',
                start_factor=1e-5,
                by_epoch=True,
                begin=0,
                end=warmup_ratio * max_epochs,
                convert_to_iter_based=True),
            dict(
                type='CosineAnnealingLR',
                eta_min=0.0,
                by_epoch=True,
                begin=warmup_ratio * max_epochs,
                end=max_epochs,
                convert_to_iter_based=True),
        ],
        train_cfg=dict(type='TrainLoop', max_epochs=max_epochs),
        default_hooks=dict(
            timer=dict(type='IterTimerHook'),
            logger=dict(
                type='LoggerHook', log_metric_by_epoch=False, interval=10),
            param_scheduler=dict(type='ParamSchedulerHook'),
            checkpoint=dict(
                type='CheckpointHook',
                by_epoch=False,
                interval=save_steps,
                max_keep_ckpts=save_total_limit),
            sampler_seed=dict(type='DistSamplerSeedHook'),
        ),
        env_cfg=dict(
            cudnn_benchmark=False,
            mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
            dist_cfg=dict(backend='nccl'),
        ),
        visualizer=None,
        log_level='INFO',
        load_from=None,
        resume=False,
        randomness=dict(seed=42, deterministic=False),
        log_processor=dict(by_epoch=False),
        work_dir=work_dir,
    )


# --------------------------------------------------------------------------
# Run 2: epoch-based classification with validation every epoch
# --------------------------------------------------------------------------


@DATASETS.register_module()
class GaussianClusterDataset(Dataset):
    """Overlapping Gaussian blobs, one per class (a stand-in for images)."""

    def __init__(self, num_samples, num_classes=20, dim=32, spread=1.6,
                 split='train', seed=0):
        centers = np.random.default_rng(seed).normal(
            0.0, 1.0, size=(num_classes, dim))
        rng = np.random.default_rng(seed + (1 if split == 'train' else 2))
        labels = rng.integers(num_classes, size=num_samples)
        x = centers[labels] + spread * rng.normal(size=(num_samples, dim))
        self.x = torch.tensor(x, dtype=torch.float32)
        self.y = torch.tensor(labels, dtype=torch.long)

    def __len__(self):
        return len(self.y)

    def __getitem__(self, idx):
        return dict(inputs=self.x[idx], label=self.y[idx])


@MODELS.register_module()
class TinyClassifier(BaseModel):

    def __init__(self, in_dim=32, hidden=128, num_classes=20,
                 data_preprocessor=None):
        super().__init__(data_preprocessor=data_preprocessor)
        self.net = nn.Sequential(
            nn.Linear(in_dim, hidden), nn.ReLU(), nn.Linear(hidden, hidden),
            nn.ReLU(), nn.Linear(hidden, num_classes))

    def forward(self, inputs, label=None, mode='loss'):
        logits = self.net(inputs)
        if mode == 'loss':
            return dict(loss=F.cross_entropy(logits, label))
        return [dict(scores=s, gt_label=g) for s, g in zip(logits, label)]


@METRICS.register_module()
class TopKAccuracy(BaseMetric):
    default_prefix = 'accuracy'

    def __init__(self, topk=(1, 5), **kwargs):
        super().__init__(**kwargs)
        self.topk = tuple(topk)

    def process(self, data_batch, data_samples):
        for s in data_samples:
            rank = int((s['scores'] > s['scores'][s['gt_label']]).sum())
            self.results.append(rank)

    def compute_metrics(self, results):
        ranks = np.asarray(results)
        return {
            f'top{k}': round(float((ranks < k).mean() * 100), 4)
            for k in self.topk
        }


def cfg_cls(work_dir, phase):
    data = dict(type='GaussianClusterDataset', num_classes=20, seed=7)
    return dict(
        model=dict(type='TinyClassifier', in_dim=32, hidden=128,
                   num_classes=20),
        train_dataloader=dict(
            batch_size=32,
            num_workers=2,
            persistent_workers=True,
            sampler=dict(type='DefaultSampler', shuffle=True),
            dataset=dict(data, num_samples=1600, split='train'),
            collate_fn=dict(type='default_collate')),
        val_dataloader=dict(
            batch_size=32,
            num_workers=2,
            persistent_workers=True,
            sampler=dict(type='DefaultSampler', shuffle=False),
            dataset=dict(data, num_samples=500, split='val'),
            collate_fn=dict(type='default_collate')),
        val_evaluator=dict(type='TopKAccuracy', topk=(1, 5)),
        optim_wrapper=dict(
            optimizer=dict(
                type='SGD', lr=0.05, momentum=0.9, weight_decay=1e-4)),
        param_scheduler=[
            dict(
                type='LinearLR',
                start_factor=0.1,
                by_epoch=True,
                begin=0,
                end=1,
                convert_to_iter_based=True),
            dict(
                type='MultiStepLR',
                by_epoch=True,
                milestones=[3, 5],
                gamma=0.1),
        ],
        train_cfg=dict(by_epoch=True, max_epochs=6, val_interval=1),
        val_cfg=dict(),
        default_hooks=dict(
            timer=dict(type='IterTimerHook'),
            logger=dict(type='LoggerHook', interval=10),
            param_scheduler=dict(type='ParamSchedulerHook'),
            checkpoint=dict(type='CheckpointHook', interval=2),
            sampler_seed=dict(type='DistSamplerSeedHook'),
        ),
        env_cfg=dict(
            cudnn_benchmark=False,
            mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
            dist_cfg=dict(backend='nccl'),
        ),
        log_level='INFO',
        load_from=None,
        resume=False,
        randomness=dict(seed=0),
        work_dir=work_dir,
    )


# --------------------------------------------------------------------------
# Run 3: iter-based "detection" that crashes (OOM) and is resumed
# --------------------------------------------------------------------------

# Set by the worker for the first launch only, so that the config (and its
# dump in the log) is identical for both launches, as in a real resume.
INJECT_OOM_AT_ITER = None


@DATASETS.register_module()
class SyntheticBoxDataset(Dataset):
    """One object per "image": 16 features -> class and (cx, cy, w, h)."""

    def __init__(self, num_samples, num_classes=5, dim=16, split='train',
                 seed=0):
        g = np.random.default_rng(seed)
        w_box = g.normal(0, 0.6, size=(dim, 4))
        w_cls = g.normal(0, 1.0, size=(dim, num_classes))
        rng = np.random.default_rng(seed + (1 if split == 'train' else 2))
        x = rng.normal(size=(num_samples, dim))
        box = 1 / (1 + np.exp(-(x @ w_box + 0.1 * rng.normal(
            size=(num_samples, 4)))))
        box[:, 2:] = 0.1 + 0.5 * box[:, 2:]
        cls = (x @ w_cls + 0.8 * rng.normal(
            size=(num_samples, num_classes))).argmax(1)
        self.x = torch.tensor(x, dtype=torch.float32)
        self.box = torch.tensor(box, dtype=torch.float32)
        self.cls = torch.tensor(cls, dtype=torch.long)

    def __len__(self):
        return len(self.cls)

    def __getitem__(self, idx):
        return dict(
            inputs=self.x[idx], gt_bbox=self.box[idx], gt_label=self.cls[idx])


@MODELS.register_module()
class TinyDetector(BaseModel):

    def __init__(self, in_dim=16, hidden=64, num_classes=5,
                 data_preprocessor=None):
        super().__init__(data_preprocessor=data_preprocessor)
        self.backbone = nn.Sequential(
            nn.Linear(in_dim, hidden), nn.ReLU(), nn.Linear(hidden, hidden),
            nn.ReLU())
        self.cls_head = nn.Linear(hidden, num_classes)
        self.bbox_head = nn.Linear(hidden, 4)

    def _check_memory(self):
        it = MessageHub.get_current_instance().get_info('iter')
        if INJECT_OOM_AT_ITER is not None and it == INJECT_OOM_AT_ITER:
            # Injected failure (first launch of det_crash_resume only).
            raise torch.OutOfMemoryError(
                'CUDA out of memory. Tried to allocate 1.76 GiB. GPU 0 has a '
                'total capacity of 23.64 GiB of which 1.21 GiB is free. '
                'Including non-PyTorch memory, this process has 22.41 GiB '
                'memory in use. Of the allocated memory 20.05 GiB is '
                'allocated by PyTorch, and 1.83 GiB is reserved by PyTorch '
                'but unallocated. If reserved but unallocated memory is '
                'large try setting PYTORCH_CUDA_ALLOC_CONF=expandable_'
                'segments:True to avoid fragmentation.  See documentation '
                'for Memory Management  (https://pytorch.org/docs/stable/'
                'notes/cuda.html#environment-variables)')

    def forward(self, inputs, gt_bbox=None, gt_label=None, mode='loss'):
        feats = self.backbone(inputs)
        cls_score = self.cls_head(feats)
        bbox_pred = torch.sigmoid(self.bbox_head(feats))
        if mode == 'loss':
            self._check_memory()
            return dict(
                loss_cls=F.cross_entropy(cls_score, gt_label),
                loss_bbox=5.0 * F.l1_loss(bbox_pred, gt_bbox))
        return [
            dict(bbox=b, gt_bbox=gb, label=c.argmax(), gt_label=gl)
            for b, gb, c, gl in zip(bbox_pred, gt_bbox, cls_score, gt_label)
        ]


def box_iou_cxcywh(a, b):
    a1, a2 = a[:2] - a[2:] / 2, a[:2] + a[2:] / 2
    b1, b2 = b[:2] - b[2:] / 2, b[:2] + b[2:] / 2
    wh = (torch.minimum(a2, b2) - torch.maximum(a1, b1)).clamp(min=0)
    inter = wh[0] * wh[1]
    return float(inter / (a[2] * a[3] + b[2] * b[3] - inter))


@METRICS.register_module()
class BoxHitRateMetric(BaseMetric):
    """Share of objects with the right class and IoU >= t, reported under
    mmdet-style names (bbox_mAP = mean over t in 0.50:0.95)."""

    default_prefix = 'coco'

    def process(self, data_batch, data_samples):
        for s in data_samples:
            ok = int(s['label']) == int(s['gt_label'])
            self.results.append(
                box_iou_cxcywh(s['bbox'], s['gt_bbox']) if ok else 0.0)

    def compute_metrics(self, results):
        ious = np.asarray(results)
        ts = np.linspace(0.5, 0.95, 10)
        hit = [(ious >= t).mean() for t in ts]
        return dict(
            bbox_mAP=round(float(np.mean(hit)), 4),
            bbox_mAP_50=round(float(hit[0]), 4),
            bbox_mAP_75=round(float(hit[5]), 4))


def cfg_det(work_dir, phase):
    return dict(
        model=dict(type='TinyDetector', in_dim=16, hidden=64, num_classes=5),
        train_dataloader=dict(
            batch_size=16,
            num_workers=2,
            persistent_workers=True,
            sampler=dict(type='InfiniteSampler', shuffle=True),
            dataset=dict(
                type='SyntheticBoxDataset', num_samples=2000, split='train',
                seed=3),
            collate_fn=dict(type='default_collate')),
        val_dataloader=dict(
            batch_size=8,
            num_workers=2,
            persistent_workers=True,
            drop_last=False,
            sampler=dict(type='DefaultSampler', shuffle=False),
            dataset=dict(
                type='SyntheticBoxDataset', num_samples=200, split='val',
                seed=3),
            collate_fn=dict(type='default_collate')),
        val_evaluator=dict(type='BoxHitRateMetric'),
        optim_wrapper=dict(
            type='OptimWrapper',
            optimizer=dict(
                type='SGD', lr=0.02, momentum=0.9, weight_decay=0.0001),
            clip_grad=dict(max_norm=35, norm_type=2)),
        param_scheduler=[
            dict(
                type='LinearLR', start_factor=0.001, by_epoch=False, begin=0,
                end=100),
            dict(
                type='MultiStepLR',
                begin=0,
                end=600,
                by_epoch=False,
                milestones=[400, 550],
                gamma=0.1),
        ],
        train_cfg=dict(
            type='IterBasedTrainLoop', max_iters=600, val_interval=200),
        val_cfg=dict(type='ValLoop'),
        default_hooks=dict(
            timer=dict(type='IterTimerHook'),
            logger=dict(type='LoggerHook', interval=10),
            param_scheduler=dict(type='ParamSchedulerHook'),
            checkpoint=dict(
                type='CheckpointHook', by_epoch=False, interval=200),
            sampler_seed=dict(type='DistSamplerSeedHook'),
        ),
        env_cfg=dict(
            cudnn_benchmark=False,
            mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
            dist_cfg=dict(backend='nccl'),
        ),
        log_processor=dict(by_epoch=False),
        log_level='INFO',
        load_from=None,
        resume=(phase == 2),  # second launch: `train.py ... --resume`
        randomness=dict(seed=0),
        work_dir=work_dir,
    )


# --------------------------------------------------------------------------
# Run 4: short iter-based "segmentation" whose loss turns into nan
# --------------------------------------------------------------------------


@DATASETS.register_module()
class SyntheticSegDataset(Dataset):
    """8x8 "images" with 3 channels, 4 classes per pixel."""

    # A corrupt sample (think: a broken image decoding to inf). With
    # InfiniteSampler(shuffle=True, seed=0) and batch_size=4 it is drawn for
    # the first time in iteration 195, so the log shows `loss: nan` from the
    # `[200/400]` line on.
    CORRUPT_INDEX = 93

    def __init__(self, num_samples, num_classes=4, seed=0):
        g = np.random.default_rng(seed)
        proto = g.normal(0, 1.0, size=(num_classes, 3))
        rng = np.random.default_rng(seed + 1)
        seg = rng.integers(num_classes, size=(num_samples, 8, 8))
        img = proto[seg].transpose(0, 3, 1, 2) + 1.2 * rng.normal(
            size=(num_samples, 3, 8, 8))
        self.img = torch.tensor(img, dtype=torch.float32)
        self.seg = torch.tensor(seg, dtype=torch.long)
        if num_samples > self.CORRUPT_INDEX:
            self.img[self.CORRUPT_INDEX, :, 2, 5] = float('inf')

    def __len__(self):
        return len(self.seg)

    def __getitem__(self, idx):
        return dict(inputs=self.img[idx], gt_seg=self.seg[idx])


@MODELS.register_module()
class TinySegmentor(BaseModel):

    def __init__(self, num_classes=4, channels=16, data_preprocessor=None):
        super().__init__(data_preprocessor=data_preprocessor)
        self.backbone = nn.Sequential(
            nn.Conv2d(3, channels, 3, padding=1), nn.ReLU())
        self.decode_head = nn.Conv2d(channels, num_classes, 1)
        self.auxiliary_head = nn.Conv2d(channels, num_classes, 1)

    def forward(self, inputs, gt_seg=None, mode='loss'):
        feats = self.backbone(inputs)
        logits = self.decode_head(feats)
        aux = self.auxiliary_head(feats)
        acc = (logits.argmax(1) == gt_seg).float().mean() * 100
        return {
            'decode.loss_ce': F.cross_entropy(logits, gt_seg),
            'decode.acc_seg': acc.detach(),
            'aux.loss_ce': 0.4 * F.cross_entropy(aux, gt_seg),
        }


def cfg_seg(work_dir, phase):
    return dict(
        model=dict(type='TinySegmentor', num_classes=4, channels=16),
        train_dataloader=dict(
            batch_size=4,
            num_workers=2,
            persistent_workers=True,
            sampler=dict(type='InfiniteSampler', shuffle=True),
            dataset=dict(type='SyntheticSegDataset', num_samples=1000,
                         seed=11),
            collate_fn=dict(type='default_collate')),
        optim_wrapper=dict(
            type='OptimWrapper',
            optimizer=dict(
                type='SGD', lr=0.01, momentum=0.9, weight_decay=0.0005),
            clip_grad=None),
        param_scheduler=[
            dict(
                type='PolyLR',
                eta_min=1e-4,
                power=0.9,
                begin=0,
                end=400,
                by_epoch=False)
        ],
        train_cfg=dict(type='IterBasedTrainLoop', max_iters=400),
        default_hooks=dict(
            timer=dict(type='IterTimerHook'),
            logger=dict(
                type='LoggerHook', interval=10, log_metric_by_epoch=False),
            param_scheduler=dict(type='ParamSchedulerHook'),
            checkpoint=dict(
                type='CheckpointHook', by_epoch=False, interval=200),
            sampler_seed=dict(type='DistSamplerSeedHook'),
        ),
        env_cfg=dict(
            cudnn_benchmark=True,
            mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
            dist_cfg=dict(backend='nccl'),
        ),
        log_processor=dict(by_epoch=False),
        log_level='INFO',
        load_from=None,
        resume=False,
        randomness=dict(seed=0),
        work_dir=work_dir,
    )


# --------------------------------------------------------------------------
# Run table: config builder, per-launch start time, timing profile
# --------------------------------------------------------------------------

RUN_SPECS = {
    'llm_sft_len_grouped': dict(
        cfg=cfg_llm,
        starts={1: '2026-03-14 09:00:00'},
        profile=dict(
            dataset_build=(35, 55), startup=(6, 10), checkpoint=(40, 75),
            data_mean=0.012, data_std=0.004,
            data_spike_prob=0.004, data_spike=(0.5, 3.0),
            iter_mean=10.3, iter_std=0.35, per_token=0.003,
            warmup=(38.0, 14.0, 7.0, 4.0, 2.0, 1.0),
            slow_prob=0.008, slow=(8.0, 45.0)),
        summary='xtuner-style LLM SFT: 1220 samples, batch_size=1, '
        'accumulative_counts=8, max_epochs=3, LengthGroupedSampler '
        '(per_device_batch_size=8 -> 1224 samples/epoch), TrainLoop '
        '(IterBasedTrainLoop, max_iters = 3 * 1224 = 3672), '
        'log_processor by_epoch=False, log interval 10, checkpoint every '
        '1000 iters + last, AdamW lr 2e-4 with linear warm-up + cosine, '
        'grad clip 1.0. Simulated ~12 s/iter (grows with sequence length).'),
    'cls_epoch_val': dict(
        cfg=cfg_cls,
        starts={1: '2026-03-15 14:00:00'},
        profile=dict(
            startup=(4, 8), checkpoint=(3, 6), val_start=(2, 4),
            val_end=(0.5, 1.5),
            data_mean=0.35, data_std=0.08,
            data_spike_prob=0.03, data_spike=(1.0, 4.0),
            iter_mean=5.3, iter_std=0.2,
            warmup=(14.0, 4.0, 1.5),
            slow_prob=0.01, slow=(3.0, 12.0),
            val_data_mean=0.45, val_iter_mean=1.2),
        summary='Epoch-based classification: EpochBasedTrainLoop '
        'max_epochs=6, 1600 samples / batch 32 = 50 iters/epoch, log '
        'interval 10, validation every epoch (500 samples, 16 iters) with '
        'a custom TopKAccuracy metric (accuracy/top1, accuracy/top5), '
        'checkpoint every 2 epochs, default log_processor (by_epoch=True). '
        'Simulated ~5.7 s/iter.'),
    'det_crash_resume': dict(
        cfg=cfg_det,
        starts={1: '2026-03-16 21:40:00', 2: '2026-03-17 08:55:00'},
        profile=dict(
            startup=(8, 15), checkpoint=(4, 8), val_start=(3, 6),
            val_end=(1, 3),
            data_mean=0.06, data_std=0.02,
            data_spike_prob=0.02, data_spike=(0.5, 2.5),
            iter_mean=4.4, iter_std=0.25,
            warmup=(20.0, 6.0, 2.0),
            slow_prob=0.01, slow=(3.0, 15.0),
            resume_skip_per_iter=0.03,
            val_data_mean=0.3, val_iter_mean=1.6),
        crash_iter=452,  # 0-based runner.iter: the 453rd iteration dies
        summary='Iter-based "detection": IterBasedTrainLoop max_iters=600, '
        'InfiniteSampler, log interval 10, validation + checkpoint every '
        '200 iters (metric BoxHitRateMetric -> coco/bbox_mAP*, see below). '
        'Launch 1 dies with an injected torch.OutOfMemoryError in the '
        'forward of iteration 453; launch 2 (resume=True, next morning) '
        'auto-resumes from iter_400.pth and trains to 600 in a new '
        'timestamped folder. Simulated ~4.5 s/iter.'),
    'seg_nan_loss': dict(
        cfg=cfg_seg,
        starts={1: '2026-03-18 13:20:00'},
        profile=dict(
            startup=(5, 9), checkpoint=(2, 4),
            data_mean=0.2, data_std=0.05,
            data_spike_prob=0.02, data_spike=(0.5, 2.0),
            iter_mean=1.7, iter_std=0.1,
            warmup=(9.0, 2.0),
            slow_prob=0.01, slow=(1.0, 6.0)),
        summary='Short iter-based "segmentation": IterBasedTrainLoop '
        'max_iters=400, log interval 10, checkpoint every 200 iters, '
        'mmseg-style loss keys (decode.loss_ce, decode.acc_seg, '
        'aux.loss_ce), no grad clipping. One training sample contains an '
        'inf pixel; it is first drawn in iteration 195, from then on the '
        'loss is nan (the weights are nan after that step) up to the end, '
        'so `loss: nan` is logged from `[200/400]` on. '
        'Simulated ~1.9 s/iter.'),
}

# --------------------------------------------------------------------------
# Worker: one launch of one run, in its own process
# --------------------------------------------------------------------------


def worker_main(run, phase):
    global CLOCK, PROFILE, SIM_RNG, INJECT_OOM_AT_ITER
    spec = RUN_SPECS[run]
    os.environ['TZ'] = 'UTC'
    time.tzset()
    SIM_RNG = np.random.default_rng([2026, RUN_NAMES.index(run), phase])
    PROFILE = spec['profile']
    CLOCK = SimClock(spec['starts'][phase])
    CLOCK.install()
    if phase == 1 and 'crash_iter' in spec:
        INJECT_OOM_AT_ITER = spec['crash_iter']

    cfg = spec['cfg'](f'./work_dirs/{run}', phase)
    runner = Runner.from_cfg(cfg)
    runner.register_hook(SimClockHook(PROFILE, SIM_RNG))
    runner.train()


# --------------------------------------------------------------------------
# Orchestrator
# --------------------------------------------------------------------------


def prepare_stage(stage):
    if osp.exists(stage):
        if not osp.exists(osp.join(stage, STAGE_MARKER)):
            sys.exit(f'{stage} exists and is not a sample stage dir; '
                     'refusing to delete it (use --stage)')
        shutil.rmtree(stage)
    os.makedirs(stage)
    open(osp.join(stage, STAGE_MARKER), 'w').close()
    shutil.copyfile(osp.abspath(__file__), osp.join(stage, 'train.py'))


def launch(stage, run, phase):
    """Run one launch like `python train.py ... 2>&1 | tee -a console.log`.

    Returns (returncode, merged stdout+stderr text)."""
    env = dict(os.environ, TZ='UTC', PYTHONUNBUFFERED='1',
               PYTHONHASHSEED='0', OMP_NUM_THREADS='1',
               MKL_NUM_THREADS='1')
    # MMEngine 0.10.7 calls torch.load() without weights_only; torch >= 2.6
    # then refuses its resume checkpoints (HistoryBuffer, numpy objects).
    # This is the usual user-side workaround; torch prints a UserWarning
    # about it, which ends up in console_tee.log like on a real machine.
    env['TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD'] = '1'
    env.pop('PYTHONWARNINGS', None)
    cmd = [sys.executable, 'train.py', '--worker', run, '--phase', str(phase)]
    proc = subprocess.run(cmd, cwd=stage, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True)
    return proc.returncode, proc.stdout


def log_dirs(work_dir):
    return sorted(d for d in os.listdir(work_dir)
                  if re.fullmatch(r'\d{8}_\d{6}', d)
                  and osp.isdir(osp.join(work_dir, d)))


def export(work_dir, dest):
    """Copy a work_dir without checkpoints (*.pth) to dest."""
    if osp.exists(dest):
        shutil.rmtree(dest)
    shutil.copytree(work_dir, dest, ignore=shutil.ignore_patterns('*.pth'))


def do_run(stage, out, run):
    spec = RUN_SPECS[run]
    work_dir = osp.join(stage, 'work_dirs', run)
    dest = osp.join(out, run)
    phases = sorted(spec['starts'])
    console = []
    for phase in phases:
        t0 = time.time()
        rc, text = launch(stage, run, phase)
        crashed = phase == 1 and 'crash_iter' in spec
        print(f'  {run} launch {phase}: exit code {rc} '
              f'({time.time() - t0:.1f} s real)')
        if (rc != 0) != crashed:
            sys.stdout.write(text[-6000:])
            sys.exit(f'{run} launch {phase}: unexpected exit code {rc}')
        console.append(text)
        if crashed:
            tb = text[text.rfind('Traceback (most recent call last):'):]
            if not tb.startswith('Traceback'):
                sys.exit(f'{run}: no traceback found in the console output')
            # MMEngine 0.10.7 has no exception handler that writes to its
            # FileHandler: the Runner lets the exception propagate and
            # Python prints the traceback on stderr only, so the real .log
            # just stops after the last logged iteration.  To give the
            # parsers a crash log with a traceback, we append the traceback
            # text exactly as Python printed it (no MMEngine prefix), which
            # is what redirecting stderr into the log file would produce
            # (e.g. `python train.py ... 2>&1 | tee -a <that .log>` without
            # the duplicated stdout lines).
            last = log_dirs(work_dir)[-1]
            with open(osp.join(work_dir, last, f'{last}.log'), 'a') as f:
                f.write(tb)
    export(work_dir, dest)
    if len(phases) > 1:
        # Both launches' console output, appended one after the other, as
        # `python train.py ... 2>&1 | tee -a console_tee.log` would leave
        # it (termcolor emits no colour codes when stdout is a pipe).
        with open(osp.join(dest, 'console_tee.log'), 'w') as f:
            f.write(''.join(console))


def log_stats(path):
    with open(path) as f:
        lines = f.read().splitlines()
    stamps = [
        m.group(1) for m in (re.match(
            r'(\d{4}/\d\d/\d\d \d\d:\d\d:\d\d) - ', ln) for ln in lines) if m
    ]

    def parse(s):
        return calendar.timegm(time.strptime(s, '%Y/%m/%d %H:%M:%S'))

    span = parse(stamps[-1]) - parse(stamps[0]) if stamps else 0
    return len(lines), stamps[0], stamps[-1], span


def fmt_span(sec):
    return f'{sec // 3600}h{sec % 3600 // 60:02d}m{sec % 60:02d}s'


def write_readme(out, runs):
    import mmengine
    rows = []
    for run in runs:
        dest = osp.join(out, run)
        rows.append(f'### `{run}/`\n')
        rows.append(RUN_SPECS[run]['summary'] + '\n')
        for d in log_dirs(dest):
            n, first, last, span = log_stats(osp.join(dest, d, f'{d}.log'))
            rows.append(f'- `{d}/{d}.log`: {n} lines, {first} -> {last} '
                        f'({fmt_span(span)})')
        if osp.exists(osp.join(dest, 'console_tee.log')):
            rows.append('- `console_tee.log`: console output (stdout + '
                        'stderr) of both launches appended, console date '
                        'format `MM/DD HH:MM:SS`, traceback included')
        rows.append('')
    text = f"""# Sample MMEngine logs

Real `mmengine.runner.Runner` runs (MMEngine {mmengine.__version__}, \
torch {torch.__version__.split('+')[0]} CPU, Python \
{sys.version.split()[0]}) of tiny models on synthetic data, produced by
`tools/make_sample_logs.py`. Do not edit these files by hand; regenerate them.

Each run folder is the run's MMEngine `work_dir` minus the checkpoints:
`<timestamp>.py` (config dump), `<timestamp>/<timestamp>.log` (text log),
`<timestamp>/vis_data/scalars.json` (plus `config.py` and
`<timestamp>.json`, which LocalVisBackend writes with the same records as
`scalars.json`), and `last_checkpoint` (a one-line path into the
generator's stage dir; the `.pth` files are deleted). The work_dirs lived
under `/tmp/mmdash_sample_runs/work_dirs/` while training, which is why
that path shows up in the logs.

## Runs

{chr(10).join(rows)}
## What is not real

- **Clock.** Every worker process replaces `time.time`, `time.time_ns`,
  `time.localtime`, `time.gmtime`, `time.strftime` and `time.sleep` with a
  simulated clock that starts at a fixed date (TZ=UTC) and only advances
  when the generator says so: per iteration it adds a `data_time` and a
  compute time drawn from a seeded noise model (slow warm-up iterations,
  occasional slow iterations, pauses for dataset build, validation and
  checkpoint saving, MMEngine's 2 s sleep at an epoch wrap). So `time`,
  `data_time`, `eta`, the log line timestamps and the folder names are
  simulated but consistent; the real runs take a few seconds each.
- **Models / data.** Tiny CPU models on synthetic data. The `coco/bbox_mAP*`
  values in `det_crash_resume` are hit rates (right class and IoU >= t,
  averaged over t = 0.50:0.95 for `bbox_mAP`), not a COCO evaluation.
- **Crash.** The `torch.OutOfMemoryError` in `det_crash_resume` is raised on
  purpose (CPU run). MMEngine does not write tracebacks to its `.log`; the
  traceback at the end of the first launch's `.log` was appended by the
  generator from the process's stderr (see the comment in the script).
- Without CUDA, MMEngine logs no `memory` field.
- MMEngine 0.10.7 loads resume checkpoints with `torch.load()` defaults,
  which torch >= 2.6 rejects; the generator sets
  `TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1` for the training processes (the
  resulting torch UserWarning is visible in `console_tee.log`).

Genuine MMEngine behaviour worth knowing when parsing: the `Reach the end
of the dataloader` warning is printed only at the first epoch wrap
(MMEngine filters duplicate warnings); `Exp name: ...` lines appear every
1000 iterations and at every dataloader end; an iteration count that is
not a multiple of the log interval gets no final `Iter(train)` line
(`llm_sft_len_grouped` ends at `[3670/3672]`).

## Regenerate

```
python3.11 -m venv /tmp/mmenv
/tmp/mmenv/bin/pip install /opt/wheels/torch-2.13.0+cpu-cp311-cp311-manylinux_2_28_x86_64.whl
/tmp/mmenv/bin/pip install -r tools/requirements-samples.txt
/tmp/mmenv/bin/python tools/make_sample_logs.py --out sample_logs
```

(torch must be installed first, from the local CPU wheel, so that pip does
not fetch another torch.) The runs are seeded and the clock is simulated,
so regenerating with the same versions gives the same files.
"""
    with open(osp.join(out, 'README.md'), 'w') as f:
        f.write(text)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--out', default='sample_logs',
                        help='output folder (default: sample_logs)')
    parser.add_argument('--stage', default=DEFAULT_STAGE,
                        help='scratch dir holding the work_dirs while '
                        f'training (default: {DEFAULT_STAGE})')
    parser.add_argument('--runs', nargs='+', choices=RUN_NAMES,
                        default=list(RUN_NAMES))
    parser.add_argument('--keep-stage', action='store_true')
    parser.add_argument('--worker', choices=RUN_NAMES, help=argparse.SUPPRESS)
    parser.add_argument('--phase', type=int, default=1,
                        help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.worker:
        worker_main(args.worker, args.phase)
        return

    stage = osp.abspath(args.stage)
    out = osp.abspath(args.out)
    prepare_stage(stage)
    os.makedirs(out, exist_ok=True)
    for run in args.runs:
        print(f'run {run}')
        do_run(stage, out, run)
    present = [r for r in RUN_NAMES if osp.isdir(osp.join(out, r))]
    write_readme(out, present)
    if not args.keep_stage:
        shutil.rmtree(stage)
    print(f'wrote {out}')


if __name__ == '__main__':
    main()
