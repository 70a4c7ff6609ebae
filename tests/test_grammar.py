"""The grammar is data: every pattern's samples match it, and no earlier pattern of its layer."""

from __future__ import annotations

import pytest

from parsers import grammar as g

ORDERED_LAYERS = {
    "prefix": g.PREFIX_PATTERNS,
    "message": g.MESSAGE_PATTERNS,
}


@pytest.mark.parametrize("pattern", g.ALL_PATTERNS, ids=lambda p: p.name)
def test_every_sample_matches_its_pattern(pattern):
    assert pattern.samples, f"{pattern.name} has no sample lines"
    for sample in pattern.samples:
        assert pattern.match(sample), f"{pattern.name} does not match its sample {sample!r}"


@pytest.mark.parametrize("layer", list(ORDERED_LAYERS))
def test_samples_are_not_taken_by_an_earlier_pattern(layer):
    patterns = ORDERED_LAYERS[layer]
    for i, pattern in enumerate(patterns):
        for sample in pattern.samples:
            for earlier in patterns[:i]:
                assert not earlier.match(sample), f"{earlier.name} steals {pattern.name}'s sample {sample!r}"


def test_pattern_names_are_unique():
    names = [p.name for p in g.ALL_PATTERNS]
    assert len(names) == len(set(names))


def test_a_prose_line_matches_no_record_pattern():
    line = "Training finished successfully, see Epoch(train) results above"
    assert not any(p.match(line) for p in g.MESSAGE_PATTERNS[:6])


# ------------------------------------------------------------------------- what each sample captures


def _captured(m) -> dict[str, str]:
    return {k: v for k, v in m.groupdict().items() if v is not None}


@pytest.mark.parametrize("pattern", g.ALL_PATTERNS, ids=lambda p: p.name)
def test_every_sample_captures_exactly_the_values_it_states(pattern):
    """As in lnav's format samples: each sample names every group that takes part in its match."""
    for sample in pattern.samples:
        assert isinstance(sample, g.Sample), f"{pattern.name}: {sample!r} states no captures"
        m = pattern.match(sample)
        assert m is not None, f"{pattern.name} does not match its sample {sample!r}"
        assert _captured(m) == dict(sample.captures), f"{pattern.name} on {sample!r}"


@pytest.mark.parametrize(("shortcut", "message"), [
    (g.MMENGINE_TRAIN_LINE, g.TRAIN_MMENGINE),
    (g.MMENGINE_EVAL_PROGRESS_LINE, g.EVAL_MMENGINE),
])
def test_a_line_shortcut_reads_what_the_prefix_and_message_patterns_read(shortcut, message):
    for sample in shortcut.samples:
        prefix = g.MMENGINE_PREFIX.match(sample)
        body = message.match(prefix.group("msg"))
        two_steps = {**_captured(prefix), **_captured(body)}
        del two_steps["msg"]
        if "fields" not in shortcut.compiled.groupindex:  # the progress shortcut stops at the eta
            assert two_steps.pop("fields").startswith(g.ETA_KEY + ": ")
        assert _captured(shortcut.match(sample)) == two_steps


def test_a_shortcut_takes_no_line_its_two_steps_would_not():
    not_train = "2024/08/27 06:33:10 - mmengine - INFO - Iter(train) [10/2000]"  # no fields after the header
    assert g.MMENGINE_PREFIX.match(not_train) and not g.TRAIN_MMENGINE.match(g.MMENGINE_PREFIX.match(not_train)["msg"])
    assert not g.MMENGINE_TRAIN_LINE.match(not_train)
    summary = "2024/08/27 06:33:10 - mmengine - INFO - Epoch(val) [5][3/3]    coco/bbox_mAP: 0.3830"
    assert not g.MMENGINE_EVAL_PROGRESS_LINE.match(summary)


def test_whole_line_patterns_match_their_literal_and_nothing_longer():
    whole = [p for p in g.ALL_PATTERNS if p.literal]
    assert {p.name for p in whole} >= {"system_env_start", "runtime_env_start", "traceback_start"}
    for p in whole:
        assert p.match(p.literal) and p.match(p.literal + "  \t")
        assert not p.match(p.literal + " x") and not p.match(p.literal[:-1])


def test_every_record_starts_like_a_record_and_holds_the_train_mark():
    for pattern in g.RECORD_PATTERNS:
        assert all(s.startswith(g.RECORD_LIKE.starts) for s in pattern.starts), pattern.name
        assert all(s.startswith(g.RECORD_LIKE.starts) for s in pattern.samples), pattern.name
    assert all(g.TRAIN_MARK in s for s in g.TRAIN_MMENGINE.samples + g.MMENGINE_TRAIN_LINE.samples)
    assert not any(g.TRAIN_MARK in s for s in g.EVAL_MMENGINE.samples)


def test_traceback_body_and_start_are_told_from_the_exception_line():
    for sample in g.TRACEBACK_BODY.samples:
        assert not g.EXCEPTION_LINE.match(sample)
    for sample in g.EXCEPTION_LINE.samples:
        assert not g.TRACEBACK_BODY.match(sample) and not g.TRACEBACK_START.match(sample)
