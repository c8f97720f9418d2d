"""The audit's DNS client: asynchronous (dnspython's asyncio resolver), a per-query timeout with
retries, one answer per (name, type) per run, and answers that say what happened.

An answer is ``ok`` (records), ``nodata`` (the name exists, no record of that type),
``nxdomain`` (no such name), ``invalid`` (a name that cannot be asked: an empty or over-long
label) or ``unchecked`` (a timeout, SERVFAIL, REFUSED or a malformed reply: the question could
not be answered, which is never the same as "missing").
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import dns.asyncresolver
import dns.exception
import dns.flags
import dns.name
import dns.rcode
import dns.resolver

STATUSES = ("ok", "nodata", "nxdomain", "invalid", "unchecked")
MAX_CACHE = 200_000


@dataclass(frozen=True)
class Answer:
    """What the DNS said about one (name, type)."""

    name: str
    rtype: str
    status: str
    rrs: tuple[Any, ...] = ()
    reason: str = ""
    authenticated: bool = False  # the resolver set AD (DNSSEC validated)
    canonical: str = ""  # the name after CNAMEs, when it differs

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @property
    def exists(self) -> bool:
        """The name exists (it has this record type or at least another one)."""
        return self.status in ("ok", "nodata")

    def texts(self) -> list[bytes]:
        """TXT records, each with its character-strings joined (as bytes: they need not be
        UTF-8)."""
        return [b"".join(rr.strings) for rr in self.rrs if hasattr(rr, "strings")]

    def values(self) -> list[str]:
        """Every record in presentation format."""
        return [rr.to_text() for rr in self.rrs]


def valid_name(name: str) -> bool:
    """False for names no query can be made for (empty or over-long labels, too long)."""
    try:
        dns.name.from_text(name)
    except (dns.exception.DNSException, ValueError, UnicodeError):
        return False
    return bool(name.strip(".")) and ".." not in name.strip(".")


class DnsClient:
    """Queries one nameserver (or the system's), deduplicating questions within a run."""

    def __init__(self, nameservers: Sequence[str] = (), port: int = 53, timeout: float = 2.0,
                 retries: int = 2) -> None:
        self.resolver = dns.asyncresolver.Resolver(configure=not nameservers)
        if nameservers:
            self.resolver.nameservers = list(nameservers)
        self.resolver.port = port
        self.resolver.timeout = timeout
        self.resolver.lifetime = timeout * (retries + 1)
        self.resolver.flags = dns.flags.RD | dns.flags.AD
        self.resolver.use_edns(0, 0, 1232)
        self.retries = retries
        self.queries = 0
        self._answers: dict[tuple[str, str], asyncio.Future[Answer]] = {}

    @classmethod
    def from_option(cls, nameserver: str | None, timeout: float = 2.0,
                    retries: int = 2) -> DnsClient:
        """``IP``, ``IP:PORT``, ``[IPv6]:PORT`` or None (the system's resolvers)."""
        if not nameserver:
            return cls(timeout=timeout, retries=retries)
        host, port = nameserver, 53
        if nameserver.startswith("["):
            host, _, rest = nameserver[1:].partition("]")
            port = int(rest[1:]) if rest.startswith(":") else 53
        elif nameserver.count(":") == 1:
            host, _, text = nameserver.partition(":")
            port = int(text)
        return cls([host], port, timeout, retries)

    async def query(self, name: str, rtype: str) -> Answer:
        """The answer for (name, rtype); asked once per client, later calls share it."""
        key = (name.lower().rstrip("."), rtype.upper())
        found = self._answers.get(key)
        if found is None:
            if len(self._answers) >= MAX_CACHE:
                self._answers.clear()
            found = asyncio.ensure_future(self._ask(*key))
            self._answers[key] = found
        return await asyncio.shield(found)

    async def _ask(self, name: str, rtype: str) -> Answer:
        if not valid_name(name):
            return Answer(name, rtype, "invalid", reason="not a valid domain name")
        reason = ""
        for _attempt in range(self.retries + 1):
            self.queries += 1
            try:
                result = await self.resolver.resolve(name, rtype, raise_on_no_answer=False,
                                                     search=False)
            except dns.resolver.NXDOMAIN:
                return Answer(name, rtype, "nxdomain")
            except dns.resolver.NoNameservers as exc:  # SERVFAIL, REFUSED, ... from all
                reason = _servers_said(exc)
                continue
            except dns.exception.Timeout:
                return Answer(name, rtype, "unchecked", reason="timeout")
            except (dns.exception.DNSException, ValueError, UnicodeError) as exc:
                reason = f"{type(exc).__name__}: {exc}"[:300]
                continue
            response = result.response
            authenticated = bool(response.flags & dns.flags.AD)
            canonical = result.canonical_name.to_text().rstrip(".").lower()
            rrs = tuple(result.rrset) if result.rrset is not None else ()
            return Answer(name, rtype, "ok" if rrs else "nodata", rrs, "", authenticated,
                          canonical if canonical != name else "")
        return Answer(name, rtype, "unchecked", reason=reason or "no answer")


def _servers_said(exc: dns.resolver.NoNameservers) -> str:
    """The rcode the nameservers answered (SERVFAIL, REFUSED, ...)."""
    errors = exc.kwargs.get("errors") or []
    for error in errors:
        answer = error[-1] if isinstance(error, tuple) else None
        if answer is not None and hasattr(answer, "rcode"):
            return dns.rcode.to_text(answer.rcode())
    text = str(exc)
    return "SERVFAIL" if "SERVFAIL" in text else ("REFUSED" if "REFUSED" in text else text[:200])
