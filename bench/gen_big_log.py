"""Generate a big, realistic MMEngine text log for the parser benchmark.

    python bench/gen_big_log.py OUT [--lines 1000000] [--seed 0]

The output looks like the ``nohup`` capture of a sweep script that trained four models one after the
other (the shape of ``xtuner-nursingai-deepseek-lora64-multirun-oom.log`` in the corpus). Every line
shape is copied from ``../shared/real_logs``:

1. MMDetection 3.x Cascade R-CNN, ``Epoch(train) [e][i/n]``, ``s0.loss_cls``/``s1.acc``/... and
   ``grad_norm``; COCO evaluation blocks, ``bbox_mAP_copypaste``, ``Epoch(val)`` progress + summary.
2. MMSegmentation 1.x, ``Iter(train) [     n/N]`` with ``decode.loss_ce``/``aux.acc_seg``;
   ``Iter(val)`` progress, a 150-class ``per class results:`` table, summary.
3. MMPretrain 1.x ResNet-50, ``Epoch(train)   [e][  i/n]``, ``eta: 1 day, 8:39:30`` forms,
   ``accuracy/top1``, best-checkpoint lines, a weight-init block.
4. xtuner LLM SFT (year-less console timestamps), ``Iter(train)`` with ``tflops``/``tokens_per_sec``,
   ``eta: 18 days, ...``, DeepSpeed ``[2025-...] [INFO]`` lines, ``Reach the end of the dataloader``
   warnings, ``Sample output:`` multi-line blocks. This run is still training when the file ends
   (a live log), so ``iter_log_lines`` can continue it: the benchmark appends the next lines.

Each run starts with a launch line, python warnings, the MMEngine ``System environment`` /
``Runtime environment`` header, a ``Config:`` dump of ~150 lines and the hook table. Timestamps only
move forward. The output is a pure function of (lines, seed); ``--lines`` is exact.
"""

from __future__ import annotations

import argparse
import calendar
import datetime as _dt
import itertools
import math
import random
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

# Share of the line budget per run (the last run takes whatever is left).
SHARES = (0.22, 0.24, 0.14, 0.40)

T0 = float(calendar.timegm((2025, 3, 2, 21, 14, 7)))  # wall clock of the first line (rendered as UTC)


# -- formatting helpers --------------------------------------------------------------------------------
class Stamp:
    """Wall-clock strings for the prefixes; cached per second (many lines share one)."""

    def __init__(self, t: float) -> None:
        self.t = t
        self._sec = -1
        self._full = self._short = self._ds = ""

    def _refresh(self) -> None:
        sec = int(self.t)
        if sec != self._sec:
            self._sec = sec
            tm = time.gmtime(sec)
            self._full = time.strftime("%Y/%m/%d %H:%M:%S", tm)
            self._short = self._full[5:]
            self._ds = time.strftime("%Y-%m-%d %H:%M:%S", tm)

    def mm(self, level: str = "INFO", year: bool = True) -> str:
        self._refresh()
        return f"{self._full if year else self._short} - mmengine - {level} - "

    def deepspeed(self) -> str:
        self._refresh()
        return f"[{self._ds},{int((self.t % 1) * 1000):03d}] [INFO] "


def fmt_eta(seconds: float) -> str:
    """MMEngine: ``str(datetime.timedelta(seconds=int(eta)))`` -> ``1 day, 8:39:30``."""
    return str(_dt.timedelta(seconds=int(max(seconds, 0))))


def fmt_cfg(value, indent: int = 0, width: int = 79) -> str:
    """A yapf-like rendering of a config value, as in MMEngine's ``Config:`` dump."""
    flat = _flat(value)
    if len(flat) + indent <= width or not isinstance(value, (dict, list, tuple)):
        return flat
    pad = " " * (indent + 4)
    if isinstance(value, dict):
        items = [f"{pad}{k}={fmt_cfg(v, indent + 4 + len(k) + 1, width)}" for k, v in value.items()]
        return "dict(\n" + ",\n".join(items) + ")"
    items = [f"{pad}{fmt_cfg(v, indent + 4, width)}" for v in value]
    if isinstance(value, tuple):
        return "(\n" + ",\n".join(items) + ")"
    return "[\n" + ",\n".join(items) + "\n" + " " * indent + "]"


def _flat(value) -> str:
    if isinstance(value, dict):
        return "dict(" + ", ".join(f"{k}={_flat(v)}" for k, v in value.items()) + ")"
    if isinstance(value, list):
        return "[" + ", ".join(_flat(v) for v in value) + "]"
    if isinstance(value, tuple):
        return "(" + ", ".join(_flat(v) for v in value) + (", )" if len(value) == 1 else ")")
    return repr(value)


def config_dump(cfg: dict) -> list[str]:
    out: list[str] = []
    for k, v in cfg.items():
        out.extend(f"{k} = {fmt_cfg(v, 0)}".split("\n"))
    return out


# -- header blocks -------------------------------------------------------------------------------------
def system_env(rng: random.Random, gpus: str, py: str, torch: str, cuda: str, mmengine: str) -> list[str]:
    cu = cuda.replace(".", "")
    return [
        "",
        "------------------------------------------------------------",
        "System environment:",
        "    sys.platform: linux",
        f"    Python: {py} (main, May  6 2024, 19:42:50) [GCC 11.2.0]",
        "    CUDA available: True",
        "    MUSA available: False",
        f"    numpy_random_seed: {rng.randrange(1, 2**31)}",
        f"    GPU {gpus}",
        "    CUDA_HOME: /usr/local/cuda",
        f"    NVCC: Cuda compilation tools, release {cuda}, V{cuda}.140",
        "    GCC: gcc (Ubuntu 9.4.0-1ubuntu1~20.04.2) 9.4.0",
        f"    PyTorch: {torch}",
        "    PyTorch compiling details: PyTorch built with:",
        "  - GCC 9.3",
        "  - C++ Version: 201703",
        "  - Intel(R) oneAPI Math Kernel Library Version 2023.1-Product Build 20230303 for Intel(R) 64 architecture "
        "applications",
        "  - Intel(R) MKL-DNN v3.1.1 (Git Hash 64f6bcbcbab628e96f33a62c3e975f8535a7bde4)",
        "  - OpenMP 201511 (a.k.a. OpenMP 4.5)",
        "  - LAPACK is enabled (usually provided by MKL)",
        "  - NNPACK is enabled",
        "  - CPU capability usage: AVX512",
        f"  - CUDA Runtime {cuda}",
        "  - NVCC architecture flags: -gencode;arch=compute_50,code=sm_50;-gencode;arch=compute_60,code=sm_60;"
        "-gencode;arch=compute_70,code=sm_70;-gencode;arch=compute_75,code=sm_75;-gencode;arch=compute_80,"
        "code=sm_80;-gencode;arch=compute_86,code=sm_86;-gencode;arch=compute_90,code=sm_90",
        "  - CuDNN 8.9.2",
        "  - Magma 2.6.1",
        f"  - Build settings: BLAS_INFO=mkl, BUILD_TYPE=Release, CUDA_VERSION={cuda}, CUDNN_VERSION=8.9.2, "
        "CXX_COMPILER=/opt/rh/devtoolset-9/root/usr/bin/c++, CXX_FLAGS= -D_GLIBCXX_USE_CXX11_ABI=0 "
        "-fabi-version=11 -fvisibility-inlines-hidden -DUSE_PTHREADPOOL -DNDEBUG -DUSE_KINETO -O2 -fPIC -Wall, "
        f"LAPACK_INFO=mkl, PERF_WITH_AVX=1, PERF_WITH_AVX2=1, PERF_WITH_AVX512=1, TORCH_VERSION={torch}, "
        "USE_CUDA=ON, USE_CUDNN=ON, USE_MKL=ON, USE_MKLDNN=ON, USE_MPI=OFF, USE_NCCL=ON, USE_OPENMP=ON, ",
        "",
        f"    TorchVision: 0.16.2+cu{cu}",
        "    OpenCV: 4.10.0",
        f"    MMEngine: {mmengine}",
        "",
        "Runtime environment:",
        "    cudnn_benchmark: False",
        "    mp_cfg: {'mp_start_method': 'fork', 'opencv_num_threads': 0}",
        "    dist_cfg: {'backend': 'nccl'}",
        f"    seed: {rng.randrange(1, 2**31)}",
        "    deterministic: False",
        "    Distributed launcher: pytorch",
        "    Distributed training: True",
        f"    GPU number: {gpus.split(':')[0].count(',') + 1}",
        "------------------------------------------------------------",
        "",
    ]


