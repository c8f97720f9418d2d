"""The BIMI area (basic): the ``default._bimi`` TXT record (``v=BIMI1; l=https://.../logo.svg;
a=https://.../vmc.pem``), looked up at the domain and then at its Organizational Domain, and
the DMARC policy BIMI requires: receivers show a logo only for mail under a DMARC policy at
enforcement (quarantine or reject, applied to all mail; at the Organizational Domain too, with
``sp`` not ``none``). The DMARC policy is read with the DMARC area's own discovery.

The logo and the certificate are not downloaded or verified. ``audit_bimi(domain, ctx)`` is
the area check the runner calls.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mailwarden.audit.dmarc_discovery import Discovery, discover
from mailwarden.audit.dmarc_record import Problem, decode_txt, parse_uri, split_tags
from mailwarden.audit.messages import note
from mailwarden.audit.model import AreaResult, AuditContext

SELECTOR = "default"
KNOWN = ("v", "l", "a", "avp")
ENFORCED = ("quarantine", "reject")


@dataclass
class BimiRecord:
    text: str
    is_bimi: bool = False
    tags: dict[str, str] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    @property
    def location(self) -> str:
        return self.tags.get("l", "")

    @property
    def evidence(self) -> str:
        return self.tags.get("a", "")

    @property
    def declined(self) -> bool:
        """``l=`` and ``a=`` both empty: the domain asks receivers to show no logo."""
        return self.is_bimi and not self.location and not self.evidence


def is_bimi_text(text: str) -> bool:
    parts = split_tags(text)
    return bool(parts) and parts[0][0] == "v" and parts[0][1] == "BIMI1"


def parse_bimi(text: str) -> BimiRecord:
    """Parse one TXT string published at ``default._bimi.<domain>``; never raises."""
    record = BimiRecord(text)
    parts = split_tags(text[:4096])
    if not is_bimi_text(text[:4096]):
        found = parts[0][1] if parts and parts[0][0] == "v" else ""
        record.problems.append(Problem("version", "v", found[:40], 0, "v=BIMI1 first"))
        return record
    record.is_bimi = True
    for name, value, offset, problem in parts[1:]:
        if problem is not None:
            record.problems.append(problem)
        elif name in record.tags:
            record.problems.append(Problem("duplicate_tag", name, value[:80], offset))
        else:
            record.tags[name] = value
            _check(record, name, value, offset)
    return record


def _check(record: BimiRecord, name: str, value: str, offset: int) -> None:
    if name not in KNOWN:
        record.problems.append(Problem("unknown_tag", name, value[:80], offset))
    elif name == "avp" and value.lower() not in ("brand", "personal"):
        record.problems.append(Problem("bad_value", name, value[:80], offset,
                                       "brand | personal"))
    elif name in ("l", "a") and value:
        for raw in value.split(","):
            _uri(record, name, raw.strip(" \t"), offset)


def _uri(record: BimiRecord, name: str, raw: str, offset: int) -> None:
    uri = parse_uri(raw)
    if uri.scheme != "https" or not uri.address.startswith("//") or not uri.host:
        record.problems.append(Problem("not_https", name, raw[:120], offset, "https://..."))
    elif name == "l" and not uri.address.split("?", 1)[0].lower().endswith(".svg"):
        record.problems.append(Problem("not_svg", name, raw[:120], offset, ".svg"))


PROBLEMS = {
    "version": ("bimi.version", "fail"), "tag_syntax": ("bimi.tag_syntax", "fail"),
    "duplicate_tag": ("bimi.duplicate_tag", "fail"), "unknown_tag": ("bimi.unknown_tag", "info"),
    "bad_value": ("bimi.bad_value", "warn"), "not_https": ("bimi.not_https", "fail"),
    "not_svg": ("bimi.not_svg", "warn"),
}


async def audit_bimi(domain: str, ctx: AuditContext) -> AreaResult:
    """Audit the BIMI record of ``domain`` and the DMARC policy it depends on."""
    result = AreaResult("bimi")
    found = await discover(ctx.dns, domain)
    names = list(dict.fromkeys([f"{SELECTOR}._bimi.{domain}",
                                f"{SELECTOR}._bimi.{found.org_domain}"]))
    for name in names:
        answer = await ctx.dns.query(name, "TXT")
        if answer.status in ("unchecked", "invalid"):
            note(result, "bimi.unchecked", "unchecked", domain=domain, name=name,
                 reason=answer.reason)
            return result
        texts = [decode_txt(t)[0] for t in answer.texts()]
        candidates = [t for t in texts if t.lstrip(" \t").lower().startswith("v=bimi")]
        if candidates:
            result.facts["record_name"] = name
            _records(result, domain, name, candidates, found)
            return result
    note(result, "bimi.missing", "info", domain=domain, names=names)
    return result


def _records(result: AreaResult, domain: str, name: str, texts: list[str],
             found: Discovery) -> None:
    if len(texts) > 1:
        note(result, "bimi.multiple", "fail", name=name, count=len(texts),
             records=[t[:120] for t in texts])
        return
    record = parse_bimi(texts[0])
    result.facts["record"] = record.text[:500]
    if not name.endswith(f"._bimi.{domain}"):
        note(result, "bimi.inherited", "info", domain=domain, name=name)
    for problem in record.problems:
        check, status = PROBLEMS[problem.code]
        note(result, check, status, name=name, tag=problem.tag, value=problem.value,
             offset=problem.offset, expected=problem.expected)
    if not record.is_bimi:
        return
    if record.declined:
        note(result, "bimi.declined", "info", domain=domain, name=name)
        return
    _contents(result, name, record)
    _dmarc(result, domain, found)


def _contents(result: AreaResult, name: str, record: BimiRecord) -> None:
    if not record.location:
        note(result, "bimi.location_missing", "fail", name=name)
    if not record.evidence:
        note(result, "bimi.evidence_missing", "warn", name=name)
    elif not any(p.tag == "a" for p in record.problems):
        note(result, "bimi.evidence_found", "info", evidence=record.evidence)
    if record.location and not any(p.code in ("not_https", "tag_syntax", "duplicate_tag")
                                   for p in record.problems):
        note(result, "bimi.found", "pass", name=name, record=record.text,
             location=record.location)


def dmarc_enforcement(found: Discovery) -> dict[str, Any]:
    """What BIMI needs from DMARC, from the DMARC discovery of the domain: the policy that
    applies, whether it is applied to all mail, and the Organizational Domain's p and sp."""
    step = found.policy_step
    record = step.record if step is not None else None
    if step is None or record is None:
        return {"policy": "absent", "partial": "", "org_policy": "", "org_sp": ""}
    inherited = step is not found.own
    policy = record.subdomain_policy if inherited else record.policy
    partial = "t=y" if record.t == "y" else (
        f"pct={record.pct}" if record.pct is not None and record.pct < 100 else "")
    org = found.step_for(found.org_domain)
    org_record = org.record if org is not None else None
    return {"policy": policy, "partial": partial, "policy_domain": step.domain,
            "org_policy": org_record.policy if org_record else "",
            "org_sp": (org_record.sp or "") if org_record else ""}


def _dmarc(result: AreaResult, domain: str, found: Discovery) -> None:
    if found.own.status in ("unchecked", "invalid") or (
            found.policy_step is None and found.unchecked):
        note(result, "bimi.dmarc_unchecked", "unchecked", domain=domain)
        return
    facts = dmarc_enforcement(found)
    result.facts["dmarc"] = facts
    if facts["policy"] not in ENFORCED or facts["partial"]:
        how = f"p={facts['policy']}" + (f", {facts['partial']}" if facts["partial"] else "")
        note(result, "bimi.dmarc_not_enforced", "fail", domain=domain, policy=facts["policy"],
             partial=facts["partial"], how=how)
    elif facts["org_policy"] and (facts["org_policy"] not in ENFORCED
                                  or facts["org_sp"] == "none"):
        note(result, "bimi.dmarc_org_weak", "fail", org=found.org_domain,
             p=facts["org_policy"], sp=facts["org_sp"] or "-")
    else:
        note(result, "bimi.dmarc_ok", "pass", domain=domain, policy=facts["policy"])
