"""Offline IP facts: country, network (ASN) and its prefix, from geoip2fast's bundled data.

Addresses in ``organization.internal_networks`` count as the first home country; private,
loopback and unknown addresses have no country ("" ), which no signal treats as foreign.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import threading
import time
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


RETRY_SECONDS = 60.0  # a database that failed to load is tried again at most this often


class _Loader:
    """The database, loaded once. A failure is remembered: lookups go on without it, and a
    new attempt runs in a thread at most every RETRY_SECONDS, never in a lookup."""

    def __init__(self) -> None:
        self.database: Any = None
        self.failed_at: float | None = None
        self.retrying = False
        self.lock = threading.Lock()

    def load(self) -> Any:
        """Load now (once); raises what loading raised, and remembers it."""
        with self.lock:
            if self.database is None:
                try:
                    self.database = _open()
                except Exception:
                    self.failed_at = time.monotonic()
                    raise
                self.failed_at = None
            return self.database

    def get(self) -> Any:
        """The database, or None while it cannot be loaded (a retry may start meanwhile)."""
        if self.database is not None:
            return self.database
        if self.failed_at is None:
            return self.load()  # first use without a preload
        if not self.retrying and time.monotonic() - self.failed_at >= RETRY_SECONDS:
            self.retrying = True
            threading.Thread(target=self._retry, name="mailwarden-geoip", daemon=True).start()
        return None

    def _retry(self) -> None:
        try:
            self.load()
            log.warning("GeoIP data loaded after an earlier failure")
        except Exception:
            log.exception("cannot load the GeoIP data; trying again in %.0f s", RETRY_SECONDS)
        finally:
            self.retrying = False

    def reset(self) -> None:
        """Forget the database and any failure (tests)."""
        with self.lock:
            self.database = None
            self.failed_at = None


def _open() -> Any:
    import geoip2fast
    from geoip2fast import GeoIP2Fast

    folder = os.path.dirname(geoip2fast.__file__)
    return GeoIP2Fast(geoip2fast_data_file=os.path.join(folder, "geoip2fast-asn-ipv6.dat.gz"))


_loader = _Loader()


def _database() -> Any:
    """The loaded database, or None while it cannot be loaded."""
    try:
        return _loader.get()
    except Exception:
        log.exception("cannot load the GeoIP data; countries and networks are unknown")
        return None


def _prefix(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str:
    length = 24 if ip.version == 4 else 48
    return str(ipaddress.ip_network(f"{ip}/{length}", strict=False))


class Geo:
    """Looks addresses up; results are cached (client addresses repeat)."""

    def __init__(self, internal_networks: list[str], home_country: str) -> None:
        self.internal = [ipaddress.ip_network(n, strict=False) for n in internal_networks]
        self.home = home_country
        self._cached = lru_cache(maxsize=65536)(self._lookup)

    def lookup(self, address: str) -> IpFacts:
        """The facts of an address; cached, except those found while the database cannot
        be loaded (they lack countries and networks that a later load would give)."""
        if _loader.database is None and _database() is None:
            return self._lookup(address, None)
        return self._cached(address, _loader.database)

    @staticmethod
    def preload() -> bool:
        """Load the database now (about a quarter of a second), so that the first decision
        of a starting server does not wait for it. False when it cannot be loaded: lookups
        then go on without countries and networks, as they always do on an error, and the
        load is tried again in the background at most every RETRY_SECONDS."""
        try:
            _loader.load()
        except Exception:  # a damaged data file must not stop the service from starting
            log.exception("cannot load the GeoIP data; countries and networks are unknown")
            return False
        return True

    def _lookup(self, address: str, database: Any) -> IpFacts:
        try:
            ip = ipaddress.ip_address(address.strip("[]").removeprefix("IPv6:"))
        except ValueError:
            return UNKNOWN
        if any(ip in net for net in self.internal):
            return IpFacts(str(ip), self.home, "internal", _prefix(ip))
        if not ip.is_global:
            return IpFacts(str(ip), "", "", _prefix(ip))
        if database is None:
            return IpFacts(str(ip), "", "", _prefix(ip))
        try:
            found = database.lookup(str(ip))
        except Exception:  # the lookup library must never break a decision
            return IpFacts(str(ip), "", "", _prefix(ip))
        country = found.country_code if len(found.country_code or "") == 2 else ""
        return IpFacts(str(ip), country, found.asn_name or "", found.asn_cidr or _prefix(ip))
