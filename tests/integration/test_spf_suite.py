"""RFC 7208 conformance: every test of the openspf suite (``spf/rfc7208-tests.yml`` under
``$MAILWARDEN_CORPORA``) passes, each section's zone data served by a real DNS server on
loopback and read through Mailwarden's own DNS client.

Zone data is served the way the suite's reference driver (pyspf's testspf.py) reads it:
``SPF`` records are served as type 99 and, unless the name lists TXT records of its own (or
``TXT: NONE``), also as TXT; ``TIMEOUT`` makes every question type not listed before it go
unanswered. One adaptation: a TXT record with no strings at all (``SPF: [ ]`` in the
``null-text`` test) cannot travel in a well-formed DNS message, and dnspython refuses the whole
reply; it is served as one empty string instead (test_spf_hostile.py checks that the truly
empty record ends in a clear temperror).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from dnslib import AAAA, CNAME, MX, PTR, QTYPE, RR, TXT, A, DNSLabel
from mailstack.common import strict_mode
from mailstack.dns import ZoneServer

from mailwarden.audit.dns import DnsClient
from mailwarden.audit.spf_eval import DEFAULT_EXPLANATION, SpfResult, check_host

ROOT = Path(__file__).resolve().parents[2]
CORPORA = Path(os.environ.get("MAILWARDEN_CORPORA", ROOT.parent / "shared" / "corpora"))
SUITE = CORPORA / "spf" / "rfc7208-tests.yml"
QUESTION_TYPES = frozenset(("A", "AAAA", "MX", "TXT", "SPF", "PTR", "CNAME"))
SPF_TYPE = 99


def _sections() -> list[dict[str, Any]]:
    if not SUITE.exists():
        return []
    with SUITE.open(encoding="utf-8") as handle:
        return [doc for doc in yaml.safe_load_all(handle) if doc]


SECTIONS = _sections()
CASES = [pytest.param(index, name, id=name)
         for index, section in enumerate(SECTIONS) for name in section["tests"]]


def _bytes(text: str) -> bytes:
    """The suite writes raw bytes as \\xNN escapes; keep them as those bytes."""
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError:
        return text.encode("utf-8")


def _rdata(rtype: str, value: Any) -> Any:
    if rtype in ("TXT", "SPF"):
        strings = [value] if isinstance(value, str) else list(value)
        return TXT([_bytes(s) for s in strings] or [b""])
    if rtype == "MX":
        preference, host = value
        return MX(host or ".", int(preference))
    return {"A": A, "AAAA": AAAA, "PTR": PTR, "CNAME": CNAME}[rtype](str(value))


def _add(zone: ZoneServer, name: str, rtype: str, value: Any) -> None:
    code = SPF_TYPE if rtype == "SPF" else getattr(QTYPE, rtype)
    zone.add_rr(RR(DNSLabel(name), code, rdata=_rdata(rtype, value), ttl=300))


def serve(zone: ZoneServer, zonedata: dict[str, list[Any]]) -> None:
    """Load one section's zone data into the server (see the module docstring)."""
    for name, entries in zonedata.items():
        key = name.lower().rstrip(".")
        own_txt = any(isinstance(e, dict) and "TXT" in e for e in entries)
        answered: set[str] = set()
        copies: list[Any] = []
        for entry in entries:
            if entry == "TIMEOUT":
                if answered:
                    zone.type_timeouts.update((key, t) for t in QUESTION_TYPES - answered)
                else:
                    zone.timeouts.add(key)
                copies = []
                break
            ((rtype, value),) = entry.items()
            if value == "NONE":  # no record of this type (and no TXT copy of SPF records)
                continue
            answered.add(rtype)
            _add(zone, name, rtype, value)
            if rtype == "SPF" and not own_txt:
                copies.append(value)
        for value in copies:
            _add(zone, name, "TXT", value)


@pytest.fixture(scope="module")
def zones() -> Iterator[Callable[[int], ZoneServer]]:
    """zones(section) -> the DNS server, serving that section's zone data (one server for the
    module; its data is swapped when the section changes)."""
    zone = ZoneServer().start()
    current: list[int] = []

    def get(index: int) -> ZoneServer:
        if current != [index]:
            with zone.lock:
                zone.records.clear()
                zone.timeouts.clear()
                zone.type_timeouts.clear()
                serve(zone, SECTIONS[index].get("zonedata") or {})
            current[:] = [index]
        return zone

    yield get
    zone.stop()


def _domain(case: dict[str, Any]) -> str:
    mailfrom = str(case.get("mailfrom") or "")
    return mailfrom.rpartition("@")[2] if "@" in mailfrom else str(case["helo"])


async def _run(zone: ZoneServer, case: dict[str, Any]) -> SpfResult:
    dns = DnsClient.from_option(zone.address, timeout=1.0, retries=0)
    return await check_host(str(case["host"]), _domain(case), str(case.get("mailfrom") or ""),
                            str(case["helo"]), dns)


def test_suite_present() -> None:
    """The conformance suite is there (a missing corpus fails under MAILWARDEN_STRICT=1)."""
    if not SECTIONS:
        message = f"corpus not found: {SUITE} (set MAILWARDEN_CORPORA)"
        if strict_mode():
            pytest.fail(message)
        pytest.skip(message)
    assert len(CASES) > 100


@pytest.mark.parametrize(("section", "name"), CASES)
def test_rfc7208(section: int, name: str, zones: Callable[[int], ZoneServer]) -> None:
    """The check_host() result (and the explanation, where given) is one the suite allows."""
    case = SECTIONS[section]["tests"][name]
    found = asyncio.run(_run(zones(section), case))
    allowed = case["result"] if isinstance(case["result"], list) else [case["result"]]
    trace = "\n".join(reason.en for reason in found.reasons)
    assert found.result in allowed, f"{name}: {found.result}, expected {allowed}\n{trace}"
    if "explanation" in case and found.result == "fail":
        want = case["explanation"]
        assert found.explanation == (DEFAULT_EXPLANATION if want == "DEFAULT" else want), trace
