"""A link listed in a configured phishing URL feed (OpenPhish, PhishTank)."""

from __future__ import annotations

from mailwarden.engine.signals.base import Reason
from mailwarden.inbound.knowledge import feed_key
from mailwarden.inbound.signals.base import Context, shorten


class PhishingFeed:
    name = "phishing_feed"
    description = "Link found in a phishing URL feed"
    kind = "link"

    def evaluate(self, ctx: Context) -> Reason | None:
        feed = ctx.know.feed
        if not feed:
            return None
        found = []
        for link in ctx.msg.web_links():
            key = feed_key(link.url.raw)
            if key and (key in feed or key.split("?", 1)[0] in feed):
                found.append(link.url.raw[:200])
        if not found:
            return None
        return ctx.reason(self.name, urls=shorten(sorted(set(found)), 3))
