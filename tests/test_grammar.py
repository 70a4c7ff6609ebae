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
