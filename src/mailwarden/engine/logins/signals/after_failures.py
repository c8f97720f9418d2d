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
    on = "success"
    description = "Successful login shortly after several wrong passwords from the same network"

    def evaluate(self, ctx: LoginContext) -> Finding | None:
        if not ctx.login.success or not ctx.account:
            return None
        failures = ctx.tracker.peek(ctx.tracker.accounts, ctx.account, ctx.login.time)
        if failures is None or failures.distinct() < ctx.cfg.login.after_failures:
            return None  # (fewer failures in all than the threshold: no need to look closer)
        here = ctx.address
        network = network_of(here)
        # an IPv4 /24's addresses start with its first three numbers: others need no look-up
        stem = network[: -len("0/24")] if network.endswith(".0/24") else ""
        count = 0
        for address, secrets in failures.by_account.items():
            if address == here or (network and address.startswith(stem)
                                   and network_of(address) == network):
                count += len(secrets)
        if count < ctx.cfg.login.after_failures:
            return None
        return ctx.finding(self.name, "high", 0.6, count=count,
                           minutes=ctx.cfg.login.window_minutes)
