"""The log watcher never stops for good: a follower that cannot start or fails is started
again with backoff, each failure counted and logged (rate-limited)."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import functools
import json
import logging
import time
from collections.abc import AsyncIterator
from pathlib import Path

from tests.unit.scenarios import config

import mailwarden.watcher as watcher_module
from mailwarden.events import Login
from mailwarden.service import Runtime
from mailwarden.sources.logs.journald import JournalError, JournalFollower
from mailwarden.watcher import FailureLog, Watcher, keep_following, run_watchers

LINE = ("2026-11-28T10:00:00+00:00 mail dovecot: imap-login: Disconnected (auth failed, 1 "
        "attempts in 2 secs): user=<a@city.example.jp>, method=PLAIN, rip=185.220.101.4, "
        "lip=192.0.2.25, TLS, session=<S1>")


def runtime(tmp_path: Path) -> Runtime:
    cfg = config()
    cfg.data_dir = tmp_path
    return Runtime(cfg)


class Scripted:
    """A follower that fails as told, or hands over its lines and then waits for ever."""

    def __init__(self, failure: Exception | None, lines: list[str]) -> None:
        self.failure = failure
        self.lines_ = lines

    async def __aenter__(self) -> Scripted:
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None

    async def lines(self) -> AsyncIterator[tuple[str, str]]:
        if self.failure is not None:
            raise self.failure
        for line in self.lines_:
            yield "mail.log", line
        await asyncio.Event().wait()


async def until(condition, seconds: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.01)


def test_failures_to_start_are_retried_and_counted(tmp_path, caplog):
    """EMFILE from journalctl, then an unexpected error: the third follower runs."""
    caplog.set_level(logging.ERROR, logger="mailwarden.watcher")
    watcher = Watcher(runtime(tmp_path))
    plan = [JournalError("journalctl", "Too many open files"), RuntimeError("bug"), None]
    made: list[Scripted] = []

    def make() -> Scripted:
        follower = Scripted(plan[len(made)], [LINE])
        made.append(follower)
        return follower

    async def main() -> None:
        task = asyncio.create_task(keep_following(watcher, make, "journald",  # type: ignore[arg-type]
                                                  backoff=0.01, max_backoff=0.02))
        try:
            await until(lambda: watcher.counters["lines"] == 1)
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    asyncio.run(main())
    assert len(made) == 3 and watcher.counters["restarts"] == 2
    logged = [r.getMessage() for r in caplog.records]
    assert len(logged) == 1 and "Too many open files" in logged[0]  # the next within a minute
    assert "journald" in logged[0]


def test_failure_lines_are_rate_limited_and_count_what_they_did_not_show(caplog):
    """At most one line a minute; the next one says how many failures it did not show."""
    caplog.set_level(logging.ERROR, logger="mailwarden.watcher")
    now = [0.0]
    failures = FailureLog("files", interval=60.0, clock=lambda: now[0])
    shown = []
    for moment in (0.0, 1.0, 3.0, 7.0, 61.0):
        now[0] = moment
        shown.append(failures.failed(OSError(errno.EAGAIN, "Resource temporarily unavailable"),
                                     2.0))
    assert shown == [True, False, False, False, True] and failures.failures == 5
    assert "3 more failures" in caplog.records[-1].getMessage()


def test_serve_keeps_following_the_journal_after_journalctl_could_not_start(
    tmp_path, monkeypatch
):
    """run_watchers: journalctl failing to start (EMFILE) once does not end the watcher."""
    entry = {"__CURSOR": "c1", "__REALTIME_TIMESTAMP": str(int(time.time() * 1e6)),
             "_HOSTNAME": "mail", "SYSLOG_IDENTIFIER": "dovecot", "SYSLOG_PID": "933",
             "MESSAGE": LINE.split("dovecot: ", 1)[1]}
    program = tmp_path / "journalctl"
    program.write_text(f"#!/bin/sh\nprintf '%s\\n' '{json.dumps(entry)}'\nexec sleep 30\n")
    program.chmod(0o755)
    monkeypatch.setattr(watcher_module, "JournalFollower",
                        functools.partial(JournalFollower, program=str(program)))
    real_exec = asyncio.create_subprocess_exec
    calls: list[int] = []

    async def flaky_exec(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(1)
        if len(calls) == 1:
            raise OSError(errno.EMFILE, "Too many open files")
        return await real_exec(*args, **kwargs)

    monkeypatch.setattr(asyncio, "create_subprocess_exec", flaky_exec)
    rt = runtime(tmp_path)
    seen: list[Login] = []
    rt.logins.observe = lambda login: seen.append(login) or []  # type: ignore[method-assign]

    async def main() -> None:
        tasks = await run_watchers(rt, [], True)
        try:
            await until(lambda: bool(seen))
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    asyncio.run(main())
    assert len(calls) == 2 and seen[0].address == "185.220.101.4"
