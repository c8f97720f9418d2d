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
CACHE_SECONDS = 1.0  # totals are reused within the same second while nothing is added


@dataclass(frozen=True, slots=True)
class Totals:
    """What a window holds now."""

    messages: int
    recipients: int
    external: int
    domains: int


class Window:
    """Time buckets covering ``span`` seconds: bucket index → [messages, recipients, external].

    Only buckets in use exist, so a quiet account costs a few dozen bytes per window.
    """

    __slots__ = ("buckets", "domains", "n", "span", "width")

    def __init__(self, span: int, buckets: int) -> None:
        self.span = span
        self.n = buckets
        self.width = span / buckets
        self.buckets: dict[int, list[int]] = {}
        self.domains: dict[str, float] = {}

    def add(self, t: float, recipients: int, external: int, domains: frozenset[str]) -> None:
        idx = int(t // self.width)
        buckets = self.buckets
        bucket = buckets.get(idx)
        if bucket is None:
            newest = max(buckets, default=idx)
            if idx <= newest - self.n:
                return  # older than the window: nothing to count
            for old in [i for i in buckets if i <= max(idx, newest) - self.n]:
                del buckets[old]
            bucket = buckets[idx] = [0, 0, 0]
        bucket[0] += 1
        bucket[1] += recipients
        bucket[2] += external
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
        for idx, (bm, br, be) in self.buckets.items():
            if idx > low:
                m += bm
                r += br
                e += be
        horizon = t - self.span
        d = sum(1 for last in self.domains.values() if last >= horizon) if self.domains else 0
        return Totals(m, r, e, d)

    def to_dict(self) -> dict[str, Any]:
        """The buckets in use, as [bucket index, messages, recipients, external]."""
        return {"buckets": [[i, *b] for i, b in self.buckets.items()], "domains": self.domains}

    def load(self, data: dict[str, Any]) -> None:
        for idx, m, r, e in data.get("buckets", ())[: self.n * 2]:
            self.buckets[int(idx)] = [int(m), int(r), int(e)]
        self.domains = {str(k): float(v) for k, v in data.get("domains", {}).items()}


class Windows:
    """The four windows of one account."""

    __slots__ = ("_cache", "by_name")

    def __init__(self) -> None:
        self.by_name = {name: Window(span, n) for name, span, n in SPANS}
        self._cache: tuple[int, dict[str, Totals]] | None = None

    def add(self, t: float, recipients: int, external: int, domains: frozenset[str]) -> None:
        cached = self._cache
        self._cache = None
        fresh: dict[str, Totals] = {}
        for name, window in self.by_name.items():
            horizon = t - window.span
            new = sum(1 for d in domains if window.domains.get(d, -1e18) < horizon)
            window.add(t, recipients, external, domains)
            if cached is not None:
                old = cached[1][name]
                fresh[name] = Totals(old.messages + 1, old.recipients + recipients,
                                     old.external + external, old.domains + new)
        if cached is not None and cached[0] == int(t // CACHE_SECONDS):
            self._cache = (cached[0], fresh)  # the same second: the totals just grew

    def totals(self, t: float) -> dict[str, Totals]:
        """The totals of every window at ``t``; cached until the next add or finest bucket."""
        key = int(t // CACHE_SECONDS)
        cached = self._cache
        if cached is not None and cached[0] == key:
            return cached[1]
        found = {name: w.totals(t) for name, w in self.by_name.items()}
        self._cache = (key, found)
        return found

    def to_dict(self) -> dict[str, Any]:
        return {name: w.to_dict() for name, w in self.by_name.items()}

    def load(self, data: dict[str, Any]) -> None:
        for name, w in self.by_name.items():
            if isinstance(data.get(name), dict):
                w.load(data[name])
        self._cache = None
