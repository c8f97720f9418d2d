"""The fast path of a decision: how much more an account may send before a signal could fire.

When a full check finds nothing, every signal says where it would go on finding nothing (its
``Quiet``). ``Headroom`` folds these into a few numbers for the account: how many more
messages, recipients, external recipients and new recipient domains fit in its windows, and
how many recipients one message may have. As long as the next messages come from the same
client address and sender in the same local clock hour, nothing the baseline depends on changed,
and they fit in what is left, the full check would find nothing again: the ordinary decision
is a few comparisons. Anything else (a new client, sender, hour or unknown recipient, a
learned hour, a quarantine, a bounce, spent headroom) takes the full check, which measures
the headroom afresh. Bounds are never looser than the signals' own limits, so the fast path
may send a message to the full check needlessly, but never lets through what it would hold.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from mailwarden.engine.signals.base import Context, Quiet
from mailwarden.engine.state import AccountState

NO_LIMIT = 1 << 62
ATTRS = ("messages", "recipients", "external", "domains")

Still = Callable[[AccountState, float], bool]


class Headroom:
    """What the account may still send without a full check (see the module docstring)."""

    __slots__ = ("client", "domains", "external", "hour", "known", "messages", "recipients",
                 "sender", "since", "size", "still")

    def __init__(self, ctx: Context, most: dict[str, int], known: bool,
                 still: tuple[Still, ...]) -> None:
        sub = ctx.sub
        self.since = sub.time
        self.hour = int(sub.time // 3600)  # the engine sets its local clock hour (half-hour zones)
        self.client = sub.client_address
        self.sender = sub.sender
        self.known = known
        self.still = still
        self.size = most.get("message.recipients", NO_LIMIT)
        room = dict.fromkeys(ATTRS, NO_LIMIT)
        committed = ctx.state.windows.totals(sub.time)  # without the message being decided
        for key, bound in most.items():
            window, _, attr = key.partition(".")
            if window in committed and attr in room:
                room[attr] = min(room[attr], bound - getattr(committed[window], attr))
        self.messages = room["messages"]
        self.recipients = room["recipients"]
        self.external = room["external"]
        self.domains = room["domains"]

    def spend(self, recipients: int, external: int, domains: int) -> None:
        """A message was counted into the windows (``domains``: at most that many new)."""
        self.messages -= 1
        self.recipients -= recipients
        self.external -= external
        self.domains -= domains

    def fits(self, size: int, external: int, domains: int) -> bool:
        """A message of ``size`` recipients, ``external`` of them external, in ``domains``
        distinct external domains, is within every bound."""
        return (self.messages >= 1 and size <= self.size and size <= self.recipients
                and external <= self.external and domains <= self.domains)


def measure(ctx: Context, quiets: Sequence[Quiet | None]) -> Headroom | None:
    """The headroom after a full check of ``ctx`` that found nothing; None when a signal
    makes no promise."""
    most: dict[str, int] = {}
    known = False
    still: list[Still] = []
    for quiet in quiets:
        if quiet is None:
            return None
        for key, bound in quiet.most.items():
            most[key] = min(bound, most.get(key, bound))
        known = known or quiet.known_recipients
        if quiet.still is not None:
            still.append(quiet.still)
    return Headroom(ctx, most, known, tuple(still))
