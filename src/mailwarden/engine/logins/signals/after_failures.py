"""A successful login right after a run of wrong passwords: the password was found."""

from __future__ import annotations

from mailwarden.engine.logins.signals.base import Finding, LoginContext


class LoginAfterFailures:
    name = "login_after_failures"
    description = "Successful login shortly after several wrong passwords on the account"

    def evaluate(self, ctx: LoginContext) -> Finding | None:
        if not ctx.login.success or not ctx.account:
            return None
        failures = ctx.tracker.peek(ctx.tracker.accounts, ctx.account, ctx.login.time)
        count = failures.distinct() if failures else 0
        if count < ctx.cfg.login.after_failures:
            return None
        return ctx.finding(self.name, "high", 0.6, count=count,
                           minutes=ctx.cfg.login.window_minutes)
