"""The Public Suffix List, for the RFC 7489 Organizational Domain (RFC 7489 §3.2).

RFC 9989 replaced the list with the DNS tree walk, but receivers that still implement RFC 7489
look for a policy only at the author domain and at its PSL-derived Organizational Domain. The
audit uses this module to tell when the two disagree.

The list is read from Debian's ``publicsuffix`` package (or ``MAILWARDEN_PSL``); when no list is
installed the comparison is skipped and the audit says so. Matching follows the algorithm at
publicsuffix.org/list: the longest matching rule wins, an exception rule (``!``) wins over every
other, ``*`` matches one label, and the default rule is ``*``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

DEFAULT_PATHS = ("/usr/share/publicsuffix/public_suffix_list.dat",)
ENV = "MAILWARDEN_PSL"
MAX_BYTES = 4 * 1024 * 1024


@dataclass
class PublicSuffixList:
    """Rules by their labels, reversed (``co.jp`` → ``("jp", "co")``)."""

    rules: set[tuple[str, ...]] = field(default_factory=set)
    exceptions: set[tuple[str, ...]] = field(default_factory=set)
    source: str = ""

    @classmethod
    def parse(cls, text: str, source: str = "") -> PublicSuffixList:
        psl = cls(source=source)
        for line in text.splitlines():
            rule = line.strip().split(maxsplit=1)[0] if line.strip() else ""
            if not rule or rule.startswith("//"):
                continue
            target = psl.exceptions if rule.startswith("!") else psl.rules
            labels = _idna(rule.lstrip("!")).split(".")
            target.add(tuple(reversed(labels)))
        return psl

    def public_suffix(self, domain: str) -> str:
        """The public suffix of ``domain`` (lowercase, A-labels, no trailing dot)."""
        labels = list(reversed(domain.lower().rstrip(".").split(".")))
        best = 1  # the default rule "*"
        for n in range(1, len(labels) + 1):
            head = tuple(labels[:n])
            if head in self.exceptions:
                return ".".join(reversed(labels[:n - 1]))
            wild = (*labels[:n - 1], "*")
            if head in self.rules or wild in self.rules:
                best = n
        return ".".join(reversed(labels[:best]))

    def organizational_domain(self, domain: str) -> str | None:
        """The public suffix plus one label, or None when ``domain`` is itself a suffix."""
        name = domain.lower().rstrip(".")
        suffix = self.public_suffix(name)
        if name == suffix:
            return None
        labels = name.split(".")
        return ".".join(labels[-(len(suffix.split(".")) + 1):])


def _idna(rule: str) -> str:
    try:
        return rule.encode("idna").decode("ascii").lower()
    except UnicodeError:
        return rule.lower()


@lru_cache(maxsize=4)
def _load(path: str) -> PublicSuffixList | None:
    try:
        with Path(path).open("rb") as handle:
            data = handle.read(MAX_BYTES)
    except OSError:
        return None
    return PublicSuffixList.parse(data.decode("utf-8", "replace"), path)


def default_list() -> PublicSuffixList | None:
    """The installed list (``MAILWARDEN_PSL`` first), or None when there is none."""
    configured = os.environ.get(ENV, "").strip()
    for path in (configured,) if configured else DEFAULT_PATHS:
        found = _load(path)
        if found is not None:
            return found
    return None
