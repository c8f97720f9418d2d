"""The journal source against real journalctl, on journal files written by systemd-journal-remote.

Entries are written in journal export format and turned into a real journal file by Debian's
``systemd-journal-remote`` (package systemd-journal-remote); ``journalctl`` (package systemd)
reads them back through :class:`JournalFollower` with ``--file``/``--directory``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import struct
import subprocess
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from mailstack.common import missing_component

from mailwarden.events import Login, Submission
from mailwarden.sources.logs import make_parser
from mailwarden.sources.logs.journald import (
    JournalctlMissingError,
    JournalError,
    JournalFollower,
    entry_line,
    journalctl_command,
)
from mailwarden.sources.logs.timestamps import SyslogClock

BOOT = "0123456789abcdef0123456789abcdef"
START = 1759693512_000000  # 2025-10-05T19:45:12Z, in microseconds
QUEUE = "4Rw5Vb0mKkz3wXT"
MAIL = [
    ("postfix/submission/smtpd", 20211, "connect from unknown[198.51.100.23]"),
    (
        "postfix/submission/smtpd",
        20211,
        f"{QUEUE}: client=unknown[198.51.100.23], sasl_method=LOGIN, "
        "sasl_username=keiji.sato@police.example.jp",
    ),
    ("postfix/cleanup", 20214, f"{QUEUE}: message-id=<20251006044512.7731@police.example.jp>"),
    (
        "postfix/qmgr",
        812,
        f"{QUEUE}: from=<keiji.sato@police.example.jp>, size=48213, nrcpt=1 (queue active)",
    ),
    (
        "postfix/smtp",
        20215,
        f"{QUEUE}: to=<billing@vendor.example.com>, relay=mx.vendor.example.com[192.0.2.10]:25, "
        "delay=1.1, delays=0.08/0.01/0.52/0.49, dsn=2.0.0, status=sent (250 2.0.0 Ok)",
    ),
    ("postfix/qmgr", 812, f"{QUEUE}: removed"),
    (
        "dovecot",
        933,
        "imap-login: Login: user=<k.tanaka@police.example.jp>, method=PLAIN, "
        "rip=203.0.113.77, lip=192.0.2.25, mpid=48121, TLS, session=<b3JhbmdlLXNlc3Np>",
    ),
]


def journal_remote() -> str:
    """The systemd-journal-remote program, or skip (fail under MAILWARDEN_STRICT=1)."""
    for candidate in (
        "/lib/systemd/systemd-journal-remote",
        "/usr/lib/systemd/systemd-journal-remote",
        shutil.which("systemd-journal-remote"),
    ):
        if candidate and os.access(candidate, os.X_OK):
            if shutil.which("journalctl") is None:
                missing_component("journalctl not found; install the Debian package systemd")
            return candidate
    missing_component(
        "systemd-journal-remote not found; install the Debian package systemd-journal-remote"
    )
    raise AssertionError("unreachable")


def export_entry(number: int, fields: Mapping[str, str | bytes]) -> bytes:
    """One entry in journal export format (binary-safe fields for bytes values)."""
    out = [
        f"__REALTIME_TIMESTAMP={START + number * 1_000_000}\n".encode(),
        f"__MONOTONIC_TIMESTAMP={1_000_000 + number}\n".encode(),
        f"_BOOT_ID={BOOT}\n".encode(),
        b"_HOSTNAME=mx1\n",
    ]
    for name, value in fields.items():
        if isinstance(value, bytes):
            out.append(name.encode() + b"\n" + struct.pack("<Q", len(value)) + value + b"\n")
        else:
            out.append(f"{name}={value}\n".encode())
    return b"".join(out) + b"\n"


def mail_entry(number: int, ident: str, pid: int, message: str | bytes) -> bytes:
    """A Postfix or Dovecot entry as journald stores what the daemons send to syslog."""
    unit = "dovecot.service" if ident == "dovecot" else "postfix@-.service"
    fields = {
        "SYSLOG_IDENTIFIER": ident,
        "SYSLOG_PID": str(pid),
        "_PID": str(pid),
        "_SYSTEMD_UNIT": unit,
        "PRIORITY": "6",
        "MESSAGE": message,
    }
    return export_entry(number, fields)


class Journal:
    """A journal file that entries are appended to with systemd-journal-remote."""

    def __init__(self, path: Path) -> None:
        self.program = journal_remote()
        self.path = path
        self.count = 0

    def add(self, entries: Sequence[tuple[str, int, str | bytes]]) -> None:
        data = b"".join(
            mail_entry(self.count + number, *entry) for number, entry in enumerate(entries)
        )
        self.count += len(entries)
        subprocess.run(
            [self.program, f"--output={self.path}", "-"],
            input=data,
            check=True,
            capture_output=True,
            timeout=30,
        )


@pytest.fixture
def journal(tmp_path: Path) -> Journal:
    """An empty journal file under tmp_path (created on the first add)."""
    folder = tmp_path / "journal"
    folder.mkdir()
    return Journal(folder / "mail.journal")


def run(test: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(asyncio.wait_for(test(), 60))


async def read_all(follower: JournalFollower, limit: int | None = None) -> list[str]:
    """The lines of a follower (not following), or its first ``limit`` lines."""
    got: list[str] = []
    async with follower:
        async for _ident, line in follower.lines():
            got.append(line)
            if len(got) == limit:
                break
    return got


async def until(got: list[str], count: int, timeout: float = 10.0) -> list[str]:
    deadline = time.monotonic() + timeout
    while len(got) < count:
        assert time.monotonic() < deadline, f"waited for {count} lines, got {got}"
        await asyncio.sleep(0.02)
    return got


def expected(number: int, ident: str, pid: int, message: str) -> str:
    seconds = 12 + number
    return f"2025-10-05T19:45:{seconds:02d}.000000+00:00 mx1 {ident}[{pid}]: {message}"


def test_entries_become_syslog_lines_the_parsers_read(journal: Journal, tmp_path: Path) -> None:
    """Real journal entries come out as RFC 3339 syslog lines; the Postfix and Dovecot parsers
    turn them into the submission and the login they record."""
    journal.add(MAIL)
    follower = JournalFollower(
        tmp_path / "cursor", files=[journal.path], follow=False, from_start=True
    )
    lines = asyncio.run(read_all(follower))
    assert lines == [expected(n, *entry) for n, entry in enumerate(MAIL)]
    postfix, dovecot = make_parser("postfix", UTC), make_parser("dovecot", UTC)
    events = [event for line in lines for event in [*postfix.feed(line), *dovecot.feed(line)]]
    events += [*postfix.flush(), *dovecot.flush()]
    submissions = [e for e in events if isinstance(e, Submission)]
    logins = [e for e in events if isinstance(e, Login)]
    assert [s.account for s in submissions] == ["keiji.sato@police.example.jp"]
    assert submissions[0].time == START / 1e6 + 1
    assert [(e.account, e.address, e.success) for e in logins] == [
        ("k.tanaka@police.example.jp", "203.0.113.77", True)
    ]


def test_binary_and_multiline_messages(journal: Journal, tmp_path: Path) -> None:
    """A MESSAGE that is not UTF-8 (a byte array in JSON) is decoded with replacement
    characters; a newline inside a message cannot start a forged line."""
    journal.add(
        [
            ("dovecot", 1, b"bad \xff byte"),
            ("postfix/smtpd", 2, b"one\n2025-10-05T19:45:13Z mx1 postfix/smtpd[9]: forged"),
        ]
    )
    follower = JournalFollower(None, files=[journal.path], follow=False, from_start=True)
    lines = asyncio.run(read_all(follower))
    assert lines[0].endswith("dovecot[1]: bad \ufffd byte")
    assert lines[1].endswith("[2]: one#0122025-10-05T19:45:13Z mx1 postfix/smtpd[9]: forged")
    assert len(lines) == 2


def test_cursor_resumes_exactly(journal: Journal, tmp_path: Path) -> None:
    """After a stop the next run starts after the last handled entry: none twice, none skipped."""
    cursor = tmp_path / "data" / "journal.cursor"
    journal.add(MAIL[:4])

    def follower() -> JournalFollower:
        return JournalFollower(cursor, files=[journal.path], follow=False, from_start=True)

    first = asyncio.run(read_all(follower(), limit=2))
    assert first == [expected(n, *MAIL[n]) for n in range(2)]
    assert cursor.read_text().startswith("s=")
    journal.add(MAIL[4:])
    rest = asyncio.run(read_all(follower()))
    assert rest == [expected(n, *MAIL[n]) for n in range(2, len(MAIL))]
    assert asyncio.run(read_all(follower())) == []


def test_follows_new_entries_and_survives_journalctl_dying(
    journal: Journal, tmp_path: Path
) -> None:
    """Following: entries appended later arrive; a killed journalctl is started again after the
    last entry read, so nothing comes twice or goes missing."""
    journal.add(MAIL[:1])

    async def main() -> None:
        follower = JournalFollower(
            tmp_path / "cursor", files=[journal.path], from_start=True, backoff=0.05
        )
        got: list[str] = []

        async def consume() -> None:
            async with follower:
                async for _ident, line in follower.lines():
                    got.append(line)

        task = asyncio.create_task(consume())
        try:
            await until(got, 1)
            journal.add(MAIL[1:3])
            await until(got, 3)
            pid = follower.pid
            assert pid is not None
            os.kill(pid, signal.SIGKILL)
            journal.add(MAIL[3:])
            await until(got, len(MAIL))
            await asyncio.sleep(0.3)
            assert got == [expected(n, *entry) for n, entry in enumerate(MAIL)]
            assert follower.stats.restarts == 1 and follower.pid not in (None, pid)
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        assert follower.pid is None  # journalctl was stopped with the follower

    run(main)


def test_units_and_directory(journal: Journal, tmp_path: Path) -> None:
    """``--unit`` and ``SYSLOG_IDENTIFIER`` matches choose the entries; a folder of journal files
    is read with ``--directory``."""
    journal.add(MAIL)
    folder = journal.path.parent

    def idents(**options: Any) -> list[str]:
        follower = JournalFollower(None, directory=folder, follow=False, from_start=True, **options)
        return [line.split()[2].partition("[")[0] for line in asyncio.run(read_all(follower))]

    assert idents(units=["dovecot"]) == ["dovecot"]
    assert set(idents(units=["postfix@*"])) == {ident for ident, _, _ in MAIL[:6]}
    assert idents(identifiers=["postfix/qmgr"]) == ["postfix/qmgr", "postfix/qmgr"]


def test_rejected_cursor_starts_afresh(journal: Journal, tmp_path: Path) -> None:
    """A cursor file journalctl cannot use is reported and dropped instead of stopping."""
    journal.add(MAIL[:2])
    cursor = tmp_path / "cursor"
    cursor.write_text("s=garbage")
    follower = JournalFollower(cursor, files=[journal.path], follow=False, from_start=True)
    assert asyncio.run(read_all(follower)) == [expected(n, *MAIL[n]) for n in range(2)]


def test_missing_journalctl_is_a_clear_error(tmp_path: Path) -> None:
    """A journalctl that does not exist raises an error naming it and the package to install."""
    follower = JournalFollower(None, program=str(tmp_path / "journalctl"))
    with pytest.raises(JournalctlMissingError, match="install the Debian package systemd"):
        asyncio.run(read_all(follower))


def test_failing_journalctl_is_an_error_when_not_following(tmp_path: Path) -> None:
    """Reading a journal that cannot be read fails with journalctl's own words."""
    if shutil.which("journalctl") is None:
        missing_component("journalctl not found; install the Debian package systemd")
    follower = JournalFollower(None, files=[tmp_path / "none.journal"], follow=False)
    with pytest.raises(JournalError, match="exited with status"):
        asyncio.run(read_all(follower))


