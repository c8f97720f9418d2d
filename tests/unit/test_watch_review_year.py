"""The watcher's clock: a December backlog read in January keeps its year, and events dated
ahead of the clock are taken as now (else they would never leave the windows)."""

from __future__ import annotations

import logging
from datetime import datetime
from types import SimpleNamespace

import pytest
from tests.unit.scenarios import config

import mailwarden.watcher as watcher_module
from mailwarden.events import Login
from mailwarden.service import Runtime
from mailwarden.sources.logs import timestamps
from mailwarden.watcher import FUTURE_SLACK, Watcher

TZ = config().tz
NOW = datetime(2027, 1, 2, 0, 30, tzinfo=TZ).timestamp()  # early January
TAIL = (" mail dovecot: imap-login: Disconnected (auth failed, 1 attempts in 2 secs): "
        "user=<a@city.example.jp>, method=PLAIN, rip=185.220.101.4, lip=192.0.2.25, TLS, "
        "session=<S{0}>")


class _Now(datetime):
    """datetime whose now() is NOW (for a watcher that would read the year itself)."""

    @classmethod
    def now(cls, tz=None):  # type: ignore[no-untyped-def, override]
        return datetime.fromtimestamp(NOW, tz)


@pytest.fixture
def watcher(tmp_path, monkeypatch) -> Watcher:
    """A watcher, and parsers, living at NOW; the logins it passes on are in .seen."""
    monkeypatch.setattr(timestamps, "time", SimpleNamespace(time=lambda: NOW))
    monkeypatch.setattr(watcher_module, "datetime", _Now, raising=False)
    cfg = config()
    cfg.data_dir = tmp_path
    rt = Runtime(cfg)
    seen: list[Login] = []
    rt.logins.observe = lambda login: seen.append(login) or []  # type: ignore[method-assign]
    w = Watcher(rt, clock=lambda: NOW)
    w.seen = seen  # type: ignore[attr-defined]
    return w


def at(month: int, day: int, hour: int, minute: int, year: int) -> float:
    return datetime(year, month, day, hour, minute, tzinfo=TZ).timestamp()


def test_a_december_backlog_read_in_january_keeps_its_year(watcher):
    """Dec 31 read on Jan 2 is last year's; the Jan 1 line after it is this year's."""
    watcher.line("mail.log", "Dec 31 23:50:00" + TAIL.format(1))
    watcher.line("mail.log", "Jan  1 00:05:00" + TAIL.format(2))
    watcher.line("mail.log", "Jan  2 00:20:00" + TAIL.format(3))
    assert [login.time for login in watcher.seen] == [
        at(12, 31, 23, 50, 2026), at(1, 1, 0, 5, 2027), at(1, 2, 0, 20, 2027)
    ]
    assert watcher.counters["future_events"] == 0


def test_events_ahead_of_the_clock_are_taken_as_now(watcher, caplog):
    """A line dated a day ahead (a wrong clock or zone) is counted at now, logged once."""
    caplog.set_level(logging.WARNING, logger="mailwarden.watcher")
    watcher.line("mail.log", "Jan  3 00:30:00" + TAIL.format(1))
    watcher.line("mail.log", "Jan  3 00:31:00" + TAIL.format(2))
    watcher.line("mail.log", "Jan  2 00:33:00" + TAIL.format(3))  # within the slack: kept
    assert [login.time for login in watcher.seen] == [NOW, NOW, NOW + 180]
    assert watcher.counters["future_events"] == 2
    assert len([r for r in caplog.records if "ahead of the clock" in r.getMessage()]) == 1
    assert FUTURE_SLACK > 180


def test_a_new_year_line_read_just_before_midnight_is_of_the_new_year() -> None:
    """A first line from New Year's first seconds, read while the clock still shows December
    (a clock a little behind), is of the next year, not of the January a year ago."""
    clock = timestamps.SyslogClock(TZ, not_after=at(12, 31, 23, 59, 2026) + 50)
    assert clock.parse("Jan  1 00:00:05 mx a") == (at(1, 1, 0, 0, 2027) + 5, "mx a")
    clock = timestamps.SyslogClock(TZ, not_after=at(11, 28, 10, 0, 2026))
    assert clock.parse("Jan  1 00:00:05 mx a") == (at(1, 1, 0, 0, 2026) + 5, "mx a")
