default_hooks = dict(
    checkpoint=dict(interval=2, type='CheckpointHook'),
    logger=dict(interval=10, type='LoggerHook'),
    param_scheduler=dict(type='ParamSchedulerHook'),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    timer=dict(type='IterTimerHook'))
env_cfg = dict(
    cudnn_benchmark=False,
    dist_cfg=dict(backend='nccl'),
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0))
load_from = None
log_level = 'INFO'
model = dict(hidden=128, in_dim=32, num_classes=20, type='TinyClassifier')
optim_wrapper = dict(
    optimizer=dict(lr=0.05, momentum=0.9, type='SGD', weight_decay=0.0001))
param_scheduler = [
    dict(
        begin=0,
        by_epoch=True,
        convert_to_iter_based=True,
        end=1,
        start_factor=0.1,
        type='LinearLR'),
    dict(by_epoch=True, gamma=0.1, milestones=[
        3,
        5,
    ], type='MultiStepLR'),
]
randomness = dict(seed=0)
resume = False
train_cfg = dict(by_epoch=True, max_epochs=6, val_interval=1)
train_dataloader = dict(
    batch_size=32,
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        num_classes=20,
        num_samples=1600,
        seed=7,
        split='train',
        type='GaussianClusterDataset'),
    num_workers=2,
    persistent_workers=True,
    sampler=dict(shuffle=True, type='DefaultSampler'))
val_cfg = dict()
val_dataloader = dict(
    batch_size=32,
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        num_classes=20,
        num_samples=500,
        seed=7,
        split='val',
        type='GaussianClusterDataset'),
    num_workers=2,
    persistent_workers=True,
    sampler=dict(shuffle=False, type='DefaultSampler'))
val_evaluator = dict(
    topk=(
        1,
        5,
    ), type='TopKAccuracy')
work_dir = './work_dirs/cls_epoch_val'