HOOK_TABLE = [
    "before_run:", "(VERY_HIGH   ) RuntimeInfoHook                    ",
    "(BELOW_NORMAL) LoggerHook                         ", " -------------------- ",
    "before_train:", "(VERY_HIGH   ) RuntimeInfoHook                    ",
    "(NORMAL      ) IterTimerHook                      ", "(VERY_LOW    ) CheckpointHook                     ",
    " -------------------- ",
    "before_train_epoch:", "(VERY_HIGH   ) RuntimeInfoHook                    ",
    "(NORMAL      ) IterTimerHook                      ", "(NORMAL      ) DistSamplerSeedHook                ",
    " -------------------- ",
    "before_train_iter:", "(VERY_HIGH   ) RuntimeInfoHook                    ",
    "(NORMAL      ) IterTimerHook                      ", " -------------------- ",
    "after_train_iter:", "(VERY_HIGH   ) RuntimeInfoHook                    ",
    "(NORMAL      ) IterTimerHook                      ", "(BELOW_NORMAL) LoggerHook                         ",
    "(LOW         ) ParamSchedulerHook                 ", "(VERY_LOW    ) CheckpointHook                     ",
    " -------------------- ",
    "after_train_epoch:", "(NORMAL      ) IterTimerHook                      ",
    "(LOW         ) ParamSchedulerHook                 ", "(VERY_LOW    ) CheckpointHook                     ",
    " -------------------- ",
    "before_val_epoch:", "(NORMAL      ) IterTimerHook                      ", " -------------------- ",
    "after_val_epoch:", "(VERY_HIGH   ) RuntimeInfoHook                    ",
    "(NORMAL      ) IterTimerHook                      ", "(BELOW_NORMAL) LoggerHook                         ",
    "(LOW         ) ParamSchedulerHook                 ", "(VERY_LOW    ) CheckpointHook                     ",
    " -------------------- ",
    "after_train:", "(VERY_HIGH   ) RuntimeInfoHook                    ",
    "(VERY_LOW    ) CheckpointHook                     ", " -------------------- ",
]

COCO_AP = [
    " Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ] = {:.3f}",
    " Average Precision  (AP) @[ IoU=0.50      | area=   all | maxDets=1000 ] = {:.3f}",
    " Average Precision  (AP) @[ IoU=0.75      | area=   all | maxDets=1000 ] = {:.3f}",
    " Average Precision  (AP) @[ IoU=0.50:0.95 | area= small | maxDets=1000 ] = {:.3f}",
    " Average Precision  (AP) @[ IoU=0.50:0.95 | area=medium | maxDets=1000 ] = {:.3f}",
    " Average Precision  (AP) @[ IoU=0.50:0.95 | area= large | maxDets=1000 ] = {:.3f}",
    " Average Recall     (AR) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ] = {:.3f}",
    " Average Recall     (AR) @[ IoU=0.50:0.95 | area=   all | maxDets=300 ] = {:.3f}",
    " Average Recall     (AR) @[ IoU=0.50:0.95 | area=   all | maxDets=1000 ] = {:.3f}",
    " Average Recall     (AR) @[ IoU=0.50:0.95 | area= small | maxDets=1000 ] = {:.3f}",
    " Average Recall     (AR) @[ IoU=0.50:0.95 | area=medium | maxDets=1000 ] = {:.3f}",
    " Average Recall     (AR) @[ IoU=0.50:0.95 | area= large | maxDets=1000 ] = {:.3f}",
]

ADE_CLASSES = (
    "wall building sky floor tree ceiling road bed windowpane grass cabinet sidewalk person earth door table "
    "mountain plant curtain chair car water painting sofa shelf house sea mirror rug field armchair seat fence "
    "desk rock wardrobe lamp bathtub railing cushion base box column signboard chest_of_drawers counter sand "
    "sink skyscraper fireplace refrigerator grandstand path stairs runway case pool_table pillow screen_door "
    "stairway river bridge bookcase blind coffee_table toilet flower book hill bench countertop stove palm "
    "kitchen_island computer swivel_chair boat bar arcade_machine hovel bus towel light truck tower chandelier "
    "awning streetlight booth television_receiver airplane dirt_track apparel pole land bannister escalator "
    "ottoman bottle buffet poster stage van ship fountain conveyer_belt canopy washer plaything swimming_pool "
    "stool barrel basket waterfall tent bag minibike cradle oven ball food step tank trade_name microwave pot "
    "animal bicycle lake dishwasher screen blanket sculpture hood sconce vase traffic_light tray ashcan fan pier "
    "crt_screen plate monitor bulletin_board shower radiator glass clock flag"
).split()

SAMPLE_OUTPUT = [
    "<|im_start|>system",
    "You are a helpful medical assistant. Answer the nursing student's questions step by step, and say when a "
    "question needs a doctor.",
    "<|im_end|>",
    "<|im_start|>user",
    "A 67-year-old patient with chronic otitis media reports ear pain and dizziness since yesterday. "
    "What should I ask first?<|im_end|>",
    "<|im_start|>assistant",
    "First ask about the onset, duration and character of the pain, any discharge or hearing loss, fever, "
    "and whether the dizziness is rotatory. Then check current medication and allergies.<|im_end|>",
    "",
]

