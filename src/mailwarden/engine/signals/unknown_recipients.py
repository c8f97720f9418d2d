"""Mostly external recipients the account never wrote to."""

from __future__ import annotations

from mailwarden.engine.signals.base import Context, Quiet, Reason


class UnknownRecipients:
    name = "unknown_recipients"
    description = "Most external recipients of the message are new to a warmed-up account"

    def evaluate(self, ctx: Context) -> Reason | None:
        if not ctx.warm or not ctx.external:
            return None
        known = ctx.state.baseline.correspondents
        unknown = sum(1 for r in ctx.external if r not in known)
        total = len(ctx.sub.recipients)
        if unknown * 2 < total or unknown == 0:
            return None
        return ctx.reason(self.name, unknown / max(1, total), unknown=unknown, total=total)

    def quiet(self, ctx: Context) -> Quiet:
        """Cold: always silent. Warm: silent at least while every external recipient is known."""
        return Quiet(known_recipients=ctx.warm)
