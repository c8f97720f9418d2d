"""Offline IP facts: country, network (ASN) and its prefix, from geoip2fast's bundled data.

Addresses in ``organization.internal_networks`` count as the first home country; private,
loopback and unknown addresses have no country ("" ), which no signal treats as foreign.
"""

from __future__ import annotations

import ipaddress
import logging
import os
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

log = logging.getLogger("mailwarden.geo")


@dataclass(frozen=True, slots=True)
class IpFacts:
    """What we know about a client address."""

    address: str
    country: str
    asn: str
    network: str


UNKNOWN = IpFacts("", "", "", "")


@lru_cache(maxsize=1)
def _database() -> Any:
    import geoip2fast
    from geoip2fast import GeoIP2Fast

    folder = os.path.dirname(geoip2fast.__file__)
    return GeoIP2Fast(geoip2fast_data_file=os.path.join(folder, "geoip2fast-asn-ipv6.dat.gz"))


def _prefix(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str:
    length = 24 if ip.version == 4 else 48
    return str(ipaddress.ip_network(f"{ip}/{length}", strict=False))


class Geo:
    """Looks addresses up; results are cached (client addresses repeat)."""

    def __init__(self, internal_networks: list[str], home_country: str) -> None:
        self.internal = [ipaddress.ip_network(n, strict=False) for n in internal_networks]
        self.home = home_country
        self.lookup = lru_cache(maxsize=65536)(self._lookup)

    @staticmethod
    def preload() -> bool:
        """Load the database now (about a quarter of a second), so that the first decision
        of a starting server does not wait for it. False when it cannot be loaded: lookups
        then go on without countries and networks, as they always do on an error."""
        try:
            _database()
        except Exception:  # a damaged data file must not stop the service from starting
            log.exception("cannot load the GeoIP data; countries and networks are unknown")
            return False
        return True

    def _lookup(self, address: str) -> IpFacts:
        try:
            ip = ipaddress.ip_address(address.strip("[]").removeprefix("IPv6:"))
        except ValueError:
            return UNKNOWN
        if any(ip in net for net in self.internal):
            return IpFacts(str(ip), self.home, "internal", _prefix(ip))
        if not ip.is_global:
            return IpFacts(str(ip), "", "", _prefix(ip))
        try:
            found = _database().lookup(str(ip))
        except Exception:  # the lookup library must never break a decision
            return IpFacts(str(ip), "", "", _prefix(ip))
        country = found.country_code if len(found.country_code or "") == 2 else ""
        return IpFacts(str(ip), country, found.asn_name or "", found.asn_cidr or _prefix(ip))
