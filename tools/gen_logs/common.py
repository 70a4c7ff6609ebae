"""What every generated MMEngine run shares: wall-clock prefixes, the config dump, the environment header, the
hook table, and ``Run``, the base class of the run kinds (``det``, ``seg``, ``cls``, ``llm``).

A ``Run`` draws every random number from its own ``random.Random`` seeded with (seed, its index in the log), and
its clock only moves forward, so a run's lines are a pure function of (index, budget, seed, start time, last).
"""

from __future__ import annotations

import datetime as _dt
import random
import time
from collections.abc import Iterator


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
