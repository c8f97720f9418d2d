"""What an audit finds: findings with a status and reasons in both languages, the records to
publish, a grade per area, and the report of one domain.

Status order, worst first: fail, unchecked, warn, info, pass. ``unchecked`` means the check could
not be made (a timeout, SERVFAIL): it is never reported as "missing".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

STATUSES = ("fail", "unchecked", "warn", "info", "pass")
AREAS = ("spf", "dmarc", "dkim", "mx", "mta_sts", "tls_rpt", "bimi", "dnssec", "dane", "smtp")


@dataclass(frozen=True)
class Record:
    """A DNS record to publish (or to change), with why."""

    name: str
    rtype: str
    value: str
    en: str = ""
    ja: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "type": self.rtype, "value": self.value, "en": self.en,
                "ja": self.ja}


@dataclass(frozen=True)
class Finding:
    """One result of one check: its id (stable, e.g. ``spf.too_many_lookups``), status, the
    sentence in English and Japanese, and the facts it rests on."""

    check: str
    status: str
    en: str
    ja: str
    evidence: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"status {self.status!r}: expected one of {STATUSES}")

    def text(self, lang: str) -> str:
        return self.ja if lang == "ja" else self.en

    def to_dict(self) -> dict[str, Any]:
        return {"check": self.check, "status": self.status, "en": self.en, "ja": self.ja,
                "evidence": self.evidence}


def grade(findings: list[Finding]) -> str:
    """A: all pass/info; B: warnings; C: something could not be checked; F: a failure."""
    statuses = {f.status for f in findings}
    if "fail" in statuses:
        return "F"
    if "unchecked" in statuses:
        return "C"
    if "warn" in statuses:
        return "B"
    return "A"


@dataclass
class AreaResult:
    """The findings of one area (spf, dmarc, ...) and the records that would fix it."""

    area: str
    findings: list[Finding] = field(default_factory=list)
    publish: list[Record] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)

    @property
    def grade(self) -> str:
        return grade(self.findings)

    def add(self, check: str, status: str, en: str, ja: str, **evidence: Any) -> Finding:
        found = Finding(check, status, en, ja, evidence)
        self.findings.append(found)
        return found

    def to_dict(self) -> dict[str, Any]:
        return {"area": self.area, "grade": self.grade,
                "findings": [f.to_dict() for f in self.findings],
                "publish": [r.to_dict() for r in self.publish], "facts": self.facts}


@dataclass
class DomainReport:
    """Everything audited for one domain."""

    domain: str
    areas: dict[str, AreaResult] = field(default_factory=dict)
    checked_at: str = ""
    error: str = ""

    def area(self, name: str) -> AreaResult:
        if name not in self.areas:
            self.areas[name] = AreaResult(name)
        return self.areas[name]

    def to_dict(self) -> dict[str, Any]:
        return {"domain": self.domain, "checked_at": self.checked_at, "error": self.error,
                "grades": {name: a.grade for name, a in self.areas.items()},
                "areas": {name: a.to_dict() for name, a in self.areas.items()}}


@dataclass(frozen=True)
class AuditOptions:
    """What the administrator asked for beyond the DNS checks."""

    dkim_selectors: tuple[str, ...] = ()
    probe_smtp: bool = False
    relay_test: bool = False
    ca_file: str = ""  # extra CA (PEM) for HTTPS and SMTP certificates (a private PKI, tests)
    https_port: int = 443  # MTA-STS policy fetch
    smtp_port: int = 25  # SMTP probe
    timeout: float = 5.0  # network timeout of one HTTPS fetch or SMTP step
    # connect (MTA-STS fetch, SMTP probe) to non-public addresses too (an internal audit,
    # tests); off by default, a hostile domain must not make the audit reach this network
    allow_private: bool = False


@dataclass
class AuditContext:
    """What every area check gets: the run's DNS client and the options.

    An area check is ``async def audit_AREA(domain: str, ctx: AuditContext) -> AreaResult``."""

    dns: Any  # mailwarden.audit.dns.DnsClient (Any: keeps this module free of dnspython)
    options: AuditOptions = field(default_factory=AuditOptions)
