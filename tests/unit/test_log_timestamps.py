"""SyslogClock: the leading timestamp of syslog lines."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from mailwarden.sources.logs.timestamps import SyslogClock

TOKYO = ZoneInfo("Asia/Tokyo")
NEW_YORK = ZoneInfo("America/New_York")


def epoch(
    year: int, month: int, day: int, hour: int, minute: int, second: int, tz: tzinfo = TOKYO
) -> float:
    return datetime(year, month, day, hour, minute, second, tzinfo=tz).timestamp()


def test_traditional_two_digit_day() -> None:
    """``Nov 28 10:57:01`` is read in the clock's zone and year; the rest follows the space."""
    clock = SyslogClock(TOKYO, 2025)
    assert clock.parse("Nov 28 10:57:01 mx postfix/smtpd[1]: x") == (
        epoch(2025, 11, 28, 10, 57, 1),
        "mx postfix/smtpd[1]: x",
    )


def test_traditional_single_digit_day_both_spacings() -> None:
    """``Nov  8`` (space-padded) and ``Nov 8`` (unpadded) are the same day."""
    clock = SyslogClock(TOKYO, 2025)
    assert clock.parse("Nov  8 10:57:01 mx a") == (epoch(2025, 11, 8, 10, 57, 1), "mx a")
    assert clock.parse("Nov 8 10:57:02 mx a") == (epoch(2025, 11, 8, 10, 57, 2), "mx a")


def test_traditional_fraction() -> None:
    """journald's short-precise ``Oct 06 04:45:12.250000`` keeps the fraction."""
    clock = SyslogClock(TOKYO, 2025)
    assert clock.parse("Oct 06 04:45:12.250000 mx a") == (
        epoch(2025, 10, 6, 4, 45, 12) + 0.25,
        "mx a",
    )


def test_rfc3339_offsets_name_one_instant() -> None:
    """RFC 3339 with +09:00, Z, journald's +0900 and a -01:00 offset give the same instant."""
    clock = SyslogClock(UTC, 1999)
    instant = epoch(2025, 10, 6, 4, 45, 12) + 0.123456
    for stamp in (
        "2025-10-06T04:45:12.123456+09:00",
        "2025-10-05T19:45:12.123456Z",
        "2025-10-06T04:45:12.123456+0900",
        "2025-10-05T18:45:12.123456-01:00",
    ):
        parsed = clock.parse(stamp + " mx postfix/smtpd[1]: x")
        assert parsed is not None, stamp
        assert abs(parsed[0] - instant) < 1e-6, stamp
        assert parsed[1] == "mx postfix/smtpd[1]: x"


def test_rfc3339_without_offset_uses_the_zone() -> None:
    """An ISO timestamp without an offset (or with a space for T) is read in the clock's zone."""
    clock = SyslogClock(TOKYO)
    assert clock.parse("2025-10-06T04:45:12 mx a") == (epoch(2025, 10, 6, 4, 45, 12), "mx a")
    assert clock.parse("2025-10-06 04:45:13 mx a") == (epoch(2025, 10, 6, 4, 45, 13), "mx a")


def test_year_rolls_over_from_december_to_january() -> None:
    """Lines read in order move to the next year when January follows December."""
    clock = SyslogClock(TOKYO, 2024)
    assert clock.parse("Dec 31 23:59:59 mx a") == (epoch(2024, 12, 31, 23, 59, 59), "mx a")
    assert clock.parse("Jan  1 00:00:00 mx a") == (epoch(2025, 1, 1, 0, 0, 0), "mx a")
    assert clock.year == 2025
    assert clock.parse("Mar  1 00:00:00 mx a") == (epoch(2025, 3, 1, 0, 0, 0), "mx a")


