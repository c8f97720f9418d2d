"""Mail from the organisation's own domain that its own MTA could not authenticate."""

from __future__ import annotations

from mailwarden.engine.signals.base import Reason
from mailwarden.inbound.signals.base import Context


class OwnDomainSpoof:
    name = "own_domain_spoof"
    description = "From an organisation domain without a passing, aligned SPF, DKIM or DMARC"
    kind = "sender"

    def evaluate(self, ctx: Context) -> Reason | None:
        msg, auth = ctx.msg, ctx.msg.auth
        domain = msg.sender_domain
        if not auth.present or not domain or not ctx.know.is_org(domain):
            return None
        if auth.passed("dmarc", domain) or auth.passed("dkim", domain) or \
                auth.passed("spf", domain):
            return None
        results = " ".join(f"{m}={'/'.join(auth.results(m))}" for m in auth.by_method)
        return ctx.reason(self.name, domain=domain, authserv_id=auth.authserv_id,
                          results=results or "none")
