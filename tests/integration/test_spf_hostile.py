"""Hostile DNS answers end in a clear SPF result and a clear audit finding, quickly: include
and redirect loops, deep and wide include trees, huge TXT records, CNAME chains and loops,
invalid UTF-8, malformed replies, SERVFAIL and a nameserver that never answers. All of it is
served by a real DNS server on loopback."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Iterator

import pytest
from dnslib import MX, PTR, QTYPE, RR, TXT, DNSLabel
from hypothesis import given, settings
from hypothesis import strategies as st
from mailstack.common import LOOPBACK
from mailstack.dns import ZoneServer

from mailwarden.audit.dns import DnsClient
from mailwarden.audit.model import AreaResult, AuditContext
from mailwarden.audit.spf import audit_spf
from mailwarden.audit.spf_eval import RESULTS, SpfResult, check_host

BOUND = 10.0  # seconds: every case must end well within this


@pytest.fixture
def zone() -> Iterator[ZoneServer]:
    """A DNS server on loopback serving what the test adds."""
    with ZoneServer() as server:
        yield server


def _client(address: str, timeout: float = 0.5) -> DnsClient:
    return DnsClient.from_option(address, timeout=timeout, retries=1)


def check(zone: ZoneServer, ip: str, domain: str, **options: float) -> SpfResult:
    """check_host() against the zone, asserting it ends within BOUND seconds."""
    start = time.monotonic()
    found = asyncio.run(check_host(ip, domain, f"user@{domain}", domain, _client(zone.address),
                                   **options))
    assert time.monotonic() - start < BOUND
    return found


def audit(zone: ZoneServer, domain: str) -> AreaResult:
    """audit_spf() against the zone, asserting it ends within BOUND seconds."""
    start = time.monotonic()
    result = asyncio.run(audit_spf(domain, AuditContext(_client(zone.address))))
    assert time.monotonic() - start < BOUND
    return result


def checks(result: AreaResult) -> dict[str, str]:
    return {f.check: f.status for f in result.findings}


def txt(zone: ZoneServer, name: str, *strings: bytes, rtype: str = "TXT") -> None:
    zone.add_rr(RR(DNSLabel(name), getattr(QTYPE, rtype), rdata=TXT(list(strings)), ttl=60))


def test_include_loop(zone: ZoneServer) -> None:
    """Two records including each other: permerror at the lookup limit; the audit says loop."""
    zone.add("a.example", "TXT", '"v=spf1 include:b.example -all"')
    zone.add("b.example", "TXT", '"v=spf1 include:a.example -all"')
    found = check(zone, "192.0.2.1", "a.example")
    assert found.result == "permerror" and found.lookups == 11
    assert "at most 10" in found.reasons[-1].en
    assert checks(audit(zone, "a.example"))["spf.loop"] == "fail"


def test_redirect_to_itself(zone: ZoneServer) -> None:
    """A record redirecting to itself ends in permerror, not recursion."""
    zone.add("self.example", "TXT", '"v=spf1 redirect=self.example"')
    assert check(zone, "192.0.2.1", "self.example").result == "permerror"
    assert "spf.loop" in checks(audit(zone, "self.example"))


def test_deep_include_chain(zone: ZoneServer) -> None:
    """A chain of 60 includes stops at the 11th lookup; the audit's walk stops at its bound."""
    for i in range(60):
        zone.add(f"d{i}.example", "TXT", f'"v=spf1 include:d{i + 1}.example -all"')
    found = check(zone, "192.0.2.1", "d0.example")
    assert found.result == "permerror"
    assert len([q for q in zone.queries if q[1] == "TXT"]) <= 12
    result = audit(zone, "d0.example")
    assert checks(result)["spf.too_many_lookups"] == "fail"
    assert "spf.walk_truncated" in checks(result)


def test_wide_include_tree(zone: ZoneServer) -> None:
    """200 includes in one record: permerror, and the audit asks a bounded number of names."""
    terms = " ".join(f"include:w{i}.example" for i in range(200))
    txt(zone, "wide.example", *(chunk.encode() for chunk in _chunks(f"v=spf1 {terms} -all")))
    for i in range(200):
        zone.add(f"w{i}.example", "TXT", '"v=spf1 a -all"')
    assert check(zone, "192.0.2.1", "wide.example").result == "permerror"
    before = len(zone.queries)
    result = audit(zone, "wide.example")
    assert len(zone.queries) - before < 200
    assert checks(result)["spf.too_many_lookups"] == "fail"


