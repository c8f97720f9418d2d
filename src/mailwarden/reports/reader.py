"""One file in, its reports out: decides what the bytes are and calls the right reader.

A file may hold several reports (a zip of two XMLs, a mail with two attachments); each comes
out as an ``Outcome`` with the report or the error for that part, so one bad member does not
hide the good ones. An error that concerns the whole file (too large, a broken archive, a mail
without any report) is raised as a ``ReportError``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from email.message import Message

from mailwarden.reports import containers, failure
from mailwarden.reports.dmarc_xml import parse_aggregate
from mailwarden.reports.errors import Note, Notes, ReportError
from mailwarden.reports.limits import DEFAULT, Limits
from mailwarden.reports.model import Report
from mailwarden.reports.tlsrpt import parse_tls

BOMS = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")


@dataclass(frozen=True, slots=True)
class Outcome:
    """One report found in a file, or why the part that should have been one is not."""

    name: str
    report: Report | None = None
    error: ReportError | None = None


def parse_content(data: bytes, limits: Limits = DEFAULT) -> Report:
    """An aggregate report (XML) or a TLS report (JSON), told apart by their first character."""
    head = data[:1024].lstrip(b" \t\r\n")
    for bom in BOMS:
        head = head.removeprefix(bom).lstrip(b" \t\r\n")
    if not head:
        raise ReportError("file.empty")
    if head.startswith(b"{"):
        return parse_tls(data, limits)
    if head.startswith(b"<") or data.startswith(BOMS[1:]):
        return parse_aggregate(data, limits)
    if containers.is_gzip(data) or containers.is_zip(data):
        raise ReportError("archive.nested", outer="the file", inner="its content")
    raise ReportError("report.unknown", detail="neither XML nor JSON")


def with_notes(report: Report, notes: tuple[Note, ...]) -> Report:
    """The report with warnings from its container (e.g. trailing gzip bytes) added."""
    return dataclasses.replace(report, warnings=notes + report.warnings) if notes else report


def _payloads(payloads: list[containers.Payload], limits: Limits,
              notes: tuple[Note, ...] = ()) -> list[Outcome]:
    outcomes = []
    for payload in payloads:
        try:
            report = parse_content(payload.data, limits)
        except ReportError as exc:
            outcomes.append(Outcome(payload.name, error=exc))
            continue
        outcomes.append(Outcome(payload.name, report=with_notes(report, notes)))
    return outcomes


def read(data: bytes, name: str, limits: Limits = DEFAULT) -> list[Outcome]:
    """Every report in one file's bytes (``name`` is used in messages only)."""
    if not data.strip():
        raise ReportError("file.empty")
    if not containers.is_gzip(data) and not containers.is_zip(data) and containers.is_mail(data):
        return read_mail(containers.parse_mail(data), name, limits)
    notes = Notes()
    payloads = containers.unpack(data, name, limits, notes)
    return _payloads(payloads, limits, notes.done())


def read_mail(mail: Message, name: str, limits: Limits = DEFAULT) -> list[Outcome]:
    """A report mail: a failure report if it has an ARF part, else its report attachments, else
    Exim's plain-text failure report."""
    parts = containers.leaf_parts(mail, limits)
    arf = next((p for p in parts if p.get_content_type() == "message/feedback-report"), None)
    if arf is not None:
        return [_failure(mail, arf, parts, name)]
    outcomes: list[Outcome] = []
    for label, content in containers.attachments(parts):
        where = f"{name}: {label}"
        try:
            notes = Notes()
            unpacked = containers.unpack(content, where, limits, notes)
        except ReportError as exc:
            outcomes.append(Outcome(where, error=exc))
            continue
        outcomes.extend(_payloads(unpacked, limits, notes.done()))
    if outcomes:
        return outcomes
    for part in parts:
        if part.get_content_type() == "text/plain":
            text = containers.decoded(part).decode("utf-8", "replace")
            report = failure.from_exim_text(mail, text)
            if report is not None:
                return [Outcome(name, report=report)]
    raise ReportError("mail.no_report",
                      parts=", ".join(p.get_content_type() for p in parts[:12]) or "none")


def _failure(mail: Message, arf: Message, parts: list[Message], name: str) -> Outcome:
    sample_part = next((p for p in parts if p.get_content_type() in
                        ("message/rfc822", "text/rfc822-headers")), None)
    sample: Message | None = None
    if sample_part is not None:
        payload = sample_part.get_payload()
        if isinstance(payload, list) and payload and isinstance(payload[0], Message):
            sample = payload[0]
        elif sample_part.get_content_type() == "text/rfc822-headers":
            sample = containers.parse_mail(containers.decoded(sample_part))
    try:
        return Outcome(name, report=failure.from_arf(mail, failure.arf_fields(arf), sample))
    except ReportError as exc:
        return Outcome(name, error=exc)
