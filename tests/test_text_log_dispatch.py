"""The text interpreter takes its lines from the grammar: every pattern has a handler, every event
sample becomes what its handler says, and section starts come from the grammar's literals."""

from __future__ import annotations

import dataclasses

import pytest

from parsers import HeaderFacts, parse_bytes
from parsers import grammar as g
from parsers import text_log as tl

PREFIX = "2024/08/27 06:33:10 - mmengine - INFO - "
WARN = "2024/08/27 06:33:10 - mmengine - WARNING - "

# Event patterns whose line is part of a header or a section, not an event: the line kind they count.
NOT_EVENTS = {"config_start": "config", "mmcv_env_start": "header", "distributed": "header", "copypaste": "eval_text"}


def test_every_event_pattern_has_exactly_one_handler():
    assert set(tl._EVENTS) == {p.name for p in g.EVENT_PATTERNS}


def test_every_record_pattern_is_read_in_the_grammars_order():
    assert [p for p, _, _ in tl._RECORDS] == list(g.RECORD_PATTERNS)


def test_every_environment_key_sets_a_header_fact():
    facts = {f.name for f in dataclasses.fields(HeaderFacts)}
    assert set(g.ENV_KEYS.values()) == set(tl._ENV_FACTS) and set(tl._ENV_FACTS) <= facts


def _events(text: str):
    run = parse_bytes(text.encode()).runs[-1]
    return run, [(e.kind, e.data) for e in run.events]


@pytest.mark.parametrize("pattern", g.EVENT_PATTERNS, ids=lambda p: p.name)
def test_every_event_sample_is_read_as_its_pattern_says(pattern):
    for sample in pattern.samples:
        run, events = _events(PREFIX + sample + "\n")
        if pattern.name in NOT_EVENTS:
            assert events == [] and run.line_kinds[NOT_EVENTS[pattern.name]] >= 1, sample
        else:
            assert [k for k, _ in events] == [pattern.name] and run.line_kinds["event"] == 1, sample


def test_event_data_comes_from_the_captures():
    _, events = _events(PREFIX + "Saving checkpoint at 500 iterations\n" + PREFIX + "Saving checkpoint at 3 epochs\n")
    assert events == [("checkpoint", {"n": 500, "unit": "iterations", "iter": 500}),
                      ("checkpoint", {"n": 3, "unit": "epochs", "iter": None})]  # no epoch length known yet
    _, events = _events(PREFIX + "The best checkpoint with 0.6498 accuracy/top1 at 1 epoch is saved to best.pth.\n")
    assert events == [("best_checkpoint", {"metric": "accuracy/top1", "value": 0.6498, "n": 1, "unit": "epoch",
                                           "path": "best.pth"})]


def test_a_warning_event_is_also_a_warning_except_the_epoch_wrap():
    _, events = _events(WARN + "Advance dataloader 400 steps\n" + WARN + "Reach the end of the dataloader, it will be "
                        "restarted and continue to iterate.\n")
    assert [k for k, _ in events] == ["advance_dataloader", "warning", "epoch_wrap"]


def test_resume_lines_start_a_new_run_after_train_records_only():
    train = PREFIX + "Iter(train) [10/100]  lr: 1.0  loss: 1.0\n"
    for sample in ("resumed epoch: 1, iter: 10", "Auto resumed from the latest checkpoint w/iter_10.pth",
                   "load checkpoint from local path: w/iter_10.pth"):
        runs = parse_bytes((PREFIX + sample + "\n" + train + PREFIX + sample + "\n").encode()).runs
        assert [r.started_by for r in runs] == ["start of file", "resume"], sample


@pytest.mark.parametrize("pattern", g.UNPREFIXED_EVENT_PATTERNS, ids=lambda p: p.name)
def test_events_printed_without_the_logger_prefix_are_events(pattern):
    for sample in pattern.samples:
        _, events = _events(sample + "\n")
        assert [k for k, _ in events] == [pattern.name], sample


def test_section_starts_are_the_grammars_literals():
    header = (PREFIX + "\n" + g.SYSTEM_ENV_START.literal + "\n    GPU 0,1: A100\n" + g.RUNTIME_ENV_START.literal
              + "\n    GPU number: 2\n    Distributed launcher: pytorch\n")
    runs = parse_bytes(header.encode()).runs
    assert [r.started_by for r in runs] == ["run header"]
    h = runs[0].header
    assert (h.gpus_listed, h.world_size, h.launcher) == (2, 2, "pytorch")
    crash = PREFIX + "x\n" + g.TRACEBACK_START.literal + "\n" + "\n".join(g.TRACEBACK_BODY.samples[:2]) + \
        "\nRuntimeError: boom\n"
    run, events = _events(crash)
    assert [k for k, _ in events] == ["traceback"] and events[0][1]["exception"] == "RuntimeError"
    assert run.line_kinds["traceback"] == 4


@pytest.mark.parametrize("end", [g.SYSTEM_ENV_START.literal, g.TRACEBACK_START.literal, "[rank0]: anything"])
def test_a_config_dump_ends_at_a_header_a_traceback_or_a_rank_prefix(end):
    text = PREFIX + "Config:\nbatch_size = 4\n" + end + "\nbatch_size = 8\n"
    runs = parse_bytes(text.encode()).runs
    assert runs[0].header.batch_size == 4
    assert runs[0].line_kinds["config"] == 2  # "Config:" and the one line before the end
