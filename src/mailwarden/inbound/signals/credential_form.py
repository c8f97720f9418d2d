"""A form asking for a password, in the mail itself or in an HTML attachment."""

from __future__ import annotations

from mailwarden.engine.signals.base import Reason
from mailwarden.inbound.signals.base import Context
from mailwarden.inbound.urls import split

CREDENTIAL_FIELDS = ("pass", "pwd", "passwd", "login", "user", "email", "mail", "account")


class CredentialForm:
    name = "credential_form"
    description = "Form asking for a password (or login) in the mail or an HTML attachment"
    kind = "link"

    def evaluate(self, ctx: Context) -> Reason | None:
        best: tuple[float, str, str] | None = None
        for found in ctx.msg.forms:
            form = found.form
            asks = form.password or sum(
                any(word in field.split(":", 1)[1].lower() for word in CREDENTIAL_FIELDS)
                for field in form.fields) >= 2
            if not asks:
                continue
            fraction = (1.0 if found.where != "body" else 0.75) * (1.0 if form.password
                                                                   else 0.6)
            target = split(form.action)
            action = target.host if target and target.host else (form.action[:80] or "-")
            if best is None or fraction > best[0]:
                best = (fraction, found.where, action)
        if best is None:
            return None
        return ctx.reason(self.name, best[0], where=best[1], action=best[2])
