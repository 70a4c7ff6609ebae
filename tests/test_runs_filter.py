"""The Runs page's name filter cannot stall the server (issue 16, item 2).

``/runs?filter=^(.|.){24}z`` costs Python's backtracking ``re`` about 2^(name length) steps while it holds the
GIL. The filter is matched by RE2 (``google-re2``), whose matching time is linear in the name; without RE2 it is a
plain substring. These tests check which matcher is used and what it answers, never how long it takes.
"""

from __future__ import annotations

import pytest

from dashboard.views import runs_table

CATASTROPHIC = "^(.|.){24}z"


def rows(*names: str) -> list[dict[str, object]]:
    out = []
    for i, n in enumerate(names):
        row: dict[str, object] = {c: None for c in runs_table.RUN_TABLE_COLUMNS}
        row.update({"name": n, "_sort": (i, 0)})
        out.append(row)
    return out


def test_the_filter_is_matched_by_re2():
    f, note = runs_table.compile_filter("LLM|det_.*resume")
    assert note is None and f is not None and f.engine == "re2"
    kept = runs_table.runs_table(rows("a/llm/1.log", "a/det_crash_resume/x.log", "a/cls.log"), f)
    assert list(kept["name"]) == ["a/det_crash_resume/x.log", "a/llm/1.log"]  # case-insensitive, newest first


def test_the_catastrophic_pattern_is_answered_by_the_linear_time_matcher():
    f, note = runs_table.compile_filter(CATASTROPHIC)
    assert note is None and f is not None
    assert f.engine == "re2"  # no backtracking: time linear in the name, whatever the pattern
    long_name = "logs/" + "a" * 5000 + ".log"
    assert not f.search(long_name)
    assert f.search("a" * 24 + "z") and f.search("A" * 24 + "Z")
    assert [r["name"] for r in runs_table.runs_table(rows(long_name, "x" * 24 + "z"), f).to_dict("records")] == \
        ["x" * 24 + "z"]


@pytest.mark.parametrize("pattern", [r"(a)\1", r"(?=llm)", r"(?<=a)b", r"a++", "(unclosed"])
def test_patterns_re2_cannot_run_show_every_run_with_a_notice_and_write_nothing_to_stderr(pattern, capfd):
    f, note = runs_table.compile_filter(pattern)
    assert f is None and note is not None and "not a valid regular expression" in note and "RE2" in note
    captured = capfd.readouterr()
    assert captured.err == "" and captured.out == ""  # RE2's own error log is off: no server log line per keystroke


def test_without_re2_the_filter_is_a_plain_substring_with_a_notice(monkeypatch):
    monkeypatch.setattr(runs_table, "_re2", None)
    f, note = runs_table.compile_filter(CATASTROPHIC)
    assert f is not None and f.engine == "substring"
    assert note is not None and "google-re2" in note and "plain text" in note
    assert not f.search("a" * 5000 + "z")
    assert f.search("x/^(.|.){24}z/y.log")
    g, _ = runs_table.compile_filter("LLM")
    assert g is not None and g.search("a/llm/1.log")


def test_a_filter_longer_than_the_limit_is_not_used():
    f, note = runs_table.compile_filter("a" * (runs_table.MAX_FILTER_CHARS + 1))
    assert f is None and "longer than" in note
