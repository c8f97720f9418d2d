"""The MTA-STS, TLS-RPT, BIMI and DANE areas against a real DNS server on loopback
(ZoneServer) and a real HTTPS server on 127.0.0.1 with certificates from a test CA made by
openssl: the policy host is found through the audit's DNS client and fetched with SNI and
certificate verification; redirects, wrong media types, oversized bodies, expired, self-signed
and wrong-name certificates, timeouts and refused connections each get their finding. The
servers run on loopback, so the audits here pass ``allow_private``; without it a policy host
on a non-public address is reported and never connected to."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

import pytest
from mailstack.common import make_root, remove_root, require_program
from mailstack.dns import ZoneServer
from mailstack.https import HttpsServer, PolicyCa, Route, closed_port

from mailwarden.audit.bimi import audit_bimi
from mailwarden.audit.dane import audit_dane
from mailwarden.audit.dns import DnsClient
from mailwarden.audit.model import AreaResult, AuditContext, AuditOptions
from mailwarden.audit.mta_sts import audit_mta_sts
from mailwarden.audit.runner import audit_all
from mailwarden.audit.tls_rpt import audit_tls_rpt

AREAS = {"mta_sts": audit_mta_sts, "tls_rpt": audit_tls_rpt, "bimi": audit_bimi,
         "dane": audit_dane}
DIGEST = "d9" * 32  # 32 bytes: a SHA-256 digest


def txt(value: str) -> str:
    return " ".join(f'"{value[i:i + 250]}"' for i in range(0, max(len(value), 1), 250))


def policy(mode: str = "enforce", mx: tuple[str, ...] = ("*.good.example",),
           max_age: int = 604800) -> bytes:
    lines = ["version: STSv1", f"mode: {mode}", *(f"mx: {p}" for p in mx),
             f"max_age: {max_age}"]
    return ("\r\n".join(lines) + "\r\n").encode()


# -- the services ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pki() -> Iterator[PolicyCa]:
    require_program("openssl", "openssl")
    folder = make_root("mtasts-pki")
    try:
        yield PolicyCa.create(folder)
    finally:
        remove_root(folder)


@pytest.fixture(scope="module")
def https(pki: PolicyCa) -> Iterator[HttpsServer]:
    """Policy hosts: certificates by SNI, answers by Host."""
    server = HttpsServer(pki.issue("default", "mta-sts.good.example"))
    for name in ("good", "unmatched", "testing", "redirect", "ctype", "big", "notfound",
                 "notxt", "badpolicy", "slow", "sub.good"):
        server.certificate(f"mta-sts.{name}.example", pki.issue(name, f"mta-sts.{name}.example"))
    server.certificate("mta-sts.expired.example", pki.issue(
        "expired", "mta-sts.expired.example", datetime(2020, 1, 1, tzinfo=UTC),
        datetime(2020, 2, 1, tzinfo=UTC)))
    server.certificate("mta-sts.wrongname.example", pki.issue("wrongname", "other.example"))
    server.certificate("mta-sts.selfsigned.example",
                       pki.self_signed("selfsigned", "mta-sts.selfsigned.example"))
    routes = {
        "good": Route(policy()),
        "unmatched": Route(policy(mx=("mx.unmatched.example", "*.old.example"))),
        "testing": Route(policy("testing", ("mx.testing.example",), 3600), chunked=True),
        "redirect": Route(b"", 301, headers=(
            ("Location", "https://mta-sts.good.example/.well-known/mta-sts.txt"),)),
        "ctype": Route(policy(mx=("mx.ctype.example",)), content_type="text/html"),
        "big": Route(policy(mx=("mx.big.example",)) + b"# padding\r\n" * 7000),
        "notxt": Route(policy(mx=("mx.notxt.example",))),
        "badpolicy": Route(b"version: STSv1\nMode: enforce\nmax_age: 99999999999\n"
                           b"mx: mx.badpolicy.example\n"),
        "slow": Route(policy(mx=("mx.slow.example",)), delay=2.0),
        "expired": Route(policy(mx=("mx.expired.example",))),
        "wrongname": Route(policy(mx=("mx.wrongname.example",))),
        "selfsigned": Route(policy(mx=("mx.selfsigned.example",))),
    }
    server.routes = {f"mta-sts.{name}.example": route for name, route in routes.items()}
    server.start()
    try:
        yield server
    finally:
        server.stop()


def _mail_domain(zone: ZoneServer, name: str, *hosts: str) -> None:
    for i, host in enumerate(hosts or (f"mx.{name}",)):
        zone.add(name, "MX", f"{10 * (i + 1)} {host}.")
        zone.add(host, "A", f"192.0.2.{i + 1}")


@pytest.fixture(scope="module")
def zone() -> Iterator[ZoneServer]:
    server = ZoneServer()
    _mail_domain(server, "good.example", "mx1.good.example", "mx2.good.example")
    server.add("_mta-sts.good.example", "TXT", txt("v=STSv1; id=20240101T000000"))
    server.add("_smtp._tls.good.example", "TXT", txt("v=TLSRPTv1; rua=mailto:tls@good.example"))
    server.add("_dmarc.good.example", "TXT", txt("v=DMARC1; p=reject; rua=mailto:d@good.example"))
    server.add("default._bimi.good.example", "TXT", txt(
        "v=BIMI1; l=https://good.example/logo.svg; a=https://good.example/vmc.pem"))
    server.add("_25._tcp.mx1.good.example", "TLSA", f"3 1 1 {DIGEST}")
    _mail_domain(server, "sub.good.example", "mx1.good.example")
    for name in ("unmatched", "testing", "redirect", "ctype", "big", "notfound", "badpolicy",
                 "slow", "expired", "wrongname", "selfsigned", "badtxt", "nohost"):
        domain = f"{name}.example"
        if name == "unmatched":
            _mail_domain(server, domain, "mx.unmatched.example", "backup.provider.example")
        else:
            _mail_domain(server, domain)
        server.add(f"_mta-sts.{domain}", "TXT", txt("v=STSv1; id=1"))
    server.records[("_mta-sts.badtxt.example", "TXT")].clear()
    server.add("_mta-sts.badtxt.example", "TXT", txt("v=STSv1; id=2024-01-01"))
    _mail_domain(server, "notxt.example")
    _mail_domain(server, "twotxt.example")
    server.add("_mta-sts.twotxt.example", "TXT", txt("v=STSv1; id=1"), txt("v=STSv1; id=2"))
    _mail_domain(server, "missing.example")
    _mail_domain(server, "wildcard.example")
    server.add("mta-sts.wildcard.example", "A", "127.0.0.1")  # as a wildcard A gives it
    server.add("nomail.example", "MX", "0 .")
    for name, addresses in (("private", ("127.0.0.1",)),
                            ("mapped", ("127.0.0.2", "::ffff:7f00:1", "10.1.2.3")),
                            ("metadata", ("169.254.169.254",))):
        _mail_domain(server, f"{name}.example")
        server.add(f"_mta-sts.{name}.example", "TXT", txt("v=STSv1; id=1"))
        for address in addresses:
            server.add(f"mta-sts.{name}.example", "AAAA" if ":" in address else "A", address)
    for name in ("good", "sub.good", "unmatched", "testing", "redirect", "ctype", "big",
                 "notfound", "notxt", "badpolicy", "slow", "expired", "wrongname",
                 "selfsigned"):
        server.add(f"mta-sts.{name}.example", "A", "127.0.0.1")
    # TLS-RPT
    server.add("_smtp._tls.multi.example", "TXT", txt("v=TLSRPTv1; rua=mailto:a@multi.example"),
               txt("v=TLSRPTv1; rua=https://r.multi.example/tlsrpt"))
    server.add("_smtp._tls.http.example", "TXT", txt("v=TLSRPTv1; rua=http://r.http.example/x"))
    server.add("_smtp._tls.norua.example", "TXT", txt("v=TLSRPTv1; ruf=mailto:a@norua.example"))
    # BIMI
    for name, dmarc, bimi in (
            ("bimi-none", "p=none", "l=https://b.example/l.svg; a=https://b.example/v.pem"),
            ("bimi-pct", "p=quarantine; pct=50", "l=https://b.example/l.svg"),
            ("bimi-http", "p=reject", "l=http://b.example/l.svg"),
            ("bimi-declined", "p=reject", "l=; a=;"),
            ("orgweak", "p=reject; sp=none", "l=https://b.example/l.svg")):
        server.add(f"_dmarc.{name}.example", "TXT", txt(f"v=DMARC1; {dmarc}"))
        server.add(f"default._bimi.{name}.example", "TXT", txt(f"v=BIMI1; {bimi}"))
    # DANE
    _mail_domain(server, "dane-bad.example")
    server.add("_25._tcp.mx.dane-bad.example", "TLSA", f"0 0 1 {DIGEST}",
               f"3 1 2 {DIGEST}")  # a PKIX usage; 32 bytes where SHA-512 has 64
    _mail_domain(server, "dane-full.example")
    server.add("_25._tcp.mx.dane-full.example", "TLSA", f"3 0 0 {'30' * 300}")
    server.servfail.update({"_mta-sts.sf.example", "_smtp._tls.sf.example"})
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(autouse=True)
def psl(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "psl.dat"
    path.write_text("example\n", encoding="utf-8")
    monkeypatch.setenv("MAILWARDEN_PSL", str(path))


def run(zone: ZoneServer, https: HttpsServer, pki: PolicyCa, area: str, domain: str,
        **options: object) -> AreaResult:
    client = DnsClient.from_option(zone.address, timeout=0.5, retries=1)
    settings: dict[str, object] = {"https_port": https.port, "ca_file": str(pki.ca_file),
                                   "timeout": 3.0, "allow_private": True, **options}
    ctx = AuditContext(client, AuditOptions(**settings))  # type: ignore[arg-type]
    return asyncio.run(AREAS[area](domain, ctx))


def checks(result: AreaResult) -> dict[str, str]:
    return {f.check: f.status for f in result.findings}


def evidence(result: AreaResult, check: str) -> dict[str, object]:
    found = [f for f in result.findings if f.check == check]
    assert found, f"{check} not in {checks(result)}"
    return found[0].evidence


class Audit(Protocol):
    """audit(area, domain, **AuditOptions fields) -> the area's result."""

    def __call__(self, area: str, domain: str, **options: object) -> AreaResult: ...