def test_a_late_december_line_after_new_year_stays_in_the_old_year() -> None:
    """A December line logged just after New Year belongs to the old year and moves nothing."""
    clock = SyslogClock(TOKYO, 2024)
    clock.parse("Dec 31 23:59:59 mx a")
    clock.parse("Jan  1 00:00:01 mx a")
    assert clock.parse("Dec 31 23:59:58 mx a") == (epoch(2024, 12, 31, 23, 59, 58), "mx a")
    assert clock.parse("Jan  1 00:00:02 mx a") == (epoch(2025, 1, 1, 0, 0, 2), "mx a")
    assert clock.year == 2025


def test_year_guessed_from_not_after() -> None:
    """Without a year, the first line gets the latest year that is not after ``not_after``."""
    clock = SyslogClock(TOKYO, not_after=epoch(2025, 1, 5, 12, 0, 0))
    assert clock.parse("Dec 25 10:00:00 mx a") == (epoch(2024, 12, 25, 10, 0, 0), "mx a")
    assert clock.parse("Jan  5 11:00:00 mx a") == (epoch(2025, 1, 5, 11, 0, 0), "mx a")
    clock = SyslogClock(TOKYO, not_after=epoch(2025, 1, 5, 12, 0, 0))
    assert clock.parse("Jan  5 11:00:00 mx a") == (epoch(2025, 1, 5, 11, 0, 0), "mx a")


def test_29_february_guesses_a_leap_year() -> None:
    """A guessed year skips years without 29 February."""
    clock = SyslogClock(UTC, not_after=epoch(2025, 3, 1, 0, 0, 0, tz=UTC))
    assert clock.parse("Feb 29 12:00:00 mx a") == (epoch(2024, 2, 29, 12, 0, 0, tz=UTC), "mx a")


def test_invalid_dates_are_rejected_without_moving_the_clock() -> None:
    """Impossible dates give None and do not start a new year."""
    clock = SyslogClock(TOKYO, 2025)
    clock.parse("Oct  6 03:00:00 mx a")
    for line in ("Feb 29 03:00:12 mx a", "Oct 32 03:00:12 mx a", "Oct  6 25:00:00 mx a"):
        assert clock.parse(line) is None, line
    assert clock.year == 2025
    assert clock.parse("Oct  6 03:00:13 mx a") == (epoch(2025, 10, 6, 3, 0, 13), "mx a")


def test_repeated_dst_hour_keeps_going_forward() -> None:
    """At the end of daylight saving the repeated hour is read as the second one when it comes
    back."""
    clock = SyslogClock(NEW_YORK, 2025)
    times = [
        clock.parse(f"Nov  2 {stamp} h a")
        for stamp in ("00:59:59", "01:30:00", "01:59:59", "01:00:00", "01:30:00", "02:00:00")
    ]
    epochs = [parsed[0] for parsed in times if parsed is not None]
    assert len(epochs) == 6
    assert epochs == sorted(epochs)
    assert epochs[4] - epochs[1] == 3600


def test_many_distinct_minutes_stay_correct() -> None:
    """More distinct minutes than the cache holds are all read right."""
    clock = SyslogClock(UTC, 2025)
    start = datetime(2025, 3, 1, tzinfo=UTC)
    for minute in range(0, 6000, 7):
        moment = start + timedelta(minutes=minute, seconds=minute % 60)
        line = f"{moment:%b} {moment.day:2d} {moment:%H:%M:%S} h a"
        assert clock.parse(line) == (moment.timestamp(), "h a")


def test_lines_without_a_timestamp() -> None:
    """Lines that do not start with a whole timestamp followed by a space give None."""
    clock = SyslogClock(UTC, 2025)
    for line in (
        "",
        "Nov",
        "Nov 28 10:57:01",
        "Nov 28 10:57 mx",
        "Nov 28 10:57:0x mx",
        "Nov 28 1a:57:01 mx",
        "nov 28 10:57:01 mx",
        "2025-10-06T04:45:12",
        "2025-10-06T04:45:12.x mx",
        "2025-10-06T04:45:12+9:00 mx",
        "2025-13-06T04:45:12Z mx",
        "2025-10-06T04:45:12+99:00 mx",
        "-- Boot 1a2b --",
        "２０２５-10-06T04:45:12Z mx",
    ):
        assert clock.parse(line) is None, line


