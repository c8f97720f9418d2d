"""Password spraying: one address or network trying many accounts, few passwords each."""

from __future__ import annotations

from mailwarden.engine.logins.signals.base import Finding, LoginContext
from mailwarden.engine.logins.tracker import network_of


def spraying(ctx: LoginContext, table_name: str, key: str) -> int:
    """The number of accounts sprayed from ``key`` (0 when it does not look like a spray)."""
    table = getattr(ctx.tracker, table_name)
    failures = ctx.tracker.peek(table, key, ctx.login.time) if key else None
    if failures is None or failures.accounts() < ctx.cfg.login.spray_accounts:
        return 0
    if failures.max_per_account() > ctx.cfg.login.spray_max_per_account:
        return 0
    return failures.accounts()


class PasswordSpray:
    name = "password_spray"
    description = "One address or network failing on many accounts with few attempts each"

    def evaluate(self, ctx: LoginContext) -> Finding | None:
        if ctx.login.success:
            return None
        for table, key in (("addresses", ctx.address), ("networks", network_of(ctx.address))):
            accounts = spraying(ctx, table, key)
            if accounts and ctx.tracker.once(self.name, key, ctx.login.time):
                return ctx.finding(self.name, "high", 0.0, source=key, accounts=accounts,
                                   minutes=ctx.cfg.login.window_minutes)
        return None
