"""Postfix mail logs → Submission, Delivery and Login events.

One message is spread over the lines of several daemons, tied together by its queue id::

    smtpd     QID: client=NAME[ADDR], sasl_method=LOGIN, sasl_username=alice   (a submission)
    pickup    QID: uid=1000 from=<alice>                                        (a local one)
    cleanup   QID: message-id=<...>
    qmgr      QID: from=<alice@example.jp>, size=2048, nrcpt=3 (queue active)
    smtp ...  QID: to=<bob@example.org>, orig_to=<bob>, relay=..., dsn=2.0.0, status=sent (...)
    qmgr      QID: removed

:class:`PostfixLogParser` assembles one :class:`Submission` per message that entered through
smtpd or pickup. A message is complete when it is removed, or when the log clock has passed its
first line by the grace period (it stays deferred, or was rejected at end of data); Submissions are
emitted in the order of their submission time, so what follows sees a clock that never goes back.
A :class:`Delivery` for every ``to=`` line and a failed :class:`Login` for every SASL failure are
emitted at once.

Lines are untrusted: a line that cannot be read is counted and skipped, never raised on; memory is
bounded by the number of pending messages and of recipients kept per message. Daemons are told by
what they log, not their name, so ``postfix-out/smtpd`` or ``postfix/submission/smtpd`` work alike.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import tzinfo
from typing import TypeAlias

from mailwarden.events import Delivery, Login, Submission
from mailwarden.sources.logs.assembly import Assembly
from mailwarden.sources.logs.timestamps import SyslogClock

__all__ = ["PostfixEvent", "PostfixLogParser", "PostfixStats"]

PostfixEvent: TypeAlias = Submission | Delivery | Login

DEFAULT_GRACE = 600.0  # seconds after its first line a message counts as complete
DEFAULT_MAX_PENDING = 100_000  # messages assembled at once; the oldest is emitted beyond that
DEFAULT_MAX_RECIPIENTS = 1_000  # distinct recipient addresses kept per message

_MAX_FIELD = 320  # characters kept of an address, account, relay or reason
# delivery status → Delivery.status; soft_bounce=yes logs SOFTBOUNCE for a bounce kept queued
_STATUSES = {status: status for status in ("sent", "deferred", "bounced", "expired")} | {
    "SOFTBOUNCE": "deferred"
}
_DAEMONS = frozenset(
    {"smtpd", "smtp", "lmtp", "local", "virtual", "pipe", "error", "discard", "retry"}
    | {"cleanup", "qmgr", "nqmgr", "pickup", "bounce", "postsuper", "postscreen"}
)
_SERVER_FAULTS = ("Connection lost to authentication server",)  # not the client's doing
_CLIENT = re.compile(r"client=([^\[\s,]*)\[([^\]\s]*)\]")
_NAME_ADDR = re.compile(r"([^\[\s,]*)\[([^\]\s]*)\]")
_TO = re.compile(r"to=<([^>]*)>, (?:orig_to=<([^>]*)>, )?relay=([^,\s]*)")
# every line a handler or the warning check can use holds one of these (most lines hold none)
_WANTED = re.compile(r": (?:clie|uid=|from|to=<|remo|warning: )")
_SASL = re.compile(
    r"warning: ([^\[\s]*)\[([^\]\s]*)\](?::\d+)?: SASL ([\w.-]+) authentication failed:? ?(.*)"
)


def _clip(text: str) -> str:
    return text if len(text) <= _MAX_FIELD else text[:_MAX_FIELD]


def _is_postfix(tag: str) -> bool:
    """Whether a syslog tag (``postfix-out/smtpd[12]``, ``smtpd``) names a Postfix daemon."""
    program = tag.partition("[")[0]
    return program.startswith("postfix") or program.rpartition("/")[2] in _DAEMONS


def _fields(tail: str) -> dict[str, str]:
    """``", sasl_method=LOGIN, sasl_username=a"`` → fields; a value may itself hold ``", "``."""
    fields: dict[str, str] = {}
    last = ""
    for part in tail.split(", ")[1:]:
        name, equals, value = part.partition("=")
        if equals and name.isidentifier():
            fields[name] = value
            last = name
        elif last:
            fields[last] += ", " + part
    return fields


@dataclass(slots=True)
class PostfixStats:
    """What a :class:`PostfixLogParser` has seen so far."""

    lines: int = 0  # lines fed
    unparsed: int = 0  # lines without a timestamp, or malformed Postfix records
    submissions: int = 0  # Submissions emitted
    evicted: int = 0  # messages emitted before completion because too many were pending
    recipients_dropped: int = 0  # recipient addresses not kept (per-message limit)


class _Message:
    """A message being assembled from its lines."""

    __slots__ = (
        "account",
        "client",
        "done",
        "extra",
        "key",
        "nrcpt",
        "queue_id",
        "recipients",
        "sender",
        "sequence",
        "time",
    )

    def __init__(
        self, key: tuple[str, str], sequence: int, time: float, account: str, client: str
    ) -> None:
        self.key = key
        self.sequence = sequence
        self.queue_id = key[1]
        self.time = time
        self.account = account
        self.client = client
        self.sender = ""
        self.nrcpt = 0
        self.extra = 0  # recipients beyond the per-message limit
        self.recipients: dict[str, None] = {}  # ordered set
        self.done = False


_Handler: TypeAlias = Callable[[float, tuple[str, str], str, list[PostfixEvent]], None]


class PostfixLogParser:
    """Turns Postfix log lines, fed in log order, into events.

    ``tz`` and ``year`` read traditional syslog timestamps (see :class:`SyslogClock`).
    ``feed`` returns the events a line completes; ``flush`` those still pending at the end.
    """

    def __init__(
        self,
        tz: tzinfo,
        year: int | None = None,
        *,
        grace: float = DEFAULT_GRACE,
        max_pending: int = DEFAULT_MAX_PENDING,
        max_recipients: int = DEFAULT_MAX_RECIPIENTS,
    ) -> None:
        self.stats = PostfixStats()
        self._clock = SyslogClock(tz, year)
        self._timestamp = self._clock.parse
        self._messages: Assembly[_Message, Submission] = Assembly(
            self.stats, self._submission, grace, max_pending, max_recipients
        )
        self._handlers: dict[str, _Handler] = {
            "clie": self._client,
            "uid=": self._pickup,
            "from": self._queued,
            "to=<": self._delivery,
            "remo": self._removed,
        }

    @property
    def pending(self) -> int:
        """Messages held now: being assembled, or complete and waiting for an older one."""
        return len(self._messages)

    def feed(self, line: str) -> list[PostfixEvent]:
        """The events this line produces or completes (often none)."""
        self.stats.lines += 1
        stamp = self._clock.stamp
        if stamp and line.startswith(stamp) and _WANTED.search(line, len(stamp)) is None:
            return []  # nothing for a handler, at the moment of the line before: changes nothing
        parsed = self._timestamp(line)
        if parsed is None:
            self.stats.unparsed += 1
            return []
        when, rest = parsed
        if rest[-1:] in ("\n", "\r"):
            rest = rest.rstrip("\r\n")
        messages = self._messages
        if when > messages.now:
            messages.now = when
        out: list[PostfixEvent] = []
        if _WANTED.search(rest) is not None:
            self._dispatch(when, rest, out)
        if messages.due():
            self._messages.release(out.append)
        return out

    def flush(self) -> list[PostfixEvent]:
        """The Submissions of all messages still pending, in order (the end of the log)."""
        out: list[PostfixEvent] = []
        self._messages.flush(out.append)
        return out

    # one line ---------------------------------------------------------------------------------

    def _dispatch(self, when: float, rest: str, out: list[PostfixEvent]) -> None:
        """Route ``host program[pid]: message`` to the handler its shape calls for."""
        space = rest.find(" ")
        colon = rest.find(": ", space + 1)
        if space < 0 or colon < 0:
            return
        if not rest.startswith("postfix", space + 1) and not _is_postfix(rest[space + 1 : colon]):
            return
        start = colon + 2
        end = rest.find(": ", start, start + 34)
        if end > start:
            handler = self._handlers.get(rest[end + 2 : end + 6])
            if handler is not None:
                queue_id = rest[start:end]
                if queue_id.isalnum() and queue_id.isascii() and queue_id != "warning":
                    handler(when, (rest[:space], queue_id), rest[end + 2 :], out)
                    return
        if rest.startswith("warning: ", start):
            self._warning(when, rest[space + 1 : colon].partition("[")[0], rest[start:], out)

    def _client(
        self, when: float, key: tuple[str, str], body: str, out: list[PostfixEvent]
    ) -> None:
        """``client=NAME[ADDR](:PORT)?(, sasl_method=M, sasl_username=U)?(, orig_client=...)?``"""
        match = _CLIENT.match(body)
        if match is None:
            self.stats.unparsed += 1
            return
        address, account = match.group(2), ""
        if match.end() < len(body):
            fields = _fields(body[match.end() :])
            account = fields.get("sasl_username", "")
            original = _NAME_ADDR.match(fields.get("orig_client", ""))
            if original is not None:  # re-injected by a content filter: the first hop's client
                address = original.group(2)
        self._open(when, key, _clip(account), _clip(address), out)

    def _pickup(
        self, when: float, key: tuple[str, str], body: str, out: list[PostfixEvent]
    ) -> None:
        """``uid=UID from=<SENDER>``: a message submitted with sendmail(1) on this host."""
        start = body.find(" from=<")
        end = body.find(">", start + 7)
        if start < 0 or end < 0:
            self.stats.unparsed += 1
            return
        self._open(when, key, "", "", out).sender = _clip(body[start + 7 : end])

    def _queued(
        self, when: float, key: tuple[str, str], body: str, out: list[PostfixEvent]
    ) -> None:
        """qmgr's ``from=<SENDER>, size=N, nrcpt=K (queue active)``."""
        message = self._messages.pending.get(key)
        end = body.find(">, size=", 5)
        if message is None or end < 0:
            return
        message.sender = _clip(body[6:end])  # rewritten: better than what pickup saw
        start = body.find(", nrcpt=", end)
        if start >= 0:
            digits = body[start + 8 : start + 18].partition(" ")[0]
            if digits.isascii() and digits.isdigit():
                message.nrcpt = max(message.nrcpt, int(digits))

    def _delivery(
        self, when: float, key: tuple[str, str], body: str, out: list[PostfixEvent]
    ) -> None:
        """``to=<R>, (orig_to=<O>, )?relay=..., delay=..., dsn=X.Y.Z, status=S (...)``"""
        match = _TO.match(body)
        at = body.find(", status=", match.end()) if match is not None else -1
        if match is None or at < 0:
            self.stats.unparsed += 1
            return
        status = _STATUSES.get(body[at + 9 : at + 21].partition(" ")[0].rstrip(","))
        if status is None:  # address verification probes and the like
            return
        recipient, original, relay = match.group(1, 2, 3)
        start = body.find(", dsn=", match.end(), at)
        dsn = body[start + 6 : at].partition(",")[0] if start >= 0 else ""
        queue_id = key[1]
        out.append(Delivery(when, queue_id, _clip(recipient), status, _clip(relay), dsn[:16]))
        message = self._messages.pending.get(key)
        if message is not None:
            self._messages.add_recipient(message, _clip(original or recipient))

    def _removed(
        self, when: float, key: tuple[str, str], body: str, out: list[PostfixEvent]
    ) -> None:
        """qmgr's (or postsuper's) ``removed``: the message is complete."""
        message = self._messages.pending.get(key)
        if message is not None and body.startswith("removed"):
            self._messages.finish(message)

    def _warning(self, when: float, program: str, line: str, out: list[PostfixEvent]) -> None:
        """``warning: NAME[ADDR](:PORT)?: SASL M authentication failed: R(, sasl_username=U)?``"""
        if "authentication failed" not in line:
            return
        match = _SASL.match(line)
        if match is None:
            self.stats.unparsed += 1
            return
        name, address, mechanism, reason = match.group(1, 2, 3, 4)
        reason, _, account = reason.partition(", sasl_username=")
        if reason.startswith(_SERVER_FAULTS):
            return
        details = {"service": program, "client_name": _clip(name), "reason": _clip(reason)}
        out.append(
            Login(
                when,
                _clip(account),
                _clip(address),
                False,
                "smtp",
                mechanism.upper(),
                "log",
                details,
            )
        )

    # messages -----------------------------------------------------------------------------

    def _open(
        self, when: float, key: tuple[str, str], account: str, client: str, out: list[PostfixEvent]
    ) -> _Message:
        """Start assembling a message (a queue id seen again completes its earlier message)."""
        messages = self._messages
        earlier = messages.pending.get(key)
        if earlier is not None:
            messages.finish(earlier)
        message = _Message(key, messages.next_sequence(), when, account, client)
        messages.open(message, out.append)
        return message

    def _submission(self, message: _Message, when: float) -> Submission:
        recipients = tuple(message.recipients)
        return Submission(
            time=when,
            account=message.account,
            sender=message.sender,
            recipients=recipients,
            recipient_count=max(message.nrcpt, len(recipients) + message.extra),
            client_address=message.client,
            queue_id=message.queue_id,
            source="log",
        )
