"""The leading timestamp of a syslog line, turned into seconds since the epoch.

Three shapes are understood:

* traditional (RFC 3164) ``Nov 28 10:57:01``, ``Nov  8 10:57:01`` or ``Nov 8 10:57:01``, optionally
  with a fraction (journald ``short-precise``). It carries neither year nor zone: the clock is given
  a zone and a year (or a moment the log cannot be later than) and follows the year over New Year;
* RFC 3339 / ISO 8601 ``2025-10-06T04:45:12.123456+09:00`` (rsyslog high precision), also with
  ``Z``, with a ``+0900`` offset (journald ``short-iso``) or without an offset (the clock's zone).

This runs once per line on the replay path, so the work for one minute is done once and cached;
a line costs a dictionary lookup and an ``int`` of its seconds, and a line stamped like the line
before it (most are: a busy log writes many lines a second) only a ``startswith``.
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta, timezone, tzinfo

__all__ = ["SyslogClock"]

_MONTHS = {
    name: number
    for number, name in enumerate(
        ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1
    )
}
_CACHE_LIMIT = 4096  # distinct minutes kept; a flood of junk prefixes cannot grow memory
_ROLLOVER_MONTHS = 6  # a month jump back of at least this many months is a new year
_FUTURE_SLACK = 2 * 86400.0  # a guessed year may put a line this far after ``not_after``
_DIGITS = frozenset("0123456789")
_SECONDS = frozenset(f"{second:02d}" for second in range(61))  # 60: a leap second
_ISO = re.compile(
    r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d:(\d\d(?:[.,]\d{1,9})?)(Z|z|[+-]\d\d:?\d\d|) ", re.ASCII
)


def _digits(text: str) -> bool:
    """Whether ``text`` is a non-empty run of ASCII digits."""
    return text.isascii() and text.isdigit()


def _fraction_end(line: str, start: int) -> int:
    """The index after an optional ``.digits`` / ``,digits`` fraction starting at ``start``."""
    if line[start : start + 1] not in (".", ","):
        return start
    end = start + 1
    while line[end : end + 1] in _DIGITS and end - start < 10:
        end += 1
    return end


class SyslogClock:
    """Reads the leading timestamp of syslog lines fed in log order.

    ``year`` is the year of the first traditional timestamp; when it is None, the year is the one
    that puts the first line no later than ``not_after`` (default: now) — give a file's
    modification time for old logs. A month jump back of six months or more (Dec → Jan) moves to
    the next year; a stray line six months or more ahead of the current month belongs to the
    previous year and does not move the clock.

    ``stamp`` is the text of the last timestamp read, with the space after it (read only): a line
    starting with it is at that same moment, and reading it changes nothing.
    """

    __slots__ = ("_last_base", "_minutes", "_month", "_not_after", "_offsets", "_tz", "_when",
                 "_year", "stamp")

    def __init__(self, tz: tzinfo, year: int | None = None, *, not_after: float | None = None):
        self._tz = tz
        self._year = year
        self._not_after = not_after
        self._month = 0
        self._last_base = float("-inf")
        self._minutes: dict[str, float] = {}
        self._offsets: dict[str, tzinfo] = {}
        self.stamp = ""  # the timestamp (and the space after it) of the last line read
        self._when = 0.0  # what it meant

    @property
    def year(self) -> int | None:
        """The year traditional timestamps are read in now (None until one was read)."""
        return self._year

    def parse(self, line: str) -> tuple[float, str] | None:
        """``(epoch seconds, rest of the line)`` for a line with a leading timestamp, else None."""
        stamp = self.stamp
        if stamp and line.startswith(stamp):  # the same text means the same moment
            return self._when, line[len(stamp) :]
        month = _MONTHS.get(line[:3])
        if month is None:
            return self._iso(line) if line[:1] in _DIGITS else None
        # Traditional, inline as it is the common case: ``Nov 28 10:57:01``, ``Nov  8``, ``Nov 8``.
        pos = 5 if line[5:6] == " " and line[4:5] != " " else 6  # the space before the time
        seconds = line[pos + 7 : pos + 9]
        if line[pos + 6 : pos + 7] != ":" or seconds not in _SECONDS:
            return None
        end = pos + 9 if line[pos + 9 : pos + 10] == " " else _fraction_end(line, pos + 9)
        if line[end : end + 1] != " ":
            return None
        base = self._minutes.get(line[: pos + 6])  # only well-formed minutes are cached
        if base is None:
            base = self._new_minute(line, month, pos)
            if base is None:
                return None
        if end == pos + 9:
            when = base + int(seconds)
        else:
            when = base + float(line[pos + 7 : end].replace(",", "."))
        self.stamp, self._when = line[: end + 1], when
        return when, line[end + 1 :]

    # traditional ---------------------------------------------------------------------------

    def _new_minute(self, line: str, month: int, pos: int) -> float | None:
        """The epoch of a traditional minute not seen yet, or None if it is not well-formed."""
        if line[3:4] != " " or line[pos : pos + 1] != " " or line[pos + 3 : pos + 4] != ":":
            return None
        try:
            return self._traditional_minute(line[: pos + 6], month, pos)
        except (ValueError, OverflowError, OSError):
            return None

    def _traditional_minute(self, key: str, month: int, pos: int) -> float | None:
        """The epoch of the minute ``key`` (``Nov 28 10:57``), choosing its year; cached."""
        day, hour, minute = key[4:pos].strip(), key[pos + 1 : pos + 3], key[pos + 4 : pos + 6]
        if not (_digits(day) and _digits(hour) and _digits(minute)):
            return None
        fields = (month, int(day), int(hour), int(minute))
        year, current = self._year_of(fields)
        base = self._local_epoch(datetime(year, *fields))  # raises for 31 April and the like
        if current:
            if year != self._year:  # the first guess, or New Year
                self._year, self._month = year, month
                self._minutes.clear()
            self._remember(key, base)
            self._month = max(self._month, month)
        return base

    def _year_of(self, fields: tuple[int, int, int, int]) -> tuple[int, bool]:
        """The year of a new minute, and whether it is the clock's (possibly new) current year."""
        month = fields[0]
        if self._year is None:
            return self._guess_year(fields), True
        if self._month and self._month - month >= _ROLLOVER_MONTHS:
            return self._year + 1, True
        if self._month and month - self._month >= _ROLLOVER_MONTHS:
            return self._year - 1, False
        return self._year, True

    def _guess_year(self, fields: tuple[int, int, int, int]) -> int:
        """The latest year that puts ``fields`` no later than ``not_after`` (plus slack): also
        the next year, for a line of New Year's first minutes read just before midnight."""
        limit = time.time() if self._not_after is None else self._not_after
        year = datetime.fromtimestamp(limit, self._tz).year
        for candidate in (year + 1, year, year - 1, year - 2, year - 3, year - 4):
            try:
                moment = datetime(candidate, *fields, tzinfo=self._tz).timestamp()
            except ValueError:  # 29 February in a common year
                continue
            if moment <= limit + _FUTURE_SLACK:
                return candidate
        raise ValueError("no year fits the date")

    def _local_epoch(self, naive: datetime) -> float:
        """Epoch of a wall-clock time in the clock's zone; the repeated DST hour is followed."""
        first = naive.replace(tzinfo=self._tz).timestamp()
        second = naive.replace(tzinfo=self._tz, fold=1).timestamp()
        if second != first and self._last_base > first + 120:
            first = second  # the log already passed this minute's first occurrence
        self._last_base = first
        return first

    def _remember(self, key: str, base: float, *, local: bool = True) -> None:
        """Cache a minute; a local minute that occurs twice (end of DST) is not cached."""
        minutes = self._minutes
        if len(minutes) >= _CACHE_LIMIT:
            minutes.clear()
        if not (local and self._ambiguous(base)):
            minutes[key] = base

    def _ambiguous(self, base: float) -> bool:
        """Whether the wall-clock minute at ``base`` occurs twice (end of daylight saving)."""
        moment = datetime.fromtimestamp(base, self._tz)
        naive = moment.replace(tzinfo=None)
        return (
            naive.replace(tzinfo=self._tz).utcoffset()
            != naive.replace(tzinfo=self._tz, fold=1).utcoffset()
        )

    # RFC 3339 -------------------------------------------------------------------------------

    def _iso(self, line: str) -> tuple[float, str] | None:
        match = _ISO.match(line)
        if match is None:
            return None
        seconds, offset = match.group(1, 2)
        key = line[:16] + offset
        base = self._minutes.get(key)
        if base is None:
            try:
                base = self._iso_minute(line, offset)
                self._remember(key, base, local=not offset)
            except (ValueError, OverflowError, OSError):
                return None
        if "," in seconds:
            seconds = seconds.replace(",", ".")
        when = base + float(seconds)
        self.stamp, self._when = line[: match.end()], when
        return when, line[match.end() :]

    def _iso_minute(self, line: str, offset: str) -> float:
        year, month, day, hour, minute = (
            line[0:4],
            line[5:7],
            line[8:10],
            line[11:13],
            line[14:16],
        )
        if not all(_digits(part) for part in (year, month, day, hour, minute)):
            raise ValueError("not an RFC 3339 timestamp")
        naive = datetime(int(year), int(month), int(day), int(hour), int(minute))
        if not offset:
            return naive.replace(tzinfo=self._tz).timestamp()
        return naive.replace(tzinfo=self._zone(offset)).timestamp()

    def _zone(self, offset: str) -> tzinfo:
        zone = self._offsets.get(offset)
        if zone is None:
            if offset == "Z":
                zone = UTC
            else:
                digits = offset[1:].replace(":", "")
                if len(digits) != 4 or not _digits(digits):
                    raise ValueError("bad offset")
                delta = timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
                zone = timezone(-delta if offset[0] == "-" else delta)
            if len(self._offsets) < 64:
                self._offsets[offset] = zone
        return zone
