"""A failed DMARC, SPF, DKIM or ARC result, as reported by a trusted authserv-id."""

from __future__ import annotations

from mailwarden.engine.signals.base import Reason
from mailwarden.inbound.signals.base import Context


class AuthFail:
    name = "auth_fail"
    description = "DMARC, SPF, DKIM or ARC failed at the organisation's own receiving MTA"
    kind = "auth"

    def evaluate(self, ctx: Context) -> Reason | None:
        auth = ctx.msg.auth
        if not auth.present:
            return None
        dkim_pass = auth.passed("dkim")
        dmarc_pass = auth.passed("dmarc")
        fractions = {
            "dmarc": 1.0 if auth.failed("dmarc") else 0.0,
            "spf": 0.5 if auth.failed("spf") and not dkim_pass and not dmarc_pass else 0.0,
            "dkim": 0.4 if auth.failed("dkim") and not dkim_pass and not dmarc_pass else 0.0,
            "arc": 0.4 if auth.failed("arc") and not dmarc_pass else 0.0,
        }
        failed = [m for m, f in fractions.items() if f]
        if not failed:
            return None
        results = " ".join(f"{m}={'/'.join(auth.results(m))}" for m in auth.by_method)
        return ctx.reason(self.name, max(fractions.values()), methods=", ".join(failed),
                          authserv_id=auth.authserv_id, results=results)
