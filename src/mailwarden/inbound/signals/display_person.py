"""A protected person's name on an address that is not theirs."""

from __future__ import annotations

from mailwarden.engine.signals.base import Reason
from mailwarden.inbound.signals.base import Context, claimed


class DisplayNamePerson:
    name = "display_name_person"
    description = "Display name of a protected person on an address that is not theirs"
    kind = "sender"

    def evaluate(self, ctx: Context) -> Reason | None:
        person = claimed(ctx).person
        if person is None or ctx.msg.sender is None:
            return None
        known = ", ".join(sorted(person.addresses)) or ", ".join(sorted(ctx.know.org_domains))
        return ctx.reason(self.name, person=person.label, display=ctx.msg.sender.name,
                          address=ctx.msg.sender.address, known=known or "-")
