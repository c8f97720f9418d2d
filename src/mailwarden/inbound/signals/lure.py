"""Lure language in Japanese or English (see ``mailwarden.inbound.lures``)."""

from __future__ import annotations

from mailwarden.engine.signals.base import Reason
from mailwarden.inbound.signals.base import Context


class LureLanguage:
    name = "lure_language"
    description = "Lure language: suspension, urgency, password expiry, invoice, payment, ..."
    kind = "content"

    def evaluate(self, ctx: Context) -> Reason | None:
        found = {k: v for k, v in ctx.msg.lures.items() if k != "password_given"}
        if not found:
            return None
        return ctx.reason(self.name, min(1.0, len(found) / 3),
                          categories=", ".join(found),
                          words=" / ".join(list(found.values())[:3]))
