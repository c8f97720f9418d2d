"""The learned baseline of one account: how it normally sends.

Learning is delayed by a settle period: a committed message is first kept as a ``Pending``
record and only becomes part of the baseline once it is older than ``settle`` seconds. An
attacker in the middle of a burst therefore cannot teach the account that the burst is normal,
while yesterday's legitimate newsletter has become part of what the account usually does.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

WEEK = 7 * 86400
DAY = 86400


@dataclass(slots=True)
class Pending:
    """A committed, not yet learned message."""

    time: float
    sender: str
    network: str
    asn: str
    country: str
    hour_of_week: int
    hour_of_day: int
    recipients: tuple[str, ...]
    peaks: dict[str, int]

    def to_list(self) -> list[Any]:
        return [self.time, self.sender, self.network, self.asn, self.country,
                self.hour_of_week, self.hour_of_day, list(self.recipients), self.peaks]

    @classmethod
    def from_list(cls, v: list[Any]) -> Pending:
        peaks = {str(k): int(n) for k, n in v[8].items()}
        return cls(float(v[0]), str(v[1]), str(v[2]), str(v[3]), str(v[4]), int(v[5]),
                   int(v[6]), tuple(str(r) for r in v[7]), peaks)


def _remember(seen: dict[str, float], key: str, t: float, cap: int) -> None:
    """Record ``key`` as seen at ``t``; over ``cap`` entries, forget the least recent."""
    if not key:
        return
    seen[key] = max(t, seen.get(key, t))
    if len(seen) > cap:
        oldest = sorted(seen.items(), key=lambda kv: kv[1])[: len(seen) - cap]
        for k, _ in oldest:
            del seen[k]


@dataclass
class Baseline:
    """What an account has been seen to do, as of ``settle`` seconds ago."""

    messages: int = 0
    active_days: int = 0
    last_day: int = -1
    first_seen: float = 0.0
    last_seen: float = 0.0
    hour_of_week: list[int] = field(default_factory=lambda: [0] * 168)
    hour_of_day: list[int] = field(default_factory=lambda: [0] * 24)
    peaks: dict[str, tuple[float, float]] = field(default_factory=dict)
    networks: dict[str, float] = field(default_factory=dict)
    asns: dict[str, float] = field(default_factory=dict)
    countries: dict[str, float] = field(default_factory=dict)
    senders: dict[str, float] = field(default_factory=dict)
    correspondents: dict[str, float] = field(default_factory=dict)

    def warm(self, min_messages: int, min_days: int) -> bool:
        return self.messages >= min_messages and self.active_days >= min_days

    def peak(self, key: str, now: float, half_life: float) -> float:
        value, at = self.peaks.get(key, (0.0, now))
        return value * math.pow(0.5, max(0.0, now - at) / half_life)

    def learn(self, p: Pending, *, half_life: float, cap: int, max_correspondents: int) -> None:
        if not self.messages:
            self.first_seen = p.time
        self.messages += 1
        self.last_seen = max(self.last_seen, p.time)
        day = int(p.time // DAY)
        if day != self.last_day:
            self.active_days += 1
            self.last_day = day
        self.hour_of_week[p.hour_of_week] += 1
        self.hour_of_day[p.hour_of_day] += 1
        for key, value in p.peaks.items():
            if value >= self.peak(key, p.time, half_life):
                self.peaks[key] = (float(value), p.time)
        _remember(self.networks, p.network, p.time, cap)
        _remember(self.asns, p.asn, p.time, cap)
        _remember(self.countries, p.country, p.time, cap)
        _remember(self.senders, p.sender, p.time, cap)
        for rcpt in p.recipients:
            _remember(self.correspondents, rcpt, p.time, max_correspondents)

    def weeks(self) -> float:
        return max(1.0, (self.last_seen - self.first_seen) / WEEK)

    def to_dict(self) -> dict[str, Any]:
        return {
            "messages": self.messages, "active_days": self.active_days,
            "last_day": self.last_day, "first_seen": self.first_seen,
            "last_seen": self.last_seen,
            "hour_of_week": {str(i): n for i, n in enumerate(self.hour_of_week) if n},
            "hour_of_day": {str(i): n for i, n in enumerate(self.hour_of_day) if n},
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
        for hour, n in d.get("hour_of_week", {}).items():
            b.hour_of_week[int(hour) % 168] = int(n)
        for hour, n in d.get("hour_of_day", {}).items():
            b.hour_of_day[int(hour) % 24] = int(n)
        b.peaks = {str(k): (float(v[0]), float(v[1])) for k, v in d.get("peaks", {}).items()}
        for name in ("networks", "asns", "countries", "senders", "correspondents"):
            setattr(b, name, {str(k): float(v) for k, v in d.get(name, {}).items()})
        return b
