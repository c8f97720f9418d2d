"""The DNSSEC area: is the domain signed, and do validating resolvers accept its answers?

The answer comes from the resolver the audit asks (``--nameserver``, or the system's), which
must validate: the AD bit on its answer says "validated". Three outcomes matter:

- **validated**: the SOA answer for the domain carries AD;
- **unsigned**: no AD, no DNSKEY at the domain, no DS at its parent;
- **bogus**: the validating resolver answers SERVFAIL, while the same question asked with CD
  (checking disabled) is answered: the zone is there, its signatures do not validate, and
  every validating resolver (and so every receiver that validates) fails to resolve it.

Between them: DNSKEY records without a DS at the parent (an island: validators treat the zone
as unsigned; the DS to hand to the registrar is computed and listed), and a DS with no AD on
the answers (the resolver does not validate: nothing can be concluded).

``audit_dnssec(domain, ctx)`` is the area check the runner calls.
"""

from __future__ import annotations

import asyncio
from typing import Any

import dns.dnssec
import dns.name
import dns.rcode

from mailwarden.audit.dns_wire import ask
from mailwarden.audit.messages import note, render
from mailwarden.audit.model import AreaResult, AuditContext, Record

# RFC 8624 §3.1 (and RFC 9905 for SHA-1): algorithms not to sign with
DEPRECATED = {1: "RSAMD5", 3: "DSA", 5: "RSASHA1", 6: "DSA-NSEC3-SHA1",
              7: "RSASHA1-NSEC3-SHA1", 12: "ECC-GOST"}
SEP = 0x0001  # the DNSKEY flag of a key-signing key
MAX_KEYS = 16


async def audit_dnssec(domain: str, ctx: AuditContext) -> AreaResult:
    """Audit whether ``domain``'s answers validate."""
    result = AreaResult("dnssec")
    soa = await ctx.dns.query(domain, "SOA")
    if soa.status == "unchecked" and soa.reason == "SERVFAIL":
        await _servfail(result, ctx.dns, domain)
        return result
    if soa.status in ("unchecked", "invalid"):
        note(result, "dnssec.unchecked", "unchecked", domain=domain, reason=soa.reason)
        return result
    keys, ds = await asyncio.gather(ctx.dns.query(domain, "DNSKEY"),
                                    ctx.dns.query(domain, "DS"))
    result.facts = {"ad": soa.authenticated, "dnskey": keys.status, "ds": ds.status,
                    "algorithms": sorted({rr.algorithm for rr in keys.rrs})}
    if soa.authenticated:
        note(result, "dnssec.validated", "pass", domain=domain)
        _algorithms(result, keys.rrs)
    elif ds.ok:
        note(result, "dnssec.not_validating", "unchecked", domain=domain)
    elif keys.ok:
        _island(result, domain, keys.rrs)
    elif "unchecked" in (keys.status, ds.status):
        note(result, "dnssec.unchecked", "unchecked", domain=domain,
             reason=keys.reason or ds.reason)
    else:
        note(result, "dnssec.unsigned", "warn", domain=domain)
    return result


async def _servfail(result: AreaResult, client: Any, domain: str) -> None:
    """SERVFAIL from the resolver: bogus when the question is answered with CD set."""
    rcode = await unchecked_rcode(client, domain, "SOA")
    result.facts = {"servfail": True, "with_cd": rcode or "no answer"}
    if rcode in ("NOERROR", "NXDOMAIN"):
        note(result, "dnssec.bogus", "fail", domain=domain)
    else:
        note(result, "dnssec.unchecked", "unchecked", domain=domain,
             reason=f"SERVFAIL, and {rcode or 'no answer'} with checking disabled")


async def unchecked_rcode(client: Any, name: str, rtype: str) -> str:
    """The rcode (``NOERROR``, ``SERVFAIL``, ...) the client's resolver gives for ``name``
    with CD (checking disabled) set; "" when no server answered."""
    reply = await ask(client, name, rtype, cd=True)
    return "" if reply is None else dns.rcode.to_text(dns.rcode.Rcode.make(reply.rcode))


def _algorithms(result: AreaResult, keys: tuple[Any, ...]) -> None:
    weak = sorted({DEPRECATED[rr.algorithm] for rr in keys if rr.algorithm in DEPRECATED})
    if weak:
        note(result, "dnssec.algorithm_deprecated", "warn", algorithms=weak)


def _island(result: AreaResult, domain: str, keys: tuple[Any, ...]) -> None:
    """Signed, but the parent has no DS: list the DS of each key-signing key."""
    note(result, "dnssec.no_ds", "warn", domain=domain)
    _algorithms(result, keys)
    signing = [rr for rr in keys if rr.flags & SEP] or list(keys)
    owner = dns.name.from_text(domain)
    en, ja = render("dnssec.publish_ds", domain=domain)
    for key in signing[:MAX_KEYS]:
        ds = dns.dnssec.make_ds(owner, key, "SHA256")
        result.publish.append(Record(domain, "DS", ds.to_text(), en, ja))
