"""The live log watcher inside ``mailwarden serve``: followed files and journald → events.

Each followed source has its own Postfix, Dovecot and Exim parsers (one syslog file usually
mixes them). Logins go to the login guard; bounces of non-existent recipients to the outbound
engine. When Dovecot's auth policy server is reporting, Postfix and Dovecot log lines describe
the same attempts again (Postfix's SASL goes through Dovecot), so they are not counted twice:
only Exim's own logins are taken from the logs then.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from pathlib import Path

from mailwarden.events import Delivery, Login
from mailwarden.service import Runtime
from mailwarden.sources.logs import PARSERS, LogParser, make_parser
from mailwarden.sources.logs.follow import FileFollower
from mailwarden.sources.logs.journald import JournalFollower
from mailwarden.sources.logs.positions import PositionStore
from mailwarden.sources.logs.route import route

log = logging.getLogger("mailwarden.watcher")
POLICY_FRESH = 600.0  # seconds: auth policy reports this recent make Dovecot/Postfix logs redundant


class Watcher:
    """Feeds lines of one or more sources to their parsers and the events to the guards."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self.parsers: dict[str, dict[str, LogParser]] = {}
        self.counters = {"lines": 0, "logins": 0, "bounces": 0, "skipped_logins": 0}

    def _parsers(self, source: str) -> dict[str, LogParser]:
        found = self.parsers.get(source)
        if found is None:
            year = datetime.now(self.rt.cfg.tz).year
            found = {name: make_parser(name, self.rt.cfg.tz, year) for name in sorted(PARSERS)}
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
            if parser != "exim" and self._policy_reporting():
                self.counters["skipped_logins"] += 1
                return
            self.counters["logins"] += 1
            self.rt.logins.observe(event)
        elif isinstance(event, Delivery) and self.rt.engine.bounce(event):
            self.counters["bounces"] += 1

    def _policy_reporting(self) -> bool:
        last = self.rt.logins.last_report
        return last > 0 and time.time() - last < POLICY_FRESH

    async def follow(self, lines: AsyncIterator[tuple[str, str]]) -> None:
        async for source, line in lines:
            self.line(source, line)


async def run_watchers(rt: Runtime, files: Sequence[Path], journald: bool,
                       units: Sequence[str] = ()) -> list[asyncio.Task[None]]:
    """Start following; returns the tasks (cancel them to stop)."""
    watcher = Watcher(rt)
    tasks = []
    if files:
        follower = FileFollower([str(p) for p in files],
                                PositionStore.in_folder(rt.cfg.data_dir))
        tasks.append(asyncio.create_task(_guarded(watcher, follower, "files")))
    if journald:
        journal = JournalFollower(rt.cfg.data_dir / "journald.cursor", units=tuple(units))
        tasks.append(asyncio.create_task(_guarded(watcher, journal, "journald")))
    return tasks


async def _guarded(watcher: Watcher, follower: FileFollower | JournalFollower,
                   name: str) -> None:
    try:
        async with follower:
            await watcher.follow(follower.lines())
    except asyncio.CancelledError:
        raise
    except Exception:
        log.exception("log watcher %s stopped", name)
