"""The SPF area of the audit: each finding id appears when (and only when) its condition holds,
with the record to publish, against a real DNS server on loopback."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from dnslib import QTYPE, RR, TXT, DNSLabel
from mailstack.dns import ZoneServer

from mailwarden.audit.dns import DnsClient
from mailwarden.audit.model import AreaResult, AuditContext
from mailwarden.audit.spf import audit_spf, txt_presentation, txt_strings

ZONE = """
mx-only.example. 300 IN MX 10 mail.mx-only.example.
mail.mx-only.example. 300 IN A 192.0.2.10
null-mx.example. 300 IN MX 0 .
a-only.example. 300 IN A 192.0.2.11
multi.example. 300 IN TXT "v=spf1 ip4:192.0.2.1 -all"
multi.example. 300 IN TXT "v=spf1 include:_spf.provider.example ~all"
syntax.example. 300 IN TXT "v=spf1 ip4:192.0.2.1 a:museum -all"
plus.example. 300 IN TXT "v=spf1 mx +all"
plus.example. 300 IN MX 10 mail.mx-only.example.
neutral.example. 300 IN TXT "v=spf1 ip4:192.0.2.0/24 ?all"
soft.example. 300 IN TXT "v=spf1 ip4:192.0.2.0/24 ~all"
strict.example. 300 IN TXT "v=spf1 ip4:192.0.2.0/24 include:_spf.provider.example -all"
_spf.provider.example. 300 IN TXT "v=spf1 ip4:198.51.100.0/24 -all"
noall.example. 300 IN TXT "v=spf1 ip4:192.0.2.0/24"
both.example. 300 IN TXT "v=spf1 ip4:192.0.2.0/24 redirect=_spf.provider.example -all"
after.example. 300 IN TXT "v=spf1 ip4:192.0.2.0/24 -all ip4:198.51.100.1"
redir.example. 300 IN TXT "v=spf1 redirect=_spf.soft.example"
_spf.soft.example. 300 IN TXT "v=spf1 ip4:203.0.113.0/24 ~all"
void2.example. 300 IN TXT "v=spf1 a:gone1.example a:gone2.example -all"
void3.example. 300 IN TXT "v=spf1 a:gone1.example mx:gone2.example exists:gone3.example -all"
ptr.example. 300 IN TXT "v=spf1 ptr -all"
macro.example. 300 IN TXT "v=spf1 exists:%{i}._spf.macro.example -all"
dep.example. 300 IN TXT "v=spf1 -all"
tmiss.example. 300 IN TXT "v=spf1 include:nothing.example -all"
nothing.example. 300 IN A 192.0.2.12
tmulti.example. 300 IN TXT "v=spf1 include:multi.example -all"
tsyntax.example. 300 IN TXT "v=spf1 include:syntax.example -all"
"""


@pytest.fixture(scope="module")
def zone() -> Iterator[ZoneServer]:
    """One DNS server for the module; each test uses its own names."""
    with ZoneServer() as server:
        server.zone(ZONE)
        many = " ".join(f"a:h{i}.lookups.example" for i in range(11))
        server.add("many.lookups.example", "TXT", f'"v=spf1 {many} -all"')
        near = " ".join(f"a:h{i}.lookups.example" for i in range(9))
        server.add("near.lookups.example", "TXT", f'"v=spf1 {near} -all"')
        for i in range(11):
            server.add(f"h{i}.lookups.example", "A", f"192.0.2.{100 + i}")
        long_terms = " ".join(f"ip4:10.0.{i}.0/24" for i in range(40))
        strings = [s.encode() for s in _chunks(f"v=spf1 {long_terms} +all")]
        server.add_rr(RR(DNSLabel("long.example"), QTYPE.TXT, rdata=TXT(strings), ttl=300))
        server.add_rr(RR(DNSLabel("dep.example"), 99, rdata=TXT([b"v=spf1 -all"]), ttl=300))
        yield server


def _chunks(text: str) -> list[str]:
    return [text[i:i + 255] for i in range(0, len(text), 255)]


@pytest.fixture
def run(zone: ZoneServer) -> object:
    """run(domain) -> AreaResult of audit_spf against the zone."""
    def audit(domain: str) -> AreaResult:
        dns = DnsClient.from_option(zone.address, timeout=1.0, retries=1)
        return asyncio.run(audit_spf(domain, AuditContext(dns)))
    return audit


def found(result: AreaResult) -> dict[str, str]:
    return {f.check: f.status for f in result.findings}


def test_missing_with_mx(run) -> None:
    """No record, MX present: spf.missing, and 'v=spf1 mx -all' naming the MX hosts."""
    result = run("mx-only.example")
    assert found(result) == {"spf.missing": "fail"}
    (record,) = result.publish
    assert (record.name, record.rtype, record.value) == ("mx-only.example", "TXT",
                                                         "v=spf1 mx -all")
    assert "mail.mx-only.example" in record.en and "mail.mx-only.example" in record.ja


@pytest.mark.parametrize("domain", ["null-mx.example", "a-only.example", "nx.example"])
def test_missing_without_mail_servers(run, domain: str) -> None:
    """No record and no MX (none, null MX, or no such domain): suggest 'v=spf1 -all'."""
    result = run(domain)
    assert found(result) == {"spf.missing": "fail"}
    assert [r.value for r in result.publish] == ["v=spf1 -all"]


def test_multiple(run) -> None:
    """Two records: spf.multiple, and one merged record to publish."""
    result = run("multi.example")
    assert found(result) == {"spf.multiple": "fail"}
    assert result.publish[0].value == \
        "v=spf1 ip4:192.0.2.1 include:_spf.provider.example -all"


def test_syntax(run) -> None:
    """An invalid term: spf.syntax naming it, in both languages; nothing guessed to publish."""
    result = run("syntax.example")
    assert found(result) == {"spf.syntax": "fail"}
    finding = result.findings[0]
    assert "a:museum" in finding.en and "a:museum" in finding.ja
    assert finding.evidence["term"] == "a:museum" and not result.publish


def test_plus_all(run) -> None:
    """'+all' fails, and the fixed record ends in '-all'."""
    result = run("plus.example")
    assert found(result)["spf.all_pass"] == "fail" and result.grade == "F"
    assert [r.value for r in result.publish] == ["v=spf1 mx -all"]


def test_neutral_and_softfail(run) -> None:
    """'?all' warns with a fix; '~all' is information only."""
    neutral = run("neutral.example")
    assert found(neutral)["spf.all_neutral"] == "warn"
    assert neutral.publish[0].value == "v=spf1 ip4:192.0.2.0/24 -all"
    soft = run("soft.example")
    assert found(soft)["spf.all_softfail"] == "info" and not soft.publish


def test_strict_record_is_clean(run) -> None:
    """A '-all' record within every limit grades A with its lookup count."""
    result = run("strict.example")
    assert found(result) == {"spf.present": "pass", "spf.all_fail": "pass",
                             "spf.lookups": "pass"}
    assert result.grade == "A" and result.facts["lookups"] == 1


def test_no_all(run) -> None:
    """No 'all' and no redirect: spf.no_all, and '-all' appended."""
    result = run("noall.example")
    assert found(result)["spf.no_all"] == "warn"
    assert result.publish[0].value == "v=spf1 ip4:192.0.2.0/24 -all"


def test_redirect_with_all_and_terms_after_all(run) -> None:
    """A redirect next to 'all' is unused; terms after 'all' are never evaluated."""
    both = run("both.example")
    assert found(both)["spf.redirect_with_all"] == "warn"
    assert both.publish[0].value == "v=spf1 ip4:192.0.2.0/24 -all"
    after = run("after.example")
    assert found(after)["spf.after_all"] == "warn" and not after.publish


def test_redirect_ending(run) -> None:
    """The policy's ending is read from the redirect target."""
    result = run("redir.example")
    softfail = next(f for f in result.findings if f.check == "spf.all_softfail")
    assert softfail.evidence["where"] == "_spf.soft.example"
    assert result.facts["lookups"] == 1


