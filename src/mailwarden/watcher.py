"""The live log watcher inside ``mailwarden serve``: followed files and journald → events.

Each followed source has its own Postfix, Dovecot and Exim parsers (one syslog file usually
mixes them). Logins go to the login guard; bounces of non-existent recipients to the outbound
engine.

**Each attempt counted once.** While Dovecot's auth policy server is reporting, Postfix and
Dovecot log lines describe the same attempts again (Postfix's SASL goes through Dovecot), and so
do Exim's lines of authenticators that ask Dovecot (``[login] exim_dovecot_authenticators``, by
default the names starting with ``dovecot``): the reports carry the password hash, the lines do
not, so a line would add a "distinct wrong password" for each retry of one stale password. Such
a line is skipped when its own time falls within a run of reports: from the run's first report
(``REPORT_SKEW`` earlier, a line's second may precede its report) to ``POLICY_FRESH`` after its
last. A report more than ``POLICY_FRESH`` after the one before starts a new run, so the backlog
written while Mailwarden was down, which Dovecot could not report, is counted. The login guard
keeps only the time of the last report: the watcher samples it every second and on every login
line, and takes a new run to begin just after the last sample that did not see it.

**Times.** The parsers guess the year of a traditional syslog timestamp from the clock (a
December line read in January is from the year before; a line written just after New Year
moves them on). An event dated more than ``FUTURE_SLACK`` ahead of the clock (a wrong clock or
time zone) is taken as happening now, and logged once: it could never leave the windows.

**Never stopping for good.** A follower that fails (journalctl cannot be started, any unexpected
error) or ends is started again after ``RESTART_BACKOFF`` seconds, doubling up to
``RESTART_MAX_BACKOFF`` while it keeps failing; a follower that ran ``HEALTHY_RUN`` seconds
waits the shortest time again. Each failure is logged: the first at once, then at most one line
every ``FAILURE_LOG_INTERVAL`` seconds, counting the failures it did not show.
"""

from __future__ import annotations

import asyncio
import dataclasses
import fnmatch
import logging
import time
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import TypeVar

from mailwarden.events import Delivery, Login
from mailwarden.service import Runtime
from mailwarden.sources.logs import PARSERS, LogParser, make_parser
from mailwarden.sources.logs.follow import FileFollower
from mailwarden.sources.logs.journald import JournalError, JournalFollower
from mailwarden.sources.logs.positions import PositionStore
from mailwarden.sources.logs.route import route

log = logging.getLogger("mailwarden.watcher")
POLICY_FRESH = 600.0  # seconds after an auth policy report that Dovecot/Postfix lines are covered
REPORT_SKEW = 2.0  # seconds a log line may be stamped before the report of the same attempt
SAMPLE_INTERVAL = 1.0  # seconds between two looks at the time of the last report
FUTURE_SLACK = 300.0  # seconds an event may lie ahead of the clock before it is taken as now
RESTART_BACKOFF = 1.0  # seconds before a failed follower is started again; doubled ...
RESTART_MAX_BACKOFF = 60.0  # ... up to this while it keeps failing
HEALTHY_RUN = 60.0  # seconds a follower must run for its next restart to wait the shortest time
FAILURE_LOG_INTERVAL = 60.0  # seconds between two log lines of one follower's failures

Follower = FileFollower | JournalFollower
_Event = TypeVar("_Event", Login, Delivery)


class ReportRuns:
    """The current run of Dovecot auth policy reports, from samples of the last report's time."""

    def __init__(self) -> None:
        self.start = 0.0  # when the current run began (0: no report seen yet)
        self.last = 0.0  # the time of the last report seen
        self._sampled = 0.0  # when the last sample was taken

    def sample(self, last_report: float, now: float) -> None:
        """Take the login guard's ``last_report`` as seen at ``now``."""
        if last_report > self.last:
            if self.last <= 0 or last_report - self.last > POLICY_FRESH:
                # a new run: its first report came after the sample before this one
                self.start = min(self._sampled, last_report) if self._sampled else last_report
            self.last = last_report
        self._sampled = now

    def covers(self, when: float) -> bool:
        """Whether an attempt at ``when`` falls within the run (so the policy reported it)."""
        return self.start > 0 and self.start - REPORT_SKEW <= when <= self.last + POLICY_FRESH


