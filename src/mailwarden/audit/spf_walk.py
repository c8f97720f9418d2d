"""Walking an SPF policy without a client address: every include and redirect is really
fetched, so the audit can say how many DNS lookups a receiver may need (RFC 7208 4.6.4 allows
10), which names do not exist (void lookups, 2 allowed), where ``ptr`` is used, and which
targets are missing, broken, duplicated or loop.

The walk is bounded: at most :data:`MAX_RECORDS` records fetched and :data:`MAX_NAME_CHECKS`
names checked, whatever the records say.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Any

from mailwarden.audit.spf_eval import MAX_NAMES
from mailwarden.audit.spf_lookup import ask, spf_records, usable_domain
from mailwarden.audit.spf_macro import Escape, MacroString, SpfSyntaxError
from mailwarden.audit.spf_parse import DNS_MECHANISMS, SpfRecord, parse_record

MAX_RECORDS = 40
MAX_NAME_CHECKS = 40


@dataclass(frozen=True)
class Problem:
    """Something wrong found on the way: a finding id, its status and the facts."""

    check: str
    status: str
    evidence: dict[str, Any]


@dataclass
class Walk:
    """What walking the policy found."""

    lookups: int = 0  # DNS-querying terms a receiver may evaluate (worst case)
    by_domain: dict[str, int] = field(default_factory=dict)
    records: dict[str, str] = field(default_factory=dict)
    void: list[str] = field(default_factory=list)  # names that do not exist / have no data
    unchecked: list[str] = field(default_factory=list)  # names whose query failed
    ptr: list[str] = field(default_factory=list)  # "domain: term"
    macros: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    truncated: bool = False
    final_all: str | None = None  # qualifier of the 'all' that ends the policy
    all_domain: str = ""  # where that 'all' is


def static_name(spec: MacroString) -> str:
    """The domain a macro-free domain-spec names."""
    text = "".join(t if isinstance(t, str) else t.value for t in spec.tokens
                   if isinstance(t, (str, Escape)))
    return text[:-1] if text.endswith(".") else text


async def walk_policy(dns: Any, domain: str, record: SpfRecord) -> Walk:
    """Walk ``record`` (published at ``domain``) and everything it includes or redirects to."""
    walker = _Walker(dns)
    final = await walker.visit(domain, record, (domain.lower(),))
    walker.walk.final_all, walker.walk.all_domain = final
    return walker.walk


class _Walker:
    def __init__(self, dns: Any) -> None:
        self.dns = dns
        self.walk = Walk()
        self.fetched = 0
        self.checked = 0

    def problem(self, check: str, status: str, **evidence: Any) -> None:
        self.walk.problems.append(Problem(check, status, evidence))

    async def visit(self, domain: str, record: SpfRecord,
                    stack: tuple[str, ...]) -> tuple[str | None, str]:
        """Count this record's lookups, walk its targets; the final 'all' and its domain."""
        walk = self.walk
        walk.records.setdefault(domain, record.text)
        walk.by_domain[domain] = record.dns_terms
        walk.lookups += record.dns_terms
        jobs: list[Awaitable[Any]] = []
        for mechanism in record.mechanisms:
            if mechanism.kind not in DNS_MECHANISMS:
                continue
            if mechanism.kind == "ptr":
                walk.ptr.append(f"{domain}: {mechanism.text}")
            if mechanism.domain is not None and mechanism.domain.has_macros:
                walk.macros.append(f"{domain}: {mechanism.text}")
                continue
            target = static_name(mechanism.domain) if mechanism.domain else domain
            if mechanism.kind == "include":
                jobs.append(self.follow(domain, mechanism.text, target, stack))
            elif mechanism.kind != "ptr":
                jobs.append(self.check_name(mechanism.kind, mechanism.text, target))
        redirect: Awaitable[tuple[str | None, str]] | None = None
        if record.redirect is not None and record.all is None:
            if record.redirect.value.has_macros:
                walk.macros.append(f"{domain}: {record.redirect.text}")
            else:
                redirect = self.follow(domain, record.redirect.text,
                                       static_name(record.redirect.value), stack)
        await asyncio.gather(*jobs)
        if record.all is not None:
            return record.all.qualifier, domain
        return await redirect if redirect is not None else (None, "")

    async def follow(self, parent: str, term: str, target: str,
                     stack: tuple[str, ...]) -> tuple[str | None, str]:
        """Fetch and walk the record an include or redirect points at."""
        facts = {"domain": parent, "term": term, "target": target}
        if target.lower() in stack:
            self.problem("spf.loop", "fail", chain=" → ".join((*stack, target.lower())), **facts)
            return None, ""
        if self.fetched >= MAX_RECORDS:
            self.walk.truncated = True
            return None, ""
        self.fetched += 1
        answer = await ask(self.dns, target, "TXT") if usable_domain(target) else None
        if answer is not None and answer.status == "unchecked":
            self.walk.unchecked.append(target)
            self.problem("spf.target_unchecked", "unchecked", reason=answer.reason, **facts)
            return None, ""
        found = spf_records(answer.texts()) if answer is not None and answer.ok else []
        if len(found) != 1:
            check = "spf.target_missing" if not found else "spf.target_multiple"
            self.problem(check, "fail", count=len(found), **facts)
            return None, ""
        try:
            record = parse_record(found[0])
        except SpfSyntaxError as exc:
            self.problem("spf.target_syntax", "fail", reason=exc.en, reason_ja=exc.ja, **facts)
            return None, ""
        return await self.visit(target, record, (*stack, target.lower()))

    async def check_name(self, kind: str, term: str, target: str) -> None:
        """Does the name an a, mx or exists term points at exist (else: a void lookup)?"""
        if self.checked >= MAX_NAME_CHECKS:
            self.walk.truncated = True
            return
        self.checked += 1
        if not usable_domain(target):
            self.walk.void.append(target)
            return
        types = {"a": ("A", "AAAA"), "mx": ("MX",), "exists": ("A",)}[kind]
        answers = await asyncio.gather(*(ask(self.dns, target, t) for t in types))
        if any(a.status == "unchecked" for a in answers):
            self.walk.unchecked.append(target)
        elif not any(a.ok for a in answers):
            self.walk.void.append(target)
        elif kind == "mx":
            hosts = [rr for rr in answers[0].rrs if rr.exchange.to_text() != "."]
            if len(hosts) > MAX_NAMES:
                self.problem("spf.mx_too_many", "fail", term=term, target=target,
                             count=len(hosts))
