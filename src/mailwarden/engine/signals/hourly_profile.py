"""This hour's volume against the account's usual volume for this hour of the week."""

from __future__ import annotations

import math

from mailwarden.engine.signals.base import Context, Quiet, Reason

MIN_COUNT = 20
FACTOR = 4.0


class HourlyProfile:
    name = "hourly_profile"
    description = "Far more mail this hour than the account sends at this hour of the week"

    def evaluate(self, ctx: Context) -> Reason | None:
        if not ctx.warm:
            return None
        baseline = ctx.state.baseline
        usual = baseline.hour_of_week.get(ctx.hour_of_week, 0) / baseline.weeks()
        count = ctx.totals["hour"].messages
        peak = ctx.peak("hour.messages")
        if count < MIN_COUNT or count <= FACTOR * usual or count <= peak:
            return None
        return ctx.reason(self.name, count=count, usual=round(usual, 1))

    def quiet(self, ctx: Context) -> Quiet:
        """Silent while the hour's count stays under the minimum or within the usual volume
        (the learned peak, which only decays, is left out: a bound, not the exact edge)."""
        if not ctx.warm:
            return Quiet()
        baseline = ctx.state.baseline
        usual = baseline.hour_of_week.get(ctx.hour_of_week, 0) / baseline.weeks()
        return Quiet({"hour.messages": max(MIN_COUNT - 1, math.floor(FACTOR * usual))})
