"""Brute force: many distinct wrong passwords from one address, or on one account.

An IPv6 address counts with the rest of its /64 (see ``tracker.source_of``): one host owns a
whole /64 and could otherwise rotate through it for unlimited guesses.
"""

from __future__ import annotations

from mailwarden.engine.logins.signals.base import Finding, LoginContext
from mailwarden.engine.logins.tracker import source_of


class BruteForceAddress:
    name = "brute_force_address"
    on = "failure"
    description = "One address tried many distinct wrong passwords"

    def evaluate(self, ctx: LoginContext) -> Finding | None:
        if ctx.login.success or not ctx.address:
            return None
        source = source_of(ctx.address)
        failures = ctx.tracker.peek(ctx.tracker.addresses, source, ctx.login.time)
        count = failures.distinct() if failures else 0
        if count < ctx.cfg.login.tarpit_after:
            return None
        if not ctx.tracker.once(self.name, source, ctx.login.time):
            return None
        severity = "high" if count >= ctx.cfg.login.reject_after else "medium"
        return ctx.finding(self.name, severity, 0.0,
                           key=self.name if source == ctx.address else f"{self.name}.network",
                           count=count, minutes=ctx.cfg.login.window_minutes, source=source,
                           accounts=failures.accounts() if failures else 0)


class BruteForceAccount:
    name = "brute_force_account"
    on = "failure"
    description = "One account received many distinct wrong passwords, from any addresses"

    def evaluate(self, ctx: LoginContext) -> Finding | None:
        if ctx.login.success or not ctx.account:
            return None
        failures = ctx.tracker.peek(ctx.tracker.accounts, ctx.account, ctx.login.time)
        count = failures.distinct() if failures else 0
        if count < ctx.cfg.login.account_brute_force:
            return None
        if not ctx.tracker.once(self.name, ctx.account, ctx.login.time):
            return None
        sources = failures.accounts() if failures else 0  # keyed by address for accounts
        return ctx.finding(self.name, "high", 0.0, count=count, sources=sources,
                           minutes=ctx.cfg.login.window_minutes)
