"""Iteration arithmetic (GUIDE section 4), checked on the worked example and by brute force."""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st

from dashboard.analysis.audit import Setup, audit, compute, fitting_setups, sampler_kind, what_if

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
