"""The learned baseline of one account: how it normally sends.

Learning is delayed by a settle period: what an account sends is first gathered in ``Pending``
records, one per clock hour, and only becomes part of the baseline once that hour is older
than the settle period. An attacker in the middle of a burst therefore cannot teach the
account that the burst is normal, while yesterday's legitimate newsletter has become part of
what the account usually does. Hourly records keep memory bounded however much is sent.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass, field
from typing import Any

WEEK = 7 * 86400
DAY = 86400
MAX_PENDING_RECIPIENTS = 500


def remember(seen: dict[str, float], key: str, t: float, cap: int) -> None:
    """Record ``key`` as seen at ``t``; over ``cap`` entries, forget the least recent."""
    if not key:
        return
    seen[key] = max(t, seen.get(key, t))
    if len(seen) > cap:
        oldest = sorted(seen.items(), key=lambda kv: kv[1])[: len(seen) - cap]
        for k, _ in oldest:
            del seen[k]


def merge(seen: dict[str, float], new: dict[str, float], cap: int) -> None:
    """``remember`` every entry of ``new``, trimming once at the end: the same set (the
    ``cap`` most recent), without a sort of the whole map per new entry."""
    for key, t in new.items():
        if key:
            last = seen.get(key)
            if last is None or last < t:
                seen[key] = t
    excess = len(seen) - cap
    if excess > 0:
        for k, _ in heapq.nsmallest(excess, seen.items(), key=lambda kv: kv[1]):
            del seen[k]


@dataclass(slots=True)
class Pending:
    """What an account sent in one clock hour, not yet learned."""

    hour: int  # hours since the epoch
    last: float
    hour_of_week: int
    hour_of_day: int
    messages: int = 0
    senders: dict[str, float] = field(default_factory=dict)
    networks: dict[str, float] = field(default_factory=dict)
    asns: dict[str, float] = field(default_factory=dict)
    countries: dict[str, float] = field(default_factory=dict)
    recipients: dict[str, float] = field(default_factory=dict)
    peaks: dict[str, int] = field(default_factory=dict)

    def add(self, t: float, sender: str, network: str, asn: str, country: str,
            recipients: tuple[str, ...], peaks: dict[str, int], cap: int) -> None:
        self.messages += 1
        if t > self.last:
            self.last = t
        for seen, key in ((self.senders, sender), (self.networks, network), (self.asns, asn),
                          (self.countries, country)):
            last = seen.get(key)  # what ``remember`` does, without a call when it is simple
            if key and (last is None or last < t) and len(seen) < cap:
                seen[key] = t
            elif last is None or last < t or len(seen) > cap:
                remember(seen, key, t, cap)
        for rcpt in recipients:
            if len(self.recipients) < MAX_PENDING_RECIPIENTS or rcpt in self.recipients:
                self.recipients[rcpt] = t
        for key, value in peaks.items():
            if value > self.peaks.get(key, 0):
                self.peaks[key] = value

    def to_list(self) -> list[Any]:
        return [self.hour, self.last, self.hour_of_week, self.hour_of_day, self.messages,
                self.senders, self.networks, self.asns, self.countries, self.recipients,
                self.peaks]

    @classmethod
    def from_list(cls, v: list[Any]) -> Pending:
        def seen(d: dict[str, Any]) -> dict[str, float]:
            return {str(k): float(x) for k, x in d.items()}

        return cls(int(v[0]), float(v[1]), int(v[2]) % 168, int(v[3]) % 24, int(v[4]),
                   seen(v[5]), seen(v[6]), seen(v[7]), seen(v[8]), seen(v[9]),
                   {str(k): int(x) for k, x in v[10].items()})


@dataclass
class Baseline:
    """What an account has been seen to do, as of the settle period ago."""

    messages: int = 0
    active_days: int = 0
    last_day: int = -1
    first_seen: float = 0.0
    last_seen: float = 0.0
    hour_of_week: dict[int, int] = field(default_factory=dict)  # 0 = Monday 00h
    hour_of_day: dict[int, int] = field(default_factory=dict)
    peaks: dict[str, tuple[float, float]] = field(default_factory=dict)
    networks: dict[str, float] = field(default_factory=dict)
    asns: dict[str, float] = field(default_factory=dict)
    countries: dict[str, float] = field(default_factory=dict)
    senders: dict[str, float] = field(default_factory=dict)
    correspondents: dict[str, float] = field(default_factory=dict)

    def warm(self, min_messages: int, min_days: int) -> bool:
        return self.messages >= min_messages and self.active_days >= min_days

    def peak(self, key: str, now: float, half_life: float) -> float:
        found = self.peaks.get(key)
        if found is None:
            return 0.0
        value, at = found
        return value * math.pow(0.5, max(0.0, now - at) / half_life)

    def learn(self, p: Pending, *, half_life: float, cap: int, max_correspondents: int) -> None:
        t = p.last
        if not self.messages:
            self.first_seen = p.hour * 3600.0
        self.messages += p.messages
        self.last_seen = max(self.last_seen, t)
        day = int(t // DAY)
        if day != self.last_day:
            self.active_days += 1
            self.last_day = day
        self.hour_of_week[p.hour_of_week] = self.hour_of_week.get(p.hour_of_week, 0) + p.messages
        self.hour_of_day[p.hour_of_day] = self.hour_of_day.get(p.hour_of_day, 0) + p.messages
        for key, value in p.peaks.items():
            if value >= self.peak(key, t, half_life):
                self.peaks[key] = (float(value), t)
        for mine, theirs, limit in (
            (self.networks, p.networks, cap), (self.asns, p.asns, cap),
            (self.countries, p.countries, cap), (self.senders, p.senders, cap),
            (self.correspondents, p.recipients, max_correspondents),
        ):
            merge(mine, theirs, limit)

    def weeks(self) -> float:
        return max(1.0, (self.last_seen - self.first_seen) / WEEK)

    def to_dict(self) -> dict[str, Any]:
        return {
            "messages": self.messages, "active_days": self.active_days,
            "last_day": self.last_day, "first_seen": self.first_seen,
            "last_seen": self.last_seen,
            "hour_of_week": {str(i): n for i, n in self.hour_of_week.items()},
            "hour_of_day": {str(i): n for i, n in self.hour_of_day.items()},
            "peaks": {k: list(v) for k, v in self.peaks.items()},
            "networks": self.networks, "asns": self.asns, "countries": self.countries,
            "senders": self.senders, "correspondents": self.correspondents,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Baseline:
        b = cls()
        b.messages = int(d.get("messages", 0))
        b.active_days = int(d.get("active_days", 0))
        b.last_day = int(d.get("last_day", -1))
        b.first_seen = float(d.get("first_seen", 0.0))
        b.last_seen = float(d.get("last_seen", 0.0))
        b.hour_of_week = {int(h) % 168: int(n) for h, n in d.get("hour_of_week", {}).items()}
        b.hour_of_day = {int(h) % 24: int(n) for h, n in d.get("hour_of_day", {}).items()}
        b.peaks = {str(k): (float(v[0]), float(v[1])) for k, v in d.get("peaks", {}).items()}
        for name in ("networks", "asns", "countries", "senders", "correspondents"):
            setattr(b, name, {str(k): float(v) for k, v in d.get(name, {}).items()})
        return b
