"""A link to a domain that looks like the organisation's, a partner's or a brand's."""

from __future__ import annotations

from mailwarden.engine.signals.base import Reason
from mailwarden.inbound.domains import Lookalike
from mailwarden.inbound.signals.base import Context


class LinkLookalike:
    name = "link_lookalike"
    description = "Link to a domain resembling the organisation's, a partner's or a brand's"
    kind = "link"

    def evaluate(self, ctx: Context) -> Reason | None:
        best: Lookalike | None = None
        seen: set[str] = set()
        for link in ctx.msg.web_links():
            host = link.url.host
            if not host or host in seen or link.url.ip:
                continue
            seen.add(host)
            found = ctx.know.protected.match(host)
            if found and (best is None or found.fraction > best.fraction):
                best = found
        if best is None:
            return None
        return ctx.reason(self.name, best.fraction, domain=best.domain, target=best.target,
                          owner=best.owner, how=best.how)
