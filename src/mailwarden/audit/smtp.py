"""The SMTP area (``--probe-smtp``): connect to the domain's own mail servers and report
STARTTLS, the certificate, the TLS versions accepted, AUTH before TLS and, with
``--relay-test`` only, whether they relay for outsiders.

The servers are the domain's MX hosts by preference (the first :data:`MAX_HOSTS`), or the
domain itself when it has no MX but an address (RFC 5321 §5.1); never any other host, so the
relay test only ever touches the domain's own servers. Each host is probed on its first IPv4
and its first IPv6 address, on ``AuditOptions.smtp_port`` (25 unless a test says otherwise),
every host at the same time. Only public addresses are probed unless
``AuditOptions.allow_private``: a hostile domain whose MX is 127.0.0.1 or 10.0.0.1 must not
make the audit read banners and certificates of this network, nor find "open relays" that
only trust the auditing machine.

``audit_smtp(domain, ctx)`` is the area check the runner calls.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from mailwarden.audit.addresses import public
from mailwarden.audit.dns import valid_name
from mailwarden.audit.model import AreaResult, AuditContext
from mailwarden.audit.mx import is_ip_literal
from mailwarden.audit.smtp_judge import judge, summary
from mailwarden.audit.smtp_messages import note
from mailwarden.audit.smtp_probe import ProbeSettings, probe

MAX_HOSTS = 5


async def audit_smtp(domain: str, ctx: AuditContext) -> AreaResult:
    """Probe the mail servers of ``domain``."""
    result = AreaResult("smtp")
    hosts = await mail_hosts(result, ctx.dns, domain)
    options = ctx.options
    targets = await addresses(result, ctx.dns, hosts, options.allow_private)
    settings = ProbeSettings(domain, options.smtp_port, options.timeout, options.ca_file,
                             options.relay_test)
    seen = await asyncio.gather(*(probe(host, address, settings) for host, address in targets))
    answered = {s.host for s in seen if s.banner is not None}
    now = datetime.now(UTC)
    for observation in seen:
        judge(result, observation, now, reached_otherwise=observation.host in answered)
    result.facts["servers"] = [summary(s) for s in seen]
    if targets and not options.relay_test:
        note(result, "smtp.relay_not_tested", "info")
    return result


async def mail_hosts(result: AreaResult, dns: Any, domain: str) -> list[str]:
    """The hosts to probe: MX hosts by preference, or the domain itself without MX."""
    answer = await dns.query(domain, "MX")
    if answer.status in ("unchecked", "invalid"):
        note(result, "smtp.mx_unchecked", "unchecked", domain=domain, reason=answer.reason)
        return []
    if answer.status == "nxdomain":
        note(result, "smtp.no_hosts", "info", domain=domain, reason="NXDOMAIN")
        return []
    if answer.status == "nodata":
        return [domain]  # implicit MX: checked for addresses like any host
    ranked = sorted((rr.preference, rr.exchange.to_text().rstrip(".").lower())
                    for rr in answer.rrs)
    hosts = list(dict.fromkeys(h for _, h in ranked
                               if h and not is_ip_literal(h) and valid_name(h)))
    if not hosts:
        note(result, "smtp.no_hosts", "info", domain=domain,
             reason="null MX" if any(not h for _, h in ranked) else "no usable MX host")
    elif len(hosts) > MAX_HOSTS:
        note(result, "smtp.too_many_hosts", "info", domain=domain, count=len(hosts),
             checked=MAX_HOSTS)
    return hosts[:MAX_HOSTS]


async def addresses(result: AreaResult, dns: Any, hosts: list[str],
                    allow_private: bool = False) -> list[tuple[str, str]]:
    """(host, address) pairs: each host's first (public, unless ``allow_private``) IPv4 and
    IPv6 address; the non-public addresses left out are named in a finding."""
    answers = await asyncio.gather(*(_host_addresses(result, dns, h, allow_private)
                                     for h in hosts))
    return [pair for found in answers for pair in found]


async def _host_addresses(result: AreaResult, dns: Any, host: str,
                          allow_private: bool) -> list[tuple[str, str]]:
    a, aaaa = await asyncio.gather(dns.query(host, "A"), dns.query(host, "AAAA"))
    listed = [[rr.address for rr in answer.rrs] for answer in (a, aaaa)]
    if any(listed):
        usable = [[x for x in family if allow_private or public(x)] for family in listed]
        skipped = [x for family in listed for x in family if not (allow_private or public(x))]
        if skipped:
            note(result, "smtp.private_address", "warn", host=host, addresses=skipped[:4])
        return [(host, family[0]) for family in usable if family]
    failed = [x for x in (a, aaaa) if x.status in ("unchecked", "invalid")]
    if failed:
        note(result, "smtp.address_unchecked", "unchecked", host=host, reason=failed[0].reason)
    else:
        note(result, "smtp.no_address", "info", host=host)
    return []
