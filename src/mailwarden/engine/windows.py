"""Sliding windows of an account's sending: messages, recipients, external recipients, domains.

Each window is a ring of time buckets, so its memory does not grow with traffic: an account
sending 120,000 mails a day costs the same few hundred bytes as one sending ten.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# name, span in seconds, number of buckets
SPANS: tuple[tuple[str, int, int], ...] = (
    ("minute", 60, 12),
    ("10 minutes", 600, 10),
    ("hour", 3600, 12),
    ("day", 86400, 24),
)
MAX_DOMAINS = 512


@dataclass(frozen=True, slots=True)
class Totals:
    """What a window holds now."""

    messages: int
    recipients: int
    external: int
    domains: int


class Window:
    """A ring of buckets covering ``span`` seconds."""

    __slots__ = ("domains", "external", "messages", "n", "recipients", "span", "stamps", "width")

    def __init__(self, span: int, buckets: int) -> None:
        self.span = span
        self.n = buckets
        self.width = span / buckets
        self.stamps = [-1] * buckets
        self.messages = [0] * buckets
        self.recipients = [0] * buckets
        self.external = [0] * buckets
        self.domains: dict[str, float] = {}

    def add(self, t: float, recipients: int, external: int, domains: frozenset[str]) -> None:
        idx = int(t // self.width)
        slot = idx % self.n
        stamp = self.stamps[slot]
        if idx <= stamp - self.n:
            return  # older than the window: nothing to count
        if stamp < idx:
            self.stamps[slot] = idx
            self.messages[slot] = self.recipients[slot] = self.external[slot] = 0
        self.messages[slot] += 1
        self.recipients[slot] += recipients
        self.external[slot] += external
        if domains:
            self._add_domains(t, domains)

    def _add_domains(self, t: float, domains: frozenset[str]) -> None:
        seen = self.domains
        if len(seen) + len(domains) > MAX_DOMAINS:
            horizon = t - self.span
            for name in [d for d, last in seen.items() if last < horizon]:
                del seen[name]
        for name in domains:
            if name in seen or len(seen) < MAX_DOMAINS:
                seen[name] = t

    def totals(self, t: float) -> Totals:
        low = int(t // self.width) - self.n
        m = r = e = 0
        for i, stamp in enumerate(self.stamps):
            if stamp > low:
                m += self.messages[i]
                r += self.recipients[i]
                e += self.external[i]
        horizon = t - self.span
        d = sum(1 for last in self.domains.values() if last >= horizon)
        return Totals(m, r, e, d)

    def to_dict(self) -> dict[str, Any]:
        """Only the buckets in use, as [bucket index, messages, recipients, external]."""
        used = [[self.stamps[i], self.messages[i], self.recipients[i], self.external[i]]
                for i in range(self.n) if self.stamps[i] >= 0]
        return {"buckets": used, "domains": self.domains}

    def load(self, data: dict[str, Any]) -> None:
        for stamp, m, r, e in data.get("buckets", ()):
            slot = int(stamp) % self.n
            self.stamps[slot] = int(stamp)
            self.messages[slot], self.recipients[slot], self.external[slot] = int(m), int(r), int(e)
        self.domains = {str(k): float(v) for k, v in data.get("domains", {}).items()}


class Windows:
    """The four windows of one account."""

    __slots__ = ("by_name",)

    def __init__(self) -> None:
        self.by_name = {name: Window(span, n) for name, span, n in SPANS}

    def add(self, t: float, recipients: int, external: int, domains: frozenset[str]) -> None:
        for window in self.by_name.values():
            window.add(t, recipients, external, domains)

    def totals(self, t: float) -> dict[str, Totals]:
        return {name: w.totals(t) for name, w in self.by_name.items()}

    def to_dict(self) -> dict[str, Any]:
        return {name: w.to_dict() for name, w in self.by_name.items()}

    def load(self, data: dict[str, Any]) -> None:
        for name, w in self.by_name.items():
            if isinstance(data.get(name), dict):
                w.load(data[name])
