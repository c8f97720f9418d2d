"""The DMARC, DKIM and MX areas against a real DNS server on loopback (ZoneServer, dnslib):
discovery by tree walk, every tag, report authorisation, key types and sizes from real keys
made by openssl, null MX, forward-confirmed reverse DNS, and DNS failures reported as
"could not check", never as "missing"."""

from __future__ import annotations

import asyncio
import base64
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from dns import reversename
from mailstack.common import require_program
from mailstack.dns import ZoneServer

from mailwarden.audit.dkim import COMMON_SELECTORS, FIRST_SELECTORS, audit_dkim
from mailwarden.audit.dmarc import audit_dmarc
from mailwarden.audit.dns import DnsClient
from mailwarden.audit.model import AreaResult, AuditContext, AuditOptions
from mailwarden.audit.mx import audit_mx

PSL = "example\nco.example\n"  # a tiny Public Suffix List: "example" and "co.example"


@pytest.fixture(scope="module")
def zone_server() -> Iterator[ZoneServer]:
    server = ZoneServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def zone(zone_server: ZoneServer) -> ZoneServer:
    """The module's DNS server, emptied for this test (stopping one takes a second)."""
    for name in ("records", "timeouts", "type_timeouts", "servfail", "queries"):
        state = getattr(zone_server, name, None)
        if state is not None:
            state.clear()
    return zone_server


