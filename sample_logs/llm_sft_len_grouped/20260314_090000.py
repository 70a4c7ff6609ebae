accumulative_counts = 8
batch_size = 1
betas = (
    0.9,
    0.999,
)
dataloader_num_workers = 0
default_hooks = dict(
    checkpoint=dict(
        by_epoch=False, interval=1000, max_keep_ckpts=2,
        type='CheckpointHook'),
    logger=dict(interval=10, log_metric_by_epoch=False, type='LoggerHook'),
    param_scheduler=dict(type='ParamSchedulerHook'),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    timer=dict(type='IterTimerHook'))
env_cfg = dict(
    cudnn_benchmark=False,
    dist_cfg=dict(backend='nccl'),
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0))
load_from = None
log_level = 'INFO'
log_processor = dict(by_epoch=False)
lr = 0.0002
max_epochs = 3
max_length = 2048
max_norm = 1
model = dict(base_seed=1220, type='TinyCausalLM', vocab_size=64)
optim_wrapper = dict(
    accumulative_counts=8,
    clip_grad=dict(error_if_nonfinite=False, max_norm=1),
    optimizer=dict(
        betas=(
            0.9,
            0.999,
        ), lr=0.0002, type='AdamW', weight_decay=0),
    type='OptimWrapper')
param_scheduler = [
    dict(
        begin=0,
        by_epoch=True,
        convert_to_iter_based=True,
        end=0.09,
        start_factor=1e-05,
        type='LinearLR'),
    dict(
        begin=0.09,
        by_epoch=True,
        convert_to_iter_based=True,
        end=3,
        eta_min=0.0,
        type='CosineAnnealingLR'),
]
randomness = dict(deterministic=False, seed=42)
resume = False
save_steps = 1000
save_total_limit = 2
train_cfg = dict(max_epochs=3, type='TrainLoop')
train_dataloader = dict(
    batch_size=1,
    collate_fn=dict(type='pseudo_collate'),
    dataset=dict(
        max_length=2048,
        num_samples=1220,
        seed=1220,
        type='SyntheticSFTDataset',
        vocab_size=64),
    num_workers=0,
    sampler=dict(
        length_property='length',
        per_device_batch_size=8,
        type='LengthGroupedSampler'))
train_dataset = dict(
    max_length=2048,
    num_samples=1220,
    seed=1220,
    type='SyntheticSFTDataset',
    vocab_size=64)
visualizer = None
warmup_ratio = 0.03
weight_decay = 0
work_dir = './work_dirs/llm_sft_len_grouped'