@pytest.fixture
def audit(zone: ZoneServer, https: HttpsServer, pki: PolicyCa) -> Audit:
    def go(area: str, domain: str, **options: object) -> AreaResult:
        return run(zone, https, pki, area, domain, **options)
    return go


# -- MTA-STS ---------------------------------------------------------------------------------


def test_good_mta_sts(audit: Audit, https: HttpsServer) -> None:
    """A valid record, a policy fetched over verified HTTPS in enforce mode whose pattern
    covers both MX hosts: grade A, nothing to publish."""
    result = audit("mta_sts", "good.example")
    assert result.grade == "A", checks(result)
    assert {"mta_sts.found", "mta_sts.policy_found", "mta_sts.mode_enforce",
            "mta_sts.mx_match"} <= set(checks(result))
    assert result.publish == []
    assert result.facts["fetch"]["address"] == "127.0.0.1"
    assert ("mta-sts.good.example", "/.well-known/mta-sts.txt") in https.requests


def test_unmatched_mx_fails_in_enforce_mode(audit: Audit) -> None:
    """An MX host no pattern matches fails in enforce mode; the corrected policy keeps the
    pattern in use, adds the host, and a new id is published."""
    result = audit("mta_sts", "unmatched.example")
    assert checks(result)["mta_sts.mx_unmatched"] == "fail"
    assert evidence(result, "mta_sts.mx_unmatched")["hosts"] == ["backup.provider.example"]
    assert evidence(result, "mta_sts.mx_unused")["patterns"] == ["*.old.example"]
    text = result.facts["policy_to_serve"]
    assert "mode: enforce" in text and "mx: mx.unmatched.example" in text
    assert "mx: backup.provider.example" in text and "old.example" not in text
    [record] = result.publish
    assert record.name == "_mta-sts.unmatched.example" and record.rtype == "TXT"
    assert record.value.startswith("v=STSv1; id=") and record.value != "v=STSv1; id=1"
    assert "backup.provider.example" in record.en and "backup.provider.example" in record.ja


