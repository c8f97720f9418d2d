"""The outbound guard: Postfix policy requests → engine decisions → Postfix actions.

Checks happen at RCPT (each recipient adds to the message seen so far); the message is counted
at END-OF-MESSAGE with Postfix's ``recipient_count``; ``instance`` ties a message's requests
together. HOLD applies to the whole message, so one held recipient holds the message.

Parallel sessions: a message is counted only when it ends, so sessions that all pass RCPT
before any of them ends would each have been judged against the same, uncounted windows. The
END-OF-MESSAGE request is therefore decided again when other messages of the account were
counted since its last RCPT decision (and unless RCPT already held it), and Postfix honours HOLD
there (``smtpd_end_of_data_restrictions``). A message alone on its account is not decided twice.

Where END-OF-MESSAGE requests come from is tracked per service (the listener's
``server_address``/``server_port`` and ``policy_context``, Postfix 3.1+; one service in
``master.cf`` is one listener): on a service that has sent one, messages are counted when they
end; on a service that has not (yet), each message is counted at its first RCPT, so a
submission port without ``smtpd_end_of_data_restrictions`` is never left uncounted because
another port has them. A Postfix that sends no server attributes is one service.

Memory: a message in progress keeps its recipient count, and a bounded sample of recipients
(the first ``KEEP_RECIPIENTS``, plus one per new external domain) for the signals and the
learning; all messages together keep at most ``MAX_KEPT`` recipients beyond the first
``MIN_KEEP`` of each, and a held message keeps
no more, so each RCPT costs bounded work however many recipients the message has.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

from mailwarden.config import Config
from mailwarden.engine.engine import Engine, Verdict
from mailwarden.engine.incident import Incident
from mailwarden.events import Submission
from mailwarden.store.store import Batch

log = logging.getLogger("mailwarden.guard")

MAX_INSTANCES = 20000
INSTANCE_TTL = 3600.0
KEEP_RECIPIENTS = 200  # recipients kept per message (the engine learns at most 200 a message)
KEEP_DOMAINS = 512  # beyond those, one recipient per new external domain (windows keep 512)
MAX_KEPT = 200_000  # recipients kept over all unfinished messages, beyond the first MIN_KEEP
MIN_KEEP = 8  # recipients every message keeps, whatever the others keep
MAX_SERVICES = 256

Service = tuple[str, str, str]


@dataclass(slots=True)
class Message:
    """A message in progress on one SMTP session."""

    account: str
    sender: str
    client: str
    first: float
    service: Service = ("", "", "")
    recipients: list[str] = field(default_factory=list)  # a bounded sample, lower case
    domains: set[str] = field(default_factory=set)  # external domains of ``recipients``
    size: int = 0  # RCPT requests seen
    verdict: Verdict | None = None
    counted: bool = False
    commits: int = -1  # the account's counted messages when this one was last decided


def service_of(attrs: dict[str, str]) -> Service:
    """The smtpd service a request comes from (its listener and policy context)."""
    return (attrs.get("server_address", ""), attrs.get("server_port", ""),
            attrs.get("policy_context", ""))


def _as_int(value: str) -> int:
    try:
        return max(0, int(value))
    except ValueError:
        return 0


class OutboundGuard:
    """The policy handler; collects what must be written in ``batch``."""

    def __init__(self, cfg: Config, engine: Engine, clock: Callable[[], float] = time.time):
        self.cfg = cfg
        self.engine = engine
        self.clock = clock
        self.messages: OrderedDict[str, Message] = OrderedDict()
        self.batch = Batch()
        self.counters = {"requests": 0, "held": 0, "incidents": 0}
        self.eom_services: set[Service] = set()  # services that send END-OF-MESSAGE
        self.kept = 0  # recipients kept over all messages in ``messages``
        self.warned_no_eom = False

    def account_of(self, attrs: dict[str, str]) -> str:
        account = attrs.get("sasl_username", "").strip().lower()
        if account or not self.cfg.outbound.track_unauthenticated:
            return account
        sender = attrs.get("sender", "").strip().lower()
        return sender if sender and self.engine.internal(sender) else ""

    def __call__(self, attrs: dict[str, str]) -> str:
        self.counters["requests"] += 1
        if attrs.get("request") != "smtpd_access_policy":
            return "DUNNO"
        state = attrs.get("protocol_state", "").upper()
        if state == "RCPT":
            return self.rcpt(attrs)
        if state == "END-OF-MESSAGE":
            return self.end_of_message(attrs)
        return "DUNNO"

    def _message(self, attrs: dict[str, str], now: float) -> Message | None:
        key = attrs.get("instance", "")
        msg = self.messages.get(key)
        if msg is None:
            account = self.account_of(attrs)
            if not account:
                return None
            msg = Message(account, attrs.get("sender", ""), attrs.get("client_address", ""), now,
                          service_of(attrs))
            self.messages[key] = msg
            if len(self.messages) > MAX_INSTANCES:
                self.kept -= len(self.messages.popitem(last=False)[1].recipients)
        return msg

    def _forget(self, key: str) -> None:
        msg = self.messages.pop(key, None)
        if msg is not None:
            self.kept -= len(msg.recipients)

    def _add(self, msg: Message, recipient: str) -> None:
        """One more recipient; kept when within the sample (see the module docstring)."""
        msg.size += 1
        if self.kept >= MAX_KEPT and len(msg.recipients) >= MIN_KEEP:
            return
        lower, domain, internal = self.engine.where(recipient)
        if len(msg.recipients) < KEEP_RECIPIENTS:
            msg.recipients.append(lower)
        elif internal or domain in msg.domains or len(msg.domains) >= KEEP_DOMAINS:
            return
        else:
            msg.recipients.append(lower)
        self.kept += 1
        if not internal:
            msg.domains.add(domain)

    def _submission(self, msg: Message, attrs: dict[str, str], count: int, now: float
                    ) -> Submission:
        """The message as far as seen; ``count`` is Postfix's recipient_count (0 at RCPT):
        recipients beyond the kept sample count through it."""
        rcpts = tuple(msg.recipients)
        if not count and msg.size > len(rcpts):
            count = msg.size
        return Submission(now, msg.account, msg.sender, rcpts, count, msg.client,
                          attrs.get("queue_id", ""), attrs.get("instance", ""))

    def _decide(self, msg: Message, attrs: dict[str, str], count: int, now: float) -> Verdict:
        verdict = self.engine.check(self._submission(msg, attrs, count, now))
        msg.commits = self.engine.commits(msg.account)
        if verdict.incident is not None:
            self._opened(verdict.incident, now)
        return verdict

    def rcpt(self, attrs: dict[str, str]) -> str:
        now = self.clock()
        msg = self._message(attrs, now)
        if msg is None:
            return "DUNNO"
        if msg.verdict is not None and msg.verdict.hold:
            msg.size += 1  # held: the whole message is, nothing more to keep or decide
        else:
            self._add(msg, attrs.get("recipient", ""))
            msg.verdict = self._decide(msg, attrs, 0, now)
        if not msg.counted and msg.service not in self.eom_services:
            self._count_at_rcpt(msg, attrs, now)
        return self.action(msg.verdict)

    def _count_at_rcpt(self, msg: Message, attrs: dict[str, str], now: float) -> None:
        """Without END-OF-MESSAGE requests from this service (smtpd_end_of_data_restrictions
        not configured for it), count each message at its first RCPT, so that bursts are
        still seen."""
        if not self.warned_no_eom:
            log.warning("no END-OF-MESSAGE policy requests seen yet from a service: counting its "
                        "messages at RCPT; configure smtpd_end_of_data_restrictions "
                        "(docs/postfix.md)")
            self.warned_no_eom = True
        msg.counted = True
        assert msg.verdict is not None
        self.engine.commit(self._submission(msg, attrs, 0, now),
                           msg.verdict.hold and self.cfg.outbound.mode != "warn")

    def end_of_message(self, attrs: dict[str, str]) -> str:
        now = self.clock()
        msg = self._message(attrs, now)
        if msg is None:
            return "DUNNO"
        self._forget(attrs.get("instance", ""))
        if msg.service not in self.eom_services and len(self.eom_services) < MAX_SERVICES:
            self.eom_services.add(msg.service)
        count = _as_int(attrs.get("recipient_count", "0"))
        # decide again unless RCPT held it, when messages of the account's parallel sessions
        # were counted since its last decision (otherwise the windows are as RCPT saw them, or
        # emptier), or when the account is quarantined (a message counted at RCPT is re-decided
        # only for a quarantine, since deciding it again would count it twice)
        if msg.verdict is None or (not msg.verdict.hold and (
                self.engine.quarantined(msg.account) or (
                    not msg.counted and self.engine.commits(msg.account) != msg.commits))):
            msg.verdict = self._decide(msg, attrs, count, now)
        sub = self._submission(msg, attrs, count, now)
        held = msg.verdict.hold and self.cfg.outbound.mode != "warn"
        if not msg.counted:
            self.engine.commit(sub, held)
        if msg.verdict.hold:
            self._record(msg.verdict, sub, now)
        return self.action(msg.verdict)

    def action(self, verdict: Verdict) -> str:
        if not verdict.hold:
            return "DUNNO"
        why = "; ".join(r.en for r in verdict.reasons[:3])
        mode = self.cfg.outbound.mode
        if mode == "warn":
            return f"WARN Mailwarden would hold: {why}"
        if mode == "defer":
            return f"DEFER {self.cfg.outbound.defer_message}"
        return f"HOLD Mailwarden: {why}"

    def _opened(self, incident: Incident, now: float) -> None:
        self.counters["incidents"] += 1
        log.warning("incident %s: %s (%s)", incident.id, incident.title_en,
                    "; ".join(r.en for r in incident.reasons))
        self.batch.incidents.append(incident)
        self.batch.events.append((incident.id, now, "opened", {
            "score": round(incident.score, 3), "reasons": [r.signal for r in incident.reasons]}))
        if self.cfg.outbound.quarantine and self.cfg.outbound.mode != "warn":
            self.batch.flags.append({
                "account": incident.account, "quarantined": True, "since": now,
                "incident_id": incident.id, "updated_at": now, "updated_by": "mailwarden",
                "note": "quarantined on " + ", ".join(r.signal for r in incident.reasons)})

    def _record(self, verdict: Verdict, sub: Submission, now: float) -> None:
        self.counters["held"] += 1
        if verdict.incident is not None:
            incident = verdict.incident.id
        else:  # held because the account is quarantined by an earlier incident
            incident = self.engine.states.get(sub.account).quarantine_incident
        action = self.cfg.outbound.mode  # hold, warn or defer
        self.batch.decisions.append({
            "time": now, "account": sub.account, "instance": sub.instance,
            "queue_id": sub.queue_id, "action": action, "score": verdict.score,
            "incident_id": incident or "",
            "reasons": "; ".join(r.signal for r in verdict.reasons)})
        if incident:
            self.batch.events.append((incident, now, action, {
                "queue_id": sub.queue_id, "sender": sub.sender,
                "recipients": sub.size, "client": sub.client_address}))

    def expire(self, now: float) -> None:
        """Forget messages whose session never reached END-OF-MESSAGE."""
        while self.messages:
            key, msg = next(iter(self.messages.items()))
            if msg.first > now - INSTANCE_TTL:
                break
            self._forget(key)

    def take_batch(self) -> Batch:
        batch, self.batch = self.batch, Batch()
        return batch
