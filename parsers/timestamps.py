"""Turning log timestamps into seconds, including the year-less console format.

Times are the log's own wall clock with no time zone: ``calendar.timegm`` of the naive time, so
differences between two timestamps are exact and no local time zone is applied twice.

Year inference for ``MM/DD HH:MM:SS`` lines: the year comes, in order, from a full date seen earlier
in the same stream (a year-ful prefix or a foreign logger's ``[2025-07-07 ...]``), from the caller's
``reference`` (a date the file is known to be near: a timestamp in its name, else its mtime), and
otherwise from 1970 (timestamps then still give correct durations). Inside one stream time never goes
back across New Year: a month/day smaller than the previous one moves to the next year.
"""

from __future__ import annotations

import calendar
import datetime as _dt
import re

_NAME_STAMP = re.compile(r"(?<!\d)(20\d\d)(\d\d)(\d\d)_(\d\d)(\d\d)(\d\d)(?!\d)")


def stamp_in_name(name: str) -> _dt.datetime | None:
    """MMEngine names work_dir folders and logs ``YYYYMMDD_HHMMSS``; that is when the run started."""
    m = _NAME_STAMP.search(name)
    if not m:
        return None
    try:
        return _dt.datetime(*(int(g) for g in m.groups()))
    except ValueError:
        return None


class Clock:
    """Converts prefix timestamps to seconds; remembers state so the year never goes back."""

    __slots__ = ("_cache", "_year", "_last_md", "reference")

    def __init__(self, reference: _dt.datetime | None = None) -> None:
        self._cache: dict[tuple, float] = {}  # (year, month, day, "HH:MM") -> seconds at that minute
        self._year: int | None = None  # year in force for year-less lines
        self._last_md: tuple[int, int] | None = None
        self.reference = reference

    def note_year(self, year: int) -> None:
        """A full date was seen (any source): year-less lines that follow belong to it."""
        self._year = year

    def full(self, year: int, month: int, day: int, hms: str) -> float:
        self._year = year
        self._last_md = (month, day)
        return self._seconds(year, month, day, hms)

    def yearless(self, month: int, day: int, hms: str) -> float:
        md = (month, day)
        if self._year is None:
            self._year = self._guess_year(month, day)
        elif self._last_md is not None and md < self._last_md:
            # Months only go back across New Year (the log is in time order).
            self._year += 1
        self._last_md = md
        return self._seconds(self._year, month, day, hms)

    def _guess_year(self, month: int, day: int) -> int:
        ref = self.reference
        if ref is None:
            return 1970
        # The run is at most a little after the reference date; it may have started the year before.
        for year in (ref.year, ref.year - 1):
            try:
                if _dt.date(year, month, day) <= ref.date() + _dt.timedelta(days=1):
                    return year
            except ValueError:  # 29 February in a common year
                continue
        return ref.year

    def _seconds(self, year: int, month: int, day: int, hms: str) -> float:
        key = (year, month, day, hms[:5])
        base = self._cache.get(key)
        if base is None:
            try:
                base = float(calendar.timegm((year, month, day, int(hms[:2]), int(hms[3:5]), 0)))
            except (ValueError, OverflowError):
                return float("nan")
            if len(self._cache) > 4096:
                self._cache.clear()
            self._cache[key] = base
        return base + int(hms[6:8])
