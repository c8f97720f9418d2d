"""Login habits: unusual hours and legacy or cleartext authentication."""

from __future__ import annotations

from mailwarden.engine.logins.signals.base import Finding, LoginContext

CLEARTEXT_MECHANISMS = {"plain", "login", ""}


class UnusualLoginHour:
    name = "unusual_login_hour"
    on = "success"
    description = "Successful login at an hour the account never logs in at"

    def evaluate(self, ctx: LoginContext) -> Finding | None:
        p = ctx.profile
        if not ctx.login.success or p is None or not ctx.warm:
            return None
        h = ctx.hour
        if p.hours.get(h) or p.hours.get((h - 1) % 24) or p.hours.get((h + 1) % 24):
            return None
        return ctx.finding(self.name, "low", 0.1, hour=h)


class LegacyAuth:
    name = "legacy_auth"
    description = "POP3, or a password sent in cleartext (no TLS), per account"

    def evaluate(self, ctx: LoginContext) -> Finding | None:
        login = ctx.login
        if not ctx.cfg.login.flag_legacy_auth or not login.account:
            return None
        kinds = []
        if login.protocol == "pop3":
            kinds.append("pop3")
        tls = login.tls or login.details.get("tls", "")
        if tls == "no" and login.mechanism.lower() in CLEARTEXT_MECHANISMS:
            kinds.append("cleartext")
        if not kinds:
            return None
        key = f"{login.account}|{'+'.join(kinds)}"
        if not ctx.tracker.once(self.name, key, login.time):
            return None
        return ctx.finding(self.name, "low", 0.0, kinds="+".join(kinds),
                           protocol=login.protocol or "?", mechanism=login.mechanism or "?")


class DeniedAddress:
    name = "denied_address"
    description = "A login attempt from an address on a deny list"

    def evaluate(self, ctx: LoginContext) -> Finding | None:
        if not ctx.denied or not ctx.tracker.once(self.name, ctx.address, ctx.login.time):
            return None
        return ctx.finding(self.name, "medium", 0.0, address=ctx.address)
