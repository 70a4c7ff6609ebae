"""Every grammar pattern reads a line in time linear in its length (issue 16, item 4).

Python's ``re`` backtracks: a pattern with two quantifiers that can take the same characters (``.*\\d+%``, a
lazy ``.*?`` followed by ``\\s*$``) retries one for every position of the other, and a bare line of 40,000
digits held the parser (and the GIL, so every page of the server) for 50 s. Nothing here measures time:
a line of a megabyte of each character class, and of each motif a pattern is made of, must go through every
pattern and through the parser before a generous deadline (a linear pass takes milliseconds to a second; the
quadratic patterns took hours), and the parser must read the lines after it. A match holds the GIL, so no
timer in the test's own process (``pytest-timeout`` included) can stop it: each case runs in a forked child
that is killed at the deadline. ``bench/bench_grammar_linear.py`` shows that the cost per byte is flat from
16 KB to 1 MB.

The patterns rewritten for this are checked against the old ones (which define what they mean) on random
short lines: same match, same captures.
"""

from __future__ import annotations

import functools
import multiprocessing
import re
import traceback

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from parsers import LogParser, parse_bytes
from parsers import grammar as g

from .conftest import SAMPLE_LOGS
from .helpers import snapshot

MB = 1 << 20
DEADLINE = 120.0  # seconds for one case: a linear pass takes at most a few, even on a loaded machine

# Character classes, and the motifs the patterns are built from (a pattern retries its pieces on them).
FILLERS = {
    "digits": "9", "spaces": " ", "tabs": "\t", "letters": "a", "open": "[", "close": "]", "colon": ":",
    "dot": ".", "slash": "/", "pipe": "|", "percent_pipe": "9%|", "fraction": "1/1 [", "rate": "1.5 it/s",
    "rank": "[rank0]: ", "py_warning": ".py:1: ", "exception": "aError", "comma": "1,", "at": " at 1 ",
    "dot_blank": ". ", "mixed": "9 a[]:./%|,-_()=it\t",
}


