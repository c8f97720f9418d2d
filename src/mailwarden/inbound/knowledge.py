"""What the analyser knows about the world, prepared once from the configuration: the
organisation's domains, people and names, partners, brands, the lists, the phishing feeds.

Building it costs milliseconds to seconds (feeds can be long); a long-lived caller (the
milter, ``mailwarden analyze`` over a folder) builds one and shares it across messages.
"""

from __future__ import annotations

import csv
import io
import logging
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from mailwarden.config import Config
from mailwarden.inbound.brands import BUILTIN
from mailwarden.inbound.domains import Protected, registrable, within
from mailwarden.inbound.names import Name, prepare
from mailwarden.inbound.urls import split

MAX_FEED_BYTES = 256 * 1024 * 1024
log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Person:
    """A protected person: the names they go by and the addresses that are really theirs."""

    label: str
    names: tuple[Name, ...]
    addresses: frozenset[str]


@dataclass(frozen=True, slots=True)
class Brand:
    """A brand: its names and the domains it sends from."""

    label: str
    names: tuple[Name, ...]
    domains: frozenset[str]
    words: frozenset[str]  # one-word names, to find in domain labels and local parts


def _entry(text: str) -> tuple[list[str], list[str]]:
    """``"ADDR ADDR: NAME | NAME"`` or ``"NAME | NAME"`` → (addresses, names)."""
    head, colon, tail = text.rpartition(":")
    names = [n.strip() for n in (tail if colon else text).split("|") if n.strip()]
    found = [a.strip().lower() for a in head.replace(",", " ").split()] if colon else []
    return found, names


class Knowledge:
    """The configuration, prepared for matching."""

    def __init__(self, cfg: Config) -> None:
        inb = cfg.inbound
        self.org_domains = frozenset(cfg.organization.domains)
        self.partner_domains = frozenset(inb.partner_domains)
        self.authserv_ids = frozenset(inb.authserv_ids)
        self.freemail = frozenset(inb.freemail_domains)
        self.shorteners = frozenset(inb.shorteners)
        self.suspicious_tlds = frozenset(inb.suspicious_tlds)
        self.people = [self._person(e) for e in inb.people]
        self.org_names = tuple(prepare(n) for n in inb.organization_names if n.strip())
        self.brands = [self._brand(d, n) for d, n in BUILTIN] + \
            [self._brand(*_entry(e)) for e in inb.brands]
        owners: dict[str, tuple[str, bool]] = {}
        for brand in self.brands:
            for domain in brand.domains:
                owners.setdefault(domain, (brand.label, False))
        for domain in self.partner_domains:
            owners[registrable(domain)] = ("partner", True)
        for domain in self.org_domains:
            owners[registrable(domain)] = ("organisation", True)
        self.protected = Protected(owners)
        self.feed_errors: list[str] = []
        self.feed = self._feeds(inb.url_feeds)

    def _person(self, entry: str) -> Person:
        addresses, names = _entry(entry)
        return Person(names[0], tuple(prepare(n) for n in names), frozenset(addresses))

    @staticmethod
    def _brand(domains: list[str] | tuple[str, ...], names: list[str] | tuple[str, ...]) -> Brand:
        prepared = tuple(prepare(n) for n in names)
        words = frozenset(n.run for n in prepared if len(n.words) == 1 and not n.cjk)
        return Brand(names[0], prepared, frozenset(d.lower() for d in domains), words)

    def is_org(self, host: str) -> bool:
        return within(host, self.org_domains)

    def is_partner(self, host: str) -> bool:
        return within(host, self.partner_domains)

    def is_freemail(self, domain: str) -> bool:
        """A mailbox domain anyone can sign up at (the apex itself, not its subdomains)."""
        return domain.lower().rstrip(".") in self.freemail

    def _feeds(self, paths: list[str]) -> frozenset[str]:
        urls: set[str] = set()
        for path in paths:
            try:
                with Path(path).open("rb") as f:
                    text = f.read(MAX_FEED_BYTES).decode("utf-8", "replace")
            except OSError as exc:
                self.feed_errors.append(f"{path}: {exc.strerror or exc}")
                continue
            urls.update(feed_key(u) for u in _feed_urls(text))
        urls.discard("")
        return frozenset(urls)


def _feed_urls(text: str) -> list[str]:
    """URLs of an OpenPhish list (one a line) or a PhishTank CSV export (a ``url`` column)."""
    first = text.split("\n", 1)[0]
    if "," in first and "url" in [c.strip().lower() for c in first.split(",")]:
        return [row.get("url", "") for row in csv.DictReader(io.StringIO(text))]
    return [line.strip() for line in text.splitlines() if line.strip()[:1] not in ("", "#")]


def feed_key(url: str) -> str:
    """How feed URLs and links are compared: host in lower case, path and query as written,
    no scheme, port, fragment or trailing slash."""
    parts = split(url)
    if parts is None or not parts.host:
        return ""
    try:
        found = urlsplit(url.strip())
    except ValueError:
        return ""
    tail = found.path + ("?" + found.query if found.query else "")
    return (parts.ascii_host + tail).rstrip("/")