def _chunks(text: str, size: int = 255) -> list[str]:
    return [text[i:i + size] for i in range(0, len(text), size)]


def test_huge_txt_record(zone: ZoneServer) -> None:
    """A 30 kB record is evaluated (over TCP if need be) and flagged as too long."""
    terms = " ".join(f"ip4:10.{i // 250}.{i % 250}.1" for i in range(2200))
    record = f"v=spf1 {terms} ip4:192.0.2.99 -all"
    txt(zone, "huge.example", *(c.encode() for c in _chunks(record)))
    assert len(record) > 30_000
    found = check(zone, "192.0.2.99", "huge.example")
    assert found.result == "pass" and found.mechanism == "ip4:192.0.2.99"
    assert checks(audit(zone, "huge.example"))["spf.too_long"] == "warn"


def test_many_txt_records(zone: ZoneServer) -> None:
    """Hundreds of unrelated TXT records around the SPF record do not confuse selection."""
    for i in range(300):
        zone.add("busy.example", "TXT", f'"site-verification={i:040d}"')
    zone.add("busy.example", "TXT", '"v=spf1 ip4:192.0.2.0/24 -all"')
    assert check(zone, "192.0.2.7", "busy.example").result == "pass"
    assert checks(audit(zone, "busy.example"))["spf.present"] == "pass"


def test_cname_chain_and_loop(zone: ZoneServer) -> None:
    """A 40-long CNAME chain and a CNAME loop end in a clear result, never a hang."""
    for i in range(40):
        zone.add(f"c{i}.example", "CNAME", f"c{i + 1}.example.")
    zone.add("c40.example", "TXT", '"v=spf1 -all"')
    zone.add("loop.example", "CNAME", "loop.example.")
    assert check(zone, "192.0.2.1", "c0.example").result in ("none", "temperror")
    assert check(zone, "192.0.2.1", "loop.example").result in ("none", "temperror")
    assert {"spf.missing", "spf.unchecked"} & set(checks(audit(zone, "loop.example")))


def test_invalid_utf8(zone: ZoneServer) -> None:
    """Invalid UTF-8 in the SPF record is a permerror naming the byte; other TXT is ignored."""
    txt(zone, "bad.example", b"v=spf1 a:\xff\xfe.example -all")
    txt(zone, "bad.example", b"\xc3\x28 not spf")
    found = check(zone, "192.0.2.1", "bad.example")
    assert found.result == "permerror" and "byte 0xFF" in found.reasons[-1].en
    result = audit(zone, "bad.example")
    assert checks(result)["spf.syntax"] == "fail"
    assert "0xFF" in next(f.en for f in result.findings if f.check == "spf.syntax")


def test_nameserver_never_answers(zone: ZoneServer) -> None:
    """No answer at all: temperror, and the audit says 'could not check', never 'missing'."""
    zone.timeouts.add("silent.example")
    found = check(zone, "192.0.2.1", "silent.example")
    assert found.result == "temperror"
    result = checks(audit(zone, "silent.example"))
    assert result.get("spf.unchecked") == "unchecked" and "spf.missing" not in result


