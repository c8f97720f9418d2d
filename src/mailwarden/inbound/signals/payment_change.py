"""A payment or bank-detail change request from a new sender or in a hijacked thread.

"Please pay the attached invoice to our new account" is the core of business e-mail
compromise. It is suspicious when the sender is new to the recipient, or when the mail
answers a thread but comes from somewhere else than the thread's correspondent: a lookalike
domain, a free-mail address, replies diverted elsewhere, or a fake "Re:" with no thread.
"""

from __future__ import annotations

from mailwarden.engine.signals.base import Reason
from mailwarden.inbound.signals.base import Context, claimed
from mailwarden.inbound.signals.history_first import first_time

STRONG = ("bank_change", "gift_card")
WEAK = ("payment", "invoice")


class PaymentChange:
    name = "payment_change"
    description = "Payment or bank-detail change request from a new sender or a hijacked thread"
    kind = "content"

    def evaluate(self, ctx: Context) -> Reason | None:
        msg = ctx.msg
        asks = [k for k in (*STRONG, *WEAK) if k in msg.lures]
        if not asks or msg.sender is None or ctx.know.is_org(msg.sender_domain):
            return None
        why = self._why(ctx)
        if not why:
            return None
        fraction = 1.0 if any(k in STRONG for k in asks) else 0.7
        return ctx.reason(self.name, fraction, asks=", ".join(asks), why=why,
                          address=msg.sender.address)

    @staticmethod
    def _why(ctx: Context) -> str:
        msg, know = ctx.msg, ctx.know
        diverted = any(b.domain and b.domain != msg.sender_domain for b in msg.reply_to)
        lookalike = know.protected.match(msg.sender_domain) is not None
        found = claimed(ctx)
        if msg.is_reply and not msg.parsed.headers.get("references") and \
                not msg.parsed.headers.get("in-reply-to"):
            return "fake_reply"
        if msg.is_reply and (lookalike or diverted):
            return "hijacked_thread"
        first = first_time(ctx)
        if first is True:
            return "new_sender"
        if first is None and (know.is_freemail(msg.sender_domain) or lookalike or
                              diverted or found.person or found.org):
            return "unverified_sender"
        return ""
