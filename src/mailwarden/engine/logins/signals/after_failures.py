"""A successful login right after a run of wrong passwords from the same place.

Only failures from the same address or network count: a user logging in from home while
someone elsewhere guesses at the account has not been compromised (the brute-force finding
covers the attack itself).
"""

from __future__ import annotations

from mailwarden.engine.logins.signals.base import Finding, LoginContext
from mailwarden.engine.logins.tracker import network_of


class LoginAfterFailures:
    name = "login_after_failures"
    description = "Successful login shortly after several wrong passwords from the same network"

    def evaluate(self, ctx: LoginContext) -> Finding | None:
        if not ctx.login.success or not ctx.account:
            return None
        failures = ctx.tracker.peek(ctx.tracker.accounts, ctx.account, ctx.login.time)
        if failures is None:
            return None
        network = network_of(ctx.address)
        count = sum(len(secrets) for address, secrets in failures.by_account.items()
                    if address == ctx.address or (network and network_of(address) == network))
        if count < ctx.cfg.login.after_failures:
            return None
        return ctx.finding(self.name, "high", 0.6, count=count,
                           minutes=ctx.cfg.login.window_minutes)
