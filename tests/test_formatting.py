"""The one way numbers, durations, rates and unknowns are written (``dashboard.views.formatting``)."""

from __future__ import annotations

import pytest

from dashboard.views import formatting as f


@pytest.mark.parametrize(("seconds", "text"), [
    (None, "—"), (-1, "—"), (float("inf"), "—"), (float("nan"), "—"), (0, "0s"), (45, "45s"), (59.6, "1m 00s"),
    (725, "12m 05s"), (45030, "12h 30m"), (45330, "12h 35m"), (90061, "1d 01h"), (18 * 86400 + 3600, "18d 01h"),
])
def test_fmt_duration(seconds, text):
    assert f.fmt_duration(seconds) == text


@pytest.mark.parametrize(("seconds", "text"), [
    (684, "0:11:24"), (58721, "16:18:41"), (1 * 86400 + 31170, "1 day, 8:39:30"),
    (18 * 86400 + 58718, "18 days, 16:18:38"), (None, "—"), (-5, "—"),
])
def test_hms_is_mmengines_eta_spelling(seconds, text):
    assert f.hms(seconds) == text


@pytest.mark.parametrize(("value", "text"), [
    (None, "—"), (True, "—"), (1234, "1,234"), (1234.0, "1,234"), (0.0891, "0.0891"), (1.234e-5, "1.23e-05"),
    (12345.6, "12,346"), (float("nan"), "nan"), (float("inf"), "inf"), (float("-inf"), "-inf"), (0.06234, "0.0623"),
])
def test_fmt_num(value, text):
    assert f.fmt_num(value) == text


def test_rates_percent_memory_fraction_and_yes_no():
    assert f.fmt_rate(0.0625, "samples/s") == "0.0625 samples/s" and f.fmt_rate(None, "samples/s") == "—"
    assert f.fmt_percent(0.125) == "12.5 %" and f.fmt_percent(None) == "—"
    assert f.fmt_memory(9876) == "9,876 MB" and f.fmt_memory(22000) == "21.5 GB" and f.fmt_memory(None) == "—"
    assert f.fmt_fraction(10, 3672) == "10/3672" and f.fmt_fraction(None, 3672) == "?/3672"
    assert f.fmt_fraction(None, None) == "—"
    assert (f.fmt_bool(True), f.fmt_bool(False), f.fmt_bool(None)) == ("yes", "no", "—")
    assert (f.fmt_value(None), f.fmt_value(False), f.fmt_value(1220), f.fmt_value("length-grouped")) == \
        ("—", "no", "1,220", "length-grouped")


def test_clock_and_ago():
    assert f.fmt_clock("2026-03-14T21:30:05") == "2026-03-14 21:30" and f.fmt_clock(None) == "—"
    assert (f.fmt_ago(1), f.fmt_ago(12), f.fmt_ago(300), f.fmt_ago(3 * 3600), f.fmt_ago(2 * 86400)) == \
        ("just now", "12 s ago", "5 min ago", "3 h ago", "2 d ago")
