"""Turning log timestamps into seconds, including the year-less console format.

Times are the log's own wall clock with no time zone: ``calendar.timegm`` of the naive time, so
differences between two timestamps are exact and no local time zone is applied twice.

Year inference for ``MM/DD HH:MM:SS`` lines: the year comes, in order, from a full date seen earlier
in the same stream (a year-ful prefix or a foreign logger's ``[2025-07-07 ...]``), from the caller's
``reference`` (a date the file is known to be near: a timestamp in its name, else its mtime), and
otherwise from 1970 (timestamps then still give correct durations). Inside one stream time never goes
back across New Year: a month/day smaller than the previous one moves to the next year.

The clock says where the year in force came from (``year_source``) and whether it is a guess
(``year_assumed``): a full date in the log and a ``YYYYMMDD_HHMMSS`` stamp in the file's name (MMEngine names
a run's files by its start) are facts; a file or upload time (a copy or a clone changes it), a date the caller
gave without saying where it came from, and the 1970 stand-in are assumed.
"""

from __future__ import annotations

import calendar
import datetime as _dt
import re
from dataclasses import dataclass

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


YEAR_FROM_LOG = "log: a full date on an earlier line"
YEAR_FROM_NOTHING = ("none: no full date in the log and no date in its name or file time; 1970 stands in "
                     "(assumed)")


@dataclass(frozen=True)
class Reference:
    """A date a year-less log is known to be near, where it came from, and whether a year read from it is
    a guess (``assumed``)."""

    when: _dt.datetime
    source: str  # e.g. "file name: 20260316_214000", "file time: 2026-06-11 09:00 (assumed: ...)"
    assumed: bool

    @classmethod
    def of(cls, reference: _dt.datetime | Reference | None) -> Reference | None:
        """A ``Reference`` as it is; a bare date (its source unknown) as an assumed one."""
        if reference is None or isinstance(reference, Reference):
            return reference
        return cls(reference, f"a date given by the caller: {reference:%Y-%m-%d} (assumed)", True)


def name_reference(name: str) -> Reference | None:
    """The ``YYYYMMDD_HHMMSS`` stamp of a file or folder name as a reference (a fact: MMEngine's name)."""
    m = _NAME_STAMP.search(name)
    stamp = stamp_in_name(name)
    if m is None or stamp is None:
        return None
    return Reference(stamp, f"file name: {m.group(0)}", False)


def time_reference(seconds: float, what: str = "file time") -> Reference:
    """A file's (or an upload's) time as a reference: assumed, since copying or cloning changes it."""
    when = _dt.datetime.fromtimestamp(seconds)
    return Reference(when, f"{what}: {when:%Y-%m-%d %H:%M} (assumed: a copy or a clone changes it)", True)


class Clock:
    """Converts prefix timestamps to seconds; remembers state so the year never goes back."""

    __slots__ = ("_cache", "_year", "_last_md", "reference", "year_source", "year_assumed")

    def __init__(self, reference: _dt.datetime | Reference | None = None) -> None:
        self._cache: dict[tuple, float] = {}  # (year, month, day, "HH:MM") -> seconds at that minute
        self._year: int | None = None  # year in force for year-less lines
        self._last_md: tuple[int, int] | None = None
        self.reference = Reference.of(reference)
        self.year_source: str | None = None  # where the year in force came from (None: no year yet)
        self.year_assumed: bool | None = None  # whether that year is a guess

    def note_year(self, year: int) -> None:
        """A full date was seen (any source): year-less lines that follow belong to it."""
        self._year = year
        if self.year_assumed is not False:
            self.year_source, self.year_assumed = YEAR_FROM_LOG, False

    def full(self, year: int, month: int, day: int, hms: str) -> float:
        self._year = year
        self._last_md = (month, day)
        if self.year_assumed is not False:
            self.year_source, self.year_assumed = YEAR_FROM_LOG, False
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
            self.year_source, self.year_assumed = YEAR_FROM_NOTHING, True
            return 1970
        self.year_source, self.year_assumed = ref.source, ref.assumed
        when = ref.when
        # The run is at most a little after the reference date; it may have started the year before.
        for year in (when.year, when.year - 1):
            try:
                if _dt.date(year, month, day) <= when.date() + _dt.timedelta(days=1):
                    if year != when.year:
                        self.year_source = f"{ref.source}, the year before it ({month:02d}/{day:02d} is after it)"
                    return year
            except ValueError:  # 29 February in a common year
                continue
        return when.year

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
