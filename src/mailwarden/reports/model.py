"""The reports as typed values: DMARC aggregate (RFC 7489 / RFC 9990), DMARC failure, SMTP TLS."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mailwarden.reports.errors import Note

FORWARDING_REASONS = frozenset({"forwarded", "trusted_forwarder", "mailing_list"})


@dataclass(frozen=True, slots=True)
class AuthResult:
    """One SPF or DKIM result of ``auth_results`` (not aligned: the domain that was checked)."""

    domain: str
    result: str
    selector: str = ""
    scope: str = ""
    human_result: str = ""


@dataclass(frozen=True, slots=True)
class Record:
    """One row of an aggregate report: a source address and what happened to its messages."""

    source_ip: str
    count: int
    disposition: str
    dkim: str
    """DMARC's DKIM verdict (pass only if a DKIM signature passed *and* aligned)."""
    spf: str
    """DMARC's SPF verdict (pass only if SPF passed *and* aligned)."""
    header_from: str
    envelope_from: str = ""
    envelope_to: str = ""
    reasons: tuple[tuple[str, str], ...] = ()
    dkim_results: tuple[AuthResult, ...] = ()
    spf_results: tuple[AuthResult, ...] = ()


@dataclass(frozen=True, slots=True)
class Policy:
    """``policy_published``: the DMARC record the reporter found."""

    domain: str
    p: str = ""
    sp: str = ""
    np: str = ""
    adkim: str = ""
    aspf: str = ""
    pct: str = ""
    fo: str = ""
    testing: str = ""
    discovery_method: str = ""


@dataclass(frozen=True, slots=True)
class AggregateReport:
    """A DMARC aggregate report; ``(org_name, report_id, domain)`` identifies it."""

    schema: str
    """``rfc9990`` (namespace or elements of DMARCbis) or ``rfc7489``."""
    org_name: str
    email: str
    report_id: str
    begin: int
    end: int
    policy: Policy
    records: tuple[Record, ...]
    namespace: str = ""
    version: str = ""
    extra_contact_info: str = ""
    generator: str = ""
    errors: tuple[str, ...] = ()
    warnings: tuple[Note, ...] = ()
    kind: str = field(default="aggregate", init=False)

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.org_name, self.report_id, self.policy.domain)

    @property
    def messages(self) -> int:
        return sum(r.count for r in self.records)


@dataclass(frozen=True, slots=True)
class TlsFailure:
    """One ``failure-details`` entry of a TLS report."""

    result_type: str
    failed_sessions: int
    sending_mta_ip: str = ""
    receiving_mx_hostname: str = ""
    receiving_mx_helo: str = ""
    receiving_ip: str = ""
    failure_reason_code: str = ""
    additional_information: str = ""


@dataclass(frozen=True, slots=True)
class TlsPolicy:
    """One ``policies`` entry: the policy a sender applied to a domain and the session counts."""

    policy_type: str
    policy_domain: str
    successful: int
    failed: int
    policy_string: tuple[str, ...] = ()
    mx_host: tuple[str, ...] = ()
    failures: tuple[TlsFailure, ...] = ()


@dataclass(frozen=True, slots=True)
class TlsReport:
    """An SMTP TLS report (RFC 8460); ``(org_name, report_id)`` identifies it."""

    org_name: str
    report_id: str
    contact_info: str
    begin: float
    end: float
    policies: tuple[TlsPolicy, ...]
    warnings: tuple[Note, ...] = ()
    kind: str = field(default="tls", init=False)

    @property
    def key(self) -> tuple[str, str]:
        return (self.org_name, self.report_id)


@dataclass(frozen=True, slots=True)
class FailureReport:
    """A DMARC failure (forensic) report: one failing message, as the receiver saw it.

    Only what identifies the sender and the campaign is kept (no body, no recipients).
    ``key`` is a digest of the report's own fields, so the same report imports once.
    """

    key: str
    format: str
    """``arf`` (RFC 6591 message/feedback-report) or ``exim-text`` (Exim's plain text)."""
    reporter: str
    domain: str
    source_ip: str
    arrival: str = ""
    time: float = 0.0
    """``arrival`` in seconds since the epoch (0.0 when the date cannot be read)."""
    feedback_type: str = "auth-failure"
    auth_failure: str = ""
    delivery_result: str = ""
    original_mail_from: str = ""
    dkim_domain: str = ""
    identity_alignment: str = ""
    header_from: str = ""
    subject: str = ""
    user_agent: str = ""
    warnings: tuple[Note, ...] = ()
    kind: str = field(default="failure", init=False)


Report = AggregateReport | TlsReport | FailureReport


def describe(report: Report) -> dict[str, Any]:
    """The few facts that name a report in an import listing."""
    if isinstance(report, AggregateReport):
        return {"kind": "aggregate", "org": report.org_name, "report_id": report.report_id,
                "domain": report.policy.domain, "schema": report.schema,
                "records": len(report.records), "messages": report.messages,
                "begin": report.begin, "end": report.end}
    if isinstance(report, TlsReport):
        return {"kind": "tls", "org": report.org_name, "report_id": report.report_id,
                "domain": ", ".join(sorted({p.policy_domain for p in report.policies})),
                "policies": len(report.policies),
                "failed": sum(p.failed for p in report.policies)}
    return {"kind": "failure", "org": report.reporter, "report_id": report.key[:16],
            "domain": report.domain, "source_ip": report.source_ip, "format": report.format}
