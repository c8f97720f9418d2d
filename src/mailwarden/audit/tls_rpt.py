"""The TLS-RPT area (RFC 8460): the ``_smtp._tls`` TXT record that tells senders where to
report failed TLS deliveries (``v=TLSRPTv1; rua=mailto:...,https://...``).

Without reports a domain that enforces MTA-STS or DANE cannot see the deliveries that fail.
``parse_tlsrpt`` reads one record and never raises; ``audit_tls_rpt(domain, ctx)`` is the area
check the runner calls.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field

from mailwarden.audit.dmarc_record import Problem, ReportUri, decode_txt, parse_uri
from mailwarden.audit.messages import note, render
from mailwarden.audit.model import AreaResult, AuditContext, Record
from mailwarden.audit.mta_sts_record import is_sts_text
from mailwarden.audit.txt_fields import split_fields, starts_with_version

VERSION = "v=TLSRPTv1"
SCHEMES = ("mailto", "https")
ANY_URI = "mailto:... | https://..."
MAX_URIS = 16
# rua = tlsrpt-uri *(*WSP "," *WSP tlsrpt-uri): visible characters and spaces, no ";"
_URI_CHARS = r"[\x21-\x2b\x2d-\x3a\x3c-\x7e]+"  # visible, no "," or ";"
_RUA = re.compile(rf"^{_URI_CHARS}([ \t]*,[ \t]*{_URI_CHARS})*$")


@dataclass
class TlsRptRecord:
    """One ``_smtp._tls`` TXT string. ``rua`` holds the usable destinations (mailto with a
    valid address, https with a host); the others are problems."""

    text: str
    is_tlsrpt: bool = False
    rua: list[ReportUri] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return self.is_tlsrpt and bool(self.rua) and not any(
            p.code in ("syntax", "rua_missing") for p in self.problems)


def is_tlsrpt_text(text: str) -> bool:
    return starts_with_version(text, VERSION)


def parse_tlsrpt(text: str) -> TlsRptRecord:
    """Parse one TXT string published at ``_smtp._tls.<domain>``."""
    record = TlsRptRecord(text)
    parts = split_fields(text, VERSION, {"rua": _RUA})
    record.is_tlsrpt = parts.version_ok
    record.problems.extend(parts.problems)
    seen: set[str] = set()
    for part in parts.fields:
        if part.name in seen:
            record.problems.append(Problem("duplicate_field", part.name, part.value[:80],
                                           part.offset))
            continue
        seen.add(part.name)
        if part.name != "rua":
            record.problems.append(Problem("unknown_field", part.name, part.value[:80],
                                           part.offset))
            continue
        for raw in part.value.split(",")[:MAX_URIS]:
            _destination(record, raw.strip(" \t"), part.offset)
    if record.is_tlsrpt and "rua" not in seen:
        record.problems.append(Problem("rua_missing", "rua",
                                       expected="rua=mailto:tls-reports@example.com"))
    return record


def _destination(record: TlsRptRecord, raw: str, offset: int) -> None:
    uri = parse_uri(raw)
    if uri.scheme not in SCHEMES:
        record.problems.append(Problem("bad_uri", "rua", raw[:120], offset, ANY_URI))
    elif not uri.valid or (uri.scheme == "https" and not (uri.address.startswith("//")
                                                         and uri.host)):
        record.problems.append(Problem("bad_uri", "rua", raw[:120], offset,
                                       uri.error or "https://host/path"))
    elif uri.size:
        record.problems.append(Problem("bad_uri", "rua", raw[:120], offset,
                                       ANY_URI))
    else:
        record.rua.append(uri)


PROBLEMS = {
    "syntax": ("tls_rpt.syntax", "fail"), "rua_missing": ("tls_rpt.rua_missing", "fail"),
    "bad_uri": ("tls_rpt.bad_uri", "warn"),
    "duplicate_field": ("tls_rpt.duplicate_field", "warn"),
    "unknown_field": ("tls_rpt.unknown_field", "info"),
}


async def audit_tls_rpt(domain: str, ctx: AuditContext) -> AreaResult:
    """Audit the TLS reporting record of ``domain``."""
    result = AreaResult("tls_rpt")
    name = f"_smtp._tls.{domain}"
    answer, sts = await asyncio.gather(ctx.dns.query(name, "TXT"),
                                       ctx.dns.query(f"_mta-sts.{domain}", "TXT"))
    if answer.status in ("unchecked", "invalid"):
        note(result, "tls_rpt.unchecked", "unchecked", domain=domain, name=name,
             reason=answer.reason)
        return result
    texts = [decode_txt(t)[0] for t in answer.texts()]
    records = [parse_tlsrpt(t) for t in texts if is_tlsrpt_text(t)]
    uses_sts = any(is_sts_text(decode_txt(t)[0]) for t in sts.texts())
    if len(records) > 1:
        note(result, "tls_rpt.multiple", "fail", domain=domain, name=name,
             count=len(records), records=[r.text[:120] for r in records])
    elif not records:
        note(result, "tls_rpt.missing", "warn" if uses_sts else "info", domain=domain,
             name=name, mta_sts=uses_sts)
    else:
        _record(result, domain, records[0])
    broken = bool(records) and (len(records) > 1 or not records[0].valid)
    if broken or (not records and uses_sts):
        _publish(result, domain, records)
    return result


def _record(result: AreaResult, domain: str, record: TlsRptRecord) -> None:
    result.facts["record"] = record.text[:500]
    for problem in record.problems:
        check, status = PROBLEMS[problem.code]
        if problem.code == "bad_uri" and not record.rua:
            status = "fail"  # no destination left: nobody gets reports
        note(result, check, status, domain=domain, field=problem.tag, value=problem.value,
             offset=problem.offset, expected=problem.expected)
    if record.valid:
        note(result, "tls_rpt.found", "pass", domain=domain, rua=[u.raw for u in record.rua])


def _publish(result: AreaResult, domain: str, records: list[TlsRptRecord]) -> None:
    kept = list(dict.fromkeys(u.raw for r in records for u in r.rua))[:MAX_URIS]
    rua = ",".join(kept or [f"mailto:tls-reports@{domain}"])
    en, ja = render("tls_rpt.publish", domain=domain)
    result.publish.append(Record(f"_smtp._tls.{domain}", "TXT", f"v=TLSRPTv1; rua={rua}",
                                 en, ja))
