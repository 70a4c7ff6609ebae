"""Generate a big, realistic MMEngine text log (test data for the benchmarks and for trying the dashboard).

    python -m tools.gen_logs OUT [--lines 1000000] [--seed 0]

The output looks like the ``nohup`` capture of a sweep script that trained four models one after the
other (the shape of ``xtuner-nursingai-deepseek-lora64-multirun-oom.log`` in the corpus). Every line
shape is copied from ``../shared/real_logs``. One module per run kind, in the order they run:

1. ``det``: MMDetection 3.x Cascade R-CNN, ``Epoch(train) [e][i/n]``, ``s0.loss_cls``/``s1.acc``/... and
   ``grad_norm``; COCO evaluation blocks, ``bbox_mAP_copypaste``, ``Epoch(val)`` progress + summary.
2. ``seg``: MMSegmentation 1.x, ``Iter(train) [     n/N]`` with ``decode.loss_ce``/``aux.acc_seg``;
   ``Iter(val)`` progress, a 150-class ``per class results:`` table, summary.
3. ``cls``: MMPretrain 1.x ResNet-50, ``Epoch(train)   [e][  i/n]``, ``eta: 1 day, 8:39:30`` forms,
   ``accuracy/top1``, best-checkpoint lines, a weight-init block.
4. ``llm``: xtuner LLM SFT (year-less console timestamps), ``Iter(train)`` with ``tflops``/``tokens_per_sec``,
   ``eta: 18 days, ...``, DeepSpeed ``[2025-...] [INFO]`` lines, ``Reach the end of the dataloader``
   warnings, ``Sample output:`` multi-line blocks. This run is still training when the file ends
   (a live log), so ``iter_log_lines`` can continue it: the benchmark appends the next lines.

``common`` holds what they share (the ``Run`` base class, prefixes, header blocks, config dump); ``writer`` chains
the runs and writes the file. Each run starts with a launch line, python warnings, the MMEngine
``System environment`` / ``Runtime environment`` header, a ``Config:`` dump of ~150 lines and the hook table.
Timestamps only move forward. The output is a pure function of (lines, seed); ``--lines`` is exact.
"""

from tools.gen_logs.writer import RUN_KINDS, SHARES, T0, extra_lines, iter_log_lines, write_log

__all__ = ["RUN_KINDS", "SHARES", "T0", "extra_lines", "iter_log_lines", "write_log"]
