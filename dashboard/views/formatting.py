"""How MMDash writes numbers, durations, rates, times and unknowns: the one place, used by the pages, the
command line's terminal output and the Markdown and HTML reports.

Rules:
- An unknown value is ``UNKNOWN`` (an em dash) everywhere a person reads it; never ``None``, ``?`` or ``nan``.
- A value the log wrote as nan or inf stays ``nan`` / ``inf`` / ``-inf`` (it is a fact about the run).
- A duration a person reads is ``fmt_duration`` (``45s``, ``12m 05s``, ``3h 07m``, ``2d 04h``); ``hms`` is
  MMEngine's own eta spelling (``1 day, 8:39:30``), used only where a line mirrors MMEngine's format
  (``python -m dashboard tail``, a documented contract).
- Times of the log's clock are ``YYYY-MM-DD HH:MM`` (``fmt_clock``), or with seconds for inputs.

JSON output does not go through this module: numbers stay numbers there (see ``parsers.jsonout``).
"""

from __future__ import annotations

import math

UNKNOWN = "—"


def is_number(v: object) -> bool:
    """A real number (bool excluded), finite or not."""
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def finite(v: object) -> bool:
    return is_number(v) and math.isfinite(v)  # type: ignore[arg-type]


def _nonfinite(v: float) -> str:
    return "nan" if math.isnan(v) else ("inf" if v > 0 else "-inf")


def fmt_num(v: float | int | None, digits: int = 3) -> str:
    """A number for a tile, table cell or report: ``1,234``, ``0.0891``, ``1.23e-05``; unknown ``—``;
    ``nan`` / ``inf`` kept."""
    if not is_number(v):
        return UNKNOWN
    if isinstance(v, float) and not math.isfinite(v):
        return _nonfinite(v)
    if isinstance(v, int) or (float(v).is_integer() and abs(v) < 1e15):
        return f"{int(v):,}"
    a = abs(v)
    if a >= 1000:
        return f"{v:,.0f}"
    if a >= 1e-3:
        return f"{v:.{digits}g}"
    return f"{v:.{digits - 1}e}"


def fmt_rate(v: float | None, unit: str, digits: int = 3) -> str:
    """``0.0625 samples/s``; unknown ``—`` (no unit after it)."""
    shown = fmt_num(v, digits)
    return shown if shown == UNKNOWN else f"{shown} {unit}"


def fmt_percent(share: float | None, digits: int = 1) -> str:
    """A share 0..1 as ``12.5 %``; unknown ``—``."""
    if not finite(share):
        return UNKNOWN
    return f"{100 * share:.{digits}f} %"  # type: ignore[operator]


def fmt_duration(seconds: float | None) -> str:
    """``45s``, ``12m 05s``, ``3h 07m``, ``2d 04h``; ``—`` when unknown or negative."""
    if not finite(seconds) or seconds < 0:  # type: ignore[operator]
        return UNKNOWN
    s = int(round(seconds))  # type: ignore[arg-type]
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m {s % 60:02d}s"
    if s < 86400:
        return f"{s // 3600}h {s % 3600 // 60:02d}m"
    return f"{s // 86400}d {s % 86400 // 3600:02d}h"


def hms(seconds: float | None, unknown: str = UNKNOWN) -> str:
    """Seconds as MMEngine writes an eta: ``0:11:24``, ``1 day, 8:39:30``, ``18 days, 16:18:38``."""
    if not finite(seconds) or seconds < 0:  # type: ignore[operator]
        return unknown
    s = int(round(seconds))  # type: ignore[arg-type]
    d, rem = divmod(s, 86400)
    h, rem = divmod(rem, 3600)
    m, sec = divmod(rem, 60)
    return (f"{d} day{'s' if d > 1 else ''}, " if d else "") + f"{h}:{m:02d}:{sec:02d}"


def fmt_ago(seconds: float | None) -> str:
    """``just now``, ``12 s ago``, ``5 min ago``, ``3 h ago``, ``2 d ago``; ``—`` when unknown."""
    if not finite(seconds):
        return UNKNOWN
    s = max(0.0, float(seconds))  # type: ignore[arg-type]
    if s < 2:
        return "just now"
    if s < 60:
        return f"{int(s)} s ago"
    if s < 3600:
        return f"{int(s // 60)} min ago"
    if s < 86400:
        return f"{int(s // 3600)} h ago"
    return f"{int(s // 86400)} d ago"


def fmt_clock(iso_text: str | None) -> str:
    """``2026-03-14 21:30`` from an ISO timestamp of the log's clock; ``—`` when unknown."""
    if not iso_text:
        return UNKNOWN
    return iso_text.replace("T", " ")[:16]


def fmt_memory(mb: float | None) -> str:
    """``12,345 MB`` below 10 GB, ``21.4 GB`` above; ``—`` when unknown."""
    if not finite(mb):
        return UNKNOWN
    if mb >= 10 * 1024:  # type: ignore[operator]
        return f"{mb / 1024:.1f} GB"  # type: ignore[operator]
    return f"{mb:,.0f} MB"


def fmt_fraction(n: int | None, total: int | None) -> str:
    """``n/N`` with ``?`` for the unknown part; ``—`` when both are unknown."""
    if n is None and total is None:
        return UNKNOWN
    return f"{'?' if n is None else n}/{'?' if total is None else total}"


def fmt_bool(v: bool | None) -> str:
    """``yes`` / ``no``; ``—`` when unknown."""
    return UNKNOWN if v is None else ("yes" if v else "no")


def fmt_value(v: object) -> str:
    """Any value of a summary for a table cell: numbers by ``fmt_num``, booleans by ``fmt_bool``, unknown ``—``,
    anything else as its text (the caller makes log text safe to show)."""
    if v is None:
        return UNKNOWN
    if isinstance(v, bool):
        return fmt_bool(v)
    if is_number(v):
        return fmt_num(v)  # type: ignore[arg-type]
    return str(v)
