"""An envelope sender address the account never used."""

from __future__ import annotations

from mailwarden.engine.signals.base import Context, Quiet, Reason


class NewSender:
    name = "new_sender"
    description = "Envelope sender never used by a warmed-up account"

    def evaluate(self, ctx: Context) -> Reason | None:
        sender = ctx.sub.sender.lower()
        if not ctx.warm or not sender or sender in ctx.state.baseline.senders:
            return None
        return ctx.reason(self.name, sender=sender)

    def quiet(self, ctx: Context) -> Quiet:
        """Depends only on the sender and the baseline, which the fast path holds fixed."""
        return Quiet()