def test_command_is_a_list_without_shell() -> None:
    """The journalctl arguments: JSON, follow, cursor or start, sources and matches."""
    assert journalctl_command("journalctl", cursor="s=1;i=2", units=["postfix@-"]) == [
        "journalctl", "--output=json", "--all", "--quiet", "--no-pager",
        "--output-fields=_HOSTNAME,SYSLOG_IDENTIFIER,SYSLOG_PID,_PID,_COMM,MESSAGE",
        "--follow", "--after-cursor=s=1;i=2", "--unit=postfix@-",
    ]  # fmt: skip
    with pytest.raises(ValueError, match="units or identifiers"):
        journalctl_command("journalctl", units=["a"], identifiers=["b"])


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4),
    max_leaves=10,
)
FIELD_VALUES = st.one_of(
    JSON_VALUES,
    st.lists(st.integers(0, 255), max_size=40),
    st.text(max_size=80),
    st.integers(0, 10**17).map(str),
)


@given(
    st.dictionaries(
        st.sampled_from(
            ["__REALTIME_TIMESTAMP", "MESSAGE", "_HOSTNAME", "SYSLOG_IDENTIFIER", "SYSLOG_PID",
             "_PID", "_COMM", "__CURSOR"]
        ),
        FIELD_VALUES,
    )
)
@settings(max_examples=500)
def test_any_entry_gives_one_line_or_none(entry: dict[str, Any]) -> None:
    """Whatever journalctl prints, an entry gives None or one line whose timestamp the parsers
    read, with no control character in it."""
    result = entry_line(entry, max_line=200)
    if result is None:
        return
    ident, line = result
    assert len(line) <= 200 and ident
    assert not any(ord(char) < 32 or ord(char) == 127 for char in line)
    parsed = SyslogClock(UTC).parse(line)
    assert parsed is not None
    assert parsed[0] == pytest.approx(int(entry["__REALTIME_TIMESTAMP"]) / 1e6, abs=1e-5)