def test_testing_mode_and_short_max_age(audit: Audit) -> None:
    """A chunked policy in testing mode with max_age one hour: both warned, still read."""
    result = audit("mta_sts", "testing.example")
    found = checks(result)
    assert found["mta_sts.mode_testing"] == "warn" and found["mta_sts.max_age_short"] == "warn"
    assert found["mta_sts.mx_match"] == "pass" and result.grade == "B"


@pytest.mark.parametrize(("domain", "check"), [
    ("redirect.example", "mta_sts.redirect"),
    ("ctype.example", "mta_sts.content_type"),
    ("big.example", "mta_sts.too_large"),
    ("notfound.example", "mta_sts.http_status"),
    ("nohost.example", "mta_sts.host_missing"),
])
def test_policies_senders_cannot_use(audit: Audit, https: HttpsServer, domain: str,
                                     check: str) -> None:
    """A redirect (never followed), a non-text/plain answer, a body over 64 KiB, a 404 and a
    policy host without address each fail with their own finding."""
    before = list(https.requests)
    result = audit("mta_sts", domain)
    assert checks(result)[check] == "fail", checks(result)
    assert result.publish and result.publish[0].name == f"_mta-sts.{domain}"
    if check == "mta_sts.redirect":
        assert evidence(result, check)["location"].startswith("https://mta-sts.good.example")
        new = https.requests[len(before):]
        assert all(host == "mta-sts.redirect.example" for host, _ in new)


