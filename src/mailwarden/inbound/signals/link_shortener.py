"""A link through a shortener, which hides its target."""

from __future__ import annotations

from mailwarden.engine.signals.base import Reason
from mailwarden.inbound.domains import registrable, within
from mailwarden.inbound.signals.base import Context, shorten


class LinkShortener:
    name = "link_shortener"
    description = "Link through a URL shortener"
    kind = "link"

    def evaluate(self, ctx: Context) -> Reason | None:
        found = sorted({registrable(link.url.host) for link in ctx.msg.web_links()
                        if within(link.url.host, ctx.know.shorteners)})
        if not found:
            return None
        return ctx.reason(self.name, services=shorten(found))
