"""Which addresses the audit calls public (and so connects to, and accepts as MX addresses):
a table of the non-public kinds (loopback, RFC 1918, link-local and cloud metadata, 0/8,
shared, benchmarking, reserved, multicast, IPv6 ULA and friends, IPv4 hidden in IPv6) next to
ordinary public addresses; and properties over every IPv4 address."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailwarden.audit.addresses import public
from mailwarden.audit.mx import is_ip_literal

NOT_PUBLIC = [
    "127.0.0.1", "127.255.255.254", "0.0.0.0", "0.1.2.3",  # loopback, "this network"
    "10.0.0.1", "172.16.0.1", "172.31.255.255", "192.168.1.1",  # RFC 1918
    "169.254.169.254", "169.254.0.1",  # link-local, the cloud metadata service
    "100.64.0.1", "100.127.255.254",  # shared (carrier-grade NAT)
    "198.18.0.1", "198.19.255.254",  # benchmarking
    "192.0.0.8", "192.0.0.9",  # IETF protocol assignments
    "240.0.0.1", "255.255.255.255",  # reserved, broadcast
    "224.0.0.1", "239.255.255.250",  # multicast (is_global says True for some)
    "::1", "::", "fe80::1", "fc00::1", "fd12:3456::1", "ff02::1", "ff0e::1", "fec0::1",
    "::127.0.0.1", "5f00::1", "100::1",  # IPv4-compatible, outside 2000::/3, discard-only
    "::ffff:127.0.0.1", "::ffff:10.0.0.1", "::ffff:169.254.169.254",  # IPv4-mapped
    "2002:7f00:1::1", "2002:a00:1::",  # 6to4 of 127.0.0.1 and 10.0.0.1
    "64:ff9b::7f00:1", "64:ff9b::a9fe:a9fe", "64:ff9b:1::1",  # NAT64, its local prefix
    "2001:0:4136:e378:8000:63bf:80ff:fffe",  # Teredo, client 127.0.0.1
    "2001:10::1", "2001:2::1",  # ORCHID, benchmarking
    "not an address", "", "1.2.3", "[127.0.0.1]",
]
PUBLIC = [
    "8.8.8.8", "1.1.1.1", "133.242.0.1", "210.130.1.1", "9.255.255.255", "11.0.0.1",
    "100.63.255.255", "100.128.0.1", "172.15.255.255", "172.32.0.1", "198.17.255.255",
    "198.20.0.1", "223.255.255.254",  # right next to the refused ranges
    "192.0.2.1", "198.51.100.1", "203.0.113.9", "2001:db8::25",  # documentation
    "2001:4860:4860::8888", "2404:6800:4004:80a::200e", "2a00:1450:4001:80b::200e",
    "::ffff:8.8.8.8", "2002:808:808::1", "64:ff9b::808:808",  # IPv4 hidden in IPv6
]


@pytest.mark.parametrize("address", NOT_PUBLIC)
def test_not_public(address: str) -> None:
    """Each non-public kind (and text that is no address) is refused."""
    assert public(address) is False


@pytest.mark.parametrize("address", PUBLIC)
def test_public(address: str) -> None:
    """Ordinary Internet addresses, also next to the refused ranges and inside IPv6, pass."""
    assert public(address) is True


def test_takes_address_objects() -> None:
    """An ipaddress object is judged like its text."""
    assert public(ipaddress.ip_address("8.8.8.8"))
    assert not public(ipaddress.ip_address("::ffff:127.0.0.1"))


@given(st.integers(min_value=0, max_value=2**32 - 1))
def test_ipv4_inside_ipv6_is_judged_by_the_ipv4(value: int) -> None:
    """IPv4-mapped and NAT64 forms of any IPv4 address agree with the address itself, and a
    6to4 address of a non-public one is never public."""
    v4 = ipaddress.IPv4Address(value)
    mapped = ipaddress.IPv6Address((0xFFFF << 32) | value)
    nat64 = ipaddress.IPv6Address((0x64FF9B << 96) | value)
    sixtofour = ipaddress.IPv6Address((0x2002 << 112) | (value << 80) | 1)
    assert public(mapped) == public(v4) == public(nat64)
    if not public(v4):
        assert not public(sixtofour)


@given(st.text(max_size=60))
def test_never_raises(text: str) -> None:
    """Any text (from DNS, from a hostile zone) gives an answer, never an exception."""
    assert public(text) in (True, False)
    assert is_ip_literal(text) in (True, False)
