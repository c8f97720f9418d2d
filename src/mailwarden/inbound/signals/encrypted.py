"""An encrypted archive or document: its content is hidden from inspection. With the
password written in the same mail, the encryption protects nothing but the attacker."""

from __future__ import annotations

from mailwarden.engine.signals.base import Reason
from mailwarden.inbound.signals.base import Context, shorten


class EncryptedAttachment:
    name = "encrypted_attachment"
    description = "Encrypted archive or document (most of all with its password in the mail)"
    kind = "attachment"

    def evaluate(self, ctx: Context) -> Reason | None:
        found = [f.path for f in ctx.msg.inspection.files if f.encrypted and f.depth == 0]
        if not found:
            found = [f.path for f in ctx.msg.inspection.files if f.encrypted]
        if not found:
            return None
        password = "password_given" in ctx.msg.lures
        return ctx.reason(self.name, 1.0 if password else 0.4, files=shorten(found, 3),
                          password="yes" if password else "no")
