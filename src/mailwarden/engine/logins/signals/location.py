"""Where a successful login comes from: abroad, a new country, a new network."""

from __future__ import annotations

from mailwarden.engine.logins.signals.base import Finding, LoginContext


class ForeignLogin:
    name = "foreign_login"
    on = "success"
    description = "Successful login from outside the home countries"

    def evaluate(self, ctx: LoginContext) -> Finding | None:
        country = ctx.facts.country
        if not ctx.login.success or not country:
            return None
        if country in ctx.cfg.organization.home_countries:
            return None
        usual = ctx.profile is not None and country in ctx.profile.countries
        return ctx.finding(self.name, "low" if usual else "medium", 0.1 if usual else 0.4,
                           country=country, address=ctx.address)


class NewCountry:
    name = "new_country"
    on = "success"
    description = "Successful login from a country never seen for a warmed-up account"

    def evaluate(self, ctx: LoginContext) -> Finding | None:
        country = ctx.facts.country
        if not ctx.login.success or not country or not ctx.warm or ctx.profile is None:
            return None
        if country in ctx.profile.countries:
            return None
        return ctx.finding(self.name, "medium", 0.3, country=country, address=ctx.address)


class NewNetwork:
    name = "new_login_network"
    on = "success"
    description = "Successful login from a network (ASN) never seen for a warmed-up account"

    def evaluate(self, ctx: LoginContext) -> Finding | None:
        asn = ctx.facts.asn
        if not ctx.login.success or not asn or not ctx.warm or ctx.profile is None:
            return None
        if asn in ctx.profile.asns or asn == "internal":
            return None
        return ctx.finding(self.name, "low", 0.1, asn=asn, network=ctx.facts.network)


class NewDevice:
    name = "new_device"
    on = "success"
    description = "Successful login from a device (client id) never seen for a warmed-up account"

    def evaluate(self, ctx: LoginContext) -> Finding | None:
        device = ctx.login.device
        if not ctx.login.success or not device or not ctx.warm or ctx.profile is None:
            return None
        if device in ctx.profile.devices:
            return None
        return ctx.finding(self.name, "low", 0.1, device=device)
