"""The MX area: MX records present (or a null MX, RFC 7505), each MX host a real host name (not
an address, not a CNAME, RFC 2181 §10.3) with A/AAAA records, and forward-confirmed reverse
DNS for each address (its PTR names resolve back to it).

``audit_mx(domain, ctx)`` is the area check the runner calls.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
from typing import Any

from dns import reversename

from mailwarden.audit.addresses import public
from mailwarden.audit.dns import valid_name
from mailwarden.audit.messages import note, render
from mailwarden.audit.model import AreaResult, AuditContext, Record

MAX_HOSTS = 10
MAX_ADDRESSES = 8
MAX_PTR_NAMES = 4
_HOST = re.compile(r"^[a-z0-9_]([a-z0-9\-_]{0,61}[a-z0-9_])?$")


def is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


async def audit_mx(domain: str, ctx: AuditContext) -> AreaResult:
    """Audit where mail for ``domain`` goes."""
    result = AreaResult("mx")
    answer = await ctx.dns.query(domain, "MX")
    if answer.status in ("unchecked", "invalid"):
        note(result, "mx.unchecked", "unchecked", domain=domain, reason=answer.reason)
    elif answer.status == "nxdomain":
        note(result, "mx.nxdomain", "fail", domain=domain)
    elif answer.status == "nodata":
        await _implicit(result, ctx.dns, domain)
    else:
        mxs = sorted((rr.preference, rr.exchange.to_text().rstrip(".").lower())
                     for rr in answer.rrs)
        result.facts["mx"] = [f"{p} {h or '.'}" for p, h in mxs]
        hosts = _null_mx(result, domain, mxs)
        await _hosts(result, ctx.dns, domain, hosts)
    return result


def _null_mx(result: AreaResult, domain: str, mxs: list[tuple[int, str]]) -> list[str]:
    """Findings about a null MX; returns the real hosts left to check."""
    nulls = [p for p, h in mxs if not h]
    hosts = list(dict.fromkeys(h for _, h in mxs if h))
    if nulls and hosts:
        note(result, "mx.null_mixed", "fail", domain=domain, mx=result.facts["mx"])
    elif nulls and nulls[0] != 0:
        note(result, "mx.null_preference", "warn", domain=domain, preference=nulls[0])
    elif nulls:
        note(result, "mx.null", "pass", domain=domain)
    return hosts


async def _implicit(result: AreaResult, dns: Any, domain: str) -> None:
    a, aaaa = await asyncio.gather(dns.query(domain, "A"), dns.query(domain, "AAAA"))
    addresses = [rr.address for rr in (*a.rrs, *aaaa.rrs)]
    if addresses:
        note(result, "mx.implicit", "warn", domain=domain, addresses=addresses)
    elif "unchecked" in (a.status, aaaa.status):
        note(result, "mx.unchecked", "unchecked", domain=domain,
             reason=a.reason or aaaa.reason)
    else:
        note(result, "mx.missing", "warn", domain=domain)
        en, ja = render("mx.null", domain=domain)
        result.publish.append(Record(domain, "MX", "0 .", en, ja))


async def _hosts(result: AreaResult, dns: Any, domain: str, hosts: list[str]) -> None:
    if not hosts:
        return
    note(result, "mx.found", "pass", domain=domain, hosts=hosts)
    if len(hosts) > MAX_HOSTS:
        note(result, "mx.too_many", "info", count=len(hosts), checked=MAX_HOSTS)
    parts = [AreaResult("mx") for _ in hosts[:MAX_HOSTS]]
    await asyncio.gather(*(_host(part, dns, domain, host)
                           for part, host in zip(parts, hosts, strict=False)))
    confirmed: list[str] = []
    for part in parts:
        result.findings.extend(part.findings)
        confirmed.extend(part.facts.get("confirmed", []))
    if confirmed and not any(f.check.startswith("mx.ptr_") for f in result.findings):
        note(result, "mx.fcrdns", "pass", pairs=confirmed)


async def _host(result: AreaResult, dns: Any, domain: str, host: str) -> None:
    if is_ip_literal(host):
        note(result, "mx.ip_literal", "fail", domain=domain, host=host)
        return
    if not valid_name(host) or not all(_HOST.match(x) for x in host.split(".")):
        note(result, "mx.invalid_host", "fail", domain=domain, host=host)
        return
    a, aaaa = await asyncio.gather(dns.query(host, "A"), dns.query(host, "AAAA"))
    target = a.canonical or aaaa.canonical
    if target:
        note(result, "mx.cname", "warn", host=host, target=target)
    addresses = [rr.address for rr in (*a.rrs, *aaaa.rrs)][:MAX_ADDRESSES]
    unchecked = [x for x in (a, aaaa) if x.status in ("unchecked", "invalid")]
    if unchecked:
        note(result, "mx.address_unchecked", "unchecked", host=host,
             rtype=[x.rtype for x in unchecked], reason=unchecked[0].reason)
    elif not addresses:
        note(result, "mx.no_address", "fail", host=host, a=a.status, aaaa=aaaa.status)
    for address in addresses:
        if not public(address):
            note(result, "mx.address_not_public", "warn", host=host, address=address)
    await asyncio.gather(*(_fcrdns(result, dns, host, addr) for addr in addresses))


async def _fcrdns(result: AreaResult, dns: Any, host: str, address: str) -> None:
    """Forward-confirmed reverse DNS: a PTR name of ``address`` has ``address`` again."""
    reverse = _reverse(address)
    ptr = await dns.query(reverse, "PTR")
    if ptr.status in ("unchecked", "invalid"):
        note(result, "mx.ptr_unchecked", "unchecked", address=address, reason=ptr.reason)
        return
    names = [rr.target.to_text().rstrip(".").lower() for rr in ptr.rrs][:MAX_PTR_NAMES]
    if not names:
        note(result, "mx.ptr_missing", "warn", address=address, host=host, name=reverse)
        return
    rtype = "AAAA" if ":" in address else "A"
    answers = await asyncio.gather(*(dns.query(n, rtype) for n in names))
    canonical = ipaddress.ip_address(address)
    for name, answer in zip(names, answers, strict=True):
        if any(ipaddress.ip_address(rr.address) == canonical for rr in answer.rrs):
            result.facts.setdefault("confirmed", []).append(f"{address} → {name}")
            return
    if all(x.status == "unchecked" for x in answers):
        note(result, "mx.ptr_unchecked", "unchecked", address=address,
             reason=answers[0].reason)
        return
    note(result, "mx.ptr_mismatch", "warn", address=address, host=host, names=names)


def _reverse(address: str) -> str:
    return str(reversename.from_address(address)).rstrip(".")
