"""The DNSSEC area (and DANE where it depends on DNSSEC) against real signed zones: Knot DNS
signs and serves ``example.`` and its children on loopback, Unbound validates in front of it
with ``example.``'s DS as trust anchor (mailstack/dnssec.py). Signed and validated, unsigned,
an island without DS, bogus (SERVFAIL, answered with CD), and TLSA records validated or not.
A few cases that need no validator use the dnslib server (ZoneServer)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import dns.dnssec
import dns.name
import dns.rdata
import pytest
from mailstack.dns import ZoneServer
from mailstack.dnssec import Child, ValidatingDns

from mailwarden.audit.dane import audit_dane
from mailwarden.audit.dns import DnsClient
from mailwarden.audit.dnssec import audit_dnssec
from mailwarden.audit.model import AreaResult, AuditContext, AuditOptions

DIGEST = "c3" * 32
MAIL = ["@ MX 10 mx", "mx A 192.0.2.25"]


@pytest.fixture(scope="module")
def validating() -> Iterator[ValidatingDns]:
    """example. (signed, the trust anchor) with secure., island., bogus. and plain."""
    children = {
        "secure.example": Child([*MAIL, f"_25._tcp.mx TLSA 3 1 1 {DIGEST}"]),
        "island.example": Child([*MAIL, f"_25._tcp.mx TLSA 3 1 1 {DIGEST}"], ds="none"),
        "bogus.example": Child(MAIL, ds="wrong"),
        "plain.example": Child(MAIL, signed=False),
        "notlsa.example": Child(MAIL),
    }
    server = ValidatingDns("example", children)
    with server:
        yield server


def run(address: str, area: str, domain: str) -> AreaResult:
    client = DnsClient.from_option(address, timeout=1.0, retries=1)
    check = {"dnssec": audit_dnssec, "dane": audit_dane}[area]
    return asyncio.run(check(domain, AuditContext(client, AuditOptions())))


def checks(result: AreaResult) -> dict[str, str]:
    return {f.check: f.status for f in result.findings}


def test_signed_and_validated(validating: ValidatingDns) -> None:
    """A child with its DS in the signed parent validates: AD set, grade A."""
    result = run(validating.address, "dnssec", "secure.example")
    assert checks(result) == {"dnssec.validated": "pass"}, validating.logs()[-2000:]
    assert result.facts["ad"] is True and result.facts["algorithms"] == [13]


def test_unsigned(validating: ValidatingDns) -> None:
    """An unsigned child (its absence of DS proven by the parent) is unsigned: a warning."""
    result = run(validating.address, "dnssec", "plain.example")
    assert checks(result) == {"dnssec.unsigned": "warn"}


def test_bogus(validating: ValidatingDns) -> None:
    """A DS that matches no key: SERVFAIL from the validator, an answer with CD: bogus."""
    result = run(validating.address, "dnssec", "bogus.example")
    assert checks(result) == {"dnssec.bogus": "fail"}
    assert result.facts["with_cd"] == "NOERROR"


def test_island_gets_the_ds_to_publish(validating: ValidatingDns) -> None:
    """Signed without DS in the parent: a warning, and the DS of its key to hand over."""
    result = run(validating.address, "dnssec", "island.example")
    assert checks(result) == {"dnssec.no_ds": "warn"}
    [record] = result.publish
    assert record.name == "island.example" and record.rtype == "DS"
    ds = dns.rdata.from_text("IN", "DS", record.value)
    keys = DnsClient.from_option(validating.knot_address, timeout=1.0)
    answer = asyncio.run(keys.query("island.example", "DNSKEY"))
    assert ds == dns.dnssec.make_ds(dns.name.from_text("island.example"), answer.rrs[0],
                                    "SHA256")
    assert ds.digest_type == 2 and record.en and record.ja


def test_authoritative_answers_are_not_validated(validating: ValidatingDns) -> None:
    """Asking the authoritative server itself (no validation, no AD) for a domain with a DS:
    'could not check', never 'unsigned'."""
    result = run(validating.knot_address, "dnssec", "secure.example")
    assert checks(result) == {"dnssec.not_validating": "unchecked"}


def test_dane_with_dnssec(validating: ValidatingDns) -> None:
    """TLSA 3 1 1 in a validated zone with a validated MX: DANE passes."""
    result = run(validating.address, "dane", "secure.example")
    assert checks(result) == {"dane.found": "pass"}
    assert result.facts["mx_validated"] is True


def test_dane_in_an_island_is_not_validated(validating: ValidatingDns) -> None:
    """The same TLSA in a zone without DS: senders ignore it (DANE needs DNSSEC)."""
    result = run(validating.address, "dane", "island.example")
    found = checks(result)
    assert found["dane.not_validated"] == "fail" and found["dane.mx_not_validated"] == "fail"


def test_dane_absent_in_a_validated_zone(validating: ValidatingDns) -> None:
    """No TLSA in a validated zone: DANE could be added (information)."""
    result = run(validating.address, "dane", "notlsa.example")
    assert checks(result) == {"dane.missing": "info"}


def test_dane_in_a_bogus_zone_is_unchecked(validating: ValidatingDns) -> None:
    """A bogus zone's MX answer is SERVFAIL: 'could not check', never 'missing'."""
    assert checks(run(validating.address, "dane", "bogus.example")) == {
        "dane.unchecked": "unchecked"}


# -- without a validator ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def zone() -> Iterator[ZoneServer]:
    server = ZoneServer()
    server.add("unsigned.test", "SOA", "ns.unsigned.test. h.unsigned.test. 1 3600 600 86400 300")
    server.servfail.add("broken.test")
    server.timeouts.add("silent.test")
    server.start()
    try:
        yield server
    finally:
        server.stop()


def test_servfail_everywhere_and_timeouts_are_unchecked(zone: ZoneServer) -> None:
    """SERVFAIL also with CD, or no answer at all, is 'could not check', not bogus."""
    broken = run(zone.address, "dnssec", "broken.test")
    assert checks(broken) == {"dnssec.unchecked": "unchecked"}
    assert broken.facts["with_cd"] == "SERVFAIL"
    assert checks(run(zone.address, "dnssec", "silent.test")) == {
        "dnssec.unchecked": "unchecked"}
    assert checks(run(zone.address, "dnssec", "unsigned.test")) == {"dnssec.unsigned": "warn"}
