"""The DANE area (RFC 7672, RFC 7671): TLSA records at ``_25._tcp.MXHOST`` for each MX host,
their usage/selector/matching-type sanity, and DNSSEC, without which senders ignore them.

For SMTP, DANE-EE(3) and DANE-TA(2) are the usages senders apply; PKIX-TA(0) and PKIX-EE(1)
are unusable (RFC 7672 §3.1.3). The selector is 0 (certificate) or 1 (public key), the
matching type 0 (full data), 1 (SHA-256, 32 bytes) or 2 (SHA-512, 64 bytes). A host whose
records are all unusable gets no DANE protection. Senders look up TLSA only when the MX answer
is DNSSEC-validated, and use it only when the TLSA answer is validated too.

``tlsa_problems`` judges one record and never raises; ``audit_dane(domain, ctx)`` is the area
check the runner calls.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from mailwarden.audit.dns_wire import ask
from mailwarden.audit.messages import note
from mailwarden.audit.model import AreaResult, AuditContext
from mailwarden.audit.mx_hosts import mx_hosts

USAGES = {0: "PKIX-TA", 1: "PKIX-EE", 2: "DANE-TA", 3: "DANE-EE"}
SELECTORS = {0: "Cert", 1: "SPKI"}
MATCHING = {0: "Full", 1: "SHA2-256", 2: "SHA2-512"}
DIGEST_SIZE = {1: 32, 2: 64}
# problems that make a record unusable for SMTP senders
UNUSABLE = ("pkix_usage", "bad_usage", "bad_selector", "bad_matching", "digest_length",
            "empty")


@dataclass(frozen=True)
class Tlsa:
    """The TLSA records of one name: ``ok`` (maybe none) or ``unchecked``."""

    status: str
    records: list[tuple[int, int, int, bytes]] = field(default_factory=list)
    validated: bool = False
    reason: str = ""


def tlsa_problems(usage: int, selector: int, mtype: int, data: bytes) -> list[str]:
    """What is wrong with one TLSA record for SMTP (codes; empty when it is sound)."""
    problems: list[str] = []
    if usage in (0, 1):
        problems.append("pkix_usage")
    elif usage not in USAGES:
        problems.append("bad_usage")
    if selector not in SELECTORS:
        problems.append("bad_selector")
    if mtype not in MATCHING:
        problems.append("bad_matching")
    elif mtype in DIGEST_SIZE and len(data) != DIGEST_SIZE[mtype]:
        problems.append("digest_length")
    elif mtype == 0 and not data:
        problems.append("empty")
    elif mtype == 0:
        problems.append("full_data")
    return problems


def describe(usage: int, selector: int, mtype: int) -> str:
    """``3 1 1 (DANE-EE SPKI SHA2-256)``."""
    names = (USAGES.get(usage, "?"), SELECTORS.get(selector, "?"), MATCHING.get(mtype, "?"))
    return f"{usage} {selector} {mtype} ({' '.join(names)})"


async def audit_dane(domain: str, ctx: AuditContext) -> AreaResult:
    """Audit the TLSA records of the MX hosts of ``domain``."""
    result = AreaResult("dane")
    mx = await mx_hosts(ctx.dns, domain)
    if not mx.checked:
        note(result, "dane.unchecked", "unchecked", name=domain, reason=mx.reason)
        return result
    hosts = list(mx.hosts) or ([] if mx.null or mx.status == "nxdomain" else [domain])
    if not hosts:
        note(result, "dane.no_mx", "info", domain=domain)
        return result
    names = [f"_25._tcp.{h}" for h in hosts]
    found = await asyncio.gather(*(tlsa_records(ctx.dns, n) for n in names))
    result.facts = {"mx_validated": mx.authenticated, "hosts": {}}
    with_tlsa = [_host(result, h, n, f) for h, n, f in zip(hosts, names, found, strict=True)]
    _summary(result, domain, hosts, with_tlsa, mx.authenticated)
    return result


async def tlsa_records(client: Any, name: str) -> Tlsa:
    """The TLSA records at ``name``. A reply dnspython refuses (a digest of the wrong length
    is a FormError to it, which reads as a timeout) is asked again and read from the wire."""
    answer = await client.query(name, "TLSA")
    if answer.status == "unchecked":
        reply = await ask(client, name, "TLSA")
        if reply is None or reply.rcode not in (0, 3):  # NOERROR, NXDOMAIN
            return Tlsa("unchecked", reason=answer.reason)
        records = [(r[0], r[1], r[2], r[3:]) for r in reply.of_type("TLSA") if len(r) >= 3]
        return Tlsa("ok", records, reply.ad)
    if answer.status == "invalid":
        return Tlsa("unchecked", reason=answer.reason)
    return Tlsa("ok", [(rr.usage, rr.selector, rr.mtype, bytes(rr.cert)) for rr in answer.rrs],
                answer.authenticated)


def _host(result: AreaResult, host: str, name: str, found: Tlsa) -> bool:
    """Findings for one MX host; True when it publishes TLSA records."""
    if found.status == "unchecked":
        note(result, "dane.unchecked", "unchecked", name=name, reason=found.reason)
        return False
    records = found.records
    result.facts["hosts"][host] = {"tlsa": [describe(*r[:3]) for r in records],
                                   "validated": found.validated}
    if not records:
        return False
    usable = 0
    for usage, selector, mtype, data in records:
        problems = tlsa_problems(usage, selector, mtype, data)
        usable += not any(p in UNUSABLE for p in problems)
        for problem in problems:
            status = "info" if problem == "full_data" else "warn"
            note(result, f"dane.{problem}", status, host=host, name=name,
                 record=describe(usage, selector, mtype), size=len(data))
    if not usable:
        note(result, "dane.all_unusable", "fail", host=host, name=name)
    elif not found.validated:
        note(result, "dane.not_validated", "fail", host=host, name=name)
    else:
        note(result, "dane.found", "pass", host=host, name=name,
             records=[describe(*r[:3]) for r in records])
    return True


def _summary(result: AreaResult, domain: str, hosts: list[str], with_tlsa: list[bool],
             mx_validated: bool) -> None:
    if not any(with_tlsa):
        if not any(f.status == "unchecked" for f in result.findings):
            check = "dane.missing" if mx_validated else "dane.needs_dnssec"
            note(result, check, "info", domain=domain, hosts=hosts)
        return
    if not mx_validated:
        note(result, "dane.mx_not_validated", "fail", domain=domain)
    without = [h for h, has in zip(hosts, with_tlsa, strict=True) if not has]
    checked = [h for h in without if h in result.facts["hosts"]]
    if checked:
        note(result, "dane.partial", "warn", domain=domain, hosts=checked)
