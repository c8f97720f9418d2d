"""Exim main log → Submission, Delivery and Login events.

An Exim message is logged under its message id (``1uAbCd-000Efg-Hi``; ``1uAbCd-00000000Efg-HiJk``
from Exim 4.97)::

    2025-10-06 04:45:12 [412] 1uAbCd-000Efg-Hi <= alice@example.jp H=(pc) [203.0.113.7]:50122
        I=[192.0.2.25]:587 P=esmtpsa X=TLS1.3:... A=dovecot_plain:alice S=2048 id=...
    2025-10-06 04:45:13 [413] 1uAbCd-000Efg-Hi => bob@example.org R=dnslookup T=remote_smtp
        H=mx.example.org [198.51.100.5] C="250 2.0.0 Ok"
    2025-10-06 04:45:13 [413] 1uAbCd-000Efg-Hi -> carol@example.org R=dnslookup T=remote_smtp ...
    2025-10-06 04:45:13 [413] 1uAbCd-000Efg-Hi Completed

:class:`EximLogParser` assembles one :class:`Submission` per arrival (``<=``), with the
``A=authenticator:id`` as account (none for unauthenticated or local mail, like Postfix's), the
``H=`` address as client, and as recipients the addresses of the ``=>``/``->``/``>>`` deliveries,
``**`` bounces and ``==`` deferrals that follow (the original address where Exim gives one in
``<...>``), plus a ``for`` list when ``received_recipients`` is logged. A message is complete at
``Completed`` or once the log clock passed its arrival by the grace period; Submissions come out in
arrival order. Bounces Exim generates itself (``<= <> R=<id>``) are not submissions. Each delivery
line also gives a :class:`Delivery` at once (sent, bounced or deferred).

Logins: ``NAME authenticator failed for (helo) [ip]: 535 ... (set_id=user)`` is a failed one, and
so is a client trying ``AUTH`` where it was not offered or with a mechanism not offered (like
Dovecot's plaintext refusal and Postfix's "Invalid authentication mechanism"); 4xx answers are the
server's trouble and no event. An authenticated arrival implies a successful SMTP AUTH: a
successful Login is emitted for it, once per account and address within ``login_window`` seconds
(one per session rather than one per message of a 100,000-message run).

Timestamps: ``2025-10-06 04:45:12`` (in ``tz``), with ``.123`` (``+millisec``) and ``+0900``
(``log_timezone``); the syslog forms ``... host exim[pid]: ...`` (with or without Exim's own
timestamp) and journal lines ``host exim[pid]: 2025-10-06 ...`` work too. Lines are untrusted and
never raise; memory is bounded by the pending messages and recipients kept per message.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from datetime import tzinfo
from typing import TypeAlias

from mailwarden.events import Delivery, Login, Submission
from mailwarden.sources.logs.assembly import Assembly
from mailwarden.sources.logs.timestamps import SyslogClock

__all__ = ["EximEvent", "EximLogParser", "EximStats"]

EximEvent: TypeAlias = Submission | Delivery | Login

DEFAULT_GRACE = 600.0  # seconds after its arrival a message counts as complete
DEFAULT_MAX_PENDING = 100_000  # messages assembled at once; the oldest is emitted beyond that
DEFAULT_MAX_RECIPIENTS = 1_000  # distinct recipient addresses kept per message
DEFAULT_LOGIN_WINDOW = 300.0  # seconds in which arrivals of one account and address are one login

_MAX_FIELD = 320
_STATUSES = {"=>": "sent", "->": "sent", ">>": "sent", "**": "bounced", "==": "deferred"}
_MECHANISMS = (
    ("cram_md5", "CRAM-MD5"),
    ("cram-md5", "CRAM-MD5"),
    ("scram_sha_256", "SCRAM-SHA-256"),
    ("scram_sha_1", "SCRAM-SHA-1"),
    ("xoauth2", "XOAUTH2"),
    ("oauthbearer", "OAUTHBEARER"),
    ("gssapi", "GSSAPI"),
    ("external", "EXTERNAL"),
    ("ntlm", "NTLM"),
    ("plain", "PLAIN"),
    ("login", "LOGIN"),
)
_REFUSALS = (
    ("AUTH command used when not advertised", "auth not advertised"),
    ("authentication mechanism not supported", "unsupported mechanism"),
)
_IP_CHARS = "0123456789abcdefABCDEF.:"
_DSN = re.compile(r"(?<![\w.])[245]\.\d{1,3}\.\d{1,3}(?![\w.])")
_NOT_IN_ADDRESS = frozenset('<>="')


def _clip(text: str) -> str:
    return text if len(text) <= _MAX_FIELD else text[:_MAX_FIELD]


def _is_address(text: str) -> bool:
    return 2 < len(text) <= 45 and ("." in text or ":" in text) and not text.strip(_IP_CHARS)


def _mechanism(authenticator: str) -> str:
    """The SASL mechanism an authenticator's name suggests (``dovecot_login`` → LOGIN)."""
    name = authenticator.lower()
    for key, mechanism in _MECHANISMS:
        if key in name:
            return mechanism
    return ""


