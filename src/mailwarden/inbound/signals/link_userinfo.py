"""A link with user information before its host: ``https://bank.example@attacker/``."""

from __future__ import annotations

from mailwarden.engine.signals.base import Reason
from mailwarden.inbound.signals.base import Context, shorten


class LinkUserinfo:
    name = "link_userinfo"
    description = "Link with user information before the host, hiding where it goes"
    kind = "link"

    def evaluate(self, ctx: Context) -> Reason | None:
        found = [f"{link.url.userinfo[:60]}@{link.url.host}" for link in ctx.msg.web_links()
                 if link.url.userinfo]
        if not found:
            return None
        looks_like_site = any("." in item.split("@")[0] for item in found)
        return ctx.reason(self.name, 1.0 if looks_like_site else 0.6, links=shorten(found, 3))
