"""Bounces going to a free-mail or unrelated domain while the sender claims a known one."""

from __future__ import annotations

from mailwarden.engine.signals.base import Reason
from mailwarden.inbound.domains import registrable
from mailwarden.inbound.signals.base import Context, claimed


class ReturnPathMismatch:
    name = "return_path_mismatch"
    description = "Return-Path unrelated to From while From claims a known sender"
    kind = "sender"

    def evaluate(self, ctx: Context) -> Reason | None:
        msg, know = ctx.msg, ctx.know
        bounce = msg.return_path.rpartition("@")[2]
        if msg.sender is None or not bounce or not msg.sender_domain:
            return None
        if registrable(bounce) == registrable(msg.sender_domain):
            return None
        found = claimed(ctx)
        known = know.is_org(msg.sender_domain) or know.is_partner(msg.sender_domain) or \
            bool(found.person or found.org or found.brand)
        if not (know.is_freemail(bounce) and not know.is_freemail(msg.sender_domain)) and \
                not known:
            return None
        return ctx.reason(self.name, return_path=msg.return_path, address=msg.sender.address)