DEEPSPEED_START = [
    "[real_accelerator.py:222:get_accelerator] Setting ds_accelerator to cuda (auto detect)",
    "[logging.py:128:log_dist] [Rank -1] DeepSpeed info: version=0.16.2, git-hash=unknown, git-branch=unknown",
    "[comm.py:652:init_distributed] cdb=None",
    "[comm.py:683:init_distributed] Initializing TorchBackend in DeepSpeed with backend nccl",
    "[config.py:733:__init__] Config mesh_device None world_size = 8",
    "[logging.py:128:log_dist] [Rank 0] DeepSpeed Flops Profiler Enabled: False",
    "[logging.py:128:log_dist] [Rank 0] Using client Optimizer as basic optimizer",
    "[logging.py:128:log_dist] [Rank 0] Removing param_group that has no 'params' in the basic Optimizer",
    "[logging.py:128:log_dist] [Rank 0] DeepSpeed Basic Optimizer = AdamW",
    "[utils.py:59:is_zero_supported_optimizer] Checking ZeRO support for optimizer=AdamW type=<class "
    "'torch.optim.adamw.AdamW'>",
    "[logging.py:128:log_dist] [Rank 0] Creating torch.bfloat16 ZeRO stage 3 optimizer",
    "[utils.py:781:see_memory_usage] Stage 3 initialize beginning",
    "[utils.py:782:see_memory_usage] MA 5.47 GB         Max_MA 5.47 GB         CA 6.42 GB         Max_CA 6 GB ",
    "[utils.py:789:see_memory_usage] CPU Virtual Memory:  used = 292.27 GB, percent = 58.0%",
    "[stage3.py:168:__init__] Reduce bucket size 500000000",
    "[stage3.py:169:__init__] Prefetch bucket size 50000000",
    "[utils.py:781:see_memory_usage] After initializing ZeRO optimizer",
    "[utils.py:782:see_memory_usage] MA 7.31 GB         Max_MA 7.31 GB         CA 8.46 GB         Max_CA 8 GB ",
    "[logging.py:128:log_dist] [Rank 0] DeepSpeed Final Optimizer = DeepSpeedZeroOptimizer_Stage3",
    "[logging.py:128:log_dist] [Rank 0] DeepSpeed using configured LR scheduler = None",
    "[logging.py:128:log_dist] [Rank 0] step=0, skipped=0, lr=[0.0002], mom=[(0.9, 0.999)]",
    "[config.py:999:print] DeepSpeedEngine configuration:",
    "[config.py:1003:print]   bfloat16_enabled ............. True",
    "[config.py:1003:print]   gradient_accumulation_steps .. 4",
    "[config.py:1003:print]   gradient_clipping ............ 1.0",
    "[config.py:1003:print]   train_micro_batch_size_per_gpu  1",
    "[config.py:1003:print]   zero_optimization_stage ...... 3",
]

PY_WARNING = [
    "/opt/conda/lib/python3.10/site-packages/mmengine/utils/dl_utils/setup_env.py:56: UserWarning: Setting "
    "MKL_NUM_THREADS environment variable for each process to be 1 in default, to avoid your system being "
    "overloaded, please further tune the variable for optimal performance in your application as needed.",
    "  warnings.warn(",
]


# -- base config shared by the MMEngine runs ---------------------------------------------------------------
def base_config(interval: int, ckpt: dict, by_epoch: bool, scope: str) -> dict:
    return {
        "default_scope": scope,
        "default_hooks": {
            "timer": {"type": "IterTimerHook"},
            "logger": {"type": "LoggerHook", "interval": interval, "log_metric_by_epoch": by_epoch},
            "param_scheduler": {"type": "ParamSchedulerHook"},
            "checkpoint": {"type": "CheckpointHook", **ckpt},
            "sampler_seed": {"type": "DistSamplerSeedHook"},
            "visualization": {"type": "DetVisualizationHook" if scope == "mmdet" else "SegVisualizationHook"},
        },
        "env_cfg": {"cudnn_benchmark": False, "mp_cfg": {"mp_start_method": "fork", "opencv_num_threads": 0},
                    "dist_cfg": {"backend": "nccl"}},
        "vis_backends": [{"type": "LocalVisBackend"}, {"type": "TensorboardVisBackend"}],
        "visualizer": {"type": "DetLocalVisualizer" if scope == "mmdet" else "SegLocalVisualizer",
                       "vis_backends": [{"type": "LocalVisBackend"}, {"type": "TensorboardVisBackend"}],
                       "name": "visualizer"},
        "log_processor": {"type": "LogProcessor", "window_size": 50, "by_epoch": by_epoch},
        "log_level": "INFO",
        "load_from": None,
        "resume": False,
    }


# -- runs ----------------------------------------------------------------------------------------------------
class Run:
    """One training run: its header, then train lines with the hooks' lines interleaved."""

    year = True  # MMEngine runner log files carry the year; xtuner's console format does not

    def __init__(self, index: int, budget: int, seed: int, t: float, last: bool) -> None:
        self.rng = random.Random(f"mmdash-bench-{seed}-{index}")
        self.budget = budget
        self.last = last
        self.clock = Stamp(t)
        self.exp_name = ""

    # helpers
    def p(self, msg: str, level: str = "INFO") -> str:
        return self.clock.mm(level, self.year) + msg

    def tick(self, seconds: float) -> None:
        self.clock.t += seconds

    def noisy(self, x: float, rel: float) -> float:
        return x * (1.0 + rel * self.rng.gauss(0.0, 1.0))

    def header(self, launch: str | None, gpus: str, torch: str, cuda: str, mmengine: str, cfg: dict) -> Iterator[str]:
        if launch:
            yield launch
            yield from PY_WARNING
        yield self.p("")
        yield from system_env(self.rng, gpus, "3.10.14", torch, cuda, mmengine)[1:]
        self.tick(2.1)
        yield self.p("Config:")
        yield from config_dump(cfg)
        yield ""
        self.tick(0.4)
        yield self.p("Distributed training is not used, all SyncBatchNorm (SyncBN) layers in the model will be "
                     "automatically reverted to BatchNormXd layers if they are used.")
        yield self.p("Hooks will be executed in the following order:")
        yield from HOOK_TABLE
        self.tick(1.3)
        yield self.p('"FileClient" will be deprecated in future. Please use io functions in '
                     "https://mmengine.readthedocs.io/en/latest/api/fileio.html#file-io", "WARNING")
        yield self.p('"HardDiskBackend" is the alias of "LocalBackend" and the former will be deprecated in future.',
                     "WARNING")

    def lines(self) -> Iterator[str]:
        raise NotImplementedError


def cosine_lr(base: float, progress: float, warmup: float = 0.01) -> float:
    if progress < warmup:
        return base * (0.001 + 0.999 * progress / warmup)
    return 1e-6 + 0.5 * (base - 1e-6) * (1 + math.cos(math.pi * (progress - warmup) / (1 - warmup)))