@pytest.mark.parametrize(("domain", "reason"), [
    ("expired.example", "expired"),
    ("wrongname.example", "mismatch"),
    ("selfsigned.example", "self"),
])
def test_certificate_problems(audit: Audit, domain: str, reason: str) -> None:
    """Expired, wrong-name and self-signed certificates fail, with the verifier's reason."""
    result = audit("mta_sts", domain)
    assert checks(result)["mta_sts.certificate_invalid"] == "fail"
    assert reason in str(evidence(result, "mta_sts.certificate_invalid")["reason"]).lower()
    assert "mta_sts.policy_found" not in checks(result)


def test_without_the_test_ca_the_certificate_is_untrusted(audit: Audit) -> None:
    """The same good host with only the system CAs: the test CA is not trusted."""
    result = audit("mta_sts", "good.example", ca_file="")
    assert checks(result)["mta_sts.certificate_invalid"] == "fail"


def test_timeout_and_refused_connection(audit: Audit) -> None:
    """A host that answers too late is 'could not check'; a refused connection fails."""
    slow = audit("mta_sts", "slow.example", timeout=0.5)
    assert checks(slow)["mta_sts.fetch_timeout"] == "unchecked" and slow.grade == "C"
    refused = audit("mta_sts", "good.example", https_port=closed_port())
    assert checks(refused)["mta_sts.connect_failed"] == "fail"


def test_policy_without_record_and_record_problems(audit: Audit) -> None:
    """A policy without the TXT record is never fetched by senders; a bad id and two records
    make senders ignore the record."""
    notxt = audit("mta_sts", "notxt.example")
    assert checks(notxt)["mta_sts.txt_missing"] == "fail"
    assert checks(notxt)["mta_sts.policy_found"] == "pass"
    badtxt = audit("mta_sts", "badtxt.example")
    assert checks(badtxt)["mta_sts.id_syntax"] == "fail"
    assert evidence(badtxt, "mta_sts.id_syntax")["value"] == "2024-01-01"
    two = audit("mta_sts", "twotxt.example")
    assert checks(two)["mta_sts.multiple"] == "fail"


def test_bad_policy_fields(audit: Audit) -> None:
    """'Mode:' (case), max_age over a year and the missing mode are each reported by line."""
    result = audit("mta_sts", "badpolicy.example")
    found = checks(result)
    assert found["mta_sts.field_case"] == "warn" and found["mta_sts.bad_value"] == "fail"
    assert found["mta_sts.missing_field"] == "fail"
    assert evidence(result, "mta_sts.bad_value")["line"] == 3
    assert "mode: testing" in result.facts["policy_to_serve"]


def test_missing_mta_sts_and_domains_without_mail(audit: Audit) -> None:
    """No record: a warning with the record and the policy to start in testing mode, also
    when mta-sts.DOMAIN is a web server without a policy (a wildcard); a null MX needs no
    MTA-STS; a SERVFAIL is 'could not check'."""
    missing = audit("mta_sts", "missing.example")
    assert checks(missing)["mta_sts.missing"] == "warn"
    assert "mode: testing" in missing.facts["policy_to_serve"]
    assert "mx: mx.missing.example" in missing.facts["policy_to_serve"]
    assert missing.publish[0].value.startswith("v=STSv1; id=")
    wildcard = audit("mta_sts", "wildcard.example")
    assert checks(wildcard) == {"mta_sts.missing": "warn"}
    nomail = audit("mta_sts", "nomail.example")
    assert checks(nomail) == {"mta_sts.not_needed": "info"} and nomail.publish == []
    sf = audit("mta_sts", "sf.example")
    assert checks(sf) == {"mta_sts.unchecked": "unchecked"}


# -- non-public policy hosts -----------------------------------------------------------------