def test_nothing_listening() -> None:
    """A nameserver address where nothing listens: temperror quickly."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((LOOPBACK, 0))  # bound, never read: queries vanish
        address = f"{LOOPBACK}:{sock.getsockname()[1]}"
        start = time.monotonic()
        found = asyncio.run(check_host("192.0.2.1", "example.com", "", "example.com",
                                       _client(address, 0.3)))
    assert found.result == "temperror" and time.monotonic() - start < BOUND


def test_servfail_in_an_include(zone: ZoneServer) -> None:
    """SERVFAIL for an included domain: temperror; the audit reports the target unchecked."""
    zone.add("top.example", "TXT", '"v=spf1 include:broken.example -all"')
    zone.servfail.add("broken.example")
    assert check(zone, "192.0.2.1", "top.example").result == "temperror"
    assert checks(audit(zone, "top.example"))["spf.target_unchecked"] == "unchecked"


def test_txt_without_strings(zone: ZoneServer) -> None:
    """A malformed TXT record with no strings at all: temperror, not a crash."""
    zone.add_rr(RR(DNSLabel("empty.example"), QTYPE.TXT, rdata=TXT([]), ttl=60))
    assert check(zone, "192.0.2.1", "empty.example").result == "temperror"
    assert checks(audit(zone, "empty.example"))["spf.unchecked"] == "unchecked"


def test_many_mx_hosts(zone: ZoneServer) -> None:
    """500 MX hosts: permerror without looking them all up; the audit flags it."""
    zone.add("mx.example", "TXT", '"v=spf1 mx -all"')
    for i in range(500):
        zone.add_rr(RR(DNSLabel("mx.example"), QTYPE.MX, rdata=MX(f"m{i}.example", i), ttl=60))
    assert check(zone, "192.0.2.1", "mx.example").result == "permerror"
    assert len([q for q in zone.queries if q[1] == "A"]) == 0
    assert checks(audit(zone, "mx.example"))["spf.mx_too_many"] == "fail"


def test_many_ptr_names(zone: ZoneServer) -> None:
    """300 PTR names: only the first 10 are validated."""
    zone.add("ptr.example", "TXT", '"v=spf1 ptr -all"')
    for i in range(300):
        zone.add_rr(RR(DNSLabel("1.2.0.192.in-addr.arpa"), QTYPE.PTR,
                       rdata=PTR(f"h{i}.ptr.example"), ttl=60))
    found = check(zone, "192.0.2.1", "ptr.example")
    assert found.result == "fail"
    assert len([q for q in zone.queries if q[1] == "A"]) <= 10
    assert "spf.ptr" in checks(audit(zone, "ptr.example"))


def test_macro_bomb(zone: ZoneServer) -> None:
    """Hundreds of macros over a long local part expand to a bounded name, quickly."""
    record = "v=spf1 exists:" + "%{l}." * 400 + "x.example -all"
    txt(zone, "macro.example", *(c.encode() for c in _chunks(record)))
    found = asyncio.run(check_host("192.0.2.1", "macro.example", "a" * 60 + "@macro.example",
                                   "h.example", _client(zone.address)))
    assert found.result == "fail"
    assert all(len(name) <= 253 for name, _ in zone.queries)


def test_whole_check_is_bounded_in_time(zone: ZoneServer) -> None:
    """A check whose answers are slower than its time limit ends in temperror at the limit."""
    zone.add("slow.example", "TXT", '"v=spf1 a:never.example -all"')
    zone.timeouts.add("never.example")
    start = time.monotonic()
    found = asyncio.run(check_host("192.0.2.1", "slow.example", "", "slow.example",
                                   _client(zone.address, 5.0), timeout=1.0))
    assert found.result == "temperror" and time.monotonic() - start < 3.0
    assert "longer than 1 s" in found.reasons[-1].en


FUZZ_TERMS = st.sampled_from([
    "a", "mx", "ptr", "-all", "~all", "?all", "include:f1.example", "include:f2.example",
    "redirect=f1.example", "exists:%{i}.f1.example", "a:%{l}.%{d}", "mx:%{o}/24//64",
    "ptr:%{h}", "exp=%{d}", "ip4:192.0.2.0/24", "ip6:2001:db8::/32", "a:nx%{i}.example",
    "exists:%{p}.f2.example", "-include:f2.example", "a:f1.example//0", "mx:f2.example/0"])
JUNK = st.none() | st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=20)


def test_any_record_gives_a_result(zone: ZoneServer) -> None:
    """Records made of random terms (valid or not) always evaluate to one of the 7 results,
    within the time bound, for IPv4 and IPv6 clients."""
    zone.add("f1.example", "TXT", '"v=spf1 include:f2.example a ?all"')
    zone.add("f2.example", "TXT", '"v=spf1 include:f1.example mx -all"')
    zone.add("f1.example", "A", "192.0.2.5")
    zone.add("f2.example", "MX", "10 f1.example.")

    @settings(max_examples=80, deadline=None)
    @given(st.lists(FUZZ_TERMS, max_size=12), JUNK,
           st.sampled_from(["192.0.2.5", "2001:db8::5", "203.0.113.1"]))
    def run(terms: list[str], junk: str | None, ip: str) -> None:
        record = " ".join(["v=spf1", *terms, *([junk] if junk else [])]).encode()
        with zone.lock:
            zone.records.pop(("fuzz.example", "TXT"), None)
        txt(zone, "fuzz.example", *(record[i:i + 255] for i in range(0, len(record), 255)))
        found = check(zone, ip, "fuzz.example")
        assert found.result in RESULTS

    run()
