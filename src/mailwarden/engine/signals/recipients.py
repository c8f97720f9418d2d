"""One message addressed to more recipients than the account ever used."""

from __future__ import annotations

from mailwarden.engine.signals.base import Context, Quiet, Reason

PEAK_KEY = "message.recipients"


class RecipientsPerMessage:
    name = "recipients_per_message"
    description = "One message to far more recipients than this account's messages have"

    def evaluate(self, ctx: Context) -> Reason | None:
        count = ctx.sub.size
        limit = ctx.limit(PEAK_KEY, ctx.cfg.limits.recipients_per_message)
        if count <= limit:
            return None
        return ctx.reason(self.name, min(2.0, count / limit), count=count, limit=limit)

    def quiet(self, ctx: Context) -> Quiet:
        """Silent while a message has no more recipients than this hour's limit."""
        return Quiet({PEAK_KEY: ctx.known_limit(PEAK_KEY, ctx.cfg.limits.recipients_per_message)})
