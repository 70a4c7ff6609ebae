"""MMDetection 3.x Cascade R-CNN: ``Epoch(train) [e][i/n]`` with ``s0.loss_cls``/``s1.acc``/..., COCO evaluation
blocks, ``bbox_mAP_copypaste``, ``Epoch(val)`` progress and summary, best-checkpoint lines."""

from __future__ import annotations

import math
from collections.abc import Iterator

from tools.gen_logs.common import Run, base_config, fmt_eta

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
