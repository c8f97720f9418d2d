"""Where a domain's DMARC policy comes from: RFC 9989's DNS tree walk (§4.10), its
Organizational Domain (§4.10.2), and what an RFC 7489 receiver would find instead (the author
domain, then the Public Suffix List's Organizational Domain, RFC 7489 §6.6.3).

The walk: query ``_dmarc.<domain>``; then, for a name of fewer than eight labels, drop the
left-most label, for eight or more shorten it to seven labels; then one label at a time up to
the top-level domain. A single valid record with ``psd=y`` or ``psd=n`` stops the walk. At most
eight queries, whatever the name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mailwarden.audit.dmarc_record import DmarcRecord, decode_txt, is_dmarc_text, parse_dmarc
from mailwarden.audit.psl import default_list

MAX_QUERIES = 8
LONG_NAME = 8  # a name of this many labels or more is shortened to LONG_NAME - 1


@dataclass
class Step:
    """One query of the walk and what it found."""

    domain: str
    status: str  # "record", "none", "multiple", "unchecked", "invalid"
    record: DmarcRecord | None = None
    texts: list[str] = field(default_factory=list)  # every DMARC1 TXT string found
    other: list[str] = field(default_factory=list)  # TXT strings that are not DMARC
    reason: str = ""
    ascii_clean: bool = True

    def to_dict(self) -> dict[str, Any]:
        return {"domain": self.domain, "status": self.status, "records": self.texts,
                "reason": self.reason}


@dataclass
class Discovery:
    """The walk for one domain and its conclusions."""

    domain: str
    steps: list[Step] = field(default_factory=list)
    org_domain: str = ""
    policy_step: Step | None = None  # where the policy that applies to the domain is
    rfc7489_domain: str | None = None  # the PSL Organizational Domain (None: no PSL / suffix)
    rfc7489_step: Step | None = None
    psl_source: str = ""

    @property
    def own(self) -> Step:
        return self.steps[0]

    @property
    def unchecked(self) -> list[Step]:
        return [s for s in self.steps if s.status == "unchecked"]

    def step_for(self, domain: str) -> Step | None:
        return next((s for s in self.steps if s.domain == domain), None)


def walk_targets(domain: str) -> list[str]:
    """The names a full walk queries, in order (``_dmarc.`` not included)."""
    labels = domain.split(".")
    targets = [domain]
    rest = labels[-(LONG_NAME - 1):] if len(labels) >= LONG_NAME else labels[1:]
    while rest:
        targets.append(".".join(rest))
        rest = rest[1:]
    return targets[:MAX_QUERIES]


async def query_step(dns: Any, domain: str) -> Step:
    """Ask ``_dmarc.<domain>`` and keep what discovery keeps (a single ``v=DMARC1`` record)."""
    answer = await dns.query(f"_dmarc.{domain}", "TXT")
    if answer.status == "unchecked":
        return Step(domain, "unchecked", reason=answer.reason)
    if answer.status == "invalid":
        return Step(domain, "invalid", reason=answer.reason)
    texts, other, clean = [], [], True
    for data in answer.texts():
        text, ascii_ok = decode_txt(data)
        if is_dmarc_text(text):
            texts.append(text)
            clean = clean and ascii_ok
        else:
            other.append(text[:300])
    if len(texts) > 1:
        return Step(domain, "multiple", texts=texts, other=other)
    if not texts:
        return Step(domain, "none", other=other)
    return Step(domain, "record", parse_dmarc(texts[0]), texts, other, ascii_clean=clean)


def _stops(step: Step) -> bool:
    return step.record is not None and step.record.psd in ("y", "n") \
        and "psd" in step.record.tags


async def discover(dns: Any, domain: str) -> Discovery:
    """Walk from ``domain`` up and decide the policy and the Organizational Domain."""
    found = Discovery(domain)
    for target in walk_targets(domain):
        step = await query_step(dns, target)
        found.steps.append(step)
        if _stops(step):
            break
    found.org_domain = organizational_domain(found)
    found.policy_step = policy_step(found)
    await _rfc7489(dns, found)
    return found


def organizational_domain(found: Discovery) -> str:
    """RFC 9989 §4.10.2: psd=n marks it; psd=y marks the name one label below; otherwise the
    record with the fewest labels; with no record at all, the domain itself."""
    with_records = [s for s in found.steps if s.record is not None]
    for step in with_records:
        assert step.record is not None
        if step.record.psd == "n" and "psd" in step.record.tags:
            return step.domain
        if step.record.psd == "y" and step.domain != found.domain:
            return one_below(found.domain, step.domain)
    if with_records:
        return min(with_records, key=lambda s: s.domain.count(".")).domain
    return found.domain


def one_below(domain: str, ancestor: str) -> str:
    """The name between ``ancestor`` and ``domain`` that has one label more than ancestor."""
    keep = ancestor.count(".") + 2
    return ".".join(domain.split(".")[-keep:])


def policy_step(found: Discovery) -> Step | None:
    """RFC 9989 §4.10.1: the author domain's record, else the Organizational Domain's, else
    the Public Suffix Domain's (a record with psd=y)."""
    if found.own.record is not None:
        return found.own
    org = found.step_for(found.org_domain)
    if org is not None and org.record is not None:
        return org
    return next((s for s in found.steps if s.record is not None and s.record.psd == "y"),
                None)


async def _rfc7489(dns: Any, found: Discovery) -> None:
    """What an RFC 7489 receiver finds: the author domain's record, else the record at the
    PSL Organizational Domain (one more query, usually already asked by the walk)."""
    psl = default_list()
    if psl is None:
        return
    found.psl_source = psl.source
    found.rfc7489_domain = psl.organizational_domain(found.domain)
    if found.own.record is not None or found.own.status == "multiple":
        found.rfc7489_step = found.own
        return
    org = found.rfc7489_domain
    if org is None or org == found.domain:
        found.rfc7489_step = found.own
        return
    found.rfc7489_step = found.step_for(org) or await query_step(dns, org)
