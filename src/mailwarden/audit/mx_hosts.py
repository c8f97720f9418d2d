"""The MX host names of a domain as the transport-security areas (MTA-STS, DANE) need them:
in preference order, without the null MX, with the DNS status and whether the answer was
DNSSEC-validated. The MX area itself checks the hosts (mx.py); this only lists them, from the
same cached answer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

MAX_HOSTS = 10


@dataclass(frozen=True)
class MxHosts:
    status: str  # the MX answer's status (ok, nodata, nxdomain, invalid, unchecked)
    hosts: tuple[str, ...] = ()  # real hosts, by preference, at most MAX_HOSTS
    null: bool = False  # a null MX ("0 .") is published
    reason: str = ""
    authenticated: bool = False  # the resolver validated the MX answer (AD)

    @property
    def checked(self) -> bool:
        return self.status not in ("unchecked", "invalid")


async def mx_hosts(dns: Any, domain: str) -> MxHosts:
    """The domain's MX hosts (lower case, no trailing dot)."""
    answer = await dns.query(domain, "MX")
    pairs = sorted((rr.preference, rr.exchange.to_text().rstrip(".").lower())
                   for rr in answer.rrs)
    hosts = tuple(dict.fromkeys(host for _, host in pairs if host))[:MAX_HOSTS]
    null = any(not host for _, host in pairs)
    return MxHosts(answer.status, hosts, null, answer.reason, answer.authenticated)