def _message_id(rest: str) -> int:
    """The length of the Exim message id that starts ``rest`` (16 or 23), or 0."""
    if rest[6:7] != "-":
        return 0
    if rest[13:14] == "-" and rest[16:17] == " ":
        size = 16
    elif rest[18:19] == "-" and rest[23:24] == " ":
        size = 23
    else:
        return 0
    head = rest[:size]
    return size if head.isascii() and head.replace("-", "").isalnum() else 0


def _token(text: str, start: int) -> int:
    """The end of the address token at ``start``; a quoted local part may hold spaces."""
    at = start
    if text[at : at + 1] == '"':
        at += 1
        while at < len(text) and text[at] != '"':
            at += 2 if text[at] == "\\" else 1
    end = text.find(" ", at)
    return len(text) if end < 0 else end


def _host(text: str, at: int) -> tuple[str, str, str, int] | None:
    """``name (helo) [ip]`` / ``(helo) [ip]`` / ``[ip]`` at ``at`` → (name, helo, ip, end)."""
    name = helo = ""
    if text[at : at + 1] not in ("(", "["):
        space = text.find(" ", at)
        if space < 0:
            return None
        name, at = text[at:space], space + 1
    if text[at : at + 1] == "(":
        close = text.find(") ", at)  # Exim refuses a HELO with spaces or parentheses
        if close < 0:
            return None
        helo, at = text[at + 1 : close], close + 2
    close = text.find("]", at)
    if text[at : at + 1] != "[" or close < 0 or not _is_address(text[at + 1 : close]):
        return None
    return _clip(name), _clip(helo), text[at + 1 : close], close + 1


def _login_name(initial: str) -> str:
    """The user name of an ``AUTH LOGIN <base64>`` initial response (PLAIN's is never read:
    it holds the password)."""
    if not 0 < len(initial) <= 512:
        return ""
    try:
        name = base64.b64decode(initial, validate=True).decode("utf-8", "replace")
    except (binascii.Error, ValueError):
        return ""
    return _clip(name).lower() if name.isprintable() else ""


@dataclass(slots=True)
class EximStats:
    """What an :class:`EximLogParser` has seen so far."""

    lines: int = 0  # lines fed
    unparsed: int = 0  # lines without a timestamp, or malformed records
    submissions: int = 0  # Submissions emitted
    evicted: int = 0  # messages emitted before completion because too many were pending
    recipients_dropped: int = 0  # recipient addresses not kept (per-message limit)


class _Message:
    """A message being assembled from its lines."""

    __slots__ = ("account", "client", "done", "extra", "key", "recipients", "sender", "sequence",
                 "time")

    def __init__(self, key: tuple[str, str], sequence: int, time: float) -> None:
        self.key, self.sequence, self.time = key, sequence, time
        self.account = self.client = self.sender = ""
        self.extra = 0  # recipients beyond the per-message limit
        self.recipients: dict[str, None] = {}  # ordered set
        self.done = False




