"""Sending through a network (ASN) the account never used."""

from __future__ import annotations

from mailwarden.engine.signals.base import Context, Quiet, Reason


class NewNetwork:
    name = "new_network"
    description = "Client network never seen for a warmed-up account"

    def evaluate(self, ctx: Context) -> Reason | None:
        facts = ctx.facts
        if not ctx.warm or not facts.asn or facts.asn == "internal":
            return None
        baseline = ctx.state.baseline
        if facts.asn in baseline.asns or facts.network in baseline.networks:
            return None
        return ctx.reason(self.name, asn=facts.asn, network=facts.network)

    def quiet(self, ctx: Context) -> Quiet:
        """Depends only on the client address and the baseline, which the fast path holds fixed."""
        return Quiet()
