"""Password spraying: one address or network trying many accounts, few passwords each."""

from __future__ import annotations

from collections import OrderedDict

from mailwarden.engine.logins.signals.base import Finding, LoginContext
from mailwarden.engine.logins.tracker import Failures, network_of


def spraying(ctx: LoginContext, table_name: str, key: str) -> int:
    """The number of accounts sprayed from ``key`` (0 when it does not look like a spray)."""
    return _sprayed(ctx, getattr(ctx.tracker, table_name), key)


def _sprayed(ctx: LoginContext, table: OrderedDict[str, Failures], key: str) -> int:
    failures = ctx.tracker.peek(table, key, ctx.login.time) if key else None
    if failures is None or failures.accounts() < ctx.cfg.login.spray_accounts:
        return 0
    if failures.max_per_account() > ctx.cfg.login.spray_max_per_account:
        return 0
    return failures.accounts()


class PasswordSpray:
    name = "password_spray"
    on = "failure"
    description = "One address or network failing on many accounts with few attempts each"

    def evaluate(self, ctx: LoginContext) -> Finding | None:
        if ctx.login.success:
            return None
        tracker = ctx.tracker
        for table, key in ((tracker.addresses, ctx.address),
                           (tracker.networks, network_of(ctx.address))):
            accounts = _sprayed(ctx, table, key)
            if accounts and ctx.tracker.once(self.name, key, ctx.login.time):
                return ctx.finding(self.name, "high", 0.0, source=key, accounts=accounts,
                                   minutes=ctx.cfg.login.window_minutes)
        return None
