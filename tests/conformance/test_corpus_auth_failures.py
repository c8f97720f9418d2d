"""fail2ban's Postfix, Dovecot and Exim test logs through the parsers: authentication failures.

Each expected line of ``$MAILWARDEN_CORPORA/logs/{postfix,dovecot,exim}`` follows a
``# failJSON: {...}`` comment with ``match`` and usually ``host`` and ``time`` (sometimes
``user``). Every line is parsed on its own, by a fresh parser of its kind. The claims:

* a ``"match": true`` line gives at least one failed :class:`Login` with that address, at that
  time to the second and with that user when given, unless it is listed in :data:`NOT_AUTH` with
  the reason it is no authentication failure (fail2ban's filters also ban spam, relay attempts,
  protocol errors and scanners); a listed line must give no failed Login (no stale entries);
* a ``"match": false`` line gives no failed Login, unless :data:`MODE_DEPENDENT` lists it: the
  same line is expected to match in another fail2ban mode, and Mailwarden, which has no modes,
  follows that reading.

fail2ban's ``# filterOptions:`` lines set the filter modes (normal, aggressive, auth, ddos, ...) of
the cases after them; they matter only through the two lists above, and the modes are printed for
each listed line. An entry with ``"enabled": false`` is not checked (counted and printed); one with
a ``"constraint"`` fails the test until someone decides how to read it (there is none today).

Times: fail2ban's tests run in CET/CEST (``TZ=CET-01CEST-02,M3.5.0,M10.5.0``), so the naive
``time`` and the lines' own timestamps are read in Europe/Zurich; a line without a year gets the
expectation's. fail2ban reads a TAI64N label as Unix seconds, but daemontools, runit and s6 write
Unix seconds + 10 (libtai's convention), so for those lines Mailwarden's time is 10 s earlier.

The corpora are found through ``MAILWARDEN_CORPORA`` (default ``../shared/corpora``); the test skips
without them and fails under ``MAILWARDEN_STRICT=1``. Run with ``-s`` to see the figures.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from mailwarden.events import Login
from mailwarden.sources.logs import make_parser

ROOT = Path(__file__).resolve().parents[2]
CORPORA = Path(os.environ.get("MAILWARDEN_CORPORA", ROOT.parent / "shared" / "corpora"))
STRICT = os.environ.get("MAILWARDEN_STRICT") == "1"
ZONE = ZoneInfo("Europe/Zurich")
TAI64N_SHIFT = -10  # Mailwarden's time minus fail2ban's for a TAI64N line, in seconds
DEFAULT_YEAR = 2005  # for the few lines whose expectation has no time

# Lines fail2ban bans for that are no authentication failure: (text in the line, why).
NOT_AUTH: dict[str, tuple[tuple[str, str], ...]] = {
    "postfix": (
        ("reject: ", "a rejected command (spam, relay, HELO or sender policy): nobody logged in"),
        ("improper command pipelining", "a protocol violation by a spam bot"),
        ("too many errors after", "a count of protocol errors"),
        ("does not resolve to address", "the client's DNS name does not match (aggressive mode)"),
        (
            " auth=0/1 ",
            "the session summary of a failed AUTH (ddos mode): the attempt is already counted"
            " from its 'SASL ... authentication failed' line; counting it again would double it",
        ),
        ("lost connection after", "a dropped connection (ddos mode)"),
        ("postfix/postscreen[", "postscreen's bot test before any SMTP command (ddos mode)"),
        ("rate limit exceeded", "anvil's connection or message rate limit (ddos mode)"),
    ),
    "dovecot": (
        ("(no auth attempts", "no password was tried: scanners, probes (aggressive mode)"),
        ("disconnected before auth was ready", "no password was tried (aggressive mode)"),
        ("client didn't finish SASL auth", "the client left before sending credentials"),
        ("(disconnected during TLS handshake)", "TLS never completed: no credentials sent"),
    ),
    "exim": (
        ("sender verify fail", "sender verification of incoming mail"),
        ("rejected RCPT", "a rejected recipient (relay attempt or unknown user)"),
        ("protocol synchronization error", "a protocol violation by a bot talking too early"),
        (
            " dropped: too many",
            "a protocol error limit; a failed AUTH in the session has its own line",
        ),
        ("no MAIL in SMTP connection", "a session without mail; a failed AUTH has its own line"),
        ("closed by DROP in ACL", "an ACL decision about the client"),
        ("dropped by 'connect' ACL", "an ACL decision about the client"),
        ("no host name found for IP address", "a DNS lookup of the client (aggressive mode)"),
        ("no IP address found for host", "a DNS lookup of the client (aggressive mode)"),
    ),
}

# "match": false lines that another fail2ban mode expects to match, and that Mailwarden counts.
MODE_DEPENDENT: dict[str, tuple[tuple[str, str], ...]] = {
    "postfix": (
        (
            "authentication failed: Invalid authentication mechanism",
            "a client trying a mechanism that is not offered is a failed attempt, as in"
            " fail2ban's aggressive mode (its auth mode ignores it)",
        ),
    ),
    "dovecot": (),
    "exim": (),
}

_FAIL_JSON = re.compile(r"#\s*failJSON:\s*(\{.*\})\s*$")
_FILTER_OPTIONS = re.compile(r"#\s*filterOptions:\s*(.+?)\s*$")


@dataclasses.dataclass
class Case:
    """One log line of a fail2ban test log with its expectation and the modes it is under."""

    number: int
    info: dict[str, Any]
    line: str
    modes: str


@dataclasses.dataclass
class Figures:
    """What one corpus file gave."""

    lines: int = 0
    matches: int = 0
    found: int = 0
    not_auth: list[str] = dataclasses.field(default_factory=list)
    misses: list[str] = dataclasses.field(default_factory=list)
    negatives: int = 0
    false_positives: list[str] = dataclasses.field(default_factory=list)
    mode_dependent: list[str] = dataclasses.field(default_factory=list)
    disabled: int = 0
    used: set[str] = dataclasses.field(default_factory=set)  # list entries that applied


def corpus_cases(path: Path) -> Iterator[Case]:
    """The cases of a fail2ban test log, in order."""
    modes, pending = "[{}]", None
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    for number, line in enumerate(lines, 1):
        options, expectation = _FILTER_OPTIONS.match(line), _FAIL_JSON.match(line)
        if options:
            modes = json.dumps(json.loads(options.group(1)))
        elif expectation:
            pending = json.loads(expectation.group(1))
        elif pending is not None and line.strip() and not line.startswith("#"):
            yield Case(number, pending, line, modes)
            pending = None


def fail2ban_epoch(text: str) -> int:
    """``2005-03-7T02:09:33`` (fail2ban does not always pad) in fail2ban's zone."""
    date, _, clock = text.partition("T")
    year, month, day = (int(part) for part in date.split("-"))
    hour, minute, second = (int(part) for part in clock.split(":"))
    return int(datetime(year, month, day, hour, minute, second, tzinfo=ZONE).timestamp())


