"""Domains: who owns a host name (its registrable domain, by the Public Suffix List), and
whether it imitates a protected domain.

A lookalike is found by, in order: the same TR39 skeleton (``аpple.com``, ``paypaI.com``,
``rnicrosoft.com``), the same name once accents are dropped (``robínhood.com``), one or two
typing errors (Damerau–Levenshtein, for names of 5 or more letters; 7 for brands, whose
short names have honest neighbours: PayPay and PayPal), the same name under
another suffix (``example.co`` for ``example.co.jp``; organisation and partners only), the
protected name as one word of a longer name (``example-jp-login.com``; organisation and
partners only: brands are the brand signal's), and the protected domain put in front of
another (``example.co.jp.attacker.net``).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from publicsuffixlist import PublicSuffixList

from mailwarden.inbound.confusables import domain_skeleton, fold
from mailwarden.inbound.names import words_of_label
from mailwarden.inbound.urls import to_ascii, to_unicode


@functools.cache
def _psl() -> PublicSuffixList:
    return PublicSuffixList()


@functools.lru_cache(maxsize=65536)
def registrable(host: str) -> str:
    """The registrable domain of ``host`` (``mail.example.co.jp`` → ``example.co.jp``)."""
    host = host.lower().rstrip(".")
    if not host or host.replace(".", "").isdigit() or ":" in host:
        return host
    return _psl().privatesuffix(host) or host


@functools.lru_cache(maxsize=65536)
def label(domain: str) -> str:
    """The registrable domain without its public suffix (``example.co.jp`` → ``example``)."""
    suffix = _psl().publicsuffix(domain) or ""
    name = domain[: -len(suffix) - 1] if suffix and domain.endswith("." + suffix) else domain
    return name.rsplit(".", 1)[-1]


def within(host: str, domains: frozenset[str]) -> bool:
    """Whether ``host`` is one of ``domains`` or a subdomain of one."""
    host = host.lower().rstrip(".")
    while host:
        if host in domains:
            return True
        _, dot, host = host.partition(".")
        if not dot:
            return False
    return False


def distance(a: str, b: str, limit: int) -> int:
    """Damerau–Levenshtein distance (optimal string alignment), or ``limit + 1`` when above."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        row = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cost = 0 if ca == cb else 1
            best = min(previous[j] + 1, row[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                best = min(best, previous2[j - 2] + 1)
            row[j] = best
        if min(row) > limit:
            return limit + 1
        previous2, previous = previous, row
    return previous[-1]


@dataclass(frozen=True, slots=True)
class Lookalike:
    """How ``domain`` imitates ``target`` (owned by ``owner``)."""

    domain: str
    target: str
    owner: str
    how: str
    fraction: float


@dataclass(frozen=True, slots=True)
class _Target:
    domain: str
    owner: str
    own: bool  # the organisation's or a partner's (not a brand's)
    label: str
    folded: str
    skeleton: str


class Protected:
    """The domains whose lookalikes are flagged, prepared once."""

    def __init__(self, owners: dict[str, tuple[str, bool]]) -> None:
        self.domains = frozenset(owners) | frozenset(to_ascii(d) for d in owners) | \
            frozenset(to_unicode(d) for d in owners)
        self.targets = [
            _Target(d, owner, own, label(d), fold(label(d)), domain_skeleton(d))
            for d, (owner, own) in owners.items() if label(d)
        ]
        self._cache: dict[str, Lookalike | None] = {}

    def match(self, host: str) -> Lookalike | None:
        """The protected domain ``host`` imitates, if any (a genuine one imitates nothing)."""
        if host in self._cache:
            return self._cache[host]
        found = self._match(host)
        if len(self._cache) > 20000:
            self._cache.clear()
        self._cache[host] = found
        return found

    def _match(self, host: str) -> Lookalike | None:
        host = to_unicode(host.lower())
        reg = registrable(host)
        if not reg or within(host, self.domains) or reg.replace(".", "").isdigit():
            return None
        skel, name = domain_skeleton(reg), label(reg)
        folded = fold(name)
        best: Lookalike | None = None
        for t in self.targets:
            how = self._how(reg, skel, name, folded, t)
            if how and (best is None or how[1] > best.fraction):
                best = Lookalike(reg, t.domain, t.owner, how[0], how[1])
        if best is not None:
            return best
        for t in self.targets:
            if t.own and host.startswith(t.domain + "."):
                return Lookalike(reg, t.domain, t.owner, "prefix", 0.8)
        return None

    @staticmethod
    def _how(reg: str, skel: str, name: str, folded: str,
             t: _Target) -> tuple[str, float] | None:
        if skel == t.skeleton:
            return "homograph", 1.0
        if folded == t.folded and name != t.label:
            return "accents", 0.9
        if len(t.folded) >= (5 if t.own else 7) and folded != t.folded:
            limit = 1 if len(t.folded) < 9 else 2
            if distance(folded, t.folded, limit) <= limit:
                return "typo", 0.8
        if not t.own or len(t.folded) < 4:
            return None
        if name == t.label:
            return "suffix", 0.5
        if t.folded in words_of_label(name) or (folded.startswith(t.folded) and
                                                len(folded) > len(t.folded)):
            return "combined", 0.6
        return None
