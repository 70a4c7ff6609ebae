"""MMSegmentation 1.x UPerNet on ADE20K: ``Iter(train) [     n/N]`` with ``decode.loss_ce``/``aux.acc_seg``,
``Iter(val)`` progress, a 150-class ``per class results:`` table and the summary."""

from __future__ import annotations

import math
from collections.abc import Iterator

from tools.gen_logs.common import Run, base_config, fmt_eta

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
