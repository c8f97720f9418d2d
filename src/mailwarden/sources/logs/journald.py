"""Following the systemd journal through ``journalctl --follow --output=json``.

Each journal entry becomes a syslog-like line the log parsers read like rsyslog's high-precision
format: ``2025-10-05T19:45:12.000000+00:00 mx postfix/smtpd[123]: connect from ...`` (the
reception time in UTC, ``_HOSTNAME``, ``SYSLOG_IDENTIFIER``, ``SYSLOG_PID`` or ``_PID``,
``MESSAGE``). A MESSAGE that is not UTF-8 comes as a list of byte values and is decoded with
replacement characters; control characters (a newline inside a message) are written as
rsyslog does, ``#012``, so a message cannot forge a second line.

journalctl runs as a child process (never through a shell), restricted to ``units`` (``--unit``,
globs allowed) or to ``identifiers`` (``SYSLOG_IDENTIFIER=``), from the system journal or from
``files``/``directory``. When it dies it is started again after the last entry read, waiting
``backoff`` seconds, doubled up to ``max_backoff`` while it keeps failing.

**Delivery: as for files (:mod:`~mailwarden.sources.logs.follow`), at least once and exactly
once across a clean stop.** The cursor of the last handled entry is kept in ``cursor_file``
(the same content journalctl's ``--cursor-file`` keeps, so an administrator can use it) and
given to journalctl as ``--after-cursor`` on start. Mailwarden writes that file itself rather
than passing ``--cursor-file``: journalctl records the last entry it *printed*, and entries still
in the pipe when Mailwarden stopped would then be skipped. A cursor journalctl rejects is reported
and dropped; like a first start, following then begins at the end of the journal (``from_start``:
at its beginning).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import time
from collections import deque
from collections.abc import AsyncGenerator, AsyncIterator, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import TracebackType

from mailwarden.sources.logs.follow import MAX_LINE_BYTES
from mailwarden.sources.logs.positions import LatestWriter

__all__ = [
    "JournalError",
    "JournalFollower",
    "JournalStats",
    "JournalctlMissingError",
    "entry_line",
    "journalctl_command",
]

FIELDS = ("_HOSTNAME", "SYSLOG_IDENTIFIER", "SYSLOG_PID", "_PID", "_COMM", "MESSAGE")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MAX_CURSOR = 1024
_STDERR_LINES = 20
_HEALTHY_RUN = 60.0  # seconds a journalctl must run for its restart to wait the shortest time
_ESCAPES = {code: f"#{code:03o}" for code in [*range(32), 127]}

log = logging.getLogger("mailwarden.sources.logs.journald")


class JournalError(Exception):
    """journalctl could not be run or failed: the ``program`` and what it said."""

    def __init__(self, program: str, reason: str) -> None:
        self.program = program
        self.reason = reason
        super().__init__(f"{program}: {reason}")


class JournalctlMissingError(JournalError):
    """The journalctl program does not exist (Debian package ``systemd``)."""


@dataclass(slots=True)
class JournalStats:
    """Entries turned into lines, entries that could not be, and journalctl restarts."""

    entries: int = 0
    skipped: int = 0
    restarts: int = 0


def _text(value: object) -> str | None:
    """A journal field: a string, or a list of byte values for one that is not UTF-8."""
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(b, int) and 0 <= b < 256 for b in value):
        return bytes(value).decode("utf-8", errors="replace")
    return None


def _word(value: object) -> str | None:
    """A header field (host, identifier): escaped, without spaces, never empty."""
    text = _text(value)
    if not text:
        return None
    return text.translate(_ESCAPES).replace(" ", "_")


def _time(value: object) -> str | None:
    """``__REALTIME_TIMESTAMP`` (microseconds since the epoch) as RFC 3339 in UTC."""
    if not isinstance(value, str) or not value.isascii() or not value.isdigit() or len(value) > 17:
        return None
    moment = _EPOCH + timedelta(microseconds=int(value))
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")


def entry_line(
    entry: Mapping[str, object], max_line: int = MAX_LINE_BYTES
) -> tuple[str, str] | None:
    """``(identifier, line)`` for a journal entry in journalctl's JSON; None without a message
    or a valid time. The line is cut at ``max_line`` characters."""
    when = _time(entry.get("__REALTIME_TIMESTAMP"))
    message = _text(entry.get("MESSAGE"))
    if when is None or message is None:
        return None
    host = _word(entry.get("_HOSTNAME")) or "localhost"
    ident = _word(entry.get("SYSLOG_IDENTIFIER")) or _word(entry.get("_COMM")) or "unknown"
    pid = _text(entry.get("SYSLOG_PID")) or _text(entry.get("_PID"))
    tag = f"{ident}[{pid}]" if pid and pid.isascii() and pid.isdigit() else ident
    line = f"{when} {host} {tag}: {message.translate(_ESCAPES)}"
    return ident, line[:max_line]


def journalctl_command(
    program: str,
    *,
    cursor: str | None = None,
    follow: bool = True,
    from_start: bool = False,
    units: Sequence[str] = (),
    identifiers: Sequence[str] = (),
    files: Sequence[str | os.PathLike[str]] = (),
    directory: str | os.PathLike[str] | None = None,
) -> list[str]:
    """The journalctl arguments (a list: no shell ever sees them)."""
    if units and identifiers:
        raise ValueError("give units or identifiers, not both: journalctl would need both to match")
    command = [program, "--output=json", "--all", "--quiet", "--no-pager"]
    command.append("--output-fields=" + ",".join(FIELDS))
    if follow:
        command.append("--follow")
    if cursor is not None:
        command.append(f"--after-cursor={cursor}")
    elif from_start:
        command.append("--no-tail")
    else:
        command.append("--lines=0")
    command += [f"--file={os.fspath(file)}" for file in files]
    if directory is not None:
        command.append(f"--directory={os.fspath(directory)}")
    command += [f"--unit={unit}" for unit in units]
    command += [f"SYSLOG_IDENTIFIER={ident}" for ident in identifiers]
    return command


class JournalFollower:
    """Follows the journal and hands over its entries as ``(SYSLOG_IDENTIFIER, line)``.

    Use it as ``async with JournalFollower(cursor_file, units=["postfix@-", "dovecot"]) as j:``
    then ``async for ident, line in j.lines():``. ``follow=False`` reads what is there and ends.
    """

    def __init__(
        self,
        cursor_file: str | os.PathLike[str] | None,
        *,
        units: Iterable[str] = (),
        identifiers: Iterable[str] = (),
        files: Iterable[str | os.PathLike[str]] = (),
        directory: str | os.PathLike[str] | None = None,
        program: str = "journalctl",
        follow: bool = True,
        from_start: bool = False,
        max_line: int = MAX_LINE_BYTES,
        save_interval: float = 1.0,
        backoff: float = 1.0,
        max_backoff: float = 60.0,
    ) -> None:
        self.cursor_file = Path(cursor_file) if cursor_file is not None else None
        self.units, self.identifiers = tuple(units), tuple(identifiers)
        self.files, self.directory = tuple(files), directory
        journalctl_command(program, units=self.units, identifiers=self.identifiers)  # checks
        self.program = program
        self.follow, self.from_start = follow, from_start
        self.max_line, self.save_interval = max_line, save_interval
        self.backoff, self.max_backoff = backoff, max_backoff
        self.stats = JournalStats()
        self._writer = LatestWriter(self.cursor_file) if self.cursor_file else None
        self._process: asyncio.subprocess.Process | None = None
        self._stderr: deque[str] = deque(maxlen=_STDERR_LINES)
        self._read: str | None = None  # cursor of the last entry read from journalctl
        self._handled: str | None = None  # cursor of the last entry handled
        self._saved: str | None = None  # cursor last given to the cursor file
        self._in_flight: str | None = None
        self._saved_at = 0.0
        self._state = "new"

    @property
    def pid(self) -> int | None:
        """The process id of the running journalctl (None between runs)."""
        process = self._process
        return process.pid if process is not None and process.returncode is None else None

    async def __aenter__(self) -> JournalFollower:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close(last_line_handled=kind is None)

    async def lines(self) -> AsyncIterator[tuple[str, str]]:
        """The journal's new entries as ``(identifier, line)``; for ever when following."""
        if self._state != "new":
            raise RuntimeError("JournalFollower.lines() can be iterated only once")
        self._state = "running"
        self._read = self._handled = self._saved = self._load_cursor()
        delay = self.backoff
        while self._state == "running":
            started = time.monotonic()
            process = await self._start()
            try:
                async with contextlib.aclosing(self._entries(process)) as entries:
                    async for item in entries:
                        yield item
                        self._handle()
                with contextlib.suppress(TimeoutError):  # its output ended: let it exit
                    await asyncio.wait_for(process.wait(), 5.0)
            finally:
                code = await self._stop(process)
            if self._state != "running":
                return
            if code == 0 and not self.follow:
                await self._save()
                return
            delay = await self._after_exit(code, delay, time.monotonic() - started)

    async def _start(self) -> asyncio.subprocess.Process:
        command = journalctl_command(
            self.program,
            cursor=self._read,
            follow=self.follow,
            from_start=self.from_start,
            units=self.units,
            identifiers=self.identifiers,
            files=self.files,
            directory=self.directory,
        )
        try:
            process = await asyncio.create_subprocess_exec(
                *command,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                limit=max(1 << 20, 8 * self.max_line),
            )
        except FileNotFoundError as error:
            raise JournalctlMissingError(
                self.program, "not found; install the Debian package systemd"
            ) from error
        except OSError as error:
            raise JournalError(self.program, error.strerror or str(error)) from error
        self._process = process
        self._stderr.clear()
        return process

    async def _entries(
        self, process: asyncio.subprocess.Process
    ) -> AsyncGenerator[tuple[str, str], None]:
        assert process.stdout is not None and process.stderr is not None
        errors = asyncio.create_task(self._drain(process.stderr))
        try:
            while self._state == "running":
                raw = await self._next_line(process.stdout)
                if raw is None:
                    continue
                if not raw:
                    return
                cursor, item = self._parse(raw)
                if cursor is not None:
                    self._read = cursor
                if item is None:
                    if cursor is not None:
                        self._handled = cursor  # nothing to hand over: done with it
                    continue
                self._in_flight = cursor
                yield item
                if time.monotonic() - self._saved_at >= self.save_interval:
                    await self._save()
        finally:
            with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(errors, 1.0)

    async def _next_line(self, stdout: asyncio.StreamReader) -> bytes | None:
        """The next output line (b'' at the end); None when idle long enough to save."""
        wait = None if self._handled == self._saved else self.save_interval
        try:
            return await asyncio.wait_for(stdout.readline(), wait)
        except TimeoutError:
            await self._save()
            return None
        except ValueError:  # longer than the stream limit: the rest comes as a broken line
            self.stats.skipped += 1
            return None

    def _parse(self, raw: bytes) -> tuple[str | None, tuple[str, str] | None]:
        try:
            entry = json.loads(raw)
        except ValueError:
            self.stats.skipped += 1
            return None, None
        if not isinstance(entry, dict):
            self.stats.skipped += 1
            return None, None
        cursor = entry.get("__CURSOR")
        item = entry_line(entry, self.max_line)
        if item is None:
            self.stats.skipped += 1
        return (cursor if isinstance(cursor, str) else None), item

    async def _drain(self, stderr: asyncio.StreamReader) -> None:
        while line := await stderr.readline():
            self._stderr.append(line.decode("utf-8", errors="replace").strip()[:500])

    def _handle(self) -> None:
        if self._in_flight is not None:
            self._handled, self._in_flight = self._in_flight, None
            self.stats.entries += 1

    async def _after_exit(self, code: int | None, delay: float, lasted: float) -> float:
        """Decide what follows journalctl's end; the wait before the next failure's restart."""
        said = " | ".join(self._stderr) or "nothing"
        if code != 0 and self._read is not None and "cursor" in said.lower():
            log.warning("journalctl rejected the cursor %r (%s); starting afresh", self._read, said)
            self._read = self._handled = None
            return self.backoff
        if not self.follow:
            raise JournalError(self.program, f"exited with status {code}: {said}")
        if lasted >= _HEALTHY_RUN:
            delay = self.backoff
        self.stats.restarts += 1
        log.warning("journalctl exited with status %s (%s); restarting in %.1fs", code, said, delay)
        await asyncio.sleep(delay)
        return min(delay * 2, self.max_backoff)

    async def _stop(self, process: asyncio.subprocess.Process) -> int | None:
        """End journalctl (if it still runs) and return its exit status."""
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.terminate()
            try:
                await asyncio.wait_for(process.wait(), 2.0)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    process.kill()
                await process.wait()
        if self._process is process:
            self._process = None
        return process.returncode

    # the cursor file -------------------------------------------------------------------------

    def _load_cursor(self) -> str | None:
        if self.cursor_file is None:
            return None
        try:
            with self.cursor_file.open("rb") as stream:
                raw = stream.read(_MAX_CURSOR + 1)
        except FileNotFoundError:
            return None
        except OSError as error:
            log.warning("cannot read %s: %s; starting afresh", self.cursor_file, error)
            return None
        cursor = raw.decode("ascii", errors="replace").strip()
        if not cursor or len(raw) > _MAX_CURSOR or not cursor.isprintable() or " " in cursor:
            log.warning("%s holds no usable cursor; starting afresh", self.cursor_file)
            return None
        return cursor

    async def _save(self) -> None:
        self._saved_at, self._saved = time.monotonic(), self._handled
        if self._writer is not None and self._handled is not None:
            await self._writer.write(self._handled.encode("ascii", errors="replace"))

    async def close(self, *, last_line_handled: bool = False) -> None:
        """Stop journalctl and save the cursor; ``last_line_handled``: count the last entry."""
        if self._state == "closed":
            return
        was_running, self._state = self._state == "running", "closed"
        if last_line_handled:
            self._handle()
        self._in_flight = None
        if self._process is not None:
            await self._stop(self._process)
        if was_running:
            await self._save()
