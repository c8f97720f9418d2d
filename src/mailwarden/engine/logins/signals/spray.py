"""Password spraying: one address or network trying many accounts, few passwords each.

Both conditions must hold: ``spray_accounts`` accounts or more, and no account with more than
``spray_max_per_account`` distinct wrong passwords (more on one account is brute force).
"""

from __future__ import annotations

from collections import OrderedDict

from mailwarden.engine.logins.signals.base import Finding, LoginContext
from mailwarden.engine.logins.tracker import Failures, Tracker, network_of, source_of


def spraying(ctx: LoginContext, table_name: str, key: str) -> int:
    """The number of accounts sprayed from ``key`` (0 when it does not look like a spray)."""
    return _sprayed(ctx, getattr(ctx.tracker, table_name), key)


def _sprayed(ctx: LoginContext, table: OrderedDict[str, Failures], key: str,
             tracker: Tracker | None = None) -> int:
    failures = (tracker or ctx.tracker).peek(table, key, ctx.login.time) if key else None
    if failures is None or failures.accounts() < ctx.cfg.login.spray_accounts:
        return 0
    if failures.max_per_account() > ctx.cfg.login.spray_max_per_account:
        return 0
    return failures.accounts()


class PasswordSpray:
    """Reported from wrong passwords, and also from the attempts refused once the source was
    refused (a spray goes on after the brute-force rule refuses it): those are not counted for
    refusing, so a refusal ends with the wrong passwords that caused it."""

    name = "password_spray"
    on = "failure"
    description = "One address or network failing on many accounts with few attempts each"

    def evaluate(self, ctx: LoginContext) -> Finding | None:
        if ctx.login.success:
            return None
        keys = (("addresses", source_of(ctx.address)), ("networks", network_of(ctx.address)))
        for tracker in (ctx.tracker, ctx.refused):
            if tracker is None:
                continue
            for table, key in keys:
                accounts = _sprayed(ctx, getattr(tracker, table), key, tracker)
                if accounts and ctx.tracker.once(self.name, key, ctx.login.time):
                    return ctx.finding(self.name, "high", 0.0, source=key, accounts=accounts,
                                       minutes=ctx.cfg.login.window_minutes)
        return None