def test_void_lookups(run) -> None:
    """Names that do not exist: up to 2 warn, more fail."""
    assert found(run("void2.example"))["spf.void_lookups"] == "warn"
    result = run("void3.example")
    assert found(result)["spf.too_many_void_lookups"] == "fail"
    assert next(f for f in result.findings
                if f.check == "spf.too_many_void_lookups").evidence["count"] == 3


def test_ptr_and_macros(run) -> None:
    """ptr warns; macros are noted."""
    assert found(run("ptr.example"))["spf.ptr"] == "warn"
    assert found(run("macro.example"))["spf.macros"] == "info"


def test_lookup_counts(run) -> None:
    """11 lookups fail, 9 warn (near the limit of 10)."""
    assert found(run("many.lookups.example"))["spf.too_many_lookups"] == "fail"
    assert found(run("near.lookups.example"))["spf.lookups_near_limit"] == "warn"


def test_deprecated_rr(run) -> None:
    """A type-99 SPF record is flagged as retired."""
    assert found(run("dep.example"))["spf.deprecated_rr"] == "warn"


@pytest.mark.parametrize(("domain", "check"), [("tmiss.example", "spf.target_missing"),
                                               ("tmulti.example", "spf.target_multiple"),
                                               ("tsyntax.example", "spf.target_syntax")])
def test_broken_include_targets(run, domain: str, check: str) -> None:
    """An include pointing at no record, two records or an invalid one fails."""
    assert found(run(domain))[check] == "fail"


def test_long_record_fix_is_split(run) -> None:
    """A fix over 255 characters is the whole value, with how to split it into strings."""
    result = run("long.example")
    (record,) = result.publish
    assert len(record.value) > 255 and record.value.endswith(" -all")
    assert "255" in record.en and "255" in record.ja
    strings = txt_strings(record.value)
    assert len(strings) > 1 and all(len(s) <= 255 for s in strings)
    assert "".join(strings) == record.value
    assert txt_presentation(record.value) == '"' + '" "'.join(strings) + '"'
    assert txt_presentation('v=spf1 exp=a"b\\c') == '"v=spf1 exp=a\\"b\\\\c"'
