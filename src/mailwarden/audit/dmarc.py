"""The DMARC area: discovery (RFC 9989 tree walk, RFC 7489 fallback), every tag of the record
that applies, the report destinations and their authorisation, alignment, and the rollout plan
none → quarantine → reject with the records to publish.

``audit_dmarc(domain, ctx)`` is the area check the runner calls.
"""

from __future__ import annotations

from typing import Any

from mailwarden.audit.dmarc_discovery import Discovery, Step, discover
from mailwarden.audit.dmarc_plan import RANK, rollout
from mailwarden.audit.dmarc_record import DmarcRecord, Problem, decode_txt, is_dmarc_text
from mailwarden.audit.dmarc_reports import check_reports
from mailwarden.audit.messages import note
from mailwarden.audit.model import AreaResult, AuditContext

# problem code -> finding status (bad/empty values of p, sp, np fail: receivers fall back)
PROBLEM_STATUS = {
    "too_long": "warn", "tag_syntax": "warn", "duplicate_tag": "warn", "bad_value": "warn",
    "empty_value": "warn", "bad_uri": "warn", "uri_size": "info", "unknown_tag": "info",
    "removed_tag": "info", "p_missing": "warn", "p_not_second": "warn",
    "fo_without_ruf": "info",
}
POLICY_TAGS = ("p", "sp", "np")
# findings that a clean record at the same policy would remove (the plan's "fix" record)
FIXABLE = {f"dmarc.{code}" for code, status in PROBLEM_STATUS.items() if status != "info"} | {
    "dmarc.not_ascii", "dmarc.testing", "dmarc.pct_partial", "dmarc.sp_weaker",
    "dmarc.np_weaker", "dmarc.rua_missing", "dmarc.psd_set"}


async def audit_dmarc(domain: str, ctx: AuditContext) -> AreaResult:
    """Audit the DMARC policy that applies to ``domain``."""
    result = AreaResult("dmarc")
    found = await discover(ctx.dns, domain)
    result.facts = _facts(found)
    own = found.own
    if own.status in ("unchecked", "invalid"):
        note(result, "dmarc.unchecked", "unchecked", domain=domain, reason=own.reason)
        return result
    _own_problems(result, own)
    if own.record is None:
        await _wrong_location(result, ctx.dns, domain)
    step = found.policy_step
    if step is None or step.record is None:
        _nothing_found(result, found)
        return result
    await _audit_record(result, ctx.dns, found, step, step.record)
    return result


def _facts(found: Discovery) -> dict[str, Any]:
    step = found.policy_step
    return {
        "walk": [s.to_dict() for s in found.steps],
        "org_domain": found.org_domain,
        "policy_domain": step.domain if step else None,
        "record": step.texts[0] if step and step.texts else None,
        "rfc7489_org_domain": found.rfc7489_domain,
        "public_suffix_list": found.psl_source or None,
    }


def _own_problems(result: AreaResult, own: Step) -> None:
    if own.status == "multiple":
        note(result, "dmarc.multiple", "fail", domain=own.domain, count=len(own.texts),
             records=own.texts)
    for text in own.other:  # a stray broken copy next to a valid record only warns
        if "dmarc" in text.lower():
            status = "warn" if own.record is not None else "fail"
            note(result, "dmarc.version", status, domain=own.domain, record=text)


async def _wrong_location(result: AreaResult, dns: Any, domain: str) -> None:
    answer = await dns.query(domain, "TXT")
    if any(is_dmarc_text(decode_txt(t)[0]) for t in answer.texts()):
        note(result, "dmarc.wrong_location", "warn", domain=domain)


def _nothing_found(result: AreaResult, found: Discovery) -> None:
    unchecked = found.unchecked
    if unchecked:
        note(result, "dmarc.walk_unchecked", "unchecked", domain=found.domain,
             names=[f"_dmarc.{s.domain}" for s in unchecked], reason=unchecked[0].reason)
        return
    note(result, "dmarc.missing", "fail", domain=found.domain,
         queried=[f"_dmarc.{s.domain}" for s in found.steps])
    for step in found.steps[1:]:  # a parent whose records cancel each other out
        if step.status == "multiple":
            note(result, "dmarc.parent_multiple", "fail", domain=found.domain,
                 parent=step.domain, count=len(step.texts), records=step.texts)
    result.publish.extend(rollout(found.domain, None, "absent", needs_fix=False))


