"""The outbound guard: Postfix policy requests → engine decisions → Postfix actions.

Checks happen at RCPT (each recipient adds to the message seen so far); the message is counted
at END-OF-MESSAGE with Postfix's ``recipient_count``; ``instance`` ties a message's requests
together. HOLD applies to the whole message, so one held recipient holds the message.
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
MAX_RECIPIENTS = 1000
INSTANCE_TTL = 3600.0


@dataclass
class Message:
    """A message in progress on one SMTP session."""

    account: str
    sender: str
    client: str
    first: float
    recipients: list[str] = field(default_factory=list)
    verdict: Verdict | None = None
    counted: bool = False


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
        self.eom_seen = False
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
            msg = Message(account, attrs.get("sender", ""), attrs.get("client_address", ""), now)
            self.messages[key] = msg
            if len(self.messages) > MAX_INSTANCES:
                self.messages.popitem(last=False)
        return msg

    def _decide(self, msg: Message, attrs: dict[str, str], count: int, now: float) -> Verdict:
        sub = Submission(now, msg.account, msg.sender, tuple(msg.recipients), count,
                         msg.client, attrs.get("queue_id", ""), attrs.get("instance", ""))
        verdict = self.engine.check(sub)
        if verdict.incident is not None:
            self._opened(verdict.incident, now)
        return verdict

    def rcpt(self, attrs: dict[str, str]) -> str:
        now = self.clock()
        msg = self._message(attrs, now)
        if msg is None:
            return "DUNNO"
        if len(msg.recipients) < MAX_RECIPIENTS:
            msg.recipients.append(attrs.get("recipient", "").lower())
        if msg.verdict is None or not msg.verdict.hold:
            msg.verdict = self._decide(msg, attrs, 0, now)
        if not self.eom_seen and not msg.counted:
            self._count_at_rcpt(msg, attrs, now)
        return self.action(msg.verdict)

    def _count_at_rcpt(self, msg: Message, attrs: dict[str, str], now: float) -> None:
        """Without END-OF-MESSAGE requests (smtpd_end_of_data_restrictions not configured),
        count each message at its first RCPT, so that bursts are still seen."""
        if not self.warned_no_eom:
            log.warning("no END-OF-MESSAGE policy requests seen yet: counting messages at RCPT; "
                        "configure smtpd_end_of_data_restrictions (docs/postfix.md)")
            self.warned_no_eom = True
        msg.counted = True
        sub = Submission(now, msg.account, msg.sender, tuple(msg.recipients), 0, msg.client,
                         attrs.get("queue_id", ""), attrs.get("instance", ""))
        assert msg.verdict is not None
        self.engine.commit(sub, msg.verdict.hold and self.cfg.outbound.mode != "warn")

    def end_of_message(self, attrs: dict[str, str]) -> str:
        now = self.clock()
        msg = self._message(attrs, now)
        if msg is None:
            return "DUNNO"
        self.messages.pop(attrs.get("instance", ""), None)
        self.eom_seen = True
        count = _as_int(attrs.get("recipient_count", "0"))
        if msg.verdict is None or (not msg.verdict.hold and self.engine.quarantined(msg.account)):
            msg.verdict = self._decide(msg, attrs, count, now)
        sub = Submission(now, msg.account, msg.sender, tuple(msg.recipients), count,
                         msg.client, attrs.get("queue_id", ""), attrs.get("instance", ""))
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
            del self.messages[key]

    def take_batch(self) -> Batch:
        batch, self.batch = self.batch, Batch()
        return batch
