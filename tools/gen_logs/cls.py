"""MMPretrain 1.x ResNet-50 on ImageNet: ``Epoch(train)   [e][  i/n]``, etas like ``1 day, 8:39:30`` from slow
first iterations, a weight-init block, ``accuracy/top1`` and best-checkpoint lines."""

from __future__ import annotations

import math
from collections.abc import Iterator

from tools.gen_logs.common import Run, base_config, fmt_eta


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