async def _audit_record(result: AreaResult, dns: Any, found: Discovery, step: Step,
                        record: DmarcRecord) -> None:
    inherited = step is not found.own
    if not inherited:
        note(result, "dmarc.found", "pass", domain=step.domain, record=step.texts[0])
    if not step.ascii_clean:
        note(result, "dmarc.not_ascii", "warn", domain=step.domain)
    for problem in record.problems:
        _problem(result, step.domain, problem)
    policy = record.subdomain_policy if inherited else record.policy
    if inherited:
        note(result, "dmarc.inherited", "info", domain=found.domain, policy_domain=step.domain,
             policy=policy)
    _policy(result, found.domain, record, policy, inherited)
    _alignment(result, found.domain, record)
    await check_reports(result, dns, record, step.domain, found.org_domain)
    _walk_notes(result, found, step)
    needs_fix = any(f.check in FIXABLE for f in result.findings)
    result.publish[:0] = rollout(found.domain, None if inherited else record, policy,
                                 needs_fix and not inherited)


def _problem(result: AreaResult, domain: str, problem: Problem) -> None:
    status = PROBLEM_STATUS.get(problem.code, "warn")
    if problem.code in ("bad_value", "empty_value") and problem.tag in POLICY_TAGS:
        status = "fail"
    if problem.code == "removed_tag" and problem.tag == "pct":
        return  # said by dmarc.pct_partial / dmarc.testing when it matters
    note(result, f"dmarc.{problem.code}", status, domain=domain, tag=problem.tag,
         value=problem.value, offset=problem.offset, expected=problem.expected)


def _policy(result: AreaResult, domain: str, record: DmarcRecord, policy: str,
            inherited: bool) -> None:
    if policy == "absent":
        note(result, "dmarc.policy_absent", "fail", domain=domain)
        return
    status = {"none": "warn", "quarantine": "pass", "reject": "pass"}[policy]
    note(result, f"dmarc.policy_{policy}", status, domain=domain, policy=policy)
    if record.testing:
        how = "t=y" if record.t == "y" else "pct=0"
        note(result, "dmarc.testing", "warn", domain=domain, how=how, policy=policy)
    elif record.pct is not None and record.pct < 100:
        note(result, "dmarc.pct_partial", "warn", domain=domain, pct=record.pct)
    if inherited:
        return
    p = record.policy
    if record.sp and RANK[record.sp] < RANK.get(p, 0):
        note(result, "dmarc.sp_weaker", "warn", domain=domain, sp=record.sp, p=p)
    if record.np and RANK[record.np] < RANK.get(p, 0):
        note(result, "dmarc.np_weaker", "warn", domain=domain, np=record.np, p=p)
    if record.psd == "y":
        note(result, "dmarc.psd_set", "warn", domain=domain, psd=record.psd)


def _alignment(result: AreaResult, domain: str, record: DmarcRecord) -> None:
    strict = [f"{n}=s" for n in ("adkim", "aspf") if getattr(record, n) == "s"]
    if strict:
        note(result, "dmarc.alignment_strict", "info", domain=domain, which=strict)
    else:
        note(result, "dmarc.alignment_relaxed", "pass", adkim=record.adkim, aspf=record.aspf)


def _walk_notes(result: AreaResult, found: Discovery, step: Step) -> None:
    if found.org_domain != found.domain:
        note(result, "dmarc.org_domain", "info", domain=found.domain, org=found.org_domain)
    unchecked = [s for s in found.unchecked if s is not found.own]
    if unchecked:
        status = "info" if step is found.own else "unchecked"
        note(result, "dmarc.walk_unchecked", status, domain=found.domain,
             names=[f"_dmarc.{s.domain}" for s in unchecked], reason=unchecked[0].reason)
    if step is found.own:
        return
    if found.psl_source == "":
        note(result, "dmarc.psl_unavailable", "info")
        return
    old = found.rfc7489_step
    if old is None or old.record is None or old.domain != step.domain:
        where = f"_dmarc.{old.domain}" if old is not None and old.record else "no record"
        note(result, "dmarc.rfc7489_differs", "warn", domain=found.domain, rfc7489=where,
             policy_domain=step.domain)
