"""Offline IP facts: countries and networks from the bundled database, internal networks,
addresses that are not global, and any text as input."""

from __future__ import annotations

import ipaddress
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from mailwarden.engine import geo
from mailwarden.engine.geo import UNKNOWN, Geo, IpFacts


def test_preload_loads_the_database_once() -> None:
    """A second preload keeps the database loaded by the first."""
    geo._loader.reset()
    Geo.preload()
    loaded = geo._database()
    assert loaded is not None
    Geo.preload()
    assert geo._database() is loaded


def test_a_damaged_database_does_not_stop_preload_or_lookups(monkeypatch: Any,
                                                             tmp_path: Any) -> None:
    """A truncated data file: preload says so (the service still starts) and lookups answer
    without a country, as on any lookup error."""
    import geoip2fast

    bad = tmp_path / "geoip2fast"
    bad.mkdir()
    (bad / "geoip2fast-asn-ipv6.dat.gz").write_bytes(b"\x1f\x8b not really gzip")
    monkeypatch.setattr(geoip2fast, "__file__", str(bad / "__init__.py"))
    geo._loader.reset()
    try:
        assert Geo.preload() is False
        assert Geo([], "JP").lookup("8.8.8.8") == IpFacts("8.8.8.8", "", "", "8.8.8.0/24")
    finally:
        geo._loader.reset()


def test_public_addresses_get_country_and_network() -> None:
    g = Geo([], "JP")
    facts = g.lookup("8.8.8.8")
    assert facts.country == "US"
    assert facts.asn  # Google's network has a name in the bundled data
    assert ipaddress.ip_address("8.8.8.8") in ipaddress.ip_network(facts.network)
    jp = g.lookup("133.242.0.1")  # SAKURA Internet, Japan
    assert jp.country == "JP"


def test_internal_networks_are_home() -> None:
    g = Geo(["203.0.113.0/24"], "JP")
    assert g.lookup("203.0.113.9") == IpFacts("203.0.113.9", "JP", "internal", "203.0.113.0/24")


def test_private_and_loopback_have_no_country() -> None:
    g = Geo([], "JP")
    assert g.lookup("10.1.2.3") == IpFacts("10.1.2.3", "", "", "10.1.2.0/24")
    assert g.lookup("::1").country == ""
    assert g.lookup("[IPv6:2001:db8::1]").country == ""


def test_garbage_is_unknown() -> None:
    g = Geo([], "JP")
    for text in ("", "unknown", "999.1.1.1", "1.2.3", "01.2.3.4", "a:b:c"):
        assert g.lookup(text) == UNKNOWN


@given(st.text(max_size=60))
def test_any_text_gives_facts(text: str) -> None:
    facts = Geo(["192.0.2.0/24"], "JP").lookup(text)
    assert isinstance(facts, IpFacts)
    assert facts.country == "" or len(facts.country) == 2
