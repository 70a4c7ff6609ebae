"""Number formatting shared by the command line, the Markdown report and the pages."""

from __future__ import annotations

import math


def hms(seconds: float | None, unknown: str = "unknown") -> str:
    """Seconds as MMEngine writes an eta: ``0:11:24``, ``1 day, 8:39:30``, ``18 days, 16:18:38``."""
    if seconds is None or not math.isfinite(seconds) or seconds < 0:
        return unknown
    s = int(round(seconds))
    d, rem = divmod(s, 86400)
    h, rem = divmod(rem, 3600)
    m, sec = divmod(rem, 60)
    return (f"{d} day{'s' if d > 1 else ''}, " if d else "") + f"{h}:{m:02d}:{sec:02d}"
