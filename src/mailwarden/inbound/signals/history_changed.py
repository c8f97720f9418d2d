"""A known correspondent that suddenly sends links or payment requests: a hijacked partner.

A supplier who has written forty plain mails and now sends "please review the invoice"
with a link is what a takeover of the supplier's mailbox looks like from the outside.
"""

from __future__ import annotations

from mailwarden.engine.signals.base import Reason
from mailwarden.inbound.history import Correspondent
from mailwarden.inbound.lures import PAYMENT
from mailwarden.inbound.signals.base import Context


class CorrespondentChanged:
    name = "correspondent_changed"
    description = "A known correspondent suddenly sends links or payment requests"
    kind = "history"

    def evaluate(self, ctx: Context) -> Reason | None:
        msg, history = ctx.msg, ctx.history
        if history is None or msg.sender is None or not msg.sender.address:
            return None
        links = any(not ctx.know.is_org(link.url.host) for link in msg.web_links())
        payment = bool(PAYMENT & set(msg.lures))
        if not links and not payment:
            return None
        for rcpt in msg.recipients[:20]:
            known = history.lookup(rcpt, msg.sender.address)
            if known is None or known.messages < ctx.cfg.inbound.known_messages:
                continue
            what = self._new(known, links, payment)
            if what:
                return ctx.reason(self.name, address=msg.sender.address, what=what,
                                  messages=known.messages, recipient=rcpt)
        return None

    @staticmethod
    def _new(known: Correspondent, links: bool, payment: bool) -> str:
        new = []
        if links and not known.with_links:
            new.append("links")
        if payment and not known.with_payment:
            new.append("payment")
        return "+".join(new)
