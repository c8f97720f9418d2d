"""Whether an address is a public Internet address: the one rule the MX area judges MX
addresses by and the MTA-STS fetch and the SMTP probe decide by whether to connect at all
(an audited domain may be hostile and publish 127.0.0.1, 169.254.169.254 or 10.0.0.1 to make
the audit talk to this machine or its network).

An IPv6 address that carries an IPv4 address (IPv4-mapped ``::ffff:a.b.c.d``, NAT64
``64:ff9b::/96``, 6to4 ``2002::/16``, Teredo) is judged by that IPv4 address too. Outside
the ranges refused here, :attr:`ipaddress.IPv4Address.is_global` decides (Python 3.11 already
excludes RFC 1918, loopback, link-local, 0/8, shared 100.64/10, benchmarking 198.18/15 and
240/4, but not multicast; the list below does not depend on the patch release).

The documentation ranges (RFC 5737, RFC 3849) count as public: they are never routed, so no
internal service can answer there, and examples, tests and benchmarks use them for public
servers.
"""

from __future__ import annotations

import ipaddress
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network

Address = IPv4Address | IPv6Address

REFUSED_V4 = tuple(IPv4Network(n) for n in (
    "0.0.0.0/8",  # "this network"
    "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16",  # RFC 1918
    "100.64.0.0/10",  # shared address space (carrier-grade NAT)
    "127.0.0.0/8",  # loopback
    "169.254.0.0/16",  # link-local (cloud metadata services live here)
    "192.0.0.0/24",  # IETF protocol assignments
    "198.18.0.0/15",  # benchmarking
    "224.0.0.0/4",  # multicast
    "240.0.0.0/4",  # reserved, and the broadcast address
))
DOCUMENTATION = (IPv4Network("192.0.2.0/24"), IPv4Network("198.51.100.0/24"),
                 IPv4Network("203.0.113.0/24"), IPv6Network("2001:db8::/32"))
GLOBAL_UNICAST = IPv6Network("2000::/3")  # everything else of IPv6 is not the Internet
NAT64 = IPv6Network("64:ff9b::/96")
NAT64_LOCAL = IPv6Network("64:ff9b:1::/48")  # RFC 8215: a local prefix


def public(address: str | Address) -> bool:
    """True when ``address`` is a public Internet address (False for text that is none)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    if ip.version == 4:
        return _public_v4(ip)
    assert isinstance(ip, IPv6Address)
    if ip.ipv4_mapped is not None:  # a connection to it goes to the IPv4 address
        return _public_v4(ip.ipv4_mapped)
    if ip in NAT64:
        return _public_v4(IPv4Address(int(ip) & 0xFFFF_FFFF))
    if ip in NAT64_LOCAL or not _public_v6(ip):
        return False
    return all(_public_v4(v4) for v4 in embedded(ip))


def embedded(ip: IPv6Address) -> list[IPv4Address]:
    """The IPv4 addresses a 6to4 or Teredo address carries (Teredo: server and client)."""
    if ip.sixtofour is not None:
        return [ip.sixtofour]
    if ip.teredo is not None:
        return list(ip.teredo)
    return []


def _documentation(ip: Address) -> bool:
    return any(ip.version == n.version and ip in n for n in DOCUMENTATION)


def _public_v4(ip: IPv4Address) -> bool:
    if any(ip in n for n in REFUSED_V4):
        return False
    return ip.is_global or _documentation(ip)


def _public_v6(ip: IPv6Address) -> bool:
    if ip not in GLOBAL_UNICAST:  # ::/8 (loopback, IPv4-compatible), ULA, link-local, ...
        return False
    return ip.is_global or _documentation(ip)
