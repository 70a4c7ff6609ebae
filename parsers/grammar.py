"""The line grammar of MMEngine / mmcv logs, as data.

Each ``LinePattern`` names a regular expression, the layer it applies to and sample lines copied
from real logs (``../shared/real_logs``). Like an lnav format's samples, every sample states the
values the pattern must capture from it (``S(line, group=value, ...)``: every group that takes part
in the match, no other). ``tests/test_grammar.py`` checks every sample against its captures and that
no earlier pattern of the same layer takes it, so the order below is the order the parser tries them
in. Code never writes a regex or a literal of a log line anywhere else: the interpreter
(``text_log.py``) names the patterns and literals defined here.

Layers:
- ``prefix``: applied to a whole line; splits off timestamp, logger and level, leaving ``msg``.
- ``message``: applied to ``msg`` of a prefixed line, in order, after a ``starts`` literal check.
- ``bare``: applied to lines without a logger prefix (header blocks, tracebacks, foreign tools).
- ``fields``: pieces of the text after a train/val header.
- ``line``: the interpreter's shortcuts for the most common whole lines, composed from the
  ``prefix`` and ``message`` patterns above (a test checks they read what the two steps read).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType


class Sample(str):
    """A sample line (it is the line) with the values its pattern must capture from it."""

    captures: Mapping[str, str]

    def __new__(cls, line: str, **captures: str) -> Sample:
        sample = super().__new__(cls, line)
        sample.captures = MappingProxyType(captures)
        return sample


S = Sample


@dataclass(frozen=True)
class LinePattern:
    name: str
    layer: str
    regex: str
    samples: tuple[Sample, ...]
    # The message must start with one of these literals before the regex is tried (a cheap filter).
    starts: tuple[str, ...] = ()
    description: str = ""
    # The whole line (surrounding whitespace aside) is this literal; the regex says the same.
    literal: str = ""
    # Printed without the logger prefix too (a ``message`` pattern that is also tried on bare lines).
    unprefixed_too: bool = False
    compiled: re.Pattern = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "compiled", re.compile(self.regex))

    def match(self, text: str) -> re.Match | None:
        if self.starts and not text.startswith(self.starts):
            return None
        return self.compiled.match(text)


def whole_line(name: str, layer: str, literal: str, description: str = "") -> LinePattern:
    """A pattern for a line that is exactly ``literal`` (a section start such as ``Config:``)."""
    return LinePattern(name, layer, re.escape(literal) + r"\s*$", (S(literal),), description=description,
                       literal=literal)


_LEVEL = r"(?P<level>DEBUG|INFO|WARNING|ERROR|CRITICAL)"
# A prefix regex is its head (time stamp, logger, level) followed by the optional message.
_MMENGINE_HEAD = (r"(?:(?P<year>\d{4})/)?(?P<month>\d\d)/(?P<day>\d\d) (?P<hms>\d\d:\d\d:\d\d) "
                  r"- (?P<logger>[\w.\-]+) - " + _LEVEL + r" -")
_MSG_TAIL = r"(?: (?P<msg>.*))?$"

MMENGINE_PREFIX = LinePattern(
    "mmengine_prefix",
    "prefix",
    _MMENGINE_HEAD + _MSG_TAIL,
    (
        S("2024/08/27 06:33:10 - mmengine - INFO - Iter(train) [  10/2000]  lr: 1.5255e-06  eta: 2:04:46  "
          "time: 3.7622  data_time: 0.0285  memory: 39252  loss: 5.6116",
          year="2024", month="08", day="27", hms="06:33:10", logger="mmengine", level="INFO",
          msg="Iter(train) [  10/2000]  lr: 1.5255e-06  eta: 2:04:46  time: 3.7622  data_time: 0.0285  "
              "memory: 39252  loss: 5.6116"),
        S("07/07 11:47:18 - mmengine - WARNING - Reach the end of the dataloader, it will be restarted and "
          "continue to iterate.",
          month="07", day="07", hms="11:47:18", logger="mmengine", level="WARNING",
          msg="Reach the end of the dataloader, it will be restarted and continue to iterate."),
        S("07/07 11:35:57 - mmengine - INFO - ",
          month="07", day="07", hms="11:35:57", logger="mmengine", level="INFO", msg=""),
        S("06/04 00:27:13 - mmengine - INFO -", month="06", day="04", hms="00:27:13", logger="mmengine", level="INFO"),
    ),
    description="MMEngine runner file (with year) and console (no year) prefix",
)
MMCV_PREFIX = LinePattern(
    "mmcv_prefix",
    "prefix",
    r"(?P<date>\d{4}-\d\d-\d\d) (?P<hms>\d\d:\d\d:\d\d),(?P<ms>\d{3}) - (?P<logger>[\w.\-]+) - "
    + _LEVEL + r" -" + _MSG_TAIL,
    (
        S("2023-02-08 11:14:24,130 - mmdet - INFO - resumed epoch 4, iter 16556",
          date="2023-02-08", hms="11:14:24", ms="130", logger="mmdet", level="INFO", msg="resumed epoch 4, iter 16556"),
        S("2023-07-15 23:19:48,164 - mmseg - INFO - Iter [50/80000]\tlr: 1.999e-04, eta: 9:57:10, time: 0.448",
          date="2023-07-15", hms="23:19:48", ms="164", logger="mmseg", level="INFO",
          msg="Iter [50/80000]\tlr: 1.999e-04, eta: 9:57:10, time: 0.448"),
    ),
    description="mmcv 1.x logger prefix",
)
PREFIX_PATTERNS: tuple[LinePattern, ...] = (MMENGINE_PREFIX, MMCV_PREFIX)

# What a logger line of a level is, when no message pattern reads it.
LEVEL_EVENTS: Mapping[str, str] = MappingProxyType({"WARNING": "warning", "ERROR": "error", "CRITICAL": "error"})

# --- message layer ------------------------------------------------------------------------------
# Train / eval headers. ``fields`` is the rest of the line, split by ``split_fields``.
_TRAIN_HEAD = r"(?P<loop>Epoch|Iter)\(train\)\s*(?:\[\s*(?P<epoch>\d+)\])?\[\s*(?P<i>\d+)/(?P<n>\d+)\]\s+"
_EVAL_HEAD = r"(?P<loop>Epoch|Iter)\((?P<mode>val|test)\)\s*(?:\[\s*(?P<epoch>\d+)\])?\[\s*(?P<i>\d+)/(?P<n>\d+)\]\s*"
_FIELDS_TAIL = r"(?P<fields>.*)$"
# The field that holds MMEngine's / mmcv's own eta; a val/test line with it is a progress line.
ETA_KEY = "eta"

TRAIN_MMENGINE = LinePattern(
    "train_mmengine",
    "message",
    _TRAIN_HEAD + _FIELDS_TAIL,
    (
        S("Iter(train) [  10/3672]  lr: 1.6516e-06  eta: 16:25:19  time: 16.1440  data_time: 0.0123  memory: 12345  "
          "loss: 1.0",
          loop="Iter", i="10", n="3672",
          fields="lr: 1.6516e-06  eta: 16:25:19  time: 16.1440  data_time: 0.0123  memory: 12345  loss: 1.0"),
        S("Epoch(train) [1][ 10/381]  lr: 1.9986e-04  eta: 0:27:01  time: 1.4585  data_time: 0.0026  memory: 10428  "
          "loss: 1.1690",
          loop="Epoch", epoch="1", i="10", n="381",
          fields="lr: 1.9986e-04  eta: 0:27:01  time: 1.4585  data_time: 0.0026  memory: 10428  loss: 1.1690"),
        S("Epoch(train)  [82][50/86]  lr: 2.0000e-05  eta: 2:53:33  time: 1.2303  data_time: 0.6377  memory: 18906  "
          "grad_norm: 71.2818  loss: 24.2896",
          loop="Epoch", epoch="82", i="50", n="86",
          fields="lr: 2.0000e-05  eta: 2:53:33  time: 1.2303  data_time: 0.6377  memory: 18906  grad_norm: 71.2818  "
                 "loss: 24.2896"),
        S("Epoch(train)   [1][  1/120]  lr: 1.0000e-01  eta: 1 day, 8:39:30  time: 9.7984  data_time: 2.2010  "
          "memory: 2779  loss: 3.4476",
          loop="Epoch", epoch="1", i="1", n="120",
          fields="lr: 1.0000e-01  eta: 1 day, 8:39:30  time: 9.7984  data_time: 2.2010  memory: 2779  loss: 3.4476"),
        S("Iter(train) [ 8851/96000]  lr: 9.7918e-06  eta: 18 days, 16:18:38  time: 115.0463  data_time: 99.0316  "
          "memory: 54047  loss: 0.0018  tflops: 4.8280  tokens_per_sec: 142.4122",
          loop="Iter", i="8851", n="96000",
          fields="lr: 9.7918e-06  eta: 18 days, 16:18:38  time: 115.0463  data_time: 99.0316  memory: 54047  "
                 "loss: 0.0018  tflops: 4.8280  tokens_per_sec: 142.4122"),
    ),
    starts=("Epoch(train)", "Iter(train)"),
    description="MMEngine train line: Iter(train) [n/N] or Epoch(train) [e][i/n], any padding",
)
# Every MMEngine train line holds this: a cheap filter for runs of train lines.
TRAIN_MARK = "(train)"
EVAL_MMENGINE = LinePattern(
    "eval_mmengine",
    "message",
    _EVAL_HEAD + _FIELDS_TAIL,
    (
        S("Epoch(val)  [1][100/137]    eta: 0:00:01  time: 0.0451  data_time: 0.0015  memory: 1699  ",
          loop="Epoch", mode="val", epoch="1", i="100", n="137",
          fields="eta: 0:00:01  time: 0.0451  data_time: 0.0015  memory: 1699  "),
        S("Epoch(val) [5][3/3]    coco/bbox_mAP: 0.3830  coco/bbox_mAP_50: 0.4280  data_time: 0.1288  time: 0.1734",
          loop="Epoch", mode="val", epoch="5", i="3", n="3",
          fields="coco/bbox_mAP: 0.3830  coco/bbox_mAP_50: 0.4280  data_time: 0.1288  time: 0.1734"),
        S("Epoch(val) [10][6/6]    coco/AP: 0.000891  coco/AP .5: 0.002970  coco/AP (M): -1.000000  PCK: 0.317460",
          loop="Epoch", mode="val", epoch="10", i="6", n="6",
          fields="coco/AP: 0.000891  coco/AP .5: 0.002970  coco/AP (M): -1.000000  PCK: 0.317460"),
        S("Iter(val) [11/11]    aAcc: 83.8000  mIoU: 45.0000  mAcc: 56.8600  data_time: 0.0163  time: 0.1649",
          loop="Iter", mode="val", i="11", n="11",
          fields="aAcc: 83.8000  mIoU: 45.0000  mAcc: 56.8600  data_time: 0.0163  time: 0.1649"),
        S("Iter(val) [515/515]  aAcc: 98.9500  mIoU: 72.7400  mAcc: 73.9600",
          loop="Iter", mode="val", i="515", n="515", fields="aAcc: 98.9500  mIoU: 72.7400  mAcc: 73.9600"),
        S("Epoch(test) [ 1/11]    eta: 0:00:21  time: 2.1221  data_time: 0.6786  memory: 188",
          loop="Epoch", mode="test", i="1", n="11",
          fields="eta: 0:00:21  time: 2.1221  data_time: 0.6786  memory: 188"),
        S("Epoch(test) [11/11]    coco/bbox_mAP: 0.8170  coco/bbox_mAP_50: 0.9660",
          loop="Epoch", mode="test", i="11", n="11", fields="coco/bbox_mAP: 0.8170  coco/bbox_mAP_50: 0.9660"),
    ),
    starts=("Epoch(val)", "Epoch(test)", "Iter(val)", "Iter(test)"),
    description="MMEngine val/test progress (has eta) and summary (has metrics) lines",
)
TRAIN_MMCV_EPOCH = LinePattern(
    "train_mmcv_epoch",
    "message",
    r"Epoch \[(?P<epoch>\d+)\]\[(?P<i>\d+)/(?P<n>\d+)\]\s+" + _FIELDS_TAIL,
    (
        S("Epoch [1][50/7330]\tlr: 1.978e-05, eta: 1 day, 20:25:23, time: 1.819, data_time: 0.566, memory: 58712, "
          "loss: 4.7531",
          epoch="1", i="50", n="7330",
          fields="lr: 1.978e-05, eta: 1 day, 20:25:23, time: 1.819, data_time: 0.566, memory: 58712, loss: 4.7531"),
        S("Epoch [1][50/5455]     lr: 4.575e-04, eta: 6:27:11, time: 0.355, data_time: 0.044, memory: 2883",
          epoch="1", i="50", n="5455",
          fields="lr: 4.575e-04, eta: 6:27:11, time: 0.355, data_time: 0.044, memory: 2883"),
    ),
    starts=("Epoch [",),
    description="mmcv 1.x EpochBasedRunner train line (TAB, or spaces after copy/paste)",
)
TRAIN_MMCV_ITER = LinePattern(
    "train_mmcv_iter",
    "message",
    r"Iter \[(?P<i>\d+)/(?P<n>\d+)\]\s+" + _FIELDS_TAIL,
    (S("Iter [50/80000]\tlr: 1.999e-04, eta: 9:57:10, time: 0.448, data_time: 0.017, memory: 19980, loss: 2.5922",
       i="50", n="80000", fields="lr: 1.999e-04, eta: 9:57:10, time: 0.448, data_time: 0.017, memory: 19980, "
                                 "loss: 2.5922"),),
    starts=("Iter [",),
    description="mmcv 1.x IterBasedRunner train line",
)
EVAL_MMCV_EPOCH = LinePattern(
    "eval_mmcv_epoch",
    "message",
    r"Epoch\((?P<mode>val|test)\) \[(?P<epoch>\d+)\]\[(?P<n>\d+)\]\s+" + _FIELDS_TAIL,
    (
        S("Epoch(val) [5][2476]\tmAP: 0.8440, AP50: 0.8440", mode="val", epoch="5", n="2476",
          fields="mAP: 0.8440, AP50: 0.8440"),
        S("Epoch(val) [4][40]\tloss: 0.2243", mode="val", epoch="4", n="40", fields="loss: 0.2243"),
        S("Epoch(val) [1][13]\tbbox_mAP: 0.0908, bbox_mAP_copypaste: 0.0908 0.1390 0.0971 0.0029 0.1269 0.1279",
          mode="val", epoch="1", n="13",
          fields="bbox_mAP: 0.0908, bbox_mAP_copypaste: 0.0908 0.1390 0.0971 0.0029 0.1269 0.1279"),
    ),
    starts=("Epoch(val) [", "Epoch(test) ["),
    description="mmcv 1.x evaluation summary: [epoch][number of val iterations]",
)
EVAL_MMCV_ITER = LinePattern(
    "eval_mmcv_iter",
    "message",
    r"Iter\((?P<mode>val|test)\) \[(?P<n>\d+)\]\s+" + _FIELDS_TAIL,
    (S("Iter(val) [500]\taAcc: 0.9100, mIoU: 0.4012, mAcc: 0.5000",
       mode="val", n="500", fields="aAcc: 0.9100, mIoU: 0.4012, mAcc: 0.5000"),),
    starts=("Iter(val) [", "Iter(test) ["),
    description="mmcv 1.x IterBasedRunner evaluation summary",
)
RECORD_PATTERNS: tuple[LinePattern, ...] = (
    TRAIN_MMENGINE, EVAL_MMENGINE, TRAIN_MMCV_EPOCH, TRAIN_MMCV_ITER, EVAL_MMCV_EPOCH, EVAL_MMCV_ITER,
)
# A message that starts like a record is one: when no record pattern reads it, it is unparsed
# (a grammar gap to show), never taken for an event or free text.
RECORD_LIKE = LinePattern(
    "record_like",
    "message",
    r"(?:Epoch|Iter)(?:\(| \[)",
    (S("Epoch(train) [1][ 10/381]"), S("Iter(val) [500]"), S("Epoch [1][50/7330]"), S("Iter [50/80000]")),
    starts=("Epoch(", "Iter(", "Epoch [", "Iter ["),
    description="the start of every record pattern's message",
)

EVENT_PATTERNS: tuple[LinePattern, ...] = (
    LinePattern(
        "checkpoint",
        "message",
        r"Saving checkpoint at (?P<n>\d+) (?P<unit>(?P<iters>iterations)|epochs)",
        (S("Saving checkpoint at 500 iterations", n="500", unit="iterations", iters="iterations"),
         S("Saving checkpoint at 3 epochs", n="3", unit="epochs")),
        starts=("Saving checkpoint",),
        unprefixed_too=True,
    ),
    LinePattern(
        "best_checkpoint",
        "message",
        r"The best checkpoint with (?P<value>\S+) (?P<metric>.+?) at (?P<n>\d+) (?P<unit>epoch|iter)s? is saved to "
        r"(?P<path>.*?)\.?$",
        (S("The best checkpoint with 0.6498 accuracy/top1 at 1 epoch is saved to best_accuracy_top1_epoch_1.pth.",
           value="0.6498", metric="accuracy/top1", n="1", unit="epoch", path="best_accuracy_top1_epoch_1.pth"),),
        starts=("The best checkpoint",),
    ),
    LinePattern(
        "resume",
        "message",
        r"resumed epoch:? (?P<epoch>\d+), iter:? (?P<iter>\d+)",
        (S("resumed epoch: 81, iter: 6966", epoch="81", iter="6966"),
         S("resumed epoch 4, iter 16556", epoch="4", iter="16556")),
        starts=("resumed epoch",),
        unprefixed_too=True,
    ),
    LinePattern(
        "auto_resume",
        "message",
        r"Auto resumed from the latest checkpoint (?P<path>.*)$",
        (S("Auto resumed from the latest checkpoint /work_dirs/3dssd/epoch_81.pth.",
           path="/work_dirs/3dssd/epoch_81.pth."),),
        starts=("Auto resumed",),
        unprefixed_too=True,
    ),
    LinePattern(
        "load_checkpoint",
        "message",
        r"[Ll]oads? checkpoint (?:by \w+ backend )?from (?:local path: |path: )?(?P<path>.*)$",
        (S("load checkpoint from local path: effnet_voc/latest.pth", path="effnet_voc/latest.pth"),
         S("Load checkpoint from ./work_dirs/iter_400.pth", path="./work_dirs/iter_400.pth")),
        starts=("load checkpoint", "Load checkpoint", "Loads checkpoint"),
        unprefixed_too=True,
    ),
    LinePattern(
        "advance_dataloader",
        "message",
        r"Advance dataloader (?P<steps>\d+) steps",
        (S("Advance dataloader 400 steps", steps="400"),),
        starts=("Advance dataloader",),
    ),
    LinePattern(
        "epoch_wrap",
        "message",
        r"Reach the end of the dataloader",
        (S("Reach the end of the dataloader, it will be restarted and continue to iterate."),),
        starts=("Reach the end of the dataloader",),
    ),
    LinePattern(
        "exp_name",
        "message",
        r"Exp name: (?P<name>(?:.*\S)?)\s*$",
        (S("Exp name: internvl_v2_internlm2_2b_qlora_finetune_copy_20240827_063210",
           name="internvl_v2_internlm2_2b_qlora_finetune_copy_20240827_063210"),),
        starts=("Exp name:",),
    ),
    LinePattern(
        "work_dir",
        "message",
        # The path without trailing blanks and one final dot, found from the end (a lazy path followed by
        # ``\.?\s*$`` read every run of blanks once per character before it).
        r"Checkpoints will be saved to (?P<path>.*(?=\.\s*$)|(?:.*\S)?)\.?\s*$",
        (S("Checkpoints will be saved to /data/github/openmmlab/mmpretrain/projects/fruit30/exp.",
           path="/data/github/openmmlab/mmpretrain/projects/fruit30/exp"),),
        starts=("Checkpoints will be saved to",),
    ),
    LinePattern(
        "dataset_size",
        "message",
        r"(?:Num train samples (?P<n>\d+)|=+total (?P<n2>\d+) samples=+)\s*$",
        (S("Num train samples 2000", n="2000"), S("=======total 2000 samples=======", n2="2000")),
        starts=("Num train samples", "=="),
    ),
    LinePattern(
        "config_start",
        "message",
        r"Config:\s*(?P<inline>.*)$",
        (S("Config:", inline=""),
         S("Config:\ncheckpoint_config = dict(interval=1)", inline="checkpoint_config = dict(interval=1)")),
        starts=("Config:",),
        description="start of the Python config dump; the following bare lines are the config",
    ),
    LinePattern(
        "mmcv_env_start",
        "message",
        r"Environment info:\s*$",
        (S("Environment info:"),),
        starts=("Environment info",),
        description="mmcv 1.x run header (the env block follows as bare lines)",
    ),
    LinePattern(
        "distributed",
        "message",
        r"Distributed training: (?P<value>True|False)\s*$",
        (S("Distributed training: True", value="True"),),
        starts=("Distributed training:",),
    ),
    LinePattern(
        "copypaste",
        "message",
        r"(?P<name>\w+_mAP_copypaste): (?P<values>.*)$",
        (S("bbox_mAP_copypaste: 0.383 0.428 0.428 0.000 0.000 0.531",
           name="bbox_mAP_copypaste", values="0.383 0.428 0.428 0.000 0.000 0.531"),),
        description="mmdet 3.x prints the copypaste line apart from the Epoch(val) summary",
    ),
)

MESSAGE_PATTERNS: tuple[LinePattern, ...] = RECORD_PATTERNS + EVENT_PATTERNS
# Events that are also print()ed without the logger prefix (checkpoint loading, for one), in order.
UNPREFIXED_EVENT_PATTERNS: tuple[LinePattern, ...] = tuple(p for p in EVENT_PATTERNS if p.unprefixed_too)

# --- bare layer: lines with no logger prefix ------------------------------------------------------
SYSTEM_ENV_START = whole_line("system_env_start", "bare", "System environment:",
                              "MMEngine run header (after a prefixed empty message and a dashed rule)")
RUNTIME_ENV_START = whole_line("runtime_env_start", "bare", "Runtime environment:")
TRACEBACK_START = whole_line("traceback_start", "bare", "Traceback (most recent call last):")
RANK_PREFIX = LinePattern(
    "rank_prefix",
    "bare",
    r"\[rank(?P<rank>\d+)\]:\s?(?:\[rank\d+\]:\s?)*(?P<rest>.*)$",
    (S("[rank0]: Traceback (most recent call last):", rank="0", rest="Traceback (most recent call last):"),
     S("[rank0]:   File \"train.py\", line 3, in <module>", rank="0", rest="  File \"train.py\", line 3, in <module>")),
    starts=("[rank",),
    description="torchrun prefixes every stderr line of a rank (repeated prefixes go at once); the rest is "
                "classified again",
)
FOREIGN_LOGGER = LinePattern(
    "foreign_logger",
    "bare",
    r"\[(?P<year>\d{4})-\d\d-\d\d \d\d:\d\d:\d\d,\d+\] \[(?P<level>[A-Z]+)\] (?P<msg>.*)$",
    (
        S("[2025-07-07 11:35:49,669] [INFO] [real_accelerator.py:222:get_accelerator] Setting ds_accelerator to "
          "cuda (auto detect)",
          year="2025", level="INFO",
          msg="[real_accelerator.py:222:get_accelerator] Setting ds_accelerator to cuda (auto detect)"),
    ),
    description="DeepSpeed and other loggers that share the file",
)
PROGRESS_BAR = LinePattern(
    "progress_bar",
    "bare",
    # Linear in the line: each run of digits is tried from its first digit only (the look-behinds), so the
    # leading ``.*`` never restarts a scan inside a run (``\d+%`` on every suffix of 40k digits took 50 s).
    r".*(?:(?<!\d)\d+%\|[^|]*\||(?<!\d)\d+/\d+ \[[\d:<?]|(?<![\d.?])[\d.?]+\s?(?:it/s|s/it)\]"
    r"|^\[[>= .]*\] \d+/\d+,)",
    (
        S("Loading checkpoint shards:   0%|          | 0/2 [00:00<?, ?it/s]"),
        S("Map (num_proc=32): 100%|██████████| 2000/2000 [00:01<00:00, 1529.12 examples/s]"),
        S("[>>>>>>>>>>>>>>>>>>>>>>>>>>>>>] 500/500, 12.2 task/s, elapsed: 41s, ETA:     0s"),
    ),
    description="tqdm / mmcv progress bars (often rewritten in place with bare CR)",
)
NOHUP = LinePattern("nohup", "bare", r"nohup: ignoring input", (S("nohup: ignoring input"),))
PYTHON_WARNING = LinePattern(
    "python_warning",
    "bare",
    r"(?:\S.*\.py:\d+: \w*Warning:|\s+warnings\.warn\()",
    (
        S("/opt/conda/lib/python3.8/site-packages/mmcv/__init__.py:20: UserWarning: On January 1, 2023, MMCV "
          "will release v2.0.0"),
        S("  warnings.warn("),
    ),
)
LAUNCH = LinePattern(
    "launch",
    "bare",
    r"(?:Executing: |\+ |\$ |# )?(?P<command>(?:\S*/)?(?:python[\d.]*|torchrun|xtuner|mim|bash|sh|srun|deepspeed)"
    r"\s.*?(?:train|test).*)$",
    (
        S("Executing: xtuner train ./configs/DeepSeek_R1_Distill_Qwen_7B/patient_lora64.py --deepspeed "
          "deepspeed_zero3",
          command="xtuner train ./configs/DeepSeek_R1_Distill_Qwen_7B/patient_lora64.py --deepspeed deepspeed_zero3"),
        S("# xtuner train ./internlm_chat_7b_qlora_oasst1_e3_copy.py --deepspeed deepspeed_zero2",
          command="xtuner train ./internlm_chat_7b_qlora_oasst1_e3_copy.py --deepspeed deepspeed_zero2"),
        S("+ torchrun --nproc_per_node=4 tools/train.py configs/rtmdet.py --launcher pytorch",
          command="torchrun --nproc_per_node=4 tools/train.py configs/rtmdet.py --launcher pytorch"),
        S("# python tools/test.py rtmdet_tiny_ear.py  work_dirs/rtmdet_tiny_ear/best_coco_bbox_mAP_epoch_170.pth",
          command="python tools/test.py rtmdet_tiny_ear.py  "
                  "work_dirs/rtmdet_tiny_ear/best_coco_bbox_mAP_epoch_170.pth"),
    ),
    description="a shell line that launches a training: starts a new run in wrapper-script output",
)
BARE_PATTERNS: tuple[LinePattern, ...] = (
    SYSTEM_ENV_START, RUNTIME_ENV_START, TRACEBACK_START, RANK_PREFIX, FOREIGN_LOGGER, PROGRESS_BAR, NOHUP,
    PYTHON_WARNING, LAUNCH,
)

# Inside a traceback: the frames are indented, chained exceptions are joined by one of two sentences,
# and the first other line names the exception.
TRACEBACK_BODY = LinePattern(
    "traceback_body",
    "bare",
    r"(?:[ \t]|During handling|The above exception)",
    (
        S("  File \"/opt/conda/lib/python3.10/site-packages/torch/nn/modules/module.py\", line 1518, in "
          "_wrapped_call_impl"),
        S("\tres = self.run()"),
        S("During handling of the above exception, another exception occurred:"),
        S("The above exception was the direct cause of the following exception:"),
    ),
    starts=(" ", "\t", "During handling", "The above exception"),
    description="a frame or a chain sentence of an open traceback (blank lines belong to it too)",
)
EXCEPTION_LINE = LinePattern(
    "exception_line",
    "bare",
    r"(?P<type>[A-Za-z_][\w.]*(?:Error|Exception|Exit|Interrupt|Warning|Fault|Failure|Found|Timeout)"
    r"|KeyError|StopIteration)(?::\s?(?P<message>.*))?$",
    (
        S("torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 9.28 GiB.",
          type="torch.OutOfMemoryError", message="CUDA out of memory. Tried to allocate 9.28 GiB."),
        S("KeyError: './configs/DeepSeek_R1_Distill_Qwen_7B/patient_lora128.py'",
          type="KeyError", message="'./configs/DeepSeek_R1_Distill_Qwen_7B/patient_lora128.py'"),
        S("RuntimeError: CUDA error: an illegal memory access was encountered",
          type="RuntimeError", message="CUDA error: an illegal memory access was encountered"),
        S("KeyboardInterrupt", type="KeyboardInterrupt"),
    ),
)

# Inside the System/Runtime environment blocks.
ENV_FIELD = LinePattern(
    "env_field",
    "bare",
    # The key starts at its first non-blank character (or is one blank before the colon), so the leading
    # blanks are read once: ``\s*`` giving them back one by one to a key that may hold blanks, read to the
    # end each time, was quadratic in a line of blanks.
    r"\s*(?P<key>[^:\s][^:]*?|\s):\s*(?P<value>.*)$",
    (S("    GPU 0,1,2,3: NVIDIA A100-SXM4-80GB", key="GPU 0,1,2,3", value="NVIDIA A100-SXM4-80GB"),
     S("    Distributed launcher: pytorch", key="Distributed launcher", value="pytorch"),
     S("    GPU number: 4", key="GPU number", value="4"),
     S("sys.platform: linux", key="sys.platform", value="linux")),
)
GPU_KEY = LinePattern("gpu_key", "bare", r"GPU (?P<ids>\d+(?:,\d+)*)$", (S("GPU 0,1,2,3", ids="0,1,2,3"),
                                                                            S("GPU 0", ids="0")))
# The environment keys the header reads (``ENV_FIELD``'s key), with the header fact each one gives.
ENV_KEYS: Mapping[str, str] = MappingProxyType({
    "CUDA available": "cuda_available",
    "PyTorch": "pytorch_version",
    "MMEngine": "mmengine_version",
    "MMCV": "mmengine_version",
    "Distributed launcher": "launcher",
    "Distributed training": "distributed",
    "GPU number": "world_size",
})
# How Python prints a bool in these blocks and in ``Distributed training: True``.
TRUE = "True"

# --- fields layer ---------------------------------------------------------------------------------
ETA = LinePattern(
    "eta",
    "fields",
    r"(?:(?P<days>\d+) days?, )?(?P<h>\d+):(?P<m>\d\d):(?P<s>\d\d)(?:\.\d+)?$",
    (S("0:11:24", h="0", m="11", s="24"), S("16:18:41", h="16", m="18", s="41"),
     S("1 day, 8:39:30", days="1", h="8", m="39", s="30"), S("18 days, 16:18:38", days="18", h="16", m="18", s="38")),
)
# mmcv separates fields with ", " which also appears inside an eta ("1 day, 8:39:30"); a piece
# without ": " belongs to the field before it.
MMCV_FIELD_SEPARATOR = ", "
MMENGINE_FIELD_SEPARATOR = "  "

# --- line layer: the interpreter's shortcuts ------------------------------------------------------
MMENGINE_TRAIN_LINE = LinePattern(
    "mmengine_train_line",
    "line",
    _MMENGINE_HEAD + " " + TRAIN_MMENGINE.regex,
    (
        S("2024/08/27 06:33:10 - mmengine - INFO - Iter(train) [  10/2000]  lr: 1.5255e-06  eta: 2:04:46  "
          "time: 3.7622  data_time: 0.0285  memory: 39252  loss: 5.6116",
          year="2024", month="08", day="27", hms="06:33:10", logger="mmengine", level="INFO",
          loop="Iter", i="10", n="2000",
          fields="lr: 1.5255e-06  eta: 2:04:46  time: 3.7622  data_time: 0.0285  memory: 39252  loss: 5.6116"),
        S("07/07 11:47:34 - mmengine - INFO - Epoch(train)  [82][50/86]  lr: 2.0000e-05  eta: 2:53:33  "
          "grad_norm: 71.2818  loss: 24.2896",
          month="07", day="07", hms="11:47:34", logger="mmengine", level="INFO",
          loop="Epoch", epoch="82", i="50", n="86", fields="lr: 2.0000e-05  eta: 2:53:33  grad_norm: 71.2818  "
                                                          "loss: 24.2896"),
    ),
    description="an MMEngine prefix directly followed by a train line (the hot path)",
)
MMENGINE_EVAL_PROGRESS_LINE = LinePattern(
    "mmengine_eval_progress_line",
    "line",
    _MMENGINE_HEAD + " " + _EVAL_HEAD + re.escape(ETA_KEY) + ": ",
    (
        S("2023/06/05 21:39:05 - mmengine - INFO - Epoch(val)  [1][100/137]    eta: 0:00:01  time: 0.0451  "
          "data_time: 0.0015  memory: 1699  ",
          year="2023", month="06", day="05", hms="21:39:05", logger="mmengine", level="INFO",
          loop="Epoch", mode="val", epoch="1", i="100", n="137"),
        S("03/15 14:05:10 - mmengine - INFO - Iter(test) [ 20/500]    eta: 0:00:21  time: 2.1221",
          month="03", day="15", hms="14:05:10", logger="mmengine", level="INFO",
          loop="Iter", mode="test", i="20", n="500"),
    ),
    description="an MMEngine prefix directly followed by a val/test progress line (its fields start with the eta)",
)

ALL_PATTERNS: tuple[LinePattern, ...] = (
    PREFIX_PATTERNS + MESSAGE_PATTERNS + (RECORD_LIKE,) + BARE_PATTERNS
    + (TRACEBACK_BODY, EXCEPTION_LINE, ENV_FIELD, GPU_KEY, ETA, MMENGINE_TRAIN_LINE, MMENGINE_EVAL_PROGRESS_LINE)
)

ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
# Every ANSI escape starts with this character: a cheap filter before ``ANSI_ESCAPE``.
ESC = "\x1b"
