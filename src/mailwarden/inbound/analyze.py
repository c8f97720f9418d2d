"""The inbound analyser's entry point: raw message bytes in, a verdict with reasons out.

``analyze_message(raw, ctx)`` never raises on bad input. Every read is bounded (see
``mailwarden.inbound.mime`` and ``.attachments``); an internal error (a bug) is logged and
answered with a ``clean`` verdict that carries the error, so that a caller in the mail path
fails open, as the design asks, and shows that the message went unjudged.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from dataclasses import dataclass, field

from mailwarden.config import Config
from mailwarden.engine.signals.base import Reason
from mailwarden.inbound import mime
from mailwarden.inbound.history import History
from mailwarden.inbound.knowledge import Knowledge
from mailwarden.inbound.lures import PAYMENT
from mailwarden.inbound.message import Message, build
from mailwarden.inbound.signals import INBOUND, Context, Signal
from mailwarden.inbound.verdict import Verdict, classify

log = logging.getLogger(__name__)


@dataclass(slots=True)
class InboundContext:
    """What a message is judged with: the configuration, what is known (built once and
    shared), the history, and the envelope of this message when there is one (milter)."""

    cfg: Config
    knowledge: Knowledge
    history: History | None = None
    mail_from: str = ""
    recipients: tuple[str, ...] = ()
    signals: list[Signal] = field(default_factory=lambda: list(INBOUND))

    @classmethod
    def create(cls, cfg: Config, history: History | None = None) -> InboundContext:
        """A context with its knowledge prepared from ``cfg`` (do this once, then use
        :meth:`envelope` per message)."""
        return cls(cfg, Knowledge(cfg), history)

    def envelope(self, mail_from: str = "", recipients: tuple[str, ...] = ()) -> InboundContext:
        """The same context for one message's envelope (sharing the prepared knowledge)."""
        return dataclasses.replace(self, mail_from=mail_from, recipients=recipients)


def analyze_message(raw: bytes, ctx: InboundContext) -> Verdict:
    """The verdict on one message (never raises on bad input)."""
    started = time.perf_counter()
    try:
        verdict = _analyze(raw, ctx)
    except Exception as exc:  # fail open: a bug must not stop mail
        log.exception("inbound analysis failed")
        verdict = Verdict("clean", 0.0, error=f"{type(exc).__name__}: {exc}"[:500])
        verdict.notes.append(("error", {"error": verdict.error}))
    verdict.elapsed_ms = (time.perf_counter() - started) * 1000
    return verdict


def _analyze(raw: bytes, ctx: InboundContext) -> Verdict:
    inb = ctx.cfg.inbound
    limits = mime.Limits(inb.max_message_bytes, inb.max_header_bytes, inb.max_parts,
                         inb.max_depth)
    parsed = mime.parse(raw, limits)
    msg = build(parsed, ctx.knowledge, max_inflate=inb.max_inflate_bytes,
                max_members=inb.max_archive_members,
                qr_images=inb.max_qr_images if inb.qr_decode else 0,
                envelope_from=ctx.mail_from, recipients=ctx.recipients)
    sctx = Context(msg, ctx.knowledge, ctx.cfg, ctx.history)
    reasons = [r for r in (_evaluate(s, sctx) for s in ctx.signals) if r is not None]
    kinds = {s.name: s.kind for s in ctx.signals}
    outside = any(not ctx.knowledge.is_org(link.url.host) for link in msg.web_links())
    verdict, score = classify(reasons, kinds, msg.lures, outside, inb)
    reasons.sort(key=lambda r: -r.weight)
    out = Verdict(verdict, score, reasons, facts(msg))
    out.notes = _notes(msg, ctx.knowledge)
    return out


def _evaluate(signal: Signal, ctx: Context) -> Reason | None:
    try:
        return signal.evaluate(ctx)
    except Exception:  # one broken signal must not silence the others
        log.exception("inbound signal %s failed", signal.name)
        return None


def facts(msg: Message) -> dict[str, object]:
    """What the verdict is about, for people and for the history."""
    box = msg.sender
    return {
        "from": box.address if box else "", "from_name": box.name if box else "",
        "subject": msg.subject[:300], "message_id": msg.parsed.headers.get("message-id")[:300],
        "recipients": msg.recipients[:20], "return_path": msg.return_path,
        "links": len(msg.web_links()), "attachments": [f.path for f in msg.inspection.files
                                                       if f.depth == 0][:20],
        "lures": sorted(msg.lures), "date": msg.date, "size": msg.parsed.size,
        "authserv_id": msg.auth.authserv_id,
    }


def _notes(msg: Message, know: Knowledge) -> list[tuple[str, dict[str, object]]]:
    notes: list[tuple[str, dict[str, object]]] = []
    for note in msg.notes:
        key, _, count = note.partition(":")
        notes.append((key, {"count": count}))
    if know.authserv_ids and not msg.auth.present:
        notes.append(("no_auth", {"ignored": ", ".join(msg.auth.ignored[:5]) or "-"}))
    notes.extend(("feed", {"error": e}) for e in know.feed_errors)
    return notes


def remember(history: History, verdict: Verdict, t: float) -> None:
    """Count a delivered message in the history (for mail that was delivered, not held)."""
    sender = str(verdict.facts.get("from") or "")
    recipients = verdict.facts.get("recipients") or []
    if not sender or verdict.error or not isinstance(recipients, list):
        return
    links = bool(verdict.facts.get("links"))
    lures = verdict.facts.get("lures") or []
    payment = bool(PAYMENT & set(lures)) if isinstance(lures, list) else False
    for rcpt in recipients[:20]:
        history.record(str(rcpt), sender, t, links=links, payment=payment)
