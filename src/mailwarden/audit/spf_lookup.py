"""The inputs of an SPF check and the questions it asks: the client address, the sender, which
names can be asked, which TXT strings are SPF records, and one DNS question that never raises.
"""

from __future__ import annotations

import ipaddress
from typing import Any

import dns.exception as dns_exception

from mailwarden.audit.dns import Answer, valid_name
from mailwarden.audit.spf_macro import IPAddress
from mailwarden.audit.spf_parse import is_spf_record


def client_address(ip: str | IPAddress) -> IPAddress:
    """The client address; an IPv4-mapped IPv6 address is IPv4 (RFC 7208 5)."""
    address = ipaddress.ip_address(ip.strip() if isinstance(ip, str) else ip)
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def split_sender(sender: str, helo: str) -> tuple[str, str]:
    """(local part, domain) of MAIL FROM; ``postmaster`` when the local part is empty and the
    HELO name when MAIL FROM is empty (RFC 7208 2.4, 4.3)."""
    if not sender:
        return "postmaster", helo
    local, at, domain = sender.rpartition("@")
    if not at:
        return "postmaster", sender
    return local or "postmaster", domain


def usable_domain(domain: str) -> bool:
    """A name check_host() can start from: a valid, multi-label domain name (not a literal)."""
    name = domain[:-1] if domain.endswith(".") else domain
    return ("." in name and not name.startswith("[") and len(name) <= 253
            and valid_name(query_name(name)))


def spf_records(texts: list[bytes]) -> list[bytes]:
    """The TXT strings that are SPF records."""
    return [text for text in texts if is_spf_record(text)]


def query_name(name: str) -> str:
    return name.replace("\\", "\\\\")


def name_text(name: Any) -> str:
    """A domain name from a DNS answer (MX exchange, PTR target) as plain text, lower case,
    without the final dot ('' for the root, a null MX)."""
    return ".".join(label.decode("latin-1") for label in name.labels if label).lower()


async def ask(dns: Any, name: str, rtype: str) -> Answer:
    """One question to the DNS client; an error of the transport is an ``unchecked`` answer."""
    try:
        answer: Answer = await dns.query(query_name(name), rtype)
    except (OSError, dns_exception.DNSException) as exc:
        return Answer(name, rtype, "unchecked", reason=f"{type(exc).__name__}: {exc}"[:200])
    return answer
