"""The line grammar of MMEngine / mmcv logs, as data.

Each ``LinePattern`` names a regular expression, the layer it applies to and sample lines copied
from real logs (``../shared/real_logs``). ``tests/test_grammar.py`` checks that every sample
matches its own pattern and no earlier pattern of the same layer, so the order below is the order
the parser tries them in. Code never writes a regex for a log line anywhere else.

Layers:
- ``prefix``: applied to a whole line; splits off timestamp, logger and level, leaving ``msg``.
- ``message``: applied to ``msg`` of a prefixed line, in order, after a ``starts`` literal check.
- ``bare``: applied to lines without a logger prefix (header blocks, tracebacks, foreign tools).
- ``fields``: pieces of the text after a train/val header.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field


@dataclass(frozen=True)
class LinePattern:
    name: str
    layer: str
    regex: str
    samples: tuple[str, ...]
    # The message must start with one of these literals before the regex is tried (a cheap filter).
    starts: tuple[str, ...] = ()
    description: str = ""
    compiled: re.Pattern = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "compiled", re.compile(self.regex))

    def match(self, text: str) -> re.Match | None:
        if self.starts and not text.startswith(self.starts):
            return None
        return self.compiled.match(text)


_LEVEL = r"(?P<level>DEBUG|INFO|WARNING|ERROR|CRITICAL)"

PREFIX_PATTERNS: tuple[LinePattern, ...] = (
    LinePattern(
        "mmengine_prefix",
        "prefix",
        r"(?:(?P<year>\d{4})/)?(?P<month>\d\d)/(?P<day>\d\d) (?P<hms>\d\d:\d\d:\d\d) - (?P<logger>[\w.\-]+) - "
        + _LEVEL + r" -(?: (?P<msg>.*))?$",
        (
            "2024/08/27 06:33:10 - mmengine - INFO - Iter(train) [  10/2000]  lr: 1.5255e-06  eta: 2:04:46  "
            "time: 3.7622  data_time: 0.0285  memory: 39252  loss: 5.6116",
            "07/07 11:47:18 - mmengine - WARNING - Reach the end of the dataloader, it will be restarted and "
            "continue to iterate.",
            "07/07 11:35:57 - mmengine - INFO - ",
            "06/04 00:27:13 - mmengine - INFO -",
        ),
        description="MMEngine runner file (with year) and console (no year) prefix",
    ),
    LinePattern(
        "mmcv_prefix",
        "prefix",
        r"(?P<date>\d{4}-\d\d-\d\d) (?P<hms>\d\d:\d\d:\d\d),(?P<ms>\d{3}) - (?P<logger>[\w.\-]+) - "
        + _LEVEL + r" -(?: (?P<msg>.*))?$",
        (
            "2023-02-08 11:14:24,130 - mmdet - INFO - resumed epoch 4, iter 16556",
            "2023-07-15 23:19:48,164 - mmseg - INFO - Iter [50/80000]\tlr: 1.999e-04, eta: 9:57:10, time: 0.448",
        ),
        description="mmcv 1.x logger prefix",
    ),
)

# --- message layer ------------------------------------------------------------------------------
# Train / eval headers. ``fields`` is the rest of the line, split by ``split_fields``.
TRAIN_MMENGINE = LinePattern(
    "train_mmengine",
    "message",
    r"(?P<loop>Epoch|Iter)\(train\)\s*(?:\[\s*(?P<epoch>\d+)\])?\[\s*(?P<i>\d+)/(?P<n>\d+)\]\s+(?P<fields>.*)$",
    (
        "Iter(train) [  10/3672]  lr: 1.6516e-06  eta: 16:25:19  time: 16.1440  data_time: 0.0123  memory: 12345  "
        "loss: 1.0",
        "Epoch(train) [1][ 10/381]  lr: 1.9986e-04  eta: 0:27:01  time: 1.4585  data_time: 0.0026  memory: 10428  "
        "loss: 1.1690",
        "Epoch(train)  [82][50/86]  lr: 2.0000e-05  eta: 2:53:33  time: 1.2303  data_time: 0.6377  memory: 18906  "
        "grad_norm: 71.2818  loss: 24.2896",
        "Epoch(train)   [1][  1/120]  lr: 1.0000e-01  eta: 1 day, 8:39:30  time: 9.7984  data_time: 2.2010  "
        "memory: 2779  loss: 3.4476",
        "Iter(train) [ 8851/96000]  lr: 9.7918e-06  eta: 18 days, 16:18:38  time: 115.0463  data_time: 99.0316  "
        "memory: 54047  loss: 0.0018  tflops: 4.8280  tokens_per_sec: 142.4122",
    ),
    starts=("Epoch(train)", "Iter(train)"),
    description="MMEngine train line: Iter(train) [n/N] or Epoch(train) [e][i/n], any padding",
)
EVAL_MMENGINE = LinePattern(
    "eval_mmengine",
    "message",
    r"(?P<loop>Epoch|Iter)\((?P<mode>val|test)\)\s*(?:\[\s*(?P<epoch>\d+)\])?\[\s*(?P<i>\d+)/(?P<n>\d+)\]\s*"
    r"(?P<fields>.*)$",
    (
        "Epoch(val)  [1][100/137]    eta: 0:00:01  time: 0.0451  data_time: 0.0015  memory: 1699  ",
        "Epoch(val) [5][3/3]    coco/bbox_mAP: 0.3830  coco/bbox_mAP_50: 0.4280  data_time: 0.1288  time: 0.1734",
        "Epoch(val) [10][6/6]    coco/AP: 0.000891  coco/AP .5: 0.002970  coco/AP (M): -1.000000  PCK: 0.317460",
        "Iter(val) [11/11]    aAcc: 83.8000  mIoU: 45.0000  mAcc: 56.8600  data_time: 0.0163  time: 0.1649",
        "Iter(val) [515/515]  aAcc: 98.9500  mIoU: 72.7400  mAcc: 73.9600",
        "Epoch(test) [ 1/11]    eta: 0:00:21  time: 2.1221  data_time: 0.6786  memory: 188",
        "Epoch(test) [11/11]    coco/bbox_mAP: 0.8170  coco/bbox_mAP_50: 0.9660",
    ),
    starts=("Epoch(val)", "Epoch(test)", "Iter(val)", "Iter(test)"),
    description="MMEngine val/test progress (has eta) and summary (has metrics) lines",
)
TRAIN_MMCV_EPOCH = LinePattern(
    "train_mmcv_epoch",
    "message",
    r"Epoch \[(?P<epoch>\d+)\]\[(?P<i>\d+)/(?P<n>\d+)\]\s+(?P<fields>.*)$",
    (
        "Epoch [1][50/7330]\tlr: 1.978e-05, eta: 1 day, 20:25:23, time: 1.819, data_time: 0.566, memory: 58712, "
        "loss: 4.7531",
        "Epoch [1][50/5455]     lr: 4.575e-04, eta: 6:27:11, time: 0.355, data_time: 0.044, memory: 2883",
    ),
    starts=("Epoch [",),
    description="mmcv 1.x EpochBasedRunner train line (TAB, or spaces after copy/paste)",
)
TRAIN_MMCV_ITER = LinePattern(
    "train_mmcv_iter",
    "message",
    r"Iter \[(?P<i>\d+)/(?P<n>\d+)\]\s+(?P<fields>.*)$",
    ("Iter [50/80000]\tlr: 1.999e-04, eta: 9:57:10, time: 0.448, data_time: 0.017, memory: 19980, loss: 2.5922",),
    starts=("Iter [",),
    description="mmcv 1.x IterBasedRunner train line",
)
EVAL_MMCV_EPOCH = LinePattern(
    "eval_mmcv_epoch",
    "message",
    r"Epoch\((?P<mode>val|test)\) \[(?P<epoch>\d+)\]\[(?P<n>\d+)\]\s+(?P<fields>.*)$",
    (
        "Epoch(val) [5][2476]\tmAP: 0.8440, AP50: 0.8440",
        "Epoch(val) [4][40]\tloss: 0.2243",
        "Epoch(val) [1][13]\tbbox_mAP: 0.0908, bbox_mAP_copypaste: 0.0908 0.1390 0.0971 0.0029 0.1269 0.1279",
    ),
    starts=("Epoch(val) [", "Epoch(test) ["),
    description="mmcv 1.x evaluation summary: [epoch][number of val iterations]",
)
EVAL_MMCV_ITER = LinePattern(
    "eval_mmcv_iter",
    "message",
    r"Iter\((?P<mode>val|test)\) \[(?P<n>\d+)\]\s+(?P<fields>.*)$",
    ("Iter(val) [500]\taAcc: 0.9100, mIoU: 0.4012, mAcc: 0.5000",),
    starts=("Iter(val) [", "Iter(test) ["),
    description="mmcv 1.x IterBasedRunner evaluation summary",
)

EVENT_PATTERNS: tuple[LinePattern, ...] = (
    LinePattern(
        "checkpoint",
        "message",
        r"Saving checkpoint at (?P<n>\d+) (?P<unit>iterations|epochs)",
        ("Saving checkpoint at 500 iterations", "Saving checkpoint at 3 epochs"),
        starts=("Saving checkpoint",),
    ),
    LinePattern(
        "best_checkpoint",
        "message",
        r"The best checkpoint with (?P<value>\S+) (?P<metric>.+?) at (?P<n>\d+) (?P<unit>epoch|iter)s? is saved to "
        r"(?P<path>.*?)\.?$",
        ("The best checkpoint with 0.6498 accuracy/top1 at 1 epoch is saved to best_accuracy_top1_epoch_1.pth.",),
        starts=("The best checkpoint",),
    ),
    LinePattern(
        "resume",
        "message",
        r"resumed epoch:? (?P<epoch>\d+), iter:? (?P<iter>\d+)",
        ("resumed epoch: 81, iter: 6966", "resumed epoch 4, iter 16556"),
        starts=("resumed epoch",),
    ),
    LinePattern(
        "auto_resume",
        "message",
        r"Auto resumed from the latest checkpoint (?P<path>.*)$",
        ("Auto resumed from the latest checkpoint /work_dirs/3dssd/epoch_81.pth.",),
        starts=("Auto resumed",),
    ),
    LinePattern(
        "load_checkpoint",
        "message",
        r"[Ll]oads? checkpoint (?:by \w+ backend )?from (?:local path: |path: )?(?P<path>.*)$",
        ("load checkpoint from local path: effnet_voc/latest.pth", "Load checkpoint from ./work_dirs/iter_400.pth"),
        starts=("load checkpoint", "Load checkpoint", "Loads checkpoint"),
    ),
    LinePattern(
        "advance_dataloader",
        "message",
        r"Advance dataloader (?P<steps>\d+) steps",
        ("Advance dataloader 400 steps",),
        starts=("Advance dataloader",),
    ),
    LinePattern(
        "epoch_wrap",
        "message",
        r"Reach the end of the dataloader",
        ("Reach the end of the dataloader, it will be restarted and continue to iterate.",),
        starts=("Reach the end of the dataloader",),
    ),
    LinePattern(
        "exp_name",
        "message",
        r"Exp name: (?P<name>.*?)\s*$",
        ("Exp name: internvl_v2_internlm2_2b_qlora_finetune_copy_20240827_063210",),
        starts=("Exp name:",),
    ),
    LinePattern(
        "work_dir",
        "message",
        r"Checkpoints will be saved to (?P<path>.*?)\.?\s*$",
        ("Checkpoints will be saved to /data/github/openmmlab/mmpretrain/projects/fruit30/exp.",),
        starts=("Checkpoints will be saved to",),
    ),
    LinePattern(
        "dataset_size",
        "message",
        r"(?:Num train samples (?P<n>\d+)|=+total (?P<n2>\d+) samples=+)\s*$",
        ("Num train samples 2000", "=======total 2000 samples======="),
        starts=("Num train samples", "=="),
    ),
    LinePattern(
        "config_start",
        "message",
        r"Config:\s*(?P<inline>.*)$",
        ("Config:", "Config:\ncheckpoint_config = dict(interval=1)"),
        starts=("Config:",),
        description="start of the Python config dump; the following bare lines are the config",
    ),
    LinePattern(
        "mmcv_env_start",
        "message",
        r"Environment info:\s*$",
        ("Environment info:",),
        starts=("Environment info",),
        description="mmcv 1.x run header (the env block follows as bare lines)",
    ),
    LinePattern(
        "distributed",
        "message",
        r"Distributed training: (?P<value>True|False)\s*$",
        ("Distributed training: True",),
        starts=("Distributed training:",),
    ),
    LinePattern(
        "copypaste",
        "message",
        r"(?P<name>\w+_mAP_copypaste): (?P<values>.*)$",
        ("bbox_mAP_copypaste: 0.383 0.428 0.428 0.000 0.000 0.531",),
        description="mmdet 3.x prints the copypaste line apart from the Epoch(val) summary",
    ),
)

MESSAGE_PATTERNS: tuple[LinePattern, ...] = (
    TRAIN_MMENGINE,
    EVAL_MMENGINE,
    TRAIN_MMCV_EPOCH,
    TRAIN_MMCV_ITER,
    EVAL_MMCV_EPOCH,
    EVAL_MMCV_ITER,
) + EVENT_PATTERNS

# --- bare layer: lines with no logger prefix ------------------------------------------------------
BARE_PATTERNS: tuple[LinePattern, ...] = (
    LinePattern(
        "system_env_start",
        "bare",
        r"System environment:\s*$",
        ("System environment:",),
        description="MMEngine run header (after a prefixed empty message and a dashed rule)",
    ),
    LinePattern("runtime_env_start", "bare", r"Runtime environment:\s*$", ("Runtime environment:",)),
    LinePattern(
        "traceback_start",
        "bare",
        r"Traceback \(most recent call last\):\s*$",
        ("Traceback (most recent call last):",),
    ),
    LinePattern(
        "rank_prefix",
        "bare",
        r"\[rank(?P<rank>\d+)\]:\s?(?P<rest>.*)$",
        ("[rank0]: Traceback (most recent call last):", "[rank0]:   File \"train.py\", line 3, in <module>"),
        description="torchrun prefixes every stderr line of a rank; the rest is classified again",
    ),
    LinePattern(
        "foreign_logger",
        "bare",
        r"\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+\] \[(?P<level>[A-Z]+)\] (?P<msg>.*)$",
        (
            "[2025-07-07 11:35:49,669] [INFO] [real_accelerator.py:222:get_accelerator] Setting ds_accelerator to "
            "cuda (auto detect)",
        ),
        description="DeepSpeed and other loggers that share the file",
    ),
    LinePattern(
        "progress_bar",
        "bare",
        r".*(?:\d+%\|.*\||\d+/\d+ \[[\d:<?]+|[\d.?]+\s?(?:it/s|s/it)\]|^\[[>= .]*\] \d+/\d+,)",
        (
            "Loading checkpoint shards:   0%|          | 0/2 [00:00<?, ?it/s]",
            "Map (num_proc=32): 100%|██████████| 2000/2000 [00:01<00:00, 1529.12 examples/s]",
            "[>>>>>>>>>>>>>>>>>>>>>>>>>>>>>] 500/500, 12.2 task/s, elapsed: 41s, ETA:     0s",
        ),
        description="tqdm / mmcv progress bars (often rewritten in place with bare CR)",
    ),
    LinePattern("nohup", "bare", r"nohup: ignoring input", ("nohup: ignoring input",)),
    LinePattern(
        "python_warning",
        "bare",
        r"(?:\S.*\.py:\d+: \w*Warning:|\s+warnings\.warn\()",
        (
            "/opt/conda/lib/python3.8/site-packages/mmcv/__init__.py:20: UserWarning: On January 1, 2023, MMCV "
            "will release v2.0.0",
            "  warnings.warn(",
        ),
    ),
    LinePattern(
        "launch",
        "bare",
        r"(?:Executing: |\+ |\$ |# )?(?P<command>(?:\S*/)?(?:python[\d.]*|torchrun|xtuner|mim|bash|sh|srun|deepspeed)"
        r"\s.*?(?:train|test).*)$",
        (
            "Executing: xtuner train ./configs/DeepSeek_R1_Distill_Qwen_7B/patient_lora64.py --deepspeed "
            "deepspeed_zero3",
            "# xtuner train ./internlm_chat_7b_qlora_oasst1_e3_copy.py --deepspeed deepspeed_zero2",
            "+ torchrun --nproc_per_node=4 tools/train.py configs/rtmdet.py --launcher pytorch",
            "# python tools/test.py rtmdet_tiny_ear.py  work_dirs/rtmdet_tiny_ear/best_coco_bbox_mAP_epoch_170.pth",
        ),
        description="a shell line that launches a training: starts a new run in wrapper-script output",
    ),
)

# Inside a traceback: the frames are indented; the first unindented line names the exception.
EXCEPTION_LINE = LinePattern(
    "exception_line",
    "bare",
    r"(?P<type>[A-Za-z_][\w.]*(?:Error|Exception|Exit|Interrupt|Warning|Fault|Failure|Found|Timeout)"
    r"|KeyError|StopIteration)(?::\s?(?P<message>.*))?$",
    (
        "torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 9.28 GiB.",
        "KeyError: './configs/DeepSeek_R1_Distill_Qwen_7B/patient_lora128.py'",
        "RuntimeError: CUDA error: an illegal memory access was encountered",
        "KeyboardInterrupt",
    ),
)

# Inside the System/Runtime environment blocks.
ENV_FIELD = LinePattern(
    "env_field",
    "bare",
    r"\s*(?P<key>[^:]+?):\s*(?P<value>.*)$",
    ("    GPU 0,1,2,3: NVIDIA A100-SXM4-80GB", "    Distributed launcher: pytorch", "    GPU number: 4",
     "sys.platform: linux"),
)
GPU_KEY = LinePattern("gpu_key", "bare", r"GPU (?P<ids>\d+(?:,\d+)*)$", ("GPU 0,1,2,3", "GPU 0"))

# --- fields layer ---------------------------------------------------------------------------------
ETA = LinePattern(
    "eta",
    "fields",
    r"(?:(?P<days>\d+) days?, )?(?P<h>\d+):(?P<m>\d\d):(?P<s>\d\d)(?:\.\d+)?$",
    ("0:11:24", "16:18:41", "1 day, 8:39:30", "18 days, 16:18:38"),
)
# mmcv separates fields with ", " which also appears inside an eta ("1 day, 8:39:30"); a piece
# without ": " belongs to the field before it.
MMCV_FIELD_SEPARATOR = ", "
MMENGINE_FIELD_SEPARATOR = "  "

ALL_PATTERNS: tuple[LinePattern, ...] = (
    PREFIX_PATTERNS + MESSAGE_PATTERNS + BARE_PATTERNS + (EXCEPTION_LINE, ENV_FIELD, GPU_KEY, ETA)
)

ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
