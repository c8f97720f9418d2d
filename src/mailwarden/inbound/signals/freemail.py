"""A free-mail sender claiming to be the organisation, one of its people or a brand."""

from __future__ import annotations

from mailwarden.engine.signals.base import Reason
from mailwarden.inbound.signals.base import Context, claimed


class FreemailClaim:
    name = "freemail_claim"
    description = "Free-mail address claiming the organisation, a protected person or a brand"
    kind = "sender"

    def evaluate(self, ctx: Context) -> Reason | None:
        box = ctx.msg.sender
        if box is None or not ctx.know.is_freemail(box.domain):
            return None
        found = claimed(ctx)
        claim = (found.person.label if found.person else "") or found.org or \
            (found.brand.label if found.brand and found.brand_where == "display name" else "") \
            or found.signature_org
        if not claim:
            return None
        return ctx.reason(self.name, claim=claim, address=box.address)
