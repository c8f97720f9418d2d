"""A link into a much-abused top-level domain."""

from __future__ import annotations

from mailwarden.engine.signals.base import Reason
from mailwarden.inbound.signals.base import Context, shorten


class LinkSuspiciousTld:
    name = "link_suspicious_tld"
    description = "Link into a top-level domain much abused for phishing"
    kind = "link"

    def evaluate(self, ctx: Context) -> Reason | None:
        found = sorted({link.url.host for link in ctx.msg.web_links()
                        if link.url.host.rpartition(".")[2] in ctx.know.suspicious_tlds})
        if not found:
            return None
        return ctx.reason(self.name, hosts=shorten(found))