@given(st.text(max_size=80))
def test_arbitrary_text_never_raises(line: str) -> None:
    """Any text gives None or (float, a suffix of the line)."""
    parsed = SyslogClock(TOKYO, 2025).parse(line)
    if parsed is not None:
        assert isinstance(parsed[0], float | int)
        assert line.endswith(parsed[1])


@given(
    st.sampled_from(["Jan", "Feb", "Oct", "Dec", "2025-10-0", "2024-02-2"]), st.text(max_size=40)
)
def test_near_timestamps_never_raise(prefix: str, tail: str) -> None:
    """Text that starts like a timestamp never raises, with or without a known year."""
    SyslogClock(TOKYO, 2025).parse(prefix + tail)
    SyslogClock(TOKYO).parse(prefix + tail)


@given(st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2090, 12, 31)))
def test_traditional_round_trip(moment: datetime) -> None:
    """A wall-clock time written the syslog way reads back as that time (first occurrence)."""
    moment = moment.replace(microsecond=0)
    line = f"{moment:%b} {moment.day:2d} {moment:%H:%M:%S} host prog: text"
    parsed = SyslogClock(NEW_YORK, moment.year).parse(line)
    assert parsed == (moment.replace(tzinfo=NEW_YORK).timestamp(), "host prog: text")


@given(
    st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2090, 12, 31)),
    st.integers(min_value=-14 * 60, max_value=14 * 60),
)
def test_rfc3339_round_trip(moment: datetime, offset_minutes: int) -> None:
    """An RFC 3339 timestamp with any offset and microseconds reads back as its instant."""
    aware = moment.replace(tzinfo=timezone(timedelta(minutes=offset_minutes)))
    parsed = SyslogClock(TOKYO).parse(aware.isoformat(timespec="microseconds") + " h a")
    assert parsed is not None
    assert abs(parsed[0] - aware.timestamp()) < 1e-5
    assert parsed[1] == "h a"


@given(st.datetimes(), st.integers(min_value=-14 * 60, max_value=14 * 60), st.booleans())
def test_extreme_dates_never_raise(
    moment: datetime, offset_minutes: int, with_offset: bool
) -> None:
    """Dates at the ends of the calendar, with or without an offset, never raise."""
    if with_offset:
        moment = moment.replace(tzinfo=timezone(timedelta(minutes=offset_minutes)))
    SyslogClock(TOKYO).parse(moment.isoformat() + " h a")
    traditional = f"{moment:%b} {moment.day:2d} {moment:%H:%M:%S} h a"
    SyslogClock(TOKYO, moment.year).parse(traditional)
    SyslogClock(TOKYO, not_after=0.0).parse(traditional)


_STAMPS = st.sampled_from(
    ["Oct  6 04:45:12 ", "Oct  6 04:45:12.5 ", "Oct  6 04:45:13 ", "Oct  6 04:46:00 ",
     "Dec 31 23:59:59 ", "Jan  1 00:00:00 ", "Feb 29 10:00:00 ", "Apr 31 10:00:00 ",
     "Nov  2 01:30:00 ", "Mar 10 02:30:00 ", "2025-10-06T04:45:12+09:00 ",
     "2025-10-06T04:45:12,25Z ", "2025-10-06 04:45:12 ", "Oct  6 04:45:1 ", "garbage "]
)


@given(st.lists(st.tuples(_STAMPS, st.sampled_from(["mx a", "mx b", ""])), max_size=30))
def test_a_repeated_timestamp_reads_as_it_did_the_first_time(lines: list[tuple[str, str]]) -> None:
    """Reusing the previous line's reading for the same timestamp text changes no result."""
    zone = ZoneInfo("America/New_York")  # with a repeated hour in November
    fast, slow = SyslogClock(zone, 2025), SyslogClock(zone, 2025)
    for stamp, rest in lines:
        slow.stamp = ""  # always read the timestamp afresh
        assert fast.parse(stamp + rest) == slow.parse(stamp + rest)
        assert fast.year == slow.year