class Listener:
    """A TCP port on 127.0.0.1 that counts the connections it accepts (and closes them)."""

    def __init__(self) -> None:
        self.connections = 0
        self.port = 0

    async def run(self, body: Callable[[int], Awaitable[AreaResult]]) -> AreaResult:
        async def count(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            self.connections += 1
            writer.close()

        server = await asyncio.start_server(count, "127.0.0.1", 0)
        self.port = server.sockets[0].getsockname()[1]
        try:
            return await body(self.port)
        finally:
            server.close()
            await server.wait_closed()


def sts_at(zone: ZoneServer, domain: str, listener: Listener, allow: bool) -> AreaResult:
    """The MTA-STS area of ``domain``, its policy host's port 443 played by ``listener``."""
    client = DnsClient.from_option(zone.address, timeout=0.5, retries=1)

    async def body(port: int) -> AreaResult:
        options = AuditOptions(https_port=port, timeout=1.0, allow_private=allow)
        return await audit_mta_sts(domain, AuditContext(client, options))

    return asyncio.run(listener.run(body))


@pytest.mark.parametrize(("domain", "addresses"), [
    ("private.example", ["127.0.0.1"]),
    ("mapped.example", ["127.0.0.2", "10.1.2.3", "::ffff:127.0.0.1"]),
    ("metadata.example", ["169.254.169.254"]),
])
def test_private_policy_host_is_not_connected_to(zone: ZoneServer, domain: str,
                                                 addresses: list[str]) -> None:
    """By default a policy host on loopback, RFC 1918, IPv4-mapped loopback or the cloud
    metadata address is reported (warn, every address named) and never connected to."""
    listener = Listener()
    result = sts_at(zone, domain, listener, allow=False)
    assert listener.connections == 0
    found = checks(result)
    assert found["mta_sts.private_address"] == "warn", found
    assert sorted(evidence(result, "mta_sts.private_address")["addresses"]) == sorted(addresses)
    [note] = [f for f in result.findings if f.check == "mta_sts.private_address"]
    assert "--allow-private" in note.en and "--allow-private" in note.ja
    assert not any(c in found for c in ("mta_sts.connect_failed", "mta_sts.fetch_timeout",
                                        "mta_sts.tls_failed", "mta_sts.policy_found"))
    assert result.facts["fetch"]["error"] == "private_address"


def test_allow_private_connects_to_a_loopback_policy_host(zone: ZoneServer) -> None:
    """With allow_private the same host is fetched as before: the listener is reached (and,
    closing at once, the fetch fails as a TLS or connection failure, not as private)."""
    listener = Listener()
    result = sts_at(zone, "private.example", listener, allow=True)
    assert listener.connections >= 1
    found = checks(result)
    assert "mta_sts.private_address" not in found
    assert {"mta_sts.tls_failed", "mta_sts.connect_failed"} & set(found), found


# -- TLS-RPT ---------------------------------------------------------------------------------


def test_tls_rpt(audit: Audit) -> None:
    """A valid record passes; missing warns next to MTA-STS, informs without; several,
    unusable destinations and no rua fail with a record to publish."""
    good = audit("tls_rpt", "good.example")
    assert good.grade == "A" and evidence(good, "tls_rpt.found")["rua"] == [
        "mailto:tls@good.example"]
    plain = audit("tls_rpt", "missing.example")
    assert checks(plain)["tls_rpt.missing"] == "info" and plain.publish == []
    with_sts = audit("tls_rpt", "unmatched.example")
    assert checks(with_sts)["tls_rpt.missing"] == "warn"
    assert with_sts.publish[0].value == "v=TLSRPTv1; rua=mailto:tls-reports@unmatched.example"
    multi = audit("tls_rpt", "multi.example")
    assert checks(multi)["tls_rpt.multiple"] == "fail"
    assert multi.publish[0].value == ("v=TLSRPTv1; rua=mailto:a@multi.example,"
                                      "https://r.multi.example/tlsrpt")
    http = audit("tls_rpt", "http.example")
    assert checks(http)["tls_rpt.bad_uri"] == "fail"
    norua = audit("tls_rpt", "norua.example")
    assert checks(norua)["tls_rpt.rua_missing"] == "fail"
    assert checks(norua)["tls_rpt.unknown_field"] == "info"
    assert checks(audit("tls_rpt", "sf.example")) == {"tls_rpt.unchecked": "unchecked"}


# -- BIMI ------------------------------------------------------------------------------------


def test_bimi_with_dmarc_at_enforcement(audit: Audit) -> None:
    """An https SVG with a mark certificate under p=reject passes; a subdomain inherits the
    Organizational Domain's record and policy."""
    good = audit("bimi", "good.example")
    assert good.grade == "A", checks(good)
    assert checks(good)["bimi.found"] == "pass" and checks(good)["bimi.dmarc_ok"] == "pass"
    sub = audit("bimi", "sub.good.example")
    assert checks(sub)["bimi.inherited"] == "info" and checks(sub)["bimi.dmarc_ok"] == "pass"


def test_bimi_needs_dmarc_enforcement(audit: Audit) -> None:
    """p=none, pct=50 and an Organizational Domain with sp=none give no logo."""
    none = audit("bimi", "bimi-none.example")
    assert checks(none)["bimi.dmarc_not_enforced"] == "fail"
    assert evidence(none, "bimi.dmarc_not_enforced")["policy"] == "none"
    pct = audit("bimi", "bimi-pct.example")
    assert evidence(pct, "bimi.dmarc_not_enforced")["partial"] == "pct=50"
    assert checks(pct)["bimi.evidence_missing"] == "warn"
    assert checks(audit("bimi", "orgweak.example"))["bimi.dmarc_org_weak"] == "fail"


def test_bimi_record_problems(audit: Audit) -> None:
    """A logo over http fails; a declination and no record at all are information."""
    http = audit("bimi", "bimi-http.example")
    assert checks(http)["bimi.not_https"] == "fail" and "bimi.found" not in checks(http)
    declined = audit("bimi", "bimi-declined.example")
    assert checks(declined) == {"bimi.declined": "info"}
    assert checks(audit("bimi", "missing.example")) == {"bimi.missing": "info"}


# -- DANE (no DNSSEC here: see test_audit_dnssec.py for validated TLSA) ------------------------


def test_dane_without_dnssec(audit: Audit) -> None:
    """TLSA records in a zone that is not validated fail (senders ignore them); an MX host
    without TLSA next to one with them is a warning."""
    result = audit("dane", "good.example")
    found = checks(result)
    assert found["dane.not_validated"] == "fail" and found["dane.mx_not_validated"] == "fail"
    assert evidence(result, "dane.partial")["hosts"] == ["mx2.good.example"]
    assert result.facts["hosts"]["mx1.good.example"]["tlsa"] == ["3 1 1 (DANE-EE SPKI SHA2-256)"]


def test_dane_record_sanity(audit: Audit) -> None:
    """A PKIX usage and a digest of the wrong length (a reply dnspython refuses to parse,
    read from the wire instead) are reported; a host with only unusable records fails; full
    data is noted."""
    bad = audit("dane", "dane-bad.example")
    found = checks(bad)
    assert found["dane.pkix_usage"] == "warn" and found["dane.digest_length"] == "warn"
    assert evidence(bad, "dane.digest_length")["record"] == "3 1 2 (DANE-EE SPKI SHA2-512)"
    assert found["dane.all_unusable"] == "fail" and "dane.not_validated" not in found
    assert "dane.unchecked" not in found
    full = audit("dane", "dane-full.example")
    assert checks(full)["dane.full_data"] == "info"
    assert evidence(full, "dane.full_data")["size"] == 300


def test_dane_absent(audit: Audit) -> None:
    """No TLSA and no DNSSEC: DANE needs DNSSEC first; a null MX takes no mail."""
    assert checks(audit("dane", "missing.example")) == {"dane.needs_dnssec": "info"}
    assert checks(audit("dane", "nomail.example")) == {"dane.no_mx": "info"}


# -- all areas through the runner ------------------------------------------------------------


def test_the_runner_audits_every_registered_area(zone: ZoneServer, https: HttpsServer,
                                                 pki: PolicyCa) -> None:
    """The registry runs the new areas next to the others, sharing one DNS client."""
    client = DnsClient.from_option(zone.address, timeout=0.5, retries=1)
    ctx = AuditContext(client, AuditOptions(https_port=https.port, ca_file=str(pki.ca_file),
                                            allow_private=True))
    [report] = asyncio.run(audit_all(["good.example"], ctx))
    assert {"mta_sts", "tls_rpt", "bimi", "dnssec", "dane"} <= set(report.areas)
    grades = {name: area.grade for name, area in report.areas.items()}
    assert grades["mta_sts"] == "A" and grades["tls_rpt"] == "A" and grades["bimi"] == "A"
    assert grades["dnssec"] == "B" and grades["dane"] == "F"
