"""Iteration arithmetic (GUIDE section 4), checked on the worked example and by brute force."""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st

from dashboard.analysis.audit import Setup, audit, compute, dataset_sizes_for, fitting_setups, sampler_kind, what_if

WORKED = dict(dataset_size=1220, batch_size=1, accumulative_counts=8, epochs=3)


def test_length_grouped_four_gpus_gives_312_per_epoch_936_iters_117_updates():
    a = compute(Setup(world_size=4, sampler="length-grouped", **WORKED))
    assert (a.iters_per_epoch, a.max_iters, a.optimizer_updates) == (312, 936, 117)


def test_length_grouped_one_gpu_gives_1224_per_epoch_3672_iters_459_updates():
    a = compute(Setup(world_size=1, sampler="length-grouped", **WORKED))
    assert (a.iters_per_epoch, a.max_iters, a.optimizer_updates) == (1224, 3672, 459)


def test_default_sampler_gives_915_and_3660():
    assert compute(Setup(world_size=4, sampler="default", **WORKED)).max_iters == 915
    assert compute(Setup(world_size=1, sampler="default", **WORKED)).max_iters == 3660


def test_a_3672_log_believed_to_be_4_gpus_is_explained_as_one_process():
    a = audit(3672, Setup(world_size=4, sampler="length-grouped", **WORKED))
    assert a.consistent is False and a.expected_max_iters == 936
    assert a.fitting_world_sizes == [1]
    assert "single process" in a.explanation and "459" in a.explanation and "117" in a.explanation


def test_consistent_setup_says_so():
    a = audit(936, Setup(world_size=4, sampler="length-grouped", **WORKED))
    assert a.consistent is True and "117 optimizer updates" in a.explanation


def test_missing_inputs_give_no_verdict_instead_of_a_guess():
    a = audit(3672, Setup(world_size=None, batch_size=1, epochs=3, sampler="length-grouped"))
    assert a.consistent is None and a.expected_max_iters is None and "No verdict" in a.explanation


def test_drop_last_floors_the_last_partial_batch():
    assert compute(Setup(10, 1, 3, 1, 1, "default", drop_last=True)).iters_per_epoch == 3
    assert compute(Setup(10, 1, 3, 1, 1, "default", drop_last=False)).iters_per_epoch == 4


def test_samples_repeated_by_round_up():
    a = compute(Setup(world_size=4, sampler="length-grouped", **WORKED))
    assert a.samples_repeated == (312 * 4 - 1220) * 3


def test_sampler_kind_reads_config_types():
    assert sampler_kind("xtuner.dataset.samplers.LengthGroupedSampler") == "length-grouped"
    assert sampler_kind("mmengine.dataset.DefaultSampler") == "default"
    assert sampler_kind("InfiniteSampler") == "infinite"
    assert sampler_kind(None) is None


def test_what_if_duration_uses_measured_seconds_per_iteration():
    w = what_if(Setup(world_size=4, sampler="length-grouped", **WORKED), 12.0)
    assert w.arithmetic.max_iters == 936 and w.duration_seconds == 936 * 12.0


@given(L=st.integers(1, 100_000), W=st.integers(1, 64), B=st.integers(1, 64), A=st.integers(1, 64),
       E=st.integers(1, 20), sampler=st.sampled_from(["default", "length-grouped"]))
def test_compute_matches_a_direct_simulation_of_the_samplers(L, W, B, A, E, sampler):
    if sampler == "default":
        per_rank = math.ceil(L / W)
    else:
        P = B * A
        per_rank = math.ceil(L / (P * W)) * P
    ipe = math.ceil(per_rank / B)
    a = compute(Setup(L, W, B, A, E, sampler))
    assert a.max_iters == E * ipe and a.optimizer_updates == math.ceil(E * ipe / A)
    assert any(f.world_size == W and f.sampler == sampler for f in fitting_setups(a.max_iters, Setup(L, W, B, A, E)))


@given(ipe=st.integers(1, 5000), B=st.integers(1, 16), A=st.integers(1, 16), drop=st.booleans(),
       sampler=st.sampled_from(["default", "length-grouped"]))
def test_the_inverse_gives_exactly_the_dataset_sizes_with_that_epoch_length(ipe, B, A, drop, sampler):
    """``dataset_sizes_for`` is the inverse of ``compute``: every L in lo..hi gives ``ipe`` iterations per epoch,
    the sizes just outside do not."""
    base = Setup(None, None, B, A, 1, sampler, drop)
    def ipe_of(L: int, W: int) -> int | None:
        return compute(Setup(L, W, B, A, 1, sampler, drop)).iters_per_epoch

    for r in dataset_sizes_for(ipe, base):
        assert ipe_of(r.lo, r.world_size) == ipe and ipe_of(r.hi, r.world_size) == ipe
        assert r.lo == 1 or ipe_of(r.lo - 1, r.world_size) != ipe
        assert ipe_of(r.hi + 1, r.world_size) != ipe


def test_no_dataset_size_still_says_what_the_log_establishes_and_the_inverse():
    """The 4-GPU mmdet2 log prints no dataset size: 7330 iterations per epoch, 12 epochs, and COCO train2017's
    117,266 images are in the range for 4 processes (issue 11 item 3)."""
    a = audit(87960, Setup(None, 4, 4, 1, 12), logged_iters_per_epoch=7330)
    assert a.consistent is None and a.logged_iters_per_epoch == 7330
    assert [(r.world_size, r.lo, r.hi) for r in a.dataset_sizes] == [
        (1, 29317, 29320), (2, 58633, 58640), (4, 117265, 117280), (8, 234529, 234560)]
    assert a.explanation.startswith("No verdict without the dataset size. The log establishes 7330 iterations per "
                                    "epoch, 12 epochs, N = 87960: 87960 optimizer updates (accumulation 1).")
    assert "4 processes (the setup): 117,265–117,280" in a.explanation


def test_an_iteration_based_run_is_not_asked_for_a_world_size():
    """N = max_iters is set directly: 'consistent' never sits beside 'no world size gives N' (issue 11 item 4)."""
    a = audit(400, Setup(None, 1, 4, 1, None, "infinite", max_iters=400))
    assert a.consistent is True and a.iteration_based and a.fits == [] and a.data_epochs is None
    assert "so any world size gives it; the config's max_iters = 400 is the log's N = 400" in a.explanation
    known = audit(400, Setup(1000, 2, 4, 1, None, "infinite", max_iters=400))
    assert known.data_epochs == 400 * 4 * 2 / 1000
    assert "N x B x W = 400 x 4 x 2 = 3200 samples: 3.2 epochs of the 1000 samples." in known.explanation
