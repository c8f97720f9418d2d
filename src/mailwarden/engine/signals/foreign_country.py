"""Sending from a country outside the home countries and the account's usual ones."""

from __future__ import annotations

from mailwarden.engine.signals.base import Context, Quiet, Reason


class ForeignCountry:
    name = "foreign_country"
    description = "Client address in a country that is neither home nor usual for the account"

    def evaluate(self, ctx: Context) -> Reason | None:
        country = ctx.facts.country
        if not country or country in ctx.cfg.organization.home_countries:
            return None
        if country in ctx.state.baseline.countries:
            return None
        return ctx.reason(self.name, country=country, address=ctx.facts.address)

    def quiet(self, ctx: Context) -> Quiet:
        """Depends only on the client address and the baseline, which the fast path holds fixed."""
        return Quiet()
