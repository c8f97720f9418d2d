"""The milter's decisions: the inbound analyser's verdict on a message passing through
Postfix, turned into header fields, the hold queue or a refusal as ``[milter]`` says.

Runs in the milter server's worker threads (``mailwarden.sources.milter``). Never the reason
mail stops: a verdict with an internal error only adds headers, a failing ClamAV scan is a
note, and mail of SASL-authenticated clients (outgoing, watched by the outbound guard)
passes untouched unless ``check_authenticated`` is set.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time

from mailwarden.config import Config
from mailwarden.engine.signals.base import Reason
from mailwarden.inbound import texts
from mailwarden.inbound.analyze import InboundContext, analyze_message, remember
from mailwarden.inbound.clamd import Clamd
from mailwarden.inbound.history import History
from mailwarden.inbound.milter_headers import PREFIX, clean, unchecked_headers, verdict_headers
from mailwarden.inbound.verdict import Verdict
from mailwarden.sources.milter import MilterServer
from mailwarden.sources.milter_session import MilterActions, MilterMessage
from mailwarden.store.store import Store

log = logging.getLogger("mailwarden.milter")
HOLD_REASON_CHARS = 100  # Postfix keeps this much of a quarantine reason


class InboundMilter:
    """Implements ``mailwarden.sources.milter.MilterHandler`` with the inbound analyser."""

    def __init__(self, cfg: Config, ctx: InboundContext, history: History | None = None,
                 clamd: Clamd | None = None) -> None:
        self.cfg = cfg
        self.ctx = ctx
        self.history = history
        self.clamd = clamd

    def decide(self, message: MilterMessage) -> MilterActions:
        m = self.cfg.milter
        if message.auth_user and not m.check_authenticated:
            # not judged, but a forged verdict must not pass on to colleagues either: a
            # hijacked internal account is the threat this project is about
            return MilterActions(delete_headers=self._forged(message))
        verdict = analyze_message(message.raw,
                                  self.ctx.envelope(message.mail_from, message.recipients))
        if message.truncated:
            verdict.notes.insert(0, truncated_note(message, self.cfg))
        if self.clamd is not None:
            verdict = self._scan(message, verdict)
        action = "header" if verdict.error else str(getattr(m, verdict.verdict))
        self._learn(verdict, action)
        _log(message, verdict, action)
        return self._actions(message, verdict, action)

    def unchecked(self, message: MilterMessage, why: str) -> MilterActions:
        if message.auth_user and not self.cfg.milter.check_authenticated:
            return MilterActions(delete_headers=self._forged(message))
        return MilterActions(unchecked_headers(why, self.cfg.milter.languages),
                             self._forged(message))

    def _scan(self, message: MilterMessage, verdict: Verdict) -> Verdict:
        assert self.clamd is not None
        result = self.clamd.scan(message.raw)
        if result.error:
            log.warning("milter: %s not scanned by ClamAV: %s", message.queue_id or "-",
                        result.error)
            verdict.notes.append(("clamd_error", {"error": clean(result.error, 200)}))
        if not result.found:
            return verdict
        name = clean(result.found, 200)
        weight = self.cfg.inbound.malware_threshold
        reason = Reason("clamav", weight, texts.render("clamav", "en", name=name),
                        texts.render("clamav", "ja", name=name), {"signature": name})
        return dataclasses.replace(verdict, verdict="malware", score=verdict.score + weight,
                                   reasons=[reason, *verdict.reasons])

    def _actions(self, message: MilterMessage, verdict: Verdict, action: str) -> MilterActions:
        m = self.cfg.milter
        if action == "none":
            return MilterActions()
        out = MilterActions(verdict_headers(verdict, action, m.languages, m.max_reasons),
                            self._forged(message))
        if action == "hold":
            out.quarantine = hold_reason(verdict)
        elif action == "reject":
            out.reply = m.reject_reply.replace("{verdict}", verdict.verdict)
        return out

    def _forged(self, message: MilterMessage) -> list[tuple[str, int]]:
        """X-Mailwarden-* fields the message arrived with, to be removed."""
        if not self.cfg.milter.strip_headers:
            return []
        return list(message.watched.values())

    def _learn(self, verdict: Verdict, action: str) -> None:
        """Count delivered, not dangerous mail in the history (a store error is logged)."""
        if (self.history is None or not self.cfg.milter.learn or verdict.dangerous
                or action not in ("none", "header")):
            return
        try:
            remember(self.history, verdict, time.time())
        except Exception:  # the history must never stop mail
            log.exception("milter: recording the message in the history failed")


def truncated_note(message: MilterMessage, cfg: Config) -> tuple[str, dict[str, object]]:
    """The note on a message analysed on its first bytes only: over max_message_bytes, or cut
    short because the memory budget of all connections (max_buffered_bytes) was full."""
    if message.over_budget:
        return ("milter_over_budget", {"kept": len(message.raw),
                                       "budget": cfg.milter.max_buffered_bytes})
    return ("milter_truncated", {"limit": cfg.milter.max_message_bytes})


def hold_reason(verdict: Verdict) -> str:
    """The quarantine reason Postfix logs (ASCII, at most 100 characters)."""
    signals = ",".join(r.signal for r in verdict.reasons[:4])
    text = f"Mailwarden {verdict.verdict} score={verdict.score:.2f} {signals}"
    return clean(text, HOLD_REASON_CHARS).encode("ascii", "replace").decode("ascii")


def _log(message: MilterMessage, verdict: Verdict, action: str) -> None:
    level = logging.WARNING if verdict.dangerous or verdict.error else logging.INFO
    log.log(level, "milter: %s %s -> %s: %s score=%.2f action=%s (%s)%s",
            message.queue_id or "-", message.mail_from or "<>",
            ",".join(message.recipients[:5]), verdict.verdict, verdict.score, action,
            ", ".join(r.signal for r in verdict.reasons[:6]) or "-",
            f" error: {verdict.error}" if verdict.error else "")


async def start_milter(cfg: Config, store: Store | None,
                       listen: tuple[str, int]) -> MilterServer:
    """Prepare the analyser (lists, feeds, brands: once, in a thread) and listen."""
    loop = asyncio.get_running_loop()
    history: History | None = None
    if store is not None:
        from mailwarden.store.inbound_store import StoreHistory

        history = StoreHistory(store)
    ctx = await loop.run_in_executor(None, InboundContext.create, cfg, history)
    m = cfg.milter
    clamd = Clamd(m.clamd, m.clamd_timeout) if m.clamd else None
    server = MilterServer(InboundMilter(cfg, ctx, history, clamd),
                          max_message_bytes=m.max_message_bytes, timeout=m.timeout,
                          idle_timeout=m.idle_timeout, workers=m.workers,
                          max_connections=m.max_connections,
                          max_buffered_bytes=m.max_buffered_bytes,
                          watch=(PREFIX.lower(),) if m.strip_headers else ())
    host, port = await server.start(*listen)
    shown = f"[{host}]" if ":" in host else host
    print(f"mailwarden: milter listening on {shown}:{port}\n"
          f"  main.cf: smtpd_milters = inet:{shown}:{port}\n"
          f"           non_smtpd_milters = inet:{shown}:{port}\n"
          f"           milter_default_action = accept", flush=True)
    return server
