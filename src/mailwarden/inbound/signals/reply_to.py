"""Replies going to another domain than the sender's."""

from __future__ import annotations

from mailwarden.engine.signals.base import Reason
from mailwarden.inbound.domains import registrable
from mailwarden.inbound.signals.base import Context, claimed


class ReplyToMismatch:
    name = "reply_to_mismatch"
    description = "Reply-To in another domain than From (mailing lists excepted)"
    kind = "sender"

    def evaluate(self, ctx: Context) -> Reason | None:
        msg = ctx.msg
        if msg.sender is None or not msg.reply_to or msg.list_id:
            return None
        own = registrable(msg.sender_domain)
        other = [box for box in msg.reply_to if box.domain and registrable(box.domain) != own]
        if not other:
            return None
        found = claimed(ctx)
        risky = any(ctx.know.is_freemail(b.domain) or ctx.know.protected.match(b.domain)
                    for b in other) or found.person or found.org or found.brand
        return ctx.reason(self.name, 1.0 if risky else 0.5, reply_to=other[0].address,
                          address=msg.sender.address)
