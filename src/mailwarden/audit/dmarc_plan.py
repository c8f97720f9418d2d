"""The DMARC rollout plan: none → quarantine → reject, with the exact record to publish at each
stage from where the domain is now (RFC 9989 §5.5, "Domain Owner Actions")."""

from __future__ import annotations

from mailwarden.audit.dmarc_record import DmarcRecord
from mailwarden.audit.messages import render
from mailwarden.audit.model import Record

RANK = {"absent": 0, "none": 1, "quarantine": 2, "reject": 3}
STAGES = (("none", "plan.monitor"), ("quarantine", "plan.quarantine"), ("reject", "plan.reject"))


def report_address(domain: str) -> str:
    """The aggregate-report mailbox suggested when the domain has none."""
    return f"mailto:dmarc-reports@{domain}"


def record_text(policy: str, record: DmarcRecord | None, domain: str) -> str:
    """A clean record at ``policy`` that keeps what the current one rightly says."""
    tags = [f"v=DMARC1; p={policy}"]
    if record is not None and record.sp and RANK[record.sp] >= RANK[policy]:
        tags.append(f"sp={record.sp}")
    if record is not None and record.np and RANK[record.np] >= RANK[policy]:
        tags.append(f"np={record.np}")
    for name in ("adkim", "aspf"):
        if record is not None and getattr(record, name) == "s":
            tags.append(f"{name}=s")
    rua = [u.raw for u in record.rua if u.valid and not u.size] if record else []
    tags.append("rua=" + ",".join(rua or [report_address(domain)]))
    ruf = [u.raw for u in record.ruf if u.valid and not u.size] if record else []
    if ruf:
        tags.append("ruf=" + ",".join(ruf))
    return "; ".join(tags)


def rollout(domain: str, record: DmarcRecord | None, policy: str,
            needs_fix: bool) -> list[Record]:
    """The records to publish at ``_dmarc.<domain>``, in order.

    ``policy`` is what applies now ("absent" when nothing does); ``needs_fix`` says the current
    record has errors (or a test mode) that a clean record at the same policy would remove.
    """
    name = f"_dmarc.{domain}"
    plan: list[Record] = []
    current = RANK.get(policy, 0)
    if needs_fix and current > 0:
        en, ja = render("plan.fix")
        plan.append(Record(name, "TXT", record_text(policy, record, domain), en, ja))
    for stage, message in STAGES:
        if RANK[stage] > current:
            en, ja = render(message)
            plan.append(Record(name, "TXT", record_text(stage, record, domain), en, ja))
    return plan
