"""A brand named in the display name, sender domain or address, from outside the brand."""

from __future__ import annotations

from mailwarden.engine.signals.base import Reason
from mailwarden.inbound.signals.base import Context, claimed


class BrandImpersonation:
    name = "brand_impersonation"
    description = "A brand in the sender's name, domain or address, sent from outside the brand"
    kind = "sender"

    def evaluate(self, ctx: Context) -> Reason | None:
        found = claimed(ctx)
        box = ctx.msg.sender
        if found.brand is None or box is None:
            return None
        if found.brand_where == "domain":
            fraction = 1.0
        elif found.brand_where == "display name":
            fraction = 1.0 if ctx.know.is_freemail(box.domain) else 0.7
        else:
            fraction = 0.5
        return ctx.reason(self.name, fraction, brand=found.brand.label,
                          where=found.brand_where, address=box.address,
                          domains=", ".join(sorted(found.brand.domains)[:3]))
