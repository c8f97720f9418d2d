"""A sender domain (From, Reply-To, Return-Path) that looks like a protected one."""

from __future__ import annotations

from mailwarden.engine.signals.base import Reason
from mailwarden.inbound.domains import Lookalike
from mailwarden.inbound.signals.base import Context


def sender_domains(ctx: Context) -> list[tuple[str, str]]:
    """(header, domain) of the addresses that send or take replies."""
    msg = ctx.msg
    found = [("From", msg.sender_domain)] if msg.sender_domain else []
    found += [("Reply-To", box.domain) for box in msg.reply_to if box.domain]
    if "@" in msg.return_path:
        found.append(("Return-Path", msg.return_path.rpartition("@")[2]))
    return found


class LookalikeDomain:
    name = "lookalike_domain"
    description = "Sender domain resembling the organisation's, a partner's or a brand's"
    kind = "sender"

    def evaluate(self, ctx: Context) -> Reason | None:
        best: tuple[str, Lookalike] | None = None
        for header, domain in sender_domains(ctx):
            found = ctx.know.protected.match(domain)
            if found and (best is None or found.fraction > best[1].fraction):
                best = (header, found)
        if best is None:
            return None
        header, look = best
        return ctx.reason(self.name, look.fraction, header=header, domain=look.domain,
                          target=look.target, owner=look.owner, how=look.how)
