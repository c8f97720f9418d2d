"""Sliding windows of an account's sending: messages, recipients, external recipients, domains.

Each window is a ring of time buckets, so its memory does not grow with traffic: an account
sending 120,000 mails a day costs the same few hundred bytes as one sending ten.
"""

from __future__ import annotations

from typing import Any, NamedTuple

# name, span in seconds, number of buckets
SPANS: tuple[tuple[str, int, int], ...] = (
    ("minute", 60, 12),
    ("10 minutes", 600, 10),
    ("hour", 3600, 12),
    ("day", 86400, 24),
)
MAX_DOMAINS = 512
CACHE_SECONDS = 1.0  # totals are reused within the same second while nothing is added
_NONE = 1 << 62  # "no bucket": above every bucket index
_NEVER = float("inf")  # "no domain": after every time


class Totals(NamedTuple):
    """What a window holds now (a named tuple: built on every decision, and a tuple is the
    cheapest immutable record to build)."""

    messages: int
    recipients: int
    external: int
    domains: int


class Window:
    """Time buckets covering ``span`` seconds: bucket index → [messages, recipients, external].

    Only buckets in use exist, so a quiet account costs a few dozen bytes per window. Running
    sums of the buckets (and the oldest bucket index, the oldest domain time) make ``totals`` a
    few comparisons while nothing has left the window, which is the ordinary case.
    """

    __slots__ = ("buckets", "domains", "first", "n", "oldest_domain", "span", "sums", "width")

    def __init__(self, span: int, buckets: int) -> None:
        self.span = span
        self.n = buckets
        self.width = span / buckets
        self.buckets: dict[int, list[int]] = {}
        self.domains: dict[str, float] = {}
        self.sums = [0, 0, 0]  # of every bucket in ``buckets``
        self.first = _NONE  # the lowest bucket index in ``buckets``
        self.oldest_domain = _NEVER  # at most the lowest time in ``domains``

    def add(self, t: float, recipients: int, external: int, domains: frozenset[str]) -> None:
        idx = int(t // self.width)
        buckets = self.buckets
        bucket = buckets.get(idx)
        if bucket is None:
            newest = max(buckets, default=idx)
            if idx <= newest - self.n:
                self._step_back(newest - idx)
                buckets = self.buckets
                bucket = buckets[idx]  # the newest bucket, moved back to the event's time
            else:
                if self.first <= max(idx, newest) - self.n:
                    self._drop(max(idx, newest) - self.n)
                bucket = buckets[idx] = [0, 0, 0]
                if idx < self.first:
                    self.first = idx
        bucket[0] += 1
        bucket[1] += recipients
        bucket[2] += external
        sums = self.sums
        sums[0] += 1
        sums[1] += recipients
        sums[2] += external
        if domains:
            self._add_domains(t, domains)

    def _step_back(self, shift: int) -> None:
        """An event older than the whole window: the clock stepped back (a VM restored, a bad
        NTP or RTC time; or logs imported out of order). Dropping it would stop all counting
        until the clock is back where it was; counting it in the newest bucket would keep that
        bucket in the window for as long as the step (a minute window holding hours of mail).
        Time does not go backwards inside a window: the window moves back with the clock,
        carrying what it holds, so the newest bucket is the event's and counting goes on."""
        self.buckets = {i - shift: b for i, b in self.buckets.items()}
        self.first = min(self.buckets, default=_NONE)
        if self.domains:
            seconds = shift * self.width
            self.domains = {d: last - seconds for d, last in self.domains.items()}
            self.oldest_domain = min(self.domains.values())

    def _drop(self, upto: int) -> None:
        """Forget the buckets with index ``upto`` or lower."""
        buckets, sums = self.buckets, self.sums
        for old in [i for i in buckets if i <= upto]:
            m, r, e = buckets.pop(old)
            sums[0] -= m
            sums[1] -= r
            sums[2] -= e
        self.first = min(buckets, default=_NONE)

    def _add_domains(self, t: float, domains: frozenset[str]) -> None:
        seen = self.domains
        if len(seen) + len(domains) > MAX_DOMAINS:
            horizon = t - self.span
            for name in [d for d, last in seen.items() if last < horizon]:
                del seen[name]
        for name in domains:
            if name in seen or len(seen) < MAX_DOMAINS:
                seen[name] = t
                if t < self.oldest_domain:
                    self.oldest_domain = t

    def totals(self, t: float) -> Totals:
        low = int(t // self.width) - self.n
        if self.first > low:  # every bucket is inside the window
            m, r, e = self.sums
        else:
            m = r = e = 0
            for idx, (bm, br, be) in self.buckets.items():
                if idx > low:
                    m += bm
                    r += br
                    e += be
        return Totals(m, r, e, self._domains(t - self.span))

    def _domains(self, horizon: float) -> int:
        seen = self.domains
        if self.oldest_domain >= horizon:
            return len(seen)
        self.oldest_domain = min(seen.values(), default=_NEVER)
        return sum(1 for last in seen.values() if last >= horizon)

    def to_dict(self) -> dict[str, Any]:
        """The buckets in use, as [bucket index, messages, recipients, external]."""
        return {"buckets": [[i, *b] for i, b in self.buckets.items()], "domains": self.domains}

    def load(self, data: dict[str, Any]) -> None:
        for idx, m, r, e in data.get("buckets", ())[: self.n * 2]:
            self.buckets[int(idx)] = [int(m), int(r), int(e)]
        self.domains = {str(k): float(v) for k, v in data.get("domains", {}).items()}
        self.sums = [sum(b[k] for b in self.buckets.values()) for k in range(3)]
        self.first = min(self.buckets, default=_NONE)
        self.oldest_domain = min(self.domains.values(), default=_NEVER)


class Windows:
    """The four windows of one account."""

    __slots__ = ("_cache", "by_name")

    def __init__(self) -> None:
        self.by_name = {name: Window(span, n) for name, span, n in SPANS}
        self._cache: tuple[int, dict[str, Totals]] | None = None

    def add(self, t: float, recipients: int, external: int, domains: frozenset[str]) -> None:
        self._cache = None
        for window in self.by_name.values():
            window.add(t, recipients, external, domains)

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
