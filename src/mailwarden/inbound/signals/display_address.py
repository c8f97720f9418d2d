"""A display name that shows another e-mail address than the sender's."""

from __future__ import annotations

from mailwarden.engine.signals.base import Reason
from mailwarden.inbound.signals.base import Context, claimed


class DisplayNameAddress:
    name = "display_name_address"
    description = "Display name showing an address of another domain than the sender's"
    kind = "sender"

    def evaluate(self, ctx: Context) -> Reason | None:
        shown = claimed(ctx).shown_address
        if not shown or ctx.msg.sender is None:
            return None
        return ctx.reason(self.name, shown=shown, address=ctx.msg.sender.address)
