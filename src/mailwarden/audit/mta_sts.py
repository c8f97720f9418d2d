"""The MTA-STS area (RFC 8461): the ``_mta-sts`` TXT record, the policy fetched as a sender
fetches it (HTTPS to ``mta-sts.DOMAIN`` with a valid certificate for that name, no redirect,
status 200, ``text/plain``, at most 64 KiB), every policy field, and whether the ``mx``
patterns cover the domain's real MX hosts (in ``enforce`` mode a host they miss gets no mail
from senders that apply the policy).

``audit_mta_sts(domain, ctx)`` is the area check the runner calls.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from mailwarden.audit.dmarc_record import decode_txt
from mailwarden.audit.https_fetch import Fetched, fetch
from mailwarden.audit.messages import note, render
from mailwarden.audit.model import AreaResult, AuditContext, Record
from mailwarden.audit.mta_sts_record import (
    Policy,
    StsRecord,
    is_sts_text,
    mx_matches,
    parse_policy,
    parse_sts_record,
)
from mailwarden.audit.mx_hosts import MxHosts, mx_hosts

POLICY_PATH = "/.well-known/mta-sts.txt"
DAY = 86_400
WEEK = 7 * DAY
TXT_PROBLEMS = {
    "syntax": ("mta_sts.txt_syntax", "fail"), "id_syntax": ("mta_sts.id_syntax", "fail"),
    "id_missing": ("mta_sts.id_missing", "fail"),
    "duplicate_field": ("mta_sts.duplicate_field", "warn"),
    "unknown_field": ("mta_sts.unknown_field", "info"),
}
POLICY_PROBLEMS = {
    "line_syntax": ("mta_sts.policy_syntax", "warn"),
    "too_many_lines": ("mta_sts.policy_syntax", "warn"),
    "field_case": ("mta_sts.field_case", "warn"),
    "unknown_field": ("mta_sts.unknown_field", "info"),
    "duplicate_field": ("mta_sts.duplicate_field", "warn"),
    "bad_version": ("mta_sts.bad_value", "fail"), "bad_mode": ("mta_sts.bad_value", "fail"),
    "bad_max_age": ("mta_sts.bad_value", "fail"), "bad_mx": ("mta_sts.bad_mx", "warn"),
    "missing_field": ("mta_sts.missing_field", "fail"),
}
FETCH_ERRORS = {
    "no_address": ("mta_sts.host_missing", "fail"),
    "dns_unchecked": ("mta_sts.host_unchecked", "unchecked"),
    "private_address": ("mta_sts.private_address", "warn"),
    "connect": ("mta_sts.connect_failed", "fail"),
    "timeout": ("mta_sts.fetch_timeout", "unchecked"),
    "certificate": ("mta_sts.certificate_invalid", "fail"),
    "tls": ("mta_sts.tls_failed", "fail"),
    "http": ("mta_sts.http_invalid", "fail"),
}


async def audit_mta_sts(domain: str, ctx: AuditContext) -> AreaResult:
    """Audit the MTA-STS record and policy of ``domain``."""
    result = AreaResult("mta_sts")
    txt, mx = await asyncio.gather(ctx.dns.query(f"_mta-sts.{domain}", "TXT"),
                                   mx_hosts(ctx.dns, domain))
    result.facts = {"mx": list(mx.hosts), "policy_url": f"https://mta-sts.{domain}{POLICY_PATH}"}
    if txt.status in ("unchecked", "invalid"):
        note(result, "mta_sts.unchecked", "unchecked", domain=domain, reason=txt.reason)
        return result
    texts = [decode_txt(t)[0] for t in txt.texts()]
    records = [parse_sts_record(t) for t in texts if is_sts_text(t)]
    record = _record(result, domain, records)
    if records:
        policy = await _fetch_policy(result, domain, ctx)
    else:
        policy = await _unannounced_policy(result, domain, ctx)
        if policy is None:
            _missing(result, domain, mx)
            return result
        note(result, "mta_sts.txt_missing", "fail", domain=domain)
    if policy is not None:
        _audit_policy(result, domain, policy, mx)
    _publish(result, domain, record, policy, mx)
    return result


async def _unannounced_policy(result: AreaResult, domain: str,
                              ctx: AuditContext) -> Policy | None:
    """Without a TXT record, a policy served anyway (senders never fetch it). Anything else
    found at ``mta-sts.DOMAIN`` (a wildcard address, a web site's 404) is not reported."""
    if not await _policy_host_exists(ctx.dns, domain):
        return None
    scratch = AreaResult("mta_sts")
    policy = await _fetch_policy(scratch, domain, ctx)
    if policy is None or "version" not in policy.seen:
        return None
    result.findings.extend(scratch.findings)
    result.facts.update(scratch.facts)
    return policy


def _record(result: AreaResult, domain: str, records: list[StsRecord]) -> StsRecord | None:
    """Findings about the TXT records; the record when there is exactly one."""
    if len(records) > 1:
        note(result, "mta_sts.multiple", "fail", domain=domain, count=len(records),
             records=[r.text[:120] for r in records])
        return None
    if not records:
        return None
    record = records[0]
    result.facts["record"] = record.text[:500]
    for problem in record.problems:
        check, status = TXT_PROBLEMS.get(problem.code, ("mta_sts.txt_syntax", "fail"))
        note(result, check, status, domain=domain, where="TXT", field=problem.tag,
             value=problem.value, offset=problem.offset, expected=problem.expected)
    if record.valid:
        note(result, "mta_sts.found", "pass", domain=domain, record=record.text, id=record.id)
    return record


async def _policy_host_exists(dns: Any, domain: str) -> bool:
    """Without a TXT record, look for a policy only when its host has an address."""
    a, aaaa = await asyncio.gather(dns.query(f"mta-sts.{domain}", "A"),
                                   dns.query(f"mta-sts.{domain}", "AAAA"))
    return bool(a.ok or aaaa.ok)


def _missing(result: AreaResult, domain: str, mx: MxHosts) -> None:
    if mx.checked and not mx.hosts:  # no mail servers (or a null MX): nothing to protect
        note(result, "mta_sts.not_needed", "info", domain=domain)
        return
    note(result, "mta_sts.missing", "warn", domain=domain)
    _publish(result, domain, None, None, mx)


async def _fetch_policy(result: AreaResult, domain: str, ctx: AuditContext) -> Policy | None:
    """Fetch and read the policy; findings for every way the fetch can fail."""
    options = ctx.options
    host = f"mta-sts.{domain}"
    got = await fetch(ctx.dns, host, POLICY_PATH, options.https_port, options.ca_file,
                      options.timeout, allow_private=options.allow_private)
    result.facts["fetch"] = {"url": got.url, "address": got.address, "status": got.status,
                             "content_type": got.content_type[:100], "error": got.error,
                             "skipped": got.skipped}
    if got.skipped:
        note(result, "mta_sts.private_address", "warn", host=host, url=got.url,
             addresses=got.skipped)
    if got.error == "private_address":
        return None
    if got.error:
        check, status = FETCH_ERRORS[got.error]
        note(result, check, status, host=host, url=got.url, address=got.address,
             reason=got.reason)
        return None
    if not _http_ok(result, got):
        return None
    text = got.body.decode("utf-8", "replace")
    result.facts["policy"] = text[:2000]
    return parse_policy(text)


def _http_ok(result: AreaResult, got: Fetched) -> bool:
    if 300 <= got.status < 400:
        note(result, "mta_sts.redirect", "fail", url=got.url, http_status=got.status,
             location=got.headers.get("location", "")[:200])
        return False
    if got.status != 200:
        note(result, "mta_sts.http_status", "fail", url=got.url, http_status=got.status)
        return False
    if got.too_large:
        note(result, "mta_sts.too_large", "fail", url=got.url, limit=len(got.body))
        return False
    media = got.content_type.split(";", 1)[0].strip().lower()
    if media != "text/plain":
        note(result, "mta_sts.content_type", "fail", url=got.url,
             content_type=got.content_type[:100] or "(none)")
    return True


def _audit_policy(result: AreaResult, domain: str, policy: Policy, mx: MxHosts) -> None:
    for problem in policy.problems:
        check, status = POLICY_PROBLEMS[problem.code]
        note(result, check, status, domain=domain, where="policy", field=problem.tag,
             value=problem.value, line=problem.offset, expected=problem.expected)
    if policy.valid:
        note(result, "mta_sts.policy_found", "pass", mode=policy.mode, max_age=policy.max_age,
             mx=policy.mx or "-")
    if policy.mode is not None:
        status = {"enforce": "pass", "testing": "warn", "none": "warn"}[policy.mode]
        note(result, f"mta_sts.mode_{policy.mode}", status, domain=domain)
    if policy.max_age is not None and policy.max_age < WEEK and policy.mode != "none":
        status = "warn" if policy.max_age < DAY else "info"
        note(result, "mta_sts.max_age_short", status, max_age=policy.max_age,
             days=round(policy.max_age / DAY, 1))
    if policy.mode in ("enforce", "testing"):
        _match_mx(result, domain, policy, mx)


def _match_mx(result: AreaResult, domain: str, policy: Policy, mx: MxHosts) -> None:
    if not mx.checked:
        note(result, "mta_sts.mx_unchecked", "unchecked", domain=domain, reason=mx.reason)
        return
    if not mx.hosts or not policy.mx:
        return
    unmatched = [h for h in mx.hosts if not any(mx_matches(p, h) for p in policy.mx)]
    if unmatched:
        status = "fail" if policy.mode == "enforce" else "warn"
        note(result, "mta_sts.mx_unmatched", status, domain=domain, hosts=unmatched,
             patterns=policy.mx, mode=policy.mode)
    else:
        note(result, "mta_sts.mx_match", "pass", hosts=list(mx.hosts), patterns=policy.mx)
    unused = [p for p in policy.mx if not any(mx_matches(p, h) for h in mx.hosts)]
    if unused:
        note(result, "mta_sts.mx_unused", "info", patterns=unused, hosts=list(mx.hosts))


def suggested_policy(policy: Policy | None, hosts: tuple[str, ...]) -> str:
    """A policy that covers ``hosts``: the current patterns that match one of them, exact
    names for the others; ``enforce`` kept when already there, else ``testing`` first."""
    mode = "enforce" if policy is not None and policy.mode == "enforce" else "testing"
    max_age = WEEK
    if policy is not None and policy.max_age is not None and policy.max_age >= WEEK:
        max_age = policy.max_age
    patterns = [p for p in (policy.mx if policy else []) if any(mx_matches(p, h) for h in hosts)]
    patterns += [h for h in hosts if not any(mx_matches(p, h) for p in patterns)]
    lines = ["version: STSv1", f"mode: {mode}", *(f"mx: {p}" for p in dict.fromkeys(patterns)),
             f"max_age: {max_age}"]
    return "\r\n".join(lines) + "\r\n"


def _publish(result: AreaResult, domain: str, record: StsRecord | None,
             policy: Policy | None, mx: MxHosts) -> None:
    """The TXT record (with a new id) and the policy to serve, when something must change."""
    if not mx.hosts:
        return
    problems = any(f.status in ("fail", "warn") for f in result.findings
                   if f.check not in ("mta_sts.mode_testing", "mta_sts.max_age_short"))
    if record is not None and record.valid and not problems:
        return
    text = suggested_policy(policy, mx.hosts)
    result.facts["policy_to_serve"] = text
    new_id = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    sentence = "mta_sts.publish_new" if record is None and policy is None \
        else "mta_sts.publish_fix"
    en, ja = render(sentence, domain=domain, url=result.facts["policy_url"],
                    policy=" / ".join(text.strip().split("\r\n")))
    result.publish.append(Record(f"_mta-sts.{domain}", "TXT", f"v=STSv1; id={new_id}", en, ja))
