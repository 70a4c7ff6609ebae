"""xtuner LLM SFT with DeepSpeed ZeRO-3: year-less console prefix, ``Iter(train)`` with ``tflops``/``tokens_per_sec``,
``eta: 18 days, ...``, DeepSpeed ``[2025-...] [INFO]`` lines, ``Reach the end of the dataloader`` warnings and
``Sample output:`` blocks. It is the last run of the log and still training when the file ends."""

from __future__ import annotations

import math
from collections.abc import Iterator

from tools.gen_logs.common import PY_WARNING, Run, fmt_eta

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


def cosine_lr(base: float, progress: float, warmup: float = 0.01) -> float:
    if progress < warmup:
        return base * (0.001 + 0.999 * progress / warmup)
    return 1e-6 + 0.5 * (base - 1e-6) * (1 + math.cos(math.pi * (progress - warmup) / (1 - warmup)))


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
