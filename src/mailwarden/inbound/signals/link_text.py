"""A link whose visible text shows another domain than the one it goes to."""

from __future__ import annotations

from mailwarden.engine.signals.base import Reason
from mailwarden.inbound.domains import registrable, within
from mailwarden.inbound.signals.base import Context, shorten
from mailwarden.inbound.urls import domains_in, to_unicode


class LinkTextMismatch:
    name = "link_text_mismatch"
    description = "Link text showing a domain other than the link's target"
    kind = "link"

    def evaluate(self, ctx: Context) -> Reason | None:
        found: list[str] = []
        fraction = 0.7
        for link in ctx.msg.web_links():
            if not link.text or not link.url.host:
                continue
            target = registrable(link.url.host)
            for shown in domains_in(link.text):
                shown = to_unicode(shown)
                if registrable(shown) == target or within(link.url.host, frozenset({shown})):
                    continue
                found.append(f"{shown} → {link.url.host}")
                if ctx.know.protected.domains and within(shown, ctx.know.protected.domains):
                    fraction = 1.0
                break
        if not found:
            return None
        return ctx.reason(self.name, fraction, links=shorten(found, 3), count=len(found))
