"""Volume in a sliding window above the account's limit."""

from __future__ import annotations

from mailwarden.engine.signals.base import Context, Quiet, Reason

# (window, metric attribute, metric name, Limits attribute)
CHECKS = (
    ("minute", "messages", "messages", "messages_per_minute"),
    ("10 minutes", "messages", "messages", "messages_per_10_minutes"),
    ("hour", "messages", "messages", "messages_per_hour"),
    ("day", "messages", "messages", "messages_per_day"),
    ("minute", "external", "external recipients", "external_recipients_per_minute"),
    ("10 minutes", "external", "external recipients", "external_recipients_per_10_minutes"),
    ("hour", "external", "external recipients", "external_recipients_per_hour"),
    ("day", "external", "external recipients", "external_recipients_per_day"),
    ("10 minutes", "domains", "recipient domains", "recipient_domains_per_10_minutes"),
    ("hour", "domains", "recipient domains", "recipient_domains_per_hour"),
)


_KEYS = {(w, a): f"{w}.{a}" for w, a, _m, _f in CHECKS}


def peak_key(window: str, metric: str) -> str:
    """The name of a learned peak (shared strings: millions of states hold them)."""
    return _KEYS.get((window, metric)) or f"{window}.{metric}"


class Rate:
    name = "rate"
    description = "More messages, external recipients or recipient domains than usual in a window"

    def evaluate(self, ctx: Context) -> Reason | None:
        worst: tuple[float, str, str, int, int] | None = None
        limits = ctx.cfg.limits
        for window, attr, metric, floor_name in CHECKS:
            count = getattr(ctx.totals[window], attr)
            floor = getattr(limits, floor_name)
            if count <= floor:
                continue  # the limit is never below the floor: nothing to look up
            limit = ctx.limit(peak_key(window, attr), floor)
            if count > limit and (worst is None or count / limit > worst[0]):
                worst = (count / limit, window, metric, count, limit)
        if worst is None:
            return None
        ratio, window, metric, count, limit = worst
        return ctx.reason(self.name, min(2.0, ratio), window=window, metric=metric,
                          count=count, limit=limit)

    def quiet(self, ctx: Context) -> Quiet:
        """Silent while every window stays within its limit (as far as known this hour)."""
        limits = ctx.cfg.limits
        most: dict[str, int] = {}
        for window, attr, _metric, floor_name in CHECKS:
            key = peak_key(window, attr)
            most[key] = ctx.known_limit(key, getattr(limits, floor_name))
        return Quiet(most)