def failures(corpus: str, case: Case) -> list[Login]:
    """The failed Logins a fresh parser gives for the case's line alone."""
    year = int(case.info["time"][:4]) if "time" in case.info else DEFAULT_YEAR
    parser = make_parser(corpus, ZONE, year)
    events = [*parser.feed(case.line), *parser.flush()]
    return [event for event in events if isinstance(event, Login) and not event.success]


def expected(case: Case, login: Login) -> bool:
    """Whether ``login`` is the failure the case expects: address, time and user."""
    info = case.info
    if login.address != info.get("host"):
        return False
    if "time" in info:
        shift = TAI64N_SHIFT if case.line.startswith("@") else 0
        if int(login.time // 1) != fail2ban_epoch(info["time"]) + shift:
            return False
    return "user" not in info or login.account.lower() == str(info["user"]).lower()


def listed(entries: tuple[tuple[str, str], ...], line: str) -> tuple[str, str] | None:
    """The (text, reason) entry of ``entries`` that applies to ``line``."""
    return next((entry for entry in entries if entry[0] in line), None)


def check_case(corpus: str, case: Case, figures: Figures) -> None:
    where = f"{corpus}:{case.number}"
    found = failures(corpus, case)
    if case.info["match"]:
        figures.matches += 1
        if any(expected(case, login) for login in found):
            figures.found += 1
            return
        entry = listed(NOT_AUTH[corpus], case.line)
        if entry is None or found:
            figures.misses.append(f"{where}: {case.info} -> {found}\n    {case.line}")
        else:
            figures.used.add(entry[0])
            figures.not_auth.append(f"{where} {case.modes}: {entry[1]}")
        return
    figures.negatives += 1
    if found:
        entry = listed(MODE_DEPENDENT[corpus], case.line)
        if entry is None:
            figures.false_positives.append(f"{where}: {found}\n    {case.line}")
        else:
            figures.used.add(entry[0])
            figures.mode_dependent.append(f"{where} {case.modes}: {entry[1]}")


def report(corpus: str, figures: Figures) -> str:
    lines = [
        f"{corpus}: {figures.lines} expected lines; {figures.found} of {figures.matches}"
        f" 'match: true' lines give a failed Login, {len(figures.not_auth)} are listed as no"
        f" authentication failure, {len(figures.misses)} missed; {figures.negatives}"
        f" 'match: false' lines, {len(figures.false_positives)} false positives"
        f" ({len(figures.mode_dependent)} mode-dependent, counted); {figures.disabled} disabled",
        *(f"  not auth  {entry}" for entry in figures.not_auth),
        *(f"  counted   {entry}" for entry in figures.mode_dependent),
    ]
    return "\n".join(lines)


@pytest.mark.parametrize("corpus", ["postfix", "dovecot", "exim"])
def test_corpus_authentication_failures(corpus: str) -> None:
    """Every authentication failure fail2ban expects is a failed Login at its address and time;
    every other expected line is listed with its reason; no 'match: false' line is a failure."""
    path = CORPORA / "logs" / corpus
    if not path.is_file():
        message = f"corpus not found: {path} (set MAILWARDEN_CORPORA)"
        if STRICT:
            pytest.fail(message)
        pytest.skip(message)
    figures = Figures()
    for case in corpus_cases(path):
        assert "constraint" not in case.info, f"{corpus}:{case.number}: decide on {case.info}"
        figures.lines += 1
        if case.info.get("enabled") is False:
            figures.disabled += 1
            continue
        check_case(corpus, case, figures)
    print("\n" + report(corpus, figures))
    assert not figures.misses, "\n".join(figures.misses)
    assert not figures.false_positives, "\n".join(figures.false_positives)
    assert figures.found >= 10
    stale = {text for text, _ in NOT_AUTH[corpus] + MODE_DEPENDENT[corpus]} - figures.used
    assert not stale, f"{corpus}: listed but never needed: {sorted(stale)}"


@pytest.mark.parametrize("corpus", ["postfix", "dovecot", "exim"])
def test_whole_corpus_file_through_one_parser(corpus: str) -> None:
    """A whole test log, comments and all, fed to one parser in order, never raises."""
    path = CORPORA / "logs" / corpus
    if not path.is_file():
        if STRICT:
            pytest.fail(f"corpus not found: {path}")
        pytest.skip(f"corpus not found: {path}")
    parser = make_parser(corpus, ZONE, DEFAULT_YEAR)
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        parser.feed(line)
    parser.flush()