class DetRun(Run):
    """MMDetection 3.x Cascade R-CNN, epoch-based, log interval 1 (every iteration is a line)."""

    def __init__(self, *a, **kw) -> None:
        super().__init__(*a, **kw)
        self.n = max(20, min(7330, self.budget // 14))  # iterations per epoch
        self.val_iters = max(5, self.n // 12)  # val progress lines per epoch
        per_epoch = self.n + self.val_iters + 25
        self.max_epochs = max(1, round((self.budget - 350) / per_epoch)) + (3 if self.last else 0)
        self.exp_name = "cascade-rcnn_r50_fpn_3x_coco_20250302_211407"

    def config(self) -> dict:
        cfg = base_config(1, {"interval": 1, "max_keep_ckpts": 3, "save_best": "coco/bbox_mAP"}, True, "mmdet")
        def stage(std: list[float]) -> dict:
            return {
                "type": "Shared2FCBBoxHead", "in_channels": 256, "fc_out_channels": 1024, "roi_feat_size": 7,
                "num_classes": 80,
                "bbox_coder": {"type": "DeltaXYWHBBoxCoder", "target_means": [0.0, 0.0, 0.0, 0.0],
                               "target_stds": std},
                "reg_class_agnostic": True,
                "loss_cls": {"type": "CrossEntropyLoss", "use_sigmoid": False, "loss_weight": 1.0},
                "loss_bbox": {"type": "SmoothL1Loss", "beta": 1.0, "loss_weight": 1.0}}

        cfg.update({
            "train_cfg": {"type": "EpochBasedTrainLoop", "max_epochs": self.max_epochs, "val_interval": 1},
            "val_cfg": {"type": "ValLoop"}, "test_cfg": {"type": "TestLoop"},
            "param_scheduler": [
                {"type": "LinearLR", "start_factor": 0.001, "by_epoch": False, "begin": 0, "end": 500},
                {"type": "MultiStepLR", "begin": 0, "end": self.max_epochs, "by_epoch": True,
                 "milestones": [max(1, self.max_epochs * 3 // 4), max(1, self.max_epochs * 11 // 12)],
                 "gamma": 0.1}],
            "optim_wrapper": {"type": "OptimWrapper",
                              "optimizer": {"type": "SGD", "lr": 0.02, "momentum": 0.9, "weight_decay": 0.0001},
                              "clip_grad": {"max_norm": 35, "norm_type": 2}},
            "auto_scale_lr": {"enable": False, "base_batch_size": 16},
            "dataset_type": "CocoDataset", "data_root": "data/coco/", "backend_args": None,
            "train_dataloader": {
                "batch_size": 2, "num_workers": 2, "persistent_workers": True,
                "sampler": {"type": "DefaultSampler", "shuffle": True},
                "batch_sampler": {"type": "AspectRatioBatchSampler"},
                "dataset": {"type": "CocoDataset", "data_root": "data/coco/",
                            "ann_file": "annotations/instances_train2017.json",
                            "data_prefix": {"img": "train2017/"},
                            "filter_cfg": {"filter_empty_gt": True, "min_size": 32},
                            "pipeline": [{"type": "LoadImageFromFile", "backend_args": None},
                                         {"type": "LoadAnnotations", "with_bbox": True},
                                         {"type": "Resize", "scale": (1333, 800), "keep_ratio": True},
                                         {"type": "RandomFlip", "prob": 0.5}, {"type": "PackDetInputs"}],
                            "backend_args": None}},
            "val_dataloader": {
                "batch_size": 1, "num_workers": 2, "persistent_workers": True, "drop_last": False,
                "sampler": {"type": "DefaultSampler", "shuffle": False},
                "dataset": {"type": "CocoDataset", "data_root": "data/coco/",
                            "ann_file": "annotations/instances_val2017.json", "data_prefix": {"img": "val2017/"},
                            "test_mode": True,
                            "pipeline": [{"type": "LoadImageFromFile", "backend_args": None},
                                         {"type": "Resize", "scale": (1333, 800), "keep_ratio": True},
                                         {"type": "LoadAnnotations", "with_bbox": True},
                                         {"type": "PackDetInputs", "meta_keys": (
                                             "img_id", "img_path", "ori_shape", "img_shape", "scale_factor")}],
                            "backend_args": None}},
            "val_evaluator": {"type": "CocoMetric", "ann_file": "data/coco/annotations/instances_val2017.json",
                              "metric": "bbox", "format_only": False, "backend_args": None},
            "model": {
                "type": "CascadeRCNN",
                "data_preprocessor": {"type": "DetDataPreprocessor", "mean": [123.675, 116.28, 103.53],
                                      "std": [58.395, 57.12, 57.375], "bgr_to_rgb": True, "pad_size_divisor": 32},
                "backbone": {"type": "ResNet", "depth": 50, "num_stages": 4, "out_indices": (0, 1, 2, 3),
                             "frozen_stages": 1, "norm_cfg": {"type": "BN", "requires_grad": True},
                             "norm_eval": True, "style": "pytorch",
                             "init_cfg": {"type": "Pretrained", "checkpoint": "torchvision://resnet50"}},
                "neck": {"type": "FPN", "in_channels": [256, 512, 1024, 2048], "out_channels": 256, "num_outs": 5},
                "rpn_head": {"type": "RPNHead", "in_channels": 256, "feat_channels": 256,
                             "anchor_generator": {"type": "AnchorGenerator", "scales": [8], "ratios": [0.5, 1.0, 2.0],
                                                  "strides": [4, 8, 16, 32, 64]},
                             "loss_cls": {"type": "CrossEntropyLoss", "use_sigmoid": True, "loss_weight": 1.0},
                             "loss_bbox": {"type": "SmoothL1Loss", "beta": 0.1111111111111111, "loss_weight": 1.0}},
                "roi_head": {"type": "CascadeRoIHead", "num_stages": 3, "stage_loss_weights": [1, 0.5, 0.25],
                             "bbox_head": [stage([0.1, 0.1, 0.2, 0.2]), stage([0.05, 0.05, 0.1, 0.1]),
                                           stage([0.033, 0.033, 0.067, 0.067])]}},
            "work_dir": "./work_dirs/cascade-rcnn_r50_fpn_3x_coco",
            "launcher": "pytorch",
        })
        return cfg

    def lines(self) -> Iterator[str]:
        rng, n = self.rng, self.n
        yield from self.header("+ torchrun --nproc_per_node=8 tools/train.py "
                               "configs/cascade_rcnn/cascade-rcnn_r50_fpn_3x_coco.py --launcher pytorch",
                               "0,1,2,3,4,5,6,7: NVIDIA A100-SXM4-80GB", "2.1.2", "12.1", "0.10.4", self.config())
        yield self.p("Checkpoints will be saved to /mnt/work_dirs/cascade-rcnn_r50_fpn_3x_coco.")
        max_iters = self.max_epochs * n
        width = len(f"[{self.max_epochs}]")
        iw = len(str(n))
        mem = 5821
        step_time = 0.52
        done = 0
        for epoch in range(1, self.max_epochs + 1):
            tag = f"Epoch(train) {f'[{epoch}]':>{width}}["
            for i in range(1, n + 1):
                done += 1
                progress = done / max_iters
                t = self.noisy(step_time, 0.06)
                self.tick(t)
                lr = 0.02 * min(1.0, 0.001 + done / 500) * (0.1 if progress > 0.75 else 1) * (
                    0.1 if progress > 11 / 12 else 1)
                decay = 0.45 + 0.55 * math.exp(-6 * progress)
                rpn_c, rpn_b = self.noisy(0.06 * decay, 0.2), self.noisy(0.05 * decay, 0.2)
                s = [(self.noisy(0.32 * decay / (1 + k), 0.12), min(99.99, self.noisy(88 + 3 * k + 6 * progress,
                                                                                      0.01)),
                      self.noisy(0.24 * decay / (1 + k), 0.1)) for k in range(3)]
                loss = rpn_c + rpn_b + sum(c + b for c, _, b in s)
                if done % 997 == 0:
                    mem = min(9800, mem + rng.randrange(0, 40))
                yield (
                    f"{self.p(tag)}{i:>{iw}}/{n}]  lr: {lr:.4e}  eta: {fmt_eta((max_iters - done) * step_time)}  "
                    f"time: {t:.4f}  data_time: {self.noisy(0.012, 0.3):.4f}  memory: {mem}  "
                    f"grad_norm: {self.noisy(6.5 * decay, 0.25):.4f}  loss: {loss:.4f}  loss_rpn_cls: {rpn_c:.4f}  "
                    f"loss_rpn_bbox: {rpn_b:.4f}  "
                    + "  ".join(f"s{k}.loss_cls: {c:.4f}  s{k}.acc: {a:.4f}  s{k}.loss_bbox: {b:.4f}"
                                for k, (c, a, b) in enumerate(s))
                )
                if done % 1000 == 0 and i != n:
                    yield self.p(f"Exp name: {self.exp_name}")
            yield self.p(f"Exp name: {self.exp_name}")
            yield self.p(f"Saving checkpoint at {epoch} epochs")
            self.tick(9.5)
            yield from self.evaluate(epoch, progress)

    def evaluate(self, epoch: int, progress: float) -> Iterator[str]:
        m = self.val_iters
        width = len(f"[{self.max_epochs}]")
        mw = len(str(m))
        for j in range(1, m + 1):
            t = self.noisy(0.085, 0.05)
            self.tick(t)
            yield (f"{self.p('Epoch(val)')} {f'[{epoch}]':>{width}}[{j:>{mw}}/{m}]    "
                   f"eta: {fmt_eta((m - j) * 0.085)}  time: {t:.4f}  data_time: {self.noisy(0.004, 0.2):.4f}  "
                   f"memory: 1105  ")
        yield self.p("Evaluating bbox...")
        self.tick(31.0)
        ap = 0.12 + 0.30 * (1 - math.exp(-4 * progress))
        vals = [ap, ap * 1.45, ap * 1.1, ap * 0.55, ap * 1.08, ap * 1.3, ap * 1.4, ap * 1.4, ap * 1.4,
                ap * 0.8, ap * 1.5, ap * 1.7]
        yield self.p("")
        yield from (line.format(min(v, 0.999)) for line, v in zip(COCO_AP, vals))
        yield ""
        yield self.p("bbox_mAP_copypaste: " + " ".join(f"{min(v, 0.999):.3f}" for v in vals[:6]))
        names = ["bbox_mAP", "bbox_mAP_50", "bbox_mAP_75", "bbox_mAP_s", "bbox_mAP_m", "bbox_mAP_l"]
        yield (f"{self.p('Epoch(val)')} [{epoch}][{m}/{m}]    "
               + "  ".join(f"coco/{k}: {min(v, 0.999):.4f}" for k, v in zip(names, vals))
               + f"  data_time: {self.noisy(0.004, 0.2):.4f}  time: {self.noisy(0.085, 0.05):.4f}")
        if epoch % 4 == 0:
            yield self.p(f"The best checkpoint with {ap:.4f} coco/bbox_mAP at {epoch} epoch is saved to "
                         f"best_coco_bbox_mAP_epoch_{epoch}.pth.")


class SegRun(Run):
    """MMSegmentation 1.x, iteration-based, log interval 1, 150-class ADE20K validation tables."""

    def __init__(self, *a, **kw) -> None:
        super().__init__(*a, **kw)
        self.val_iters = 250 if self.budget > 40000 else 10
        self.val_interval = max(100, self.budget // 8)
        self.max_iters = max(200, int(self.budget * 0.96)) + (self.budget if self.last else 0)
        self.exp_name = "upernet_r50_4xb4-160k_ade20k-512x512_20250303"

    def config(self) -> dict:
        cfg = base_config(1, {"by_epoch": False, "interval": self.val_interval}, False, "mmseg")
        norm = {"type": "SyncBN", "requires_grad": True}
        cfg.update({
            "norm_cfg": norm,
            "data_preprocessor": {"type": "SegDataPreProcessor", "mean": [123.675, 116.28, 103.53],
                                  "std": [58.395, 57.12, 57.375], "bgr_to_rgb": True, "pad_val": 0,
                                  "seg_pad_val": 255, "size": (512, 512)},
            "model": {
                "type": "EncoderDecoder",
                "backbone": {"type": "ResNetV1c", "depth": 50, "num_stages": 4, "out_indices": (0, 1, 2, 3),
                             "dilations": (1, 1, 1, 1), "strides": (1, 2, 2, 2), "norm_cfg": norm,
                             "norm_eval": False, "style": "pytorch", "contract_dilation": True},
                "decode_head": {"type": "UPerHead", "in_channels": [256, 512, 1024, 2048], "in_index": [0, 1, 2, 3],
                                "pool_scales": (1, 2, 3, 6), "channels": 512, "dropout_ratio": 0.1,
                                "num_classes": 150, "norm_cfg": norm, "align_corners": False,
                                "loss_decode": {"type": "CrossEntropyLoss", "use_sigmoid": False,
                                                "loss_weight": 1.0}},
                "auxiliary_head": {"type": "FCNHead", "in_channels": 1024, "in_index": 2, "channels": 256,
                                   "num_convs": 1, "concat_input": False, "dropout_ratio": 0.1,
                                   "num_classes": 150, "norm_cfg": norm, "align_corners": False,
                                   "loss_decode": {"type": "CrossEntropyLoss", "use_sigmoid": False,
                                                   "loss_weight": 0.4}},
                "train_cfg": {}, "test_cfg": {"mode": "whole"}},
            "dataset_type": "ADE20KDataset", "data_root": "data/ade/ADEChallengeData2016", "crop_size": (512, 512),
            "train_pipeline": [
                {"type": "LoadImageFromFile"}, {"type": "LoadAnnotations", "reduce_zero_label": True},
                {"type": "RandomResize", "scale": (2048, 512), "ratio_range": (0.5, 2.0), "keep_ratio": True},
                {"type": "RandomCrop", "crop_size": (512, 512), "cat_max_ratio": 0.75},
                {"type": "RandomFlip", "prob": 0.5}, {"type": "PhotoMetricDistortion"}, {"type": "PackSegInputs"}],
            "train_dataloader": {"batch_size": 4, "num_workers": 4, "persistent_workers": True,
                                 "sampler": {"type": "InfiniteSampler", "shuffle": True},
                                 "dataset": {"type": "ADE20KDataset", "data_root": "data/ade/ADEChallengeData2016",
                                             "data_prefix": {"img_path": "images/training",
                                                             "seg_map_path": "annotations/training"}}},
            "val_dataloader": {"batch_size": 1, "num_workers": 4, "persistent_workers": True,
                               "sampler": {"type": "DefaultSampler", "shuffle": False},
                               "dataset": {"type": "ADE20KDataset", "data_root": "data/ade/ADEChallengeData2016",
                                           "data_prefix": {"img_path": "images/validation",
                                                           "seg_map_path": "annotations/validation"}}},
            "val_evaluator": {"type": "IoUMetric", "iou_metrics": ["mIoU"]},
            "optim_wrapper": {"type": "OptimWrapper",
                              "optimizer": {"type": "SGD", "lr": 0.01, "momentum": 0.9, "weight_decay": 0.0005},
                              "clip_grad": None},
            "param_scheduler": [{"type": "PolyLR", "eta_min": 0.0001, "power": 0.9, "begin": 0,
                                 "end": self.max_iters, "by_epoch": False}],
            "train_cfg": {"type": "IterBasedTrainLoop", "max_iters": self.max_iters,
                          "val_interval": self.val_interval},
            "val_cfg": {"type": "ValLoop"}, "test_cfg": {"type": "TestLoop"},
            "work_dir": "./work_dirs/upernet_r50_4xb4-160k_ade20k-512x512",
            "launcher": "pytorch",
        })
        return cfg

    def lines(self) -> Iterator[str]:
        yield from self.header("+ bash tools/dist_train.sh configs/upernet/upernet_r50_4xb4-160k_ade20k-512x512.py 4",
                               "0,1,2,3: NVIDIA GeForce RTX 4090", "2.0.1", "11.8", "0.10.1", self.config())
        yield self.p("Checkpoints will be saved to /mnt/work_dirs/upernet_r50_4xb4-160k_ade20k-512x512.")
        N = self.max_iters
        w = len(str(N))
        step = 0.41
        mem = 6913
        for it in range(1, N + 1):
            progress = it / N
            t = self.noisy(step, 0.05)
            self.tick(t)
            lr = max(1e-4, 0.01 * (1 - progress) ** 0.9)
            decay = 0.35 + 0.65 * math.exp(-5 * progress)
            ce = self.noisy(1.1 * decay, 0.15)
            aux = self.noisy(0.45 * decay, 0.15)
            yield (f"{self.p('Iter(train) [')}{it:>{w}}/{N}]  lr: {lr:.4e}  eta: {fmt_eta((N - it) * step)}  "
                   f"time: {t:.4f}  data_time: {self.noisy(0.0061, 0.2):.4f}  memory: {mem}  "
                   f"grad_norm: {self.noisy(4.2 * decay, 0.3):.4f}  loss: {ce + aux:.4f}  "
                   f"decode.loss_ce: {ce:.4f}  decode.acc_seg: {min(99.99, self.noisy(62 + 25 * progress, 0.05)):.4f}"
                   f"  aux.loss_ce: {aux:.4f}  aux.acc_seg: {min(99.99, self.noisy(55 + 25 * progress, 0.06)):.4f}")
            if it % 1000 == 0:
                yield self.p(f"Exp name: {self.exp_name}")
            if it % self.val_interval == 0:
                yield self.p(f"Saving checkpoint at {it} iterations")
                self.tick(4.0)
                yield from self.evaluate(progress)

    def evaluate(self, progress: float) -> Iterator[str]:
        m = self.val_iters
        mw = len(str(m))
        for j in range(1, m + 1):
            t = self.noisy(0.031, 0.05)
            self.tick(t)
            yield (f"{self.p('Iter(val)')} [{j:>{mw}}/{m}]    eta: {fmt_eta((m - j) * 0.031)}  time: {t:.4f}  "
                   f"data_time: {self.noisy(0.0021, 0.1):.4f}  memory: 1017  ")
        yield self.p("per class results:")
        yield self.p("")
        rule = "+---------------------+-------+-------+"
        yield rule
        yield "|        Class        |  IoU  |  Acc  |"
        yield rule
        base = 20 + 25 * (1 - math.exp(-4 * progress))
        ious = []
        for name in ADE_CLASSES:
            iou = max(0.0, min(99.0, self.rng.gauss(base, 15)))
            ious.append(iou)
            yield f"| {name:^19} | {iou:5.2f} | {min(99.5, iou * 1.25):5.2f} |"
        yield rule
        miou = sum(ious) / len(ious)
        yield (f"{self.p('Iter(val)')} [{m}/{m}]    aAcc: {min(99.0, 70 + miou / 3):.4f}  mIoU: {miou:.4f}  "
               f"mAcc: {min(99.0, miou * 1.25):.4f}  data_time: {self.noisy(0.0021, 0.1):.4f}  "
               f"time: {self.noisy(0.031, 0.05):.4f}")


class ClsRun(Run):
    """MMPretrain 1.x ResNet-50, epoch-based, log interval 1; etas like ``1 day, 8:39:30``."""

    def __init__(self, *a, **kw) -> None:
        super().__init__(*a, **kw)
        self.n = max(20, min(5005, self.budget // 12))
        self.val_iters = max(5, self.n // 25)
        self.max_epochs = max(1, round((self.budget - 400) / (self.n + self.val_iters + 6))) + (
            3 if self.last else 0)

    def config(self) -> dict:
        cfg = base_config(1, {"interval": 1, "max_keep_ckpts": 2, "save_best": "auto"}, True, "mmpretrain")
        cfg["default_hooks"]["visualization"] = {"type": "VisualizationHook", "enable": False}
        cfg["visualizer"] = {"type": "UniversalVisualizer", "vis_backends": [{"type": "LocalVisBackend"}]}
        cfg.update({
            "model": {"type": "ImageClassifier",
                      "backbone": {"type": "ResNet", "depth": 50, "num_stages": 4, "out_indices": (3,),
                                   "style": "pytorch"},
                      "neck": {"type": "GlobalAveragePooling"},
                      "head": {"type": "LinearClsHead", "num_classes": 1000, "in_channels": 2048,
                               "loss": {"type": "CrossEntropyLoss", "loss_weight": 1.0}, "topk": (1, 5)}},
            "dataset_type": "ImageNet",
            "data_preprocessor": {"num_classes": 1000, "mean": [123.675, 116.28, 103.53],
                                  "std": [58.395, 57.12, 57.375], "to_rgb": True},
            "train_pipeline": [{"type": "LoadImageFromFile"}, {"type": "RandomResizedCrop", "scale": 224},
                               {"type": "RandomFlip", "prob": 0.5, "direction": "horizontal"},
                               {"type": "PackInputs"}],
            "test_pipeline": [{"type": "LoadImageFromFile"}, {"type": "ResizeEdge", "scale": 256, "edge": "short"},
                              {"type": "CenterCrop", "crop_size": 224}, {"type": "PackInputs"}],
            "train_dataloader": {"batch_size": 32, "num_workers": 5,
                                 "dataset": {"type": "ImageNet", "data_root": "data/imagenet", "split": "train",
                                             "pipeline": [{"type": "LoadImageFromFile"},
                                                          {"type": "RandomResizedCrop", "scale": 224},
                                                          {"type": "RandomFlip", "prob": 0.5,
                                                           "direction": "horizontal"},
                                                          {"type": "PackInputs"}]},
                                 "sampler": {"type": "DefaultSampler", "shuffle": True}},
            "val_dataloader": {"batch_size": 32, "num_workers": 5,
                               "dataset": {"type": "ImageNet", "data_root": "data/imagenet", "split": "val"},
                               "sampler": {"type": "DefaultSampler", "shuffle": False}},
            "val_evaluator": {"type": "Accuracy", "topk": (1, 5)},
            "optim_wrapper": {"optimizer": {"type": "SGD", "lr": 0.1, "momentum": 0.9, "weight_decay": 0.0001}},
            "param_scheduler": {"type": "MultiStepLR", "by_epoch": True, "milestones": [30, 60, 90],
                                "gamma": 0.1},
            "train_cfg": {"by_epoch": True, "max_epochs": self.max_epochs, "val_interval": 1},
            "val_cfg": {}, "test_cfg": {},
            "auto_scale_lr": {"base_batch_size": 256},
            "work_dir": "./work_dirs/resnet50_8xb32_in1k",
            "launcher": "pytorch",
        })
        return cfg

    def lines(self) -> Iterator[str]:
        yield from self.header("+ bash tools/dist_train.sh configs/resnet/resnet50_8xb32_in1k.py 8",
                               "0,1,2,3,4,5,6,7: NVIDIA GeForce RTX 3090", "1.13.1+cu117", "11.7", "0.7.4",
                               self.config())
        # A short piece of the weight-init report (a multi-line message of bare lines).
        yield self.p("")
        for name, shape in (("backbone.conv1.weight", "[64, 3, 7, 7]"), ("backbone.bn1.weight", "[64]"),
                            ("backbone.layer1.0.conv1.weight", "[64, 64, 1, 1]"),
                            ("backbone.layer1.0.bn1.weight", "[64]"), ("head.fc.weight", "[1000, 2048]")):
            yield f"{name} - torch.Size({shape}): "
            yield "KaimingInit: a=0, mode=fan_out, nonlinearity=relu, distribution =normal, bias=0 "
            yield ""
        yield self.p("Checkpoints will be saved to /data/run01/mmpretrain/work_dirs/resnet50_8xb32_in1k.")
        n = self.n
        E = self.max_epochs
        max_iters = n * E
        width = len(f"[{E}]")
        iw = len(str(n))
        best = 0.0
        done = 0
        step = 0.31
        for epoch in range(1, E + 1):
            tag = f"Epoch(train) {f'[{epoch}]':>{width}}["
            for i in range(1, n + 1):
                done += 1
                # The first iterations are slow (data loading warms up): the eta starts above a day.
                t = self.noisy(step, 0.04) if done > 3 else 9.8 / done
                self.tick(t)
                avg = step if done > 20 else (9.8 + step * done) / (done + 1)
                lr = 0.1 * 0.1 ** (epoch > E * 0.3) * 0.1 ** (epoch > E * 0.6) * 0.1 ** (epoch > E * 0.9)
                loss = self.noisy(0.9 + 6.0 * math.exp(-3 * done / max_iters), 0.08)
                yield (f"{self.p(tag)}{i:>{iw}}/{n}]  lr: {lr:.4e}  eta: {fmt_eta((max_iters - done) * avg)}  "
                       f"time: {t:.4f}  data_time: {self.noisy(0.021, 0.2):.4f}  memory: 8211  loss: {loss:.4f}")
                if done % 1000 == 0 and i != n:
                    yield self.p("Exp name: resnet50_8xb32_in1k_20250304_081212")
            yield self.p("Exp name: resnet50_8xb32_in1k_20250304_081212")
            yield self.p(f"Saving checkpoint at {epoch} epochs")
            m = self.val_iters
            mw = len(str(m))
            for j in range(1, m + 1):
                t = self.noisy(0.2, 0.05)
                self.tick(t)
                yield (f"{self.p('Epoch(val)')} {f'[{epoch}]':>{width}}[{j:>{mw}}/{m}]    "
                       f"eta: {fmt_eta((m - j) * 0.2)}  time: {t:.4f}  data_time: {self.noisy(0.1, 0.1):.4f}  "
                       f"memory: 613  ")
            top1 = 76.5 * (1 - math.exp(-4 * done / max_iters)) + self.rng.gauss(0, 0.4)
            yield (f"{self.p('Epoch(val)')} [{epoch}][{m}/{m}]    accuracy/top1: {top1:.4f}  "
                   f"accuracy/top5: {min(99.9, top1 + 17):.4f}  data_time: {self.noisy(0.009, 0.1):.4f}  "
                   f"time: {self.noisy(0.04, 0.1):.4f}")
            if top1 > best:
                if best:
                    yield self.p("The previous best checkpoint /data/run01/mmpretrain/work_dirs/resnet50_8xb32_in1k/"
                                 f"best_accuracy_top1_epoch_{epoch - 1}.pth is removed")
                best = top1
                yield self.p(f"The best checkpoint with {top1:.4f} accuracy/top1 at {epoch} epoch is saved to "
                             f"best_accuracy_top1_epoch_{epoch}.pth.")


class LlmRun(Run):
    """xtuner SFT of a 7B model with DeepSpeed ZeRO-3: year-less console prefix, log interval 1."""

    year = False

    def __init__(self, *a, **kw) -> None:
        super().__init__(*a, **kw)
        self.max_iters = max(1000, int(self.budget * 1.3))
        self.data_epoch = max(50, self.max_iters // 9)  # dataloader length: wraps ~9 times
        self.save_steps = 500
        self.exp_name = "qwen2_7b_instruct_full_sft_20250308_104211"

    def config(self) -> dict:
        return {
            "SYSTEM": "xtuner.utils.SYSTEM_TEMPLATE.alpaca",
            "accumulative_counts": 4,
            "batch_size": 1,
            "betas": (0.9, 0.999),
            "custom_hooks": [
                {"tokenizer": {"pretrained_model_name_or_path": "/mnt/models/Qwen2-7B-Instruct",
                               "trust_remote_code": True, "padding_side": "right",
                               "type": "transformers.AutoTokenizer.from_pretrained"},
                 "type": "xtuner.engine.hooks.DatasetInfoHook"},
                {"evaluation_freq": self.save_steps, "every_n_iters": self.save_steps,
                 "evaluation_inputs": ["A 67-year-old patient with chronic otitis media reports ear pain."],
                 "prompt_template": "xtuner.utils.PROMPT_TEMPLATE.qwen_chat", "system": "",
                 "tokenizer": {"pretrained_model_name_or_path": "/mnt/models/Qwen2-7B-Instruct",
                               "trust_remote_code": True, "padding_side": "right",
                               "type": "transformers.AutoTokenizer.from_pretrained"},
                 "type": "xtuner.engine.hooks.EvaluateChatHook"},
                {"type": "xtuner.engine.hooks.ThroughputHook"},
                {"type": "xtuner.engine.hooks.VarlenAttnArgsToMessageHubHook"}],
            "data_path": "/mnt/data/nursing_sft_v3.jsonl",
            "dataloader_num_workers": 4,
            "default_hooks": {
                "checkpoint": {"by_epoch": False, "interval": self.save_steps, "max_keep_ckpts": 2,
                               "type": "mmengine.hooks.CheckpointHook"},
                "logger": {"interval": 1, "log_metric_by_epoch": False, "type": "mmengine.hooks.LoggerHook"},
                "param_scheduler": {"type": "mmengine.hooks.ParamSchedulerHook"},
                "sampler_seed": {"type": "mmengine.hooks.DistSamplerSeedHook"},
                "timer": {"type": "mmengine.hooks.IterTimerHook"}},
            "env_cfg": {"cudnn_benchmark": False, "dist_cfg": {"backend": "nccl"},
                        "mp_cfg": {"mp_start_method": "fork", "opencv_num_threads": 0}},
            "launcher": "pytorch",
            "load_from": None,
            "log_level": "INFO",
            "log_processor": {"by_epoch": False},
            "lr": 2e-05,
            "max_epochs": 9,
            "max_length": 32768,
            "max_norm": 1,
            "model": {"llm": {"pretrained_model_name_or_path": "/mnt/models/Qwen2-7B-Instruct",
                              "torch_dtype": "torch.bfloat16", "trust_remote_code": True,
                              "type": "transformers.AutoModelForCausalLM.from_pretrained"},
                      "use_varlen_attn": True, "type": "xtuner.model.SupervisedFinetune"},
            "optim_type": "torch.optim.AdamW",
            "optim_wrapper": {"optimizer": {"betas": (0.9, 0.999), "lr": 2e-05, "type": "torch.optim.AdamW",
                                            "weight_decay": 0},
                              "clip_grad": {"error_if_nonfinite": False, "max_norm": 1},
                              "accumulative_counts": 4, "dtype": "bfloat16", "loss_scale": "dynamic",
                              "type": "DeepSpeedOptimWrapper"},
            "pack_to_max_length": True,
            "param_scheduler": [
                {"begin": 0, "by_epoch": True, "convert_to_iter_based": True, "end": 0.27,
                 "start_factor": 1e-05, "type": "mmengine.optim.LinearLR"},
                {"begin": 0.27, "by_epoch": True, "convert_to_iter_based": True, "end": 9, "eta_min": 0.0,
                 "type": "mmengine.optim.CosineAnnealingLR"}],
            "pretrained_model_name_or_path": "/mnt/models/Qwen2-7B-Instruct",
            "prompt_template": "xtuner.utils.PROMPT_TEMPLATE.qwen_chat",
            "randomness": {"deterministic": False, "seed": None},
            "resume": False,
            "runner_type": "FlexibleRunner",
            "save_steps": self.save_steps,
            "save_total_limit": 2,
            "strategy": {"config": {"bf16": {"enabled": True}, "fp16": {"enabled": False, "initial_scale_power": 16},
                                    "gradient_accumulation_steps": "auto", "gradient_clipping": "auto",
                                    "train_micro_batch_size_per_gpu": "auto",
                                    "zero_allow_untested_optimizer": True, "zero_force_ds_cpu_optimizer": False,
                                    "zero_optimization": {"overlap_comm": True, "stage": 3,
                                                          "stage3_gather_16bit_weights_on_model_save": True}},
                         "exclude_frozen_parameters": True, "gradient_accumulation_steps": 4,
                         "gradient_clipping": 1, "sequence_parallel_size": 1,
                         "train_micro_batch_size_per_gpu": 1, "type": "xtuner.engine.DeepSpeedStrategy"},
            "train_cfg": {"max_epochs": 9, "type": "xtuner.engine.runner.TrainLoop"},
            "train_dataloader": {
                "batch_size": 1,
                "collate_fn": {"type": "xtuner.dataset.collate_fns.default_collate_fn", "use_varlen_attn": True},
                "dataset": {"dataset": {"data_files": "/mnt/data/nursing_sft_v3.jsonl", "path": "json",
                                        "type": "datasets.load_dataset"},
                            "dataset_map_fn": None, "max_length": 32768, "pack_to_max_length": True,
                            "remove_unused_columns": True, "shuffle_before_pack": True,
                            "template_map_fn": {"template": "xtuner.utils.PROMPT_TEMPLATE.qwen_chat",
                                                "type": "xtuner.dataset.map_fns.template_map_fn_factory"},
                            "type": "xtuner.dataset.process_hf_dataset", "use_varlen_attn": True},
                "num_workers": 4,
                "sampler": {"shuffle": True, "type": "mmengine.dataset.DefaultSampler"}},
            "use_varlen_attn": True,
            "visualizer": None,
            "warmup_ratio": 0.03,
            "weight_decay": 0,
            "work_dir": "./work_dirs/qwen2_7b_instruct_full_sft",
        }

    def ds(self, text: str) -> str:
        return self.clock.deepspeed() + text

    def lines(self) -> Iterator[str]:
        rng = self.rng
        yield "Executing: xtuner train ./configs/qwen2_7b_instruct_full_sft.py --deepspeed deepspeed_zero3"
        for _ in range(8):
            self.tick(rng.uniform(0.2, 1.5))
            yield self.ds(DEEPSPEED_START[0])
        yield from PY_WARNING
        yield from self.header(None, "0,1,2,3,4,5,6,7: NVIDIA H800", "2.4.0+cu121", "12.1", "0.10.5",
                               self.config())
        for text in DEEPSPEED_START[1:]:
            self.tick(rng.uniform(0.0, 0.4))
            yield self.ds(text)
        yield self.p(f"Num train samples {self.data_epoch * 4 * 8}")
        yield self.p("train example:")
        yield from SAMPLE_OUTPUT[:-1]
        yield self.p("before_train in EvaluateChatHook.")
        yield from self.sample_output()
        yield self.p("Checkpoints will be saved to /mnt/work_dirs/qwen2_7b_instruct_full_sft.")
        N = self.max_iters
        w = len(str(N))
        step = 4.7
        for it in range(1, N + 1):
            progress = it / N
            t = self.noisy(step, 0.09)
            self.tick(t)
            tok = rng.randint(9000, 32768)
            loss = self.noisy(0.55 + 0.9 * math.exp(-8 * progress), 0.12)
            yield (f"{self.p('Iter(train) [')}{it:>{w}}/{N}]  lr: {cosine_lr(2e-05, progress, 0.03):.4e}  "
                   f"eta: {fmt_eta((N - it) * step)}  time: {t:.4f}  data_time: {self.noisy(0.0121, 0.3):.4f}  "
                   f"memory: {rng.randint(61200, 63900)}  loss: {loss:.4f}  tflops: {tok * 0.0049:.4f}  "
                   f"tokens_per_sec: {tok / t:.4f}")
            if it % self.data_epoch == 0:
                yield self.p("Reach the end of the dataloader, it will be restarted and continue to iterate. It "
                             "is recommended to use `mmengine.dataset.InfiniteSampler` to enable the dataloader to "
                             "iterate infinitely.", "WARNING")
            if it % 1000 == 0:
                yield self.p(f"Exp name: {self.exp_name}")
            if it % self.save_steps == 0:
                yield self.p("after_train_iter in EvaluateChatHook.")
                yield from self.sample_output()
                yield self.p(f"Saving checkpoint at {it} iterations")
                path = f"/mnt/work_dirs/qwen2_7b_instruct_full_sft/iter_{it}.pth"
                self.tick(9.7)
                yield self.ds(f"[logging.py:128:log_dist] [Rank 0] [Torch] Checkpoint global_step{it} is about to "
                              "be saved!")
                yield self.ds(f"[torch_checkpoint_engine.py:21:save] [Torch] Saving {path}/bf16_zero_pp_rank_0_"
                              "mp_rank_00_optim_states.pt...")
                self.tick(21.3)
                yield self.ds(f"[torch_checkpoint_engine.py:23:save] [Torch] Saved {path}/bf16_zero_pp_rank_0_"
                              "mp_rank_00_optim_states.pt.")
                yield self.ds(f"[torch_checkpoint_engine.py:33:commit] [Torch] Checkpoint iter_{it}.pth is ready "
                              "now!")

    def sample_output(self) -> Iterator[str]:
        self.tick(self.rng.uniform(8, 20))
        yield self.p("Sample output:")
        yield from SAMPLE_OUTPUT


RUN_KINDS: tuple[Callable[..., Run], ...] = (DetRun, SegRun, ClsRun, LlmRun)


def iter_log_lines(lines: int = 1_000_000, seed: int = 0) -> Iterator[str]:
    """The log's lines (no newlines). The first ``lines`` lines are the log; later ones continue it."""
    t = T0
    budgets = [int(lines * s) for s in SHARES]
    emitted = 0
    for index, (kind, budget) in enumerate(zip(RUN_KINDS, budgets)):
        last = index == len(RUN_KINDS) - 1
        if last:
            budget = max(1, lines - emitted)
        run = kind(index, budget, seed, t, last)
        for line in run.lines():
            yield line
            emitted += 1
        t = run.clock.t + 60 * 17.0  # the next launch, a few minutes later


def write_log(path: str | Path, lines: int = 1_000_000, seed: int = 0) -> int:
    """Write the log; returns its size in bytes."""
    size = 0
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        batch: list[str] = []
        for line in itertools.islice(iter_log_lines(lines, seed), lines):
            batch.append(line)
            if len(batch) >= 20000:
                text = "\n".join(batch) + "\n"
                f.write(text)
                size += len(text.encode("utf-8"))
                batch = []
        if batch:
            text = "\n".join(batch) + "\n"
            f.write(text)
            size += len(text.encode("utf-8"))
    return size


def extra_lines(lines: int, seed: int, count: int) -> list[str]:
    """The ``count`` lines that would follow a ``lines``-line log: the training goes on."""
    return list(itertools.islice(iter_log_lines(lines, seed), lines, lines + count))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out", help="output file")
    ap.add_argument("--lines", type=int, default=1_000_000, help="exact number of lines (default 1,000,000)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    if args.lines < 1:
        ap.error("--lines must be positive")
    t = time.perf_counter()
    size = write_log(args.out, args.lines, args.seed)
    print(f"wrote {args.out}: {args.lines:,} lines, {size:,} bytes ({size / args.lines:.0f} bytes/line) "
          f"in {time.perf_counter() - t:.1f}s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
