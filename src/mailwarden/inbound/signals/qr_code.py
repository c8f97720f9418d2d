"""A QR code in an image that leads to a web address: the link a gateway cannot click."""

from __future__ import annotations

from mailwarden.engine.signals.base import Reason
from mailwarden.inbound.signals.base import Context, shorten
from mailwarden.inbound.urls import split


class QrCode:
    name = "qr_code"
    description = "QR code in an image leading to a web address"
    kind = "link"

    def evaluate(self, ctx: Context) -> Reason | None:
        found = []
        for where, text in ctx.msg.qr_codes:
            url = split(text)
            if url is not None and url.is_web and not ctx.know.is_org(url.host):
                found.append(f"{where}: {url.host}")
        if not found:
            return None
        return ctx.reason(self.name, 1.0 if ctx.msg.lures else 0.6, codes=shorten(found, 3))
