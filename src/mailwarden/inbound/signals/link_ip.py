"""A link to a bare IP address (also in decimal, hex or octal form)."""

from __future__ import annotations

import ipaddress

from mailwarden.engine.signals.base import Reason
from mailwarden.inbound.signals.base import Context, shorten


class LinkIp:
    name = "link_ip"
    description = "Link to a bare IP address instead of a name"
    kind = "link"

    def evaluate(self, ctx: Context) -> Reason | None:
        found = sorted({link.url.ip for link in ctx.msg.web_links() if link.url.ip})
        if not found:
            return None
        public = [ip for ip in found if ipaddress.ip_address(ip).is_global]
        return ctx.reason(self.name, 1.0 if public else 0.3, addresses=shorten(found),
                          count=len(found))
