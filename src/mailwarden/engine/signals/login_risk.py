"""The login guard found a suspicious login: hold the account's mail from its first message."""

from __future__ import annotations

from mailwarden.engine.signals.base import Context, Quiet, Reason
from mailwarden.engine.state import AccountState
from mailwarden.timefmt import iso


class LoginRisk:
    name = "login_risk"
    description = "The account logged in suspiciously within the last login.risk_hours"

    def evaluate(self, ctx: Context) -> Reason | None:
        profile = ctx.state.logins
        if profile is None or profile.risk_until <= ctx.sub.time:
            return None
        hours = ctx.cfg.login.risk_hours
        at = iso(profile.risk_until - hours * 3600)
        return ctx.reason(self.name, at=at, why=", ".join(profile.risk_reasons) or "?",
                          hours=round(hours, 1))

    def quiet(self, ctx: Context) -> Quiet:
        """The login guard may flag the account at any moment: checked on every message."""
        return Quiet(still=no_risk)


def no_risk(state: AccountState, t: float) -> bool:
    """No suspicious login of the account is still in force at ``t``."""
    return state.logins is None or state.logins.risk_until <= t