class EximLogParser:
    """Turns Exim main-log lines, fed in log order, into events (see the module's notes).

    ``tz`` reads Exim's timestamps without an offset, ``tz`` and ``year`` traditional syslog ones
    (see :class:`SyslogClock`). ``feed`` returns the events a line completes; ``flush`` the rest.
    """

    def __init__(
        self,
        tz: tzinfo,
        year: int | None = None,
        *,
        grace: float = DEFAULT_GRACE,
        max_pending: int = DEFAULT_MAX_PENDING,
        max_recipients: int = DEFAULT_MAX_RECIPIENTS,
        login_window: float = DEFAULT_LOGIN_WINDOW,
    ) -> None:
        self.stats = EximStats()
        self._timestamp = SyslogClock(tz, year).parse
        self._max_pending = max(1, max_pending)
        self._messages: Assembly[_Message, Submission] = Assembly(
            self.stats, self._submission, grace, max_pending, max_recipients
        )
        self._login_window = login_window
        self._logins: dict[tuple[str, str], float] = {}  # (account, address) → last Login

    @property
    def pending(self) -> int:
        """Messages held now: being assembled, or complete and waiting for an older one."""
        return len(self._messages)

    def feed(self, line: str) -> list[EximEvent]:
        """The events this line produces or completes (often none)."""
        self.stats.lines += 1
        parsed = self._time(line.rstrip("\r\n") if line[-1:] in ("\n", "\r") else line)
        if parsed is None:
            self.stats.unparsed += 1
            return []
        when, host, rest = parsed
        messages = self._messages
        messages.now = max(messages.now, when)
        out: list[EximEvent] = []
        size = _message_id(rest)
        if size:
            self._message_line(when, (host, rest[:size]), rest[size + 1 :], out)
        elif " authenticator failed for " in rest:
            self._auth_failed(when, rest, out)
        elif rest.startswith('SMTP protocol error in "'):
            self._auth_refused(when, rest, out)
        if messages.due():
            self._messages.release(out.append)
        return out

    def flush(self) -> list[EximEvent]:
        """The Submissions of all messages still pending, in order (the end of the log)."""
        out: list[EximEvent] = []
        self._messages.flush(out.append)
        return out

    # timestamps and prefixes ---------------------------------------------------------------

    def _time(self, line: str) -> tuple[float, str, str] | None:
        """(epoch, syslog host or "", message) of a main-log, syslog or journal line."""
        parsed = self._exim_time(line)
        host = ""
        if parsed is None:  # journal: "host exim[pid]: 2025-10-06 04:45:12 ..."
            tagged = _syslog_message(line, 0)
            if tagged is None:
                return None
            host, message = tagged
            parsed = self._exim_time(message)
            if parsed is None:
                return None
        when, rest = parsed
        tagged = _syslog_message(rest, 0)
        if tagged is not None:  # "... host exim[pid]: [2025-10-06 04:45:12 ]message"
            host, rest = tagged
            inner = self._exim_time(rest) if rest[:1].isdigit() else None
            when, rest = inner if inner is not None else (when, rest)
        if rest[:1] == "[":  # [pid]
            close = rest.find("] ", 1, 12)
            if close > 0 and rest[1:close].isdigit():
                rest = rest[close + 2 :]
        return when, host, rest

    def _exim_time(self, line: str) -> tuple[float, str] | None:
        """A leading timestamp, with Exim's ``log_timezone`` offset (`` +0900``) when present."""
        parsed = self._timestamp(line)
        if parsed is None:
            return None
        when, rest = parsed
        if rest[:1] in ("+", "-") and rest[5:6] == " " and rest[1:5].isdigit():
            stamp = line[: len(line) - len(rest) - 1] + rest[:5] + " "
            offset = self._timestamp(stamp)
            if offset is not None:
                return offset[0], rest[6:]
        return when, rest

    # one message's lines --------------------------------------------------------------------

    def _message_line(
        self, when: float, key: tuple[str, str], body: str, out: list[EximEvent]
    ) -> None:
        flag = body[:2]
        if flag == "<=" and body[2:3] == " ":
            self._arrival(when, key, body[3:], out)
        elif flag in _STATUSES and body[2:3] == " ":
            self._delivery(when, key, _STATUSES[flag], body[3:], out)
        elif body.startswith("Completed"):
            message = self._messages.pending.get(key)
            if message is not None:
                self._messages.finish(message)

    def _arrival(self, when: float, key: tuple[str, str], body: str, out: list[EximEvent]) -> None:
        """``<= sender H=name (helo) [ip]:port ... P=esmtpsa ... A=auth:id S=n ... [for r1 r2]``"""
        end = _token(body, 0)
        sender, fields = body[:end], body[end:]
        if sender == "<>" and " R=" in fields:
            return  # a bounce or report Exim generated for another message
        if key in self._messages.pending:  # Exim never reuses an id: a repeated or forged line
            self.stats.unparsed += 1
            return
        message = self._open(when, key, out)
        message.sender = _clip(sender.strip("<>"))
        at = fields.find(" H=")
        client = _host(fields, at + 3) if at >= 0 else None
        if client is not None:
            message.client = client[2]
        at = fields.find(" A=")  # before S=, id= and T=, the fields a client writes
        if at >= 0:
            stop = fields.find(" ", at + 3)
            authenticator, _, account = fields[at + 3 : stop if stop >= 0 else None].partition(":")
            message.account = _clip(account).lower()
            if message.account:
                self._logged_in(when, message, authenticator, client, out)
        at = fields.rfind(" for ")
        if at > fields.rfind('"'):
            recipients = fields[at + 5 :].split()
            if not any(_NOT_IN_ADDRESS.intersection(recipient) for recipient in recipients):
                for recipient in recipients:
                    self._messages.add_recipient(message, _clip(recipient))

    def _logged_in(
        self,
        when: float,
        message: _Message,
        authenticator: str,
        client: tuple[str, str, str, int] | None,
        out: list[EximEvent],
    ) -> None:
        """The successful SMTP AUTH an authenticated arrival implies (once per session-ish)."""
        key = (message.account, message.client)
        last = self._logins.pop(key, None)
        if last is not None and 0 <= when - last < self._login_window:
            self._logins[key] = last
            return
        if len(self._logins) >= self._max_pending:
            del self._logins[next(iter(self._logins))]
        self._logins[key] = when
        details = {"authenticator": _clip(authenticator), "message_id": message.key[1]}
        if client is not None:
            details |= {"client_name": client[0], "helo": client[1]}
        mechanism = _mechanism(authenticator)
        out.append(
            Login(when, message.account, message.client, True, "smtp", mechanism, "log", details)
        )

    def _delivery(
        self, when: float, key: tuple[str, str], status: str, body: str, out: list[EximEvent]
    ) -> None:
        """``ADDRESS [<ORIGINAL>] R=router T=transport H=host [ip] ...[: remote answer]``"""
        end = _token(body, 0)
        recipient, original = body[:end], ""
        while body.startswith(" <", end):  # with +all_parents, the last one is the original
            close = body.find(">", end + 2)
            if close < 0:
                break
            original, end = body[end + 2 : close], close + 1
        if not recipient:
            self.stats.unparsed += 1
            return
        answer = body.find(": ", end)  # what a remote server said comes last
        fields = body[end:answer] if answer >= 0 else body[end:]
        relay = ""
        at = fields.find(" H=")
        host = _host(fields, at + 3) if at >= 0 else None
        if host is not None:
            relay = f"{host[0]}[{host[2]}]"
        elif (at := fields.find(" T=")) >= 0:
            stop = fields.find(" ", at + 3)
            relay = fields[at + 3 : stop if stop >= 0 else None]
        dsn = _DSN.search(body, end)
        out.append(
            Delivery(
                when,
                key[1],
                _clip(recipient),
                status,
                _clip(relay),
                dsn.group() if dsn is not None else "",
            )
        )
        message = self._messages.pending.get(key)
        if message is not None:
            self._messages.add_recipient(message, _clip(original or recipient))

    # authentication failures ----------------------------------------------------------------

    def _auth_failed(self, when: float, rest: str, out: list[EximEvent]) -> None:
        """``NAME authenticator failed for [host ][(helo) ][ip](:port)?( I=..)?( Ci=..)?:
        CODE text( (set_id=USER))?(: N Time(s))?``"""
        at = rest.find(" authenticator failed for ")
        authenticator = rest[:at]
        client = _host(rest, at + 26)
        if " " in authenticator or client is None:
            self.stats.unparsed += 1
            return
        name, helo, address, end = client
        colon = rest.find(": ", end)
        answer = rest[colon + 2 :] if colon >= 0 else ""
        times = 1
        if answer.endswith(" Time(s)"):  # repeated lines folded by a syslog daemon
            fold = answer.rfind(": ")
            count = answer[fold + 2 : -8] if fold >= 0 else ""
            digits = count.isascii() and count.isdigit() and len(count) < 5
            times = min(1000, max(1, int(count))) if digits else 1
            answer = answer[:fold] if fold >= 0 else answer
        if answer[:1] != "5":
            return  # 4xx: the server could not check (a temporary failure), not the client
        reason, _, user = answer.partition(" (set_id=")
        user = user[:-1] if user.endswith(")") else user
        details = {"authenticator": _clip(authenticator), "client_name": name, "helo": helo}
        details["reason"] = _clip(reason)
        out.append(
            Login(
                when,
                _clip(user).lower(),
                address,
                False,
                "smtp",
                _mechanism(authenticator),
                "log",
                details,
                times,
            )
        )

    def _auth_refused(self, when: float, rest: str, out: list[EximEvent]) -> None:
        """``SMTP protocol error in "AUTH LOGIN [x]" H=... AUTH command used when not
        advertised`` (or ``LOGIN authentication mechanism not supported``)."""
        reason = next((why for text, why in _REFUSALS if rest.endswith(text)), None)
        at = rest.rfind(" H=")  # the command is the client's: the last H= is Exim's
        client = _host(rest, at + 3) if at >= 0 and reason is not None else None
        if client is None or reason is None:
            return
        quote = rest.rfind('"', 24, at)
        command = rest[24:quote].split(" ", 3) if quote >= 0 else [""]
        if command[0].upper() != "AUTH":
            return
        mechanism = command[1].strip('"').upper()[:20] if len(command) > 1 else ""
        account = _login_name(command[2]) if mechanism == "LOGIN" and len(command) > 2 else ""
        name, helo, address, _ = client
        details = {"client_name": name, "helo": helo, "reason": reason}
        out.append(Login(when, account, address, False, "smtp", mechanism, "log", details))

    # messages -------------------------------------------------------------------------------

    def _open(self, when: float, key: tuple[str, str], out: list[EximEvent]) -> _Message:
        """Start assembling a message."""
        message = _Message(key, self._messages.next_sequence(), when)
        self._messages.open(message, out.append)
        return message

    def _submission(self, message: _Message, when: float) -> Submission:
        recipients = tuple(message.recipients)
        return Submission(
            time=when,
            account=message.account,
            sender=message.sender,
            recipients=recipients,
            recipient_count=len(recipients) + message.extra,
            client_address=message.client,
            queue_id=message.key[1],
            source="log",
        )


def _syslog_message(text: str, start: int) -> tuple[str, str] | None:
    """``host exim[pid]: message`` (also ``exim4``) → (host, message); None for other text."""
    space = text.find(" ", start)
    if space <= start or not text.startswith("exim", space + 1):
        return None
    colon = text.find(": ", space + 1, space + 40)
    if colon < 0 or text[space + 1 : colon].partition("[")[0] not in ("exim", "exim4"):
        return None
    return text[start:space], text[colon + 2 :]
