"""The first message from a sender to a recipient whose mail is known."""

from __future__ import annotations

from mailwarden.engine.signals.base import Reason
from mailwarden.inbound.signals.base import Context


def first_time(ctx: Context) -> bool | None:
    """True: no recipient has heard from the sender before; False: one has; None: the
    history cannot tell (no store, or no recipient whose mail is known well enough)."""
    cached = ctx.memo.get("first_time", "unset")
    if cached != "unset":
        return cached if isinstance(cached, bool) else None
    result: bool | None = None
    history, msg = ctx.history, ctx.msg
    if history is not None and msg.sender is not None and msg.sender.address:
        warm = [r for r in msg.recipients[:20] if ctx.know.is_org(r.rpartition("@")[2])
                and history.received(r) >= ctx.cfg.inbound.warm_messages]
        if warm:
            result = all(history.lookup(r, msg.sender.address) is None for r in warm)
    ctx.memo["first_time"] = result
    return result


class FirstTimeSender:
    name = "first_time_sender"
    description = "First message from this sender to a recipient whose mail is known"
    kind = "history"

    def evaluate(self, ctx: Context) -> Reason | None:
        if first_time(ctx) is not True or ctx.msg.sender is None:
            return None
        return ctx.reason(self.name, address=ctx.msg.sender.address,
                          recipients=", ".join(ctx.msg.recipients[:3]))