@pytest.fixture(autouse=True)
def psl(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "psl.dat"
    path.write_text(PSL, encoding="utf-8")
    monkeypatch.setenv("MAILWARDEN_PSL", str(path))
    return path


def run(zone: ZoneServer, area: str, domain: str, **options: object) -> AreaResult:
    client = DnsClient.from_option(zone.address, timeout=0.4, retries=1)
    ctx = AuditContext(client, AuditOptions(**options))  # type: ignore[arg-type]
    check = {"dmarc": audit_dmarc, "dkim": audit_dkim, "mx": audit_mx}[area]
    return asyncio.run(check(domain, ctx))


def checks(result: AreaResult) -> dict[str, str]:
    """finding id -> status (the last one of an id)."""
    return {f.check: f.status for f in result.findings}


def finding(result: AreaResult, check: str) -> dict[str, object]:
    found = [f for f in result.findings if f.check == check]
    assert found, f"{check} not in {checks(result)}"
    return found[0].evidence


def dmarc_queries(zone: ZoneServer) -> list[str]:
    return [n for n, t in zone.queries if n.startswith("_dmarc.") and t == "TXT"]


# -- keys, made by openssl -----------------------------------------------------------------


@pytest.fixture(scope="session")
def keys(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Base64 public keys: RSA 512/1024/2048 (SubjectPublicKeyInfo) and Ed25519 (bare)."""
    openssl = require_program("openssl", "openssl")
    folder = tmp_path_factory.mktemp("keys")
    found: dict[str, str] = {}
    for name, args in (("rsa512", ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:512"]),
                       ("rsa1024", ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:1024"]),
                       ("rsa2048", ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"]),
                       ("ed25519", ["-algorithm", "ED25519"])):
        private = folder / f"{name}.pem"
        subprocess.run([openssl, "genpkey", *args, "-out", str(private)], check=True,
                       capture_output=True)
        der = subprocess.run([openssl, "pkey", "-in", str(private), "-pubout", "-outform",
                              "DER"], check=True, capture_output=True).stdout
        found[name] = base64.b64encode(der[-32:] if name == "ed25519" else der).decode()
    return found


def txt(value: str) -> str:
    """A TXT value in zone-file form, split into 255-byte character-strings."""
    return " ".join(f'"{value[i:i + 250]}"' for i in range(0, max(len(value), 1), 250))


# -- DMARC ---------------------------------------------------------------------------------


def test_good_dmarc_record(zone: ZoneServer) -> None:
    """p=reject with internal aggregate reports grades A with nothing to publish."""
    zone.add("_dmarc.good.example", "TXT", txt("v=DMARC1; p=reject; rua=mailto:d@good.example"))
    result = run(zone, "dmarc", "good.example")
    assert result.grade == "A", checks(result)
    assert checks(result)["dmarc.policy_reject"] == "pass"
    assert result.publish == []
    assert not any("_report._dmarc" in n for n, _ in zone.queries)


def test_missing_dmarc_gives_the_whole_rollout(zone: ZoneServer) -> None:
    """No record anywhere fails and the plan publishes none, then quarantine, then reject."""
    zone.add("nodmarc.example", "A", "192.0.2.1")
    result = run(zone, "dmarc", "nodmarc.example")
    assert checks(result)["dmarc.missing"] == "fail" and result.grade == "F"
    assert finding(result, "dmarc.missing")["queried"] == ["_dmarc.nodmarc.example",
                                                           "_dmarc.example"]
    assert [r.value.split("; ")[1] for r in result.publish] == ["p=none", "p=quarantine",
                                                                "p=reject"]
    assert all(r.name == "_dmarc.nodmarc.example" and r.rtype == "TXT" for r in result.publish)
    assert "rua=mailto:dmarc-reports@nodmarc.example" in result.publish[0].value
    assert result.publish[0].ja and result.publish[0].en


def test_p_none_is_a_warning_with_the_next_stages(zone: ZoneServer) -> None:
    """p=none warns and the plan goes on to quarantine and reject, keeping rua and adkim."""
    zone.add("_dmarc.mon.example", "TXT",
             txt("v=DMARC1; p=none; adkim=s; rua=mailto:agg@mon.example"))
    result = run(zone, "dmarc", "mon.example")
    assert checks(result)["dmarc.policy_none"] == "warn" and result.grade == "B"
    assert [r.value for r in result.publish] == [
        "v=DMARC1; p=quarantine; adkim=s; rua=mailto:agg@mon.example",
        "v=DMARC1; p=reject; adkim=s; rua=mailto:agg@mon.example"]
    assert checks(result)["dmarc.alignment_strict"] == "info"


def test_bad_tags_are_reported_precisely(zone: ZoneServer) -> None:
    """Invalid p, adkim, pct and a rua without scheme each get a finding with the offset."""
    text = "v=DMARC1; p=rejekt; adkim=x; pct=150; rua=dmarc@bad.example; foo=1; sp=none"
    zone.add("_dmarc.bad.example", "TXT", txt(text))
    result = run(zone, "dmarc", "bad.example")
    found = {(f.check, f.evidence.get("tag")): f for f in result.findings}
    p = found[("dmarc.bad_value", "p")]
    assert p.status == "fail" and p.evidence["offset"] == text.index("p=rejekt")
    assert found[("dmarc.bad_value", "adkim")].status == "warn"
    assert found[("dmarc.bad_value", "pct")].evidence["value"] == "150"
    assert "mailto:dmarc@bad.example" in found[("dmarc.bad_uri", "rua")].evidence["expected"]
    assert found[("dmarc.unknown_tag", "foo")].status == "info"
    assert checks(result)["dmarc.policy_absent"] == "fail"  # no valid p, no valid rua
    assert "p=rejekt" in result.findings[0].en and "p=rejekt" in result.findings[0].ja


def test_multiple_and_unversioned_records(zone: ZoneServer) -> None:
    """Two DMARC records fail (receivers discard both); 'v=dmarc1' is not a DMARC record."""
    zone.add("_dmarc.two.example", "TXT", txt("v=DMARC1; p=reject"), txt("v=DMARC1; p=none"))
    zone.add("_dmarc.case.example", "TXT", txt("v=dmarc1; p=reject"))
    two = run(zone, "dmarc", "two.example")
    assert checks(two)["dmarc.multiple"] == "fail" and "dmarc.missing" in checks(two)
    case = run(zone, "dmarc", "case.example")
    assert checks(case)["dmarc.version"] == "fail" and "dmarc.missing" in checks(case)
    sub = run(zone, "dmarc", "news.two.example")  # inherits nothing: the parent has two
    assert checks(sub)["dmarc.missing"] == "fail"
    parent = finding(sub, "dmarc.parent_multiple")
    assert parent["parent"] == "two.example" and parent["count"] == 2
    assert "dmarc.parent_multiple" not in checks(two)  # said once, as dmarc.multiple


def test_record_at_the_apex_is_the_wrong_location(zone: ZoneServer) -> None:
    """v=DMARC1 published at the domain itself is pointed out."""
    zone.add("apex.example", "TXT", txt("v=DMARC1; p=reject"))
    result = run(zone, "dmarc", "apex.example")
    assert checks(result)["dmarc.wrong_location"] == "warn"
    assert checks(result)["dmarc.missing"] == "fail"


def test_testing_modes_and_weaker_subdomain_policies(zone: ZoneServer) -> None:
    """t=y, pct<100 and sp/np weaker than p are warnings; the fix record drops them."""
    zone.add("_dmarc.t.example", "TXT", txt("v=DMARC1; p=reject; t=y; sp=none; np=quarantine; "
                                            "rua=mailto:a@t.example"))
    zone.add("_dmarc.pct.example", "TXT", txt("v=DMARC1; p=quarantine; pct=20"))
    result = run(zone, "dmarc", "t.example")
    assert {k: v for k, v in checks(result).items() if v == "warn"} == {
        "dmarc.testing": "warn", "dmarc.sp_weaker": "warn", "dmarc.np_weaker": "warn"}
    assert [r.value for r in result.publish] == ["v=DMARC1; p=reject; rua=mailto:a@t.example"]
    pct = run(zone, "dmarc", "pct.example")
    assert checks(pct)["dmarc.pct_partial"] == "warn" and checks(pct)["dmarc.rua_missing"]


def test_external_rua_unauthorised(zone: ZoneServer) -> None:
    """A rua outside the organisation without the _report._dmarc record warns and publishes it."""
    zone.add("_dmarc.ext.example", "TXT",
             txt("v=DMARC1; p=reject; rua=mailto:agg@reports.vendor.example"))
    result = run(zone, "dmarc", "ext.example")
    evidence = finding(result, "dmarc.external_unauthorized")
    assert evidence["name"] == "ext.example._report._dmarc.reports.vendor.example"
    assert [(r.name, r.value) for r in result.publish] == [
        ("ext.example._report._dmarc.reports.vendor.example", "v=DMARC1")]


def test_external_rua_authorised(zone: ZoneServer) -> None:
    """The destination's v=DMARC1 record at DOMAIN._report._dmarc.DEST authorises it."""
    zone.add("_dmarc.auth.example", "TXT",
             txt("v=DMARC1; p=reject; rua=mailto:agg@reports.vendor.example; "
                 "ruf=mailto:f@auth.example"))
    zone.add("auth.example._report._dmarc.reports.vendor.example", "TXT", txt("v=DMARC1"))
    result = run(zone, "dmarc", "auth.example")
    assert checks(result)["dmarc.external_authorized"] == "pass"
    assert checks(result)["dmarc.ruf_present"] == "info"
    assert result.grade == "A" and result.publish == []


def test_authorisation_lookup_failure_is_unchecked(zone: ZoneServer) -> None:
    """SERVFAIL on the authorisation name is "could not check", not "unauthorised"."""
    zone.add("_dmarc.sf.example", "TXT", txt("v=DMARC1; p=reject; rua=mailto:a@r.other.example"))
    zone.servfail.add("sf.example._report._dmarc.r.other.example")
    result = run(zone, "dmarc", "sf.example")
    assert checks(result)["dmarc.external_unchecked"] == "unchecked" and result.grade == "C"
    assert "dmarc.external_unauthorized" not in checks(result)


def test_tree_walk_finds_the_organisational_domain(zone: ZoneServer) -> None:
    """A subdomain without a record inherits the org domain's sp, found by walking up."""
    zone.add("_dmarc.org.example", "TXT", txt("v=DMARC1; p=reject; sp=quarantine; "
                                              "rua=mailto:d@org.example"))
    zone.add("a.b.org.example", "A", "192.0.2.7")
    result = run(zone, "dmarc", "a.b.org.example")
    inherited = finding(result, "dmarc.inherited")
    assert inherited["policy_domain"] == "org.example" and inherited["policy"] == "quarantine"
    assert result.facts["org_domain"] == "org.example"
    assert dmarc_queries(zone) == ["_dmarc.a.b.org.example", "_dmarc.b.org.example",
                                   "_dmarc.org.example", "_dmarc.example"]
    assert "dmarc.rfc7489_differs" not in checks(result)  # the PSL agrees: org.example


def test_fewest_labels_wins_and_rfc7489_differs(zone: ZoneServer) -> None:
    """Records at mail.org2.example and org2.example: the org domain is org2.example (RFC 9989
    §4.10.2); a record only below the PSL org domain is invisible to RFC 7489 receivers."""
    zone.add("_dmarc.mail.org2.example", "TXT", txt("v=DMARC1; p=none"))
    zone.add("_dmarc.org2.example", "TXT", txt("v=DMARC1; p=reject"))
    result = run(zone, "dmarc", "x.mail.org2.example")
    assert finding(result, "dmarc.inherited")["policy_domain"] == "org2.example"
    zone.add("_dmarc.only.sub.org3.example", "TXT", txt("v=DMARC1; p=reject"))
    deep = run(zone, "dmarc", "x.only.sub.org3.example")
    assert finding(deep, "dmarc.inherited")["policy_domain"] == "only.sub.org3.example"
    differs = finding(deep, "dmarc.rfc7489_differs")
    assert differs["rfc7489"] == "no record"


def test_long_names_take_at_most_eight_queries(zone: ZoneServer) -> None:
    """A 12-label name is shortened to 7 labels after the first query (RFC 9989 §4.10)."""
    name = "a.b.c.d.e.f.g.h.i.j.mail.example"
    zone.add(name, "A", "192.0.2.8")
    run(zone, "dmarc", name)
    assert dmarc_queries(zone)[:8] == [
        f"_dmarc.{name}", "_dmarc.f.g.h.i.j.mail.example", "_dmarc.g.h.i.j.mail.example",
        "_dmarc.h.i.j.mail.example", "_dmarc.i.j.mail.example", "_dmarc.j.mail.example",
        "_dmarc.mail.example", "_dmarc.example"]
    assert len(set(dmarc_queries(zone))) == 8


def test_psd_records_stop_the_walk(zone: ZoneServer) -> None:
    """psd=n stops the walk at its domain; psd=y makes the name one below the org domain and
    lends its policy when the org domain has none."""
    zone.add("_dmarc.unit.example", "TXT", txt("v=DMARC1; p=quarantine; psd=n"))
    result = run(zone, "dmarc", "x.unit.example")
    assert "_dmarc.example" not in dmarc_queries(zone)
    assert result.facts["org_domain"] == "unit.example"
    zone.add("_dmarc.psd.test", "TXT", txt("v=DMARC1; p=reject; psd=y"))
    psd = run(zone, "dmarc", "a.city.psd.test")
    assert psd.facts["org_domain"] == "city.psd.test"
    assert finding(psd, "dmarc.inherited")["policy_domain"] == "psd.test"


def test_no_public_suffix_list(zone: ZoneServer, monkeypatch: pytest.MonkeyPatch,
                               tmp_path: Path) -> None:
    """Without a PSL the RFC 7489 comparison is skipped and said so."""
    monkeypatch.setenv("MAILWARDEN_PSL", str(tmp_path / "absent.dat"))
    zone.add("_dmarc.org4.example", "TXT", txt("v=DMARC1; p=reject"))
    result = run(zone, "dmarc", "sub.org4.example")
    assert checks(result)["dmarc.psl_unavailable"] == "info"


def test_dmarc_servfail_and_timeout_are_unchecked(zone: ZoneServer) -> None:
    """SERVFAIL or silence on _dmarc is "could not check" (grade C), never "missing"."""
    zone.servfail.add("_dmarc.sf2.example")
    zone.timeouts.add("_dmarc.slow.example")
    for domain in ("sf2.example", "slow.example"):
        result = run(zone, "dmarc", domain)
        assert checks(result) == {"dmarc.unchecked": "unchecked"} and result.grade == "C"
        assert result.publish == []


def test_walk_failure_above_is_unchecked(zone: ZoneServer) -> None:
    """No own record and the parent cannot be asked: unchecked, not missing."""
    zone.add("kid.parent5.example", "A", "192.0.2.9")
    zone.servfail.add("_dmarc.parent5.example")
    result = run(zone, "dmarc", "kid.parent5.example")
    assert checks(result)["dmarc.walk_unchecked"] == "unchecked"
    assert "dmarc.missing" not in checks(result)


# -- DKIM ----------------------------------------------------------------------------------


def test_dkim_key_sizes_and_types(zone: ZoneServer, keys: dict[str, str]) -> None:
    """RSA 2048 passes, 1024 warns, 512 fails; the given selectors and common ones are tried."""
    zone.add("google._domainkey.k.example", "TXT", txt(f"v=DKIM1; k=rsa; p={keys['rsa2048']}"))
    zone.add("old._domainkey.k.example", "TXT", txt(f"v=DKIM1; p={keys['rsa1024']}"))
    zone.add("weak._domainkey.k.example", "TXT", txt(f"v=DKIM1; p={keys['rsa512']}"))
    result = run(zone, "dkim", "k.example", dkim_selectors=("old", "weak"))
    bits = {f.evidence["selector"]: (f.check, f.status, f.evidence["bits"])
            for f in result.findings if "bits" in f.evidence}
    assert bits == {"google": ("dkim.key", "pass", 2048),
                    "old": ("dkim.rsa_short", "warn", 1024),
                    "weak": ("dkim.rsa_weak", "fail", 512)}
    assert result.facts["selectors_found"] == ["google", "old", "weak"]
    assert result.facts["selectors_tried"][:2] == ["old", "weak"]


def test_dkim_ed25519_revoked_testing(zone: ZoneServer, keys: dict[str, str]) -> None:
    """Ed25519 passes (noted when alone), an empty p= is revoked, t=y is testing."""
    zone.add("ed._domainkey.e.example", "TXT", txt(f"v=DKIM1; k=ed25519; p={keys['ed25519']}"))
    zone.add("gone._domainkey.e.example", "TXT", txt("v=DKIM1; k=rsa; p="))
    zone.add("try._domainkey.e.example", "TXT",
             txt(f"v=DKIM1; t=y; k=ed25519; p={keys['ed25519']}"))
    result = run(zone, "dkim", "e.example", dkim_selectors=("ed", "gone", "try"))
    assert checks(result) == {"dkim.ed25519": "pass", "dkim.revoked": "info",
                              "dkim.testing": "warn", "dkim.ed25519_only": "info"}


def test_dkim_microsoft_style_cname_selector(zone: ZoneServer, keys: dict[str, str]) -> None:
    """selector1 as a CNAME into the provider's zone is followed to the key."""
    zone.add("selector1._domainkey.m365.example", "CNAME",
             "selector1-m365-example._domainkey.tenant.onmicrosoft.test.")
    zone.add("selector1-m365-example._domainkey.tenant.onmicrosoft.test", "TXT",
             txt(f"v=DKIM1; k=rsa; p={keys['rsa2048']}"))
    result = run(zone, "dkim", "m365.example")
    assert finding(result, "dkim.key")["selector"] == "selector1" and result.grade == "A"


def test_dkim_missing_selectors_say_what_was_tried(zone: ZoneServer) -> None:
    """Nothing under the tried selectors is info listing them; a given one missing warns;
    with no _domainkey name at all the domain publishes no key."""
    zone.add("unknown-sel._domainkey.hid.example", "TXT", txt("v=DKIM1; p="))
    hidden = run(zone, "dkim", "hid.example", dkim_selectors=("mine",))
    assert checks(hidden) == {"dkim.given_missing": "warn", "dkim.none_found": "info"}
    tried = finding(hidden, "dkim.none_found")["selectors"]
    assert isinstance(tried, list) and tried[0] == "mine" and set(COMMON_SELECTORS) <= set(tried)
    zone.add("nokeys.example", "A", "192.0.2.3")
    none = run(zone, "dkim", "nokeys.example")
    assert checks(none) == {"dkim.none_published": "warn"}


def test_dkim_no_domainkey_name_asks_only_the_first_selectors(zone: ZoneServer) -> None:
    """_domainkey.DOMAIN does not exist: nothing can exist below it (RFC 8020), so after it
    and the most common selectors the other common ones are not asked."""
    zone.add("bare.example", "A", "192.0.2.3")
    result = run(zone, "dkim", "bare.example", dkim_selectors=("mine",))
    assert checks(result) == {"dkim.given_missing": "warn", "dkim.none_published": "warn"}
    asked = {name for name, _type in zone.queries if name.endswith("_domainkey.bare.example")}
    assert asked == {"_domainkey.bare.example", "mine._domainkey.bare.example"} | {
        f"{s}._domainkey.bare.example" for s in FIRST_SELECTORS}
    assert set(result.facts["selectors_tried"]) == {"mine", *FIRST_SELECTORS}


def test_dkim_wrong_nxdomain_for_domainkey_still_asks_all(zone: ZoneServer,
                                                          keys: dict[str, str]) -> None:
    """A server that answers NXDOMAIN for _domainkey.DOMAIN although keys exist below it
    (an old bug): a key under a first selector shows the answer is wrong, and every common
    selector is asked."""
    zone.add("k1._domainkey.odd.example", "TXT", txt(f"v=DKIM1; k=rsa; p={keys['rsa2048']}"))
    zone.add("mandrill._domainkey.odd.example", "TXT",
             txt(f"v=DKIM1; k=rsa; p={keys['rsa2048']}"))
    zone.broken_nxdomain.add("_domainkey.odd.example")
    result = run(zone, "dkim", "odd.example")
    assert result.facts["selectors_found"] == ["k1", "mandrill"]
    assert set(result.facts["selectors_tried"]) == set(COMMON_SELECTORS)


def test_dkim_bad_records(zone: ZoneServer, keys: dict[str, str]) -> None:
    """Duplicate tags, a wrong version, a broken key, SHA-1 only and k= mismatches fail."""
    rsa = keys["rsa2048"]
    records = {"dup": f"v=DKIM1; p={rsa}; p={rsa}", "ver": f"v=DKIM2; p={rsa}",
               "junk": "v=DKIM1; p=bm90IGEga2V5", "sha": f"v=DKIM1; h=sha1; p={rsa}",
               "mis": f"v=DKIM1; k=ed25519; p={rsa}"}
    for selector, value in records.items():
        zone.add(f"{selector}._domainkey.bad.example", "TXT", txt(value))
    result = run(zone, "dkim", "bad.example", dkim_selectors=tuple(records))
    by = {(f.evidence["selector"], f.check): f.status for f in result.findings}
    assert by[("dup", "dkim.duplicate_tag")] == "fail"
    assert by[("ver", "dkim.version")] == "fail"
    assert by[("junk", "dkim.key_invalid")] == "fail"
    assert by[("sha", "dkim.sha1_only")] == "warn"
    assert by[("mis", "dkim.key_mismatch")] == "fail"


def test_dkim_dns_failures_are_unchecked(zone: ZoneServer) -> None:
    """A given selector that times out is unchecked; all selectors failing is unchecked."""
    zone.timeouts.add("slow._domainkey.t.example")
    zone.add("t.example", "A", "192.0.2.4")
    result = run(zone, "dkim", "t.example", dkim_selectors=("slow",))
    assert checks(result)["dkim.unchecked"] == "unchecked"
    assert "dkim.given_missing" not in checks(result)
    for selector in COMMON_SELECTORS:
        zone.servfail.add(f"{selector}._domainkey.sf.example")
    allfail = run(zone, "dkim", "sf.example")
    assert checks(allfail) == {"dkim.unchecked": "unchecked"} and allfail.grade == "C"


# -- MX ------------------------------------------------------------------------------------


def ptr(zone: ZoneServer, address: str, name: str) -> None:
    zone.add(str(reversename.from_address(address)).rstrip("."), "PTR", f"{name}.")


def test_good_mx_with_fcrdns(zone: ZoneServer) -> None:
    """Two MX hosts with A/AAAA whose PTRs resolve back grade A."""
    zone.add("mx.example", "MX", "10 mx1.mx.example.", "20 mx2.mx.example.")
    zone.add("mx1.mx.example", "A", "192.0.2.25")
    zone.add("mx1.mx.example", "AAAA", "2001:db8::25")
    zone.add("mx2.mx.example", "A", "198.51.100.25")
    ptr(zone, "192.0.2.25", "mx1.mx.example")
    ptr(zone, "2001:db8::25", "mx1.mx.example")
    ptr(zone, "198.51.100.25", "mx2.mx.example")
    result = run(zone, "mx", "mx.example")
    assert result.grade == "A", checks(result)
    assert len(finding(result, "mx.fcrdns")["pairs"]) == 3  # type: ignore[arg-type]
    assert finding(result, "mx.found")["hosts"] == ["mx1.mx.example", "mx2.mx.example"]


def test_null_mx(zone: ZoneServer) -> None:
    """A null MX (RFC 7505) passes; mixed with another MX it fails."""
    zone.add("null.example", "MX", "0 .")
    assert checks(run(zone, "mx", "null.example")) == {"mx.null": "pass"}
    zone.add("mixed.example", "MX", "0 .", "10 mx.mixed.example.")
    zone.add("mx.mixed.example", "A", "192.0.2.26")
    ptr(zone, "192.0.2.26", "mx.mixed.example")
    assert checks(run(zone, "mx", "mixed.example"))["mx.null_mixed"] == "fail"


def test_fcrdns_failures(zone: ZoneServer) -> None:
    """A PTR naming a host that does not resolve back, and a missing PTR, both warn."""
    zone.add("rev.example", "MX", "10 mx.rev.example.")
    zone.add("mx.rev.example", "A", "192.0.2.30", "192.0.2.31")
    ptr(zone, "192.0.2.30", "other.rev.example")
    zone.add("other.rev.example", "A", "192.0.2.99")
    result = run(zone, "mx", "rev.example")
    assert finding(result, "mx.ptr_mismatch")["names"] == ["other.rev.example"]
    assert finding(result, "mx.ptr_missing")["address"] == "192.0.2.31"
    assert "mx.fcrdns" not in checks(result) and result.grade == "B"


def test_mx_targets_that_are_wrong(zone: ZoneServer) -> None:
    """MX pointing at an IP, at a CNAME, or at a host without address."""
    zone.add("ip.example", "MX", "10 192.0.2.40.")
    assert checks(run(zone, "mx", "ip.example"))["mx.ip_literal"] == "fail"
    zone.add("cn.example", "MX", "10 alias.cn.example.")
    zone.add("alias.cn.example", "CNAME", "real.cn.example.")
    zone.add("real.cn.example", "A", "192.0.2.41")
    ptr(zone, "192.0.2.41", "real.cn.example")
    cname = run(zone, "mx", "cn.example")
    assert finding(cname, "mx.cname")["target"] == "real.cn.example"
    zone.add("noaddr.example", "MX", "10 ghost.noaddr.example.")
    assert checks(run(zone, "mx", "noaddr.example"))["mx.no_address"] == "fail"


def test_no_mx(zone: ZoneServer) -> None:
    """No MX but an address warns (implicit MX); nothing at all suggests a null MX."""
    zone.add("web.example", "A", "192.0.2.50")
    assert checks(run(zone, "mx", "web.example")) == {"mx.implicit": "warn"}
    zone.add("_dmarc.bare.example", "TXT", txt("v=DMARC1; p=reject"))
    zone.add("bare.example", "TXT", txt("v=spf1 -all"))
    bare = run(zone, "mx", "bare.example")
    assert checks(bare) == {"mx.missing": "warn"}
    assert [(r.name, r.rtype, r.value) for r in bare.publish] == [("bare.example", "MX", "0 .")]
    assert checks(run(zone, "mx", "nowhere.example")) == {"mx.nxdomain": "fail"}


def test_mx_dns_failures_are_unchecked(zone: ZoneServer) -> None:
    """SERVFAIL on MX, a timeout on a host's address or on a PTR: unchecked, never missing."""
    zone.servfail.add("sfmx.example")
    assert checks(run(zone, "mx", "sfmx.example")) == {"mx.unchecked": "unchecked"}
    zone.add("slowptr.example", "MX", "10 mx.slowptr.example.")
    zone.add("mx.slowptr.example", "A", "192.0.2.60")
    zone.timeouts.add(str(reversename.from_address("192.0.2.60")).rstrip("."))
    result = run(zone, "mx", "slowptr.example")
    assert checks(result)["mx.ptr_unchecked"] == "unchecked" and result.grade == "C"
    assert "mx.ptr_missing" not in checks(result)
    zone.add("slowhost.example", "MX", "10 mx.slowhost.example.")
    zone.timeouts.add("mx.slowhost.example")
    host = run(zone, "mx", "slowhost.example")
    assert checks(host)["mx.address_unchecked"] == "unchecked"
    assert "mx.no_address" not in checks(host)


# -- hostile answers -----------------------------------------------------------------------


def test_hostile_answers_end_in_findings(zone: ZoneServer) -> None:
    """A huge record, bytes that are not ASCII and a CNAME loop end in clear findings."""
    zone.add("_dmarc.huge.example", "TXT", txt("v=DMARC1; p=reject; x=" + "a" * 9000))
    huge = run(zone, "dmarc", "huge.example")
    assert finding(huge, "dmarc.too_long")["value"] == str(len("v=DMARC1; p=reject; x=") + 9000)
    assert all(len(f.en) < 1000 and len(f.ja) < 1000 for f in huge.findings)
    zone.add("_dmarc.bytes.example", "TXT", '"v=DMARC1; p=reject; rua=mailto:d\\255@bytes.example"')
    raw = run(zone, "dmarc", "bytes.example")
    assert checks(raw)["dmarc.not_ascii"] == "warn" and checks(raw)["dmarc.bad_uri"] == "warn"
    zone.add("_dmarc.loop.example", "CNAME", "_dmarc.loop2.example.")
    zone.add("_dmarc.loop2.example", "CNAME", "_dmarc.loop.example.")
    zone.add("loop.example", "MX", "10 mx.loop.example.")
    zone.add("mx.loop.example", "CNAME", "mx.loop.example.")
    loop = run(zone, "dmarc", "loop.example")
    assert loop.grade in ("C", "F") and loop.findings
    assert run(zone, "mx", "loop.example").findings
