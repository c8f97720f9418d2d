"""Sending at an hour of the day the account never sends in."""

from __future__ import annotations

from mailwarden.engine.signals.base import Context, Quiet, Reason


class UnusualHour:
    name = "unusual_hour"
    description = "An hour of the day (and the hours around it) with no sending in the history"

    def evaluate(self, ctx: Context) -> Reason | None:
        if not ctx.warm:
            return None
        hours = ctx.state.baseline.hour_of_day
        h = ctx.hour_of_day
        if hours.get(h) or hours.get((h - 1) % 24) or hours.get((h + 1) % 24):
            return None
        return ctx.reason(self.name, hour=h)

    def quiet(self, ctx: Context) -> Quiet:
        """Depends only on the hour and the baseline, which the fast path holds fixed."""
        return Quiet()