class Watcher:
    """Feeds lines of one or more sources to their parsers and the events to the guards."""

    def __init__(self, rt: Runtime, clock: Callable[[], float] = time.time) -> None:
        self.rt = rt
        self.clock = clock
        self.parsers: dict[str, dict[str, LogParser]] = {}
        self.counters = {"lines": 0, "logins": 0, "bounces": 0, "skipped_logins": 0,
                         "future_events": 0, "restarts": 0}
        self.reports = ReportRuns()
        self._dovecot_authenticators = tuple(
            pattern.lower() for pattern in rt.cfg.login.exim_dovecot_authenticators
        )
        self._warned_future = False
        self.sample()

    def sample(self) -> None:
        """Look at the time of the auth policy's last report."""
        self.reports.sample(self.rt.logins.last_report, self.clock())

    async def sample_reports(self) -> None:
        """Look at it every SAMPLE_INTERVAL seconds, for ever (a task of ``serve``)."""
        while True:
            self.sample()
            await asyncio.sleep(SAMPLE_INTERVAL)

    def _parsers(self, source: str) -> dict[str, LogParser]:
        found = self.parsers.get(source)
        if found is None:  # year None: guessed from the clock, also for a December backlog
            found = {name: make_parser(name, self.rt.cfg.tz) for name in sorted(PARSERS)}
            self.parsers[source] = found
        return found

    def line(self, source: str, line: str) -> None:
        """Take one line; never raises (a bad line must not stop the watcher)."""
        self.counters["lines"] += 1
        try:
            parsers = self._parsers(source)
            for name in route(line):
                for event in parsers[name].feed(line):
                    self._event(name, event)
        except Exception:
            log.exception("log line from %s could not be handled", source)

    def _event(self, parser: str, event: object) -> None:
        if isinstance(event, Login):
            event = self._no_later_than_now(event)
            if self._reported(parser, event):
                self.counters["skipped_logins"] += 1
                return
            self.counters["logins"] += 1
            self.rt.logins.observe(event)
        elif isinstance(event, Delivery) and self.rt.engine.bounce(self._no_later_than_now(event)):
            self.counters["bounces"] += 1

    def _reported(self, parser: str, login: Login) -> bool:
        """Whether the auth policy already reported this attempt (with its password hash)."""
        if parser == "exim" and not self.asks_dovecot(login.details.get("authenticator", "")):
            return False  # Exim's own authenticator: Dovecot never saw the attempt
        self.sample()
        return self.reports.covers(login.time)

    def asks_dovecot(self, authenticator: str) -> bool:
        """Whether an Exim authenticator of this name is one of Dovecot's (the setting)."""
        name = authenticator.lower()
        return bool(name) and any(
            fnmatch.fnmatchcase(name, pattern) for pattern in self._dovecot_authenticators
        )

    def _no_later_than_now(self, event: _Event) -> _Event:
        """The event, dated now if its time is more than FUTURE_SLACK ahead of the clock."""
        now = self.clock()
        if event.time <= now + FUTURE_SLACK:
            return event
        self.counters["future_events"] += 1
        if not self._warned_future:
            self._warned_future = True
            log.warning("a log line is dated %.0f s ahead of the clock; such events are taken as "
                        "happening now (check the clock and [organization] timezone)",
                        event.time - now)
        return dataclasses.replace(event, time=now)

    async def follow(self, lines: AsyncIterator[tuple[str, str]]) -> None:
        async for source, line in lines:
            self.line(source, line)


async def run_watchers(rt: Runtime, files: Sequence[Path], journald: bool,
                       units: Sequence[str] = ()) -> list[asyncio.Task[None]]:
    """Start following; returns the tasks (cancel them to stop)."""
    if not files and not journald:
        return []
    watcher = Watcher(rt)
    tasks = [asyncio.create_task(watcher.sample_reports())]
    paths = [str(p) for p in files]
    cursor = rt.cfg.data_dir / "journald.cursor"

    def file_follower() -> Follower:
        return FileFollower(paths, PositionStore.in_folder(rt.cfg.data_dir))

    def journal_follower() -> Follower:
        return JournalFollower(cursor, units=tuple(units))

    if files:
        tasks.append(asyncio.create_task(keep_following(watcher, file_follower, "files")))
    if journald:
        tasks.append(asyncio.create_task(keep_following(watcher, journal_follower, "journald")))
    return tasks


async def keep_following(watcher: Watcher, make: Callable[[], Follower], name: str, *,
                         backoff: float = RESTART_BACKOFF,
                         max_backoff: float = RESTART_MAX_BACKOFF) -> None:
    """Follow with a follower from ``make`` until cancelled, starting a new one whenever one
    fails or ends (each start failure or end counts in ``watcher.counters["restarts"]``)."""
    delay = backoff
    failures = FailureLog(name)
    while True:
        started = time.monotonic()
        error: Exception | None = None
        try:
            async with make() as follower:
                await watcher.follow(follower.lines())
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            error = exc
        if time.monotonic() - started >= HEALTHY_RUN:
            delay = backoff
        watcher.counters["restarts"] += 1
        failures.failed(error, delay)
        await asyncio.sleep(delay)
        delay = min(delay * 2, max_backoff)


class FailureLog:
    """Logs a follower's failures: the first at once, then at most one line every ``interval``
    seconds, which counts the failures not shown since the line before."""

    def __init__(self, name: str, interval: float = FAILURE_LOG_INTERVAL,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.name = name
        self.interval = interval
        self.clock = clock
        self.failures = 0
        self._unlogged = 0
        self._logged_at: float | None = None

    def failed(self, error: Exception | None, delay: float) -> bool:
        """Count a failure (None: the follower ended); whether a line was logged for it."""
        self.failures += 1
        now = self.clock()
        if self._logged_at is not None and now - self._logged_at < self.interval:
            self._unlogged += 1
            return False
        self._logged_at = now
        what = "ended" if error is None else f"failed: {type(error).__name__}: {error}"
        more = f" ({self._unlogged} more failures since the last line)" if self._unlogged else ""
        self._unlogged = 0
        expected = error is None or isinstance(error, JournalError | OSError)
        log.error("log watcher %s %s%s; starting it again in %.0f s", self.name, what, more,
                  delay, exc_info=None if expected else error)
        return True
