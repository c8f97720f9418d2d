"""Many recipients bouncing as non-existent: an account mailing a harvested list."""

from __future__ import annotations

from mailwarden.engine.signals.base import Context, Quiet, Reason
from mailwarden.engine.state import AccountState


class Bounces:
    name = "bounces"
    description = "Many of the account's recipients bounced as non-existent in the last hour"

    def evaluate(self, ctx: Context) -> Reason | None:
        window = ctx.state.bounces
        if window is None:
            return None
        count = window.totals(ctx.sub.time).recipients
        threshold = ctx.cfg.login.bounce_threshold
        if count < threshold:
            return None
        return ctx.reason(self.name, min(2.0, count / threshold), count=count)

    def quiet(self, ctx: Context) -> Quiet:
        """Bounces arrive at any moment: below the threshold is checked on every message."""
        if ctx.state.bounces is None:
            return Quiet(still=_no_bounces)
        threshold = ctx.cfg.login.bounce_threshold

        def few(state: AccountState, t: float) -> bool:
            return state.bounces is None or state.bounces.totals(t).recipients < threshold

        return Quiet(still=few)


def _no_bounces(state: AccountState, t: float) -> bool:
    return state.bounces is None