def _line(start: str, filler: str, end: str, size: int = MB) -> str:
    return start + filler * ((size - len(start)) // len(filler)) + end


def _before_the_deadline(fn, *args) -> None:
    """Run ``fn(*args)`` in a forked child; fail when it raises, or is still running at ``DEADLINE``."""
    ctx = multiprocessing.get_context("fork")
    receive, send = ctx.Pipe(duplex=False)

    def child() -> None:
        try:
            fn(*args)
            send.send("")
        except BaseException:
            send.send(traceback.format_exc())

    proc = ctx.Process(target=child, daemon=True)
    proc.start()
    proc.join(DEADLINE)
    if proc.is_alive():
        proc.kill()
        proc.join()
        pytest.fail(f"still running after {DEADLINE:.0f} s: not linear in the line's length")
    error = receive.recv() if receive.poll() else f"the child died (exit code {proc.exitcode})"
    if error:
        pytest.fail(error)


def _cases():
    for pattern in g.ALL_PATTERNS:
        for start in pattern.starts or ("",):
            yield pytest.param(pattern, start, id=f"{pattern.name}[{start}]" if start else pattern.name)


def _every_class(pattern: g.LinePattern, start: str) -> None:
    for filler in FILLERS.values():
        # Ended by a letter: a run that reaches the end of the line is often taken at once.
        pattern.match(_line(start, filler, "x"))  # the answer does not matter, only that it comes


@pytest.mark.parametrize(("pattern", "start"), list(_cases()))
def test_a_megabyte_line_of_any_class_goes_through_every_pattern(pattern, start):
    _before_the_deadline(_every_class, pattern, start)


def _ansi(lines: tuple[str, ...]) -> None:
    for line in lines:
        g.ANSI_ESCAPE.sub("", line)


def test_the_ansi_escape_filter_is_linear_too():
    _before_the_deadline(_ansi, (_line("", "\x1b[", "x"), _line("", "\x1b[1;", "x"), _line("\x1b[", "1;", "")))


# -------------------------------------------------------------------------- the parser around them

SAMPLE = SAMPLE_LOGS / "llm_sft_len_grouped" / "20260314_090000" / "20260314_090000.log"
PREFIX = "2026/03/14 09:00:00 - mmengine - INFO - "


def _with_line_after_first_train_line(raw: bytes, line: str) -> tuple[bytes, int]:
    """The log with ``line`` inserted after its first train line; and that line's number."""
    lines = raw.split(b"\n")
    at = next(i for i, ln in enumerate(lines) if b"Iter(train)" in ln) + 1
    return b"\n".join(lines[:at] + [line.encode()] + lines[at:]), at + 1


def _hostile_lines():
    for name, filler in FILLERS.items():
        yield pytest.param(_line("", filler, "x"), id=f"bare-{name}")
    for start in ("", "Iter(train) [", "Exp name: ", "Checkpoints will be saved to "):
        for name in ("digits", "spaces", "mixed"):
            yield pytest.param(_line(PREFIX + start, FILLERS[name], "x"), id=f"prefixed-{start.strip()}-{name}")


@functools.cache
def _base():
    raw = SAMPLE.read_bytes()
    return raw, parse_bytes(raw)


@pytest.mark.parametrize("line", list(_hostile_lines()))
def test_a_megabyte_line_is_one_line_and_the_records_after_it_are_read(line):
    _base()  # parsed here, so that the forked child has it
    _before_the_deadline(_one_more_line, line)


def _one_more_line(line: str) -> None:
    raw, base = _base()
    data, _ = _with_line_after_first_train_line(raw, line)
    whole = parse_bytes(data)
    assert whole.lines == base.lines + 1
    assert whole.unparsed_count <= base.unparsed_count + 1
    for got, want in zip(whole.runs, base.runs, strict=True):
        assert len(got.train) == len(want.train)
        assert list(got.train.iters) == list(want.train.iters)
        assert len(got.evals) == len(want.evals)
    # Fed as a live log would be: the same result.
    p = LogParser()
    for i in range(0, len(data), 256 << 10):
        p.feed(data[i:i + (256 << 10)])
    p.close()
    assert snapshot(p.result()) == snapshot(whole)


# --------------------------------------------------------------------- the rewritten patterns mean the same

# The patterns as they were before issue 16: what the rewritten ones must still read.
OLD = {
    "progress_bar": r".*(?:\d+%\|.*\||\d+/\d+ \[[\d:<?]+|[\d.?]+\s?(?:it/s|s/it)\]|^\[[>= .]*\] \d+/\d+,)",
    "env_field": r"\s*(?P<key>[^:]+?):\s*(?P<value>.*)$",
    "exp_name": r"Exp name: (?P<name>.*?)\s*$",
    "work_dir": r"Checkpoints will be saved to (?P<path>.*?)\.?\s*$",
}
ALPHABETS = {
    "progress_bar": "9%|/ [:<?.its]>=,a",
    "env_field": " \t:ab",
    "exp_name": " \ta.x",
    "work_dir": " \ta.x",
}
BY_NAME = {p.name: p for p in g.ALL_PATTERNS}


@pytest.mark.parametrize("name", list(OLD))
@settings(max_examples=1500, deadline=None)
@given(data=st.data())
def test_a_rewritten_pattern_reads_what_the_old_one_read(name, data):
    new = BY_NAME[name]
    start = new.starts[0] + " " if new.starts else ""
    text = start + data.draw(st.text(alphabet=ALPHABETS[name], max_size=24))
    old_m, new_m = re.match(OLD[name], text), new.compiled.match(text)
    assert (old_m is None) == (new_m is None), text
    if old_m is not None:
        assert old_m.groupdict() == new_m.groupdict(), text


def test_repeated_rank_prefixes_are_read_at_once():
    m = g.RANK_PREFIX.match("[rank1]: [rank1]:[rank1]: 03/14 09:00:00 - mmengine - INFO - hello")
    assert (m["rank"], m["rest"]) == ("1", "03/14 09:00:00 - mmengine - INFO - hello")
