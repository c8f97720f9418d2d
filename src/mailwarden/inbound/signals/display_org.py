"""A display name claiming the organisation, from outside its domains."""

from __future__ import annotations

from mailwarden.engine.signals.base import Reason
from mailwarden.inbound.signals.base import Context, claimed


class DisplayNameOrg:
    name = "display_name_org"
    description = "Display name claiming the organisation's name or domain, sent from outside"
    kind = "sender"

    def evaluate(self, ctx: Context) -> Reason | None:
        org = claimed(ctx).org
        if not org or ctx.msg.sender is None:
            return None
        return ctx.reason(self.name, claim=org, display=ctx.msg.sender.name,
                          address=ctx.msg.sender.address)
