"""dashboard.views.text: log text stays literal (no HTML/Markdown meaning is added or removed) and printable."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dashboard.views.text import FORBIDDEN, one_line, plain

HOSTILE = [
    "<script>alert(1)</script>",
    "[x](javascript:alert(1))",
    "<img src=x onerror=alert(1)>",
    "**bold** _it_ `code` # heading",
    "$$\\frac{1}{0}$$ :red[text] <b>b</b>",
    "&lt;not-an-entity&gt; &amp;",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_markup_survives_as_literal_text(text):
    assert plain(text) == text
    assert one_line(text) == text


def test_script_and_javascript_link_inside_a_log_line():
    line = "2024/01/01 00:00:00 - mmengine - INFO - Exp name: <script>x</script> [x](javascript:)\n"
    assert plain(line) == line


def test_newlines_and_tabs_are_kept_other_controls_removed():
    assert plain("a\tb\nc\x00d\x07e\x7ff\x85g") == "a\tb\ncdefg"


def test_carriage_returns_become_newlines():
    assert plain("line1\r\nline2\rbar 10%\rbar 20%") == "line1\nline2\nbar 10%\nbar 20%"


def test_ansi_escape_sequences_are_removed_whole():
    assert plain("\x1b[31mERROR\x1b[0m done \x1b]0;title\x07ok") == "ERROR done ok"


def test_bidi_overrides_are_removed():
    assert plain("admin\u202e gpj.exe\u2066x\u2069") == "admin gpj.exex"


def test_lone_surrogates_and_bytes_are_made_printable():
    assert plain("a\udcffb") == "a\ufffdb"
    assert plain(b"caf\xc3\xa9 \xff") == "café \ufffd"


def test_length_is_capped_with_a_visible_marker():
    out = plain("x" * 1000, max_chars=100)
    assert out.startswith("x" * 100) and "900 more characters not shown" in out
    assert plain("short", max_chars=100) == "short"


def test_one_line_folds_line_breaks():
    assert one_line("Traceback:\n  File x\tline 3") == "Traceback: ⏎   File x line 3"
    assert one_line("y" * 50, max_chars=10) == "y" * 10 + "…"


def test_negative_caps_are_errors():
    with pytest.raises(ValueError):
        plain("x", max_chars=-1)
    with pytest.raises(ValueError):
        one_line("x", max_chars=-1)


@given(st.text(max_size=300))
def test_output_never_contains_forbidden_characters(text):
    out = plain(text)
    assert not (set(out) & FORBIDDEN)
    assert "\n" not in one_line(text) and not (set(one_line(text)) & FORBIDDEN)


@given(st.text(st.characters(codec="utf-8", exclude_categories=("Cc", "Cs", "Cf")), max_size=300))
def test_printable_text_is_unchanged(text):
    assert plain(text) == text
