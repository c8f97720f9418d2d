"""Internationalised domain names (sender or links) that mix scripts or imitate ASCII names.

``robínhood.com`` is written in one script, but once accents are dropped it reads as the
ASCII name ``robinhood.com``: a name chosen to be mistaken for another, above all when the
mail itself writes that ASCII name (display name "Robinhood", text "robinhood.com"). An
honest ``müller.de`` writes "Müller", which does not count. Mixed scripts in one
label (Latin with Cyrillic, ...) beyond TR39's highly restrictive level are never honest.
"""

from __future__ import annotations

import unicodedata

from mailwarden.engine.signals.base import Reason
from mailwarden.inbound.confusables import fold, mixed_scripts
from mailwarden.inbound.domains import label, registrable
from mailwarden.inbound.names import WORD
from mailwarden.inbound.signals.base import Context
from mailwarden.inbound.urls import to_unicode


class IdnHomograph:
    name = "idn_homograph"
    description = "Internationalised domain mixing scripts or imitating an ASCII name"
    kind = "sender"

    def evaluate(self, ctx: Context) -> Reason | None:
        hosts = [("From", ctx.msg.sender_domain)] + \
            [("link", link.url.host) for link in ctx.msg.web_links()]
        best: tuple[float, str, str, str] | None = None
        for where, name in hosts:
            host = to_unicode(name)
            if not host or host.isascii():
                continue
            judged = self._judge(ctx, host)
            if judged and (best is None or judged[0] > best[0]):
                best = (judged[0], where, host, judged[1])
        if best is None:
            return None
        fraction, where, host, imitated = best
        return ctx.reason(self.name, fraction, where=where, domain=host, imitated=imitated)

    @staticmethod
    def _judge(ctx: Context, host: str) -> tuple[float, str] | None:
        if any(mixed_scripts(part) for part in host.split(".")):
            return 1.0, "mixed scripts"
        reg = registrable(host)
        plain = fold(reg)
        if not plain.isascii():
            return None
        name = fold(label(reg))
        sender = ctx.msg.sender
        written = WORD.findall(unicodedata.normalize("NFKC", sender.name).casefold()) \
            if sender is not None else []
        shown = name in written or plain in ctx.msg.text.lower()
        bare = "".join(ch for ch in unicodedata.normalize("NFKD", reg)
                       if not unicodedata.combining(ch))
        return (1.0 if shown else 0.3), bare if bare.isascii() else plain
