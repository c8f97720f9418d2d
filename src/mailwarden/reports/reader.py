"""One file in, its reports out: decides what the bytes are and calls the right reader.

A file may hold several reports (a zip of two XMLs, a mail with two attachments); each comes
out as an ``Outcome`` with the report or the error for that part, so one bad member does not
hide the good ones. An error that concerns the whole file (too large, a broken archive, a mail
without any report) is raised as a ``ReportError``.

Outcomes come one at a time (``outcomes``): a part is unpacked and parsed only when the one
before it has been dealt with, so the caller can store each report and let it go. All parts of
one file share one ``Budget`` of unpacked bytes and records; going over it raises
``BudgetExceeded`` and ends the file (the outcomes before it stand).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import Message

from mailwarden.reports import containers, failure
from mailwarden.reports.dmarc_xml import parse_aggregate
from mailwarden.reports.errors import Note, Notes, ReportError
from mailwarden.reports.limits import DEFAULT, Budget, BudgetExceeded, Limits
from mailwarden.reports.model import AggregateReport, Report, TlsReport
from mailwarden.reports.tlsrpt import parse_tls

BOMS = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")
TOO_MANY = frozenset({"dmarc.too_many_records", "tls.too_many"})


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


def records(report: Report) -> int:
    """What a report costs of its file's record budget."""
    if isinstance(report, AggregateReport):
        return len(report.records)
    if isinstance(report, TlsReport):
        return sum(1 + len(p.failures) for p in report.policies)
    return 1


def _parse(payload: containers.Payload, budget: Budget, notes: Notes) -> Outcome:
    """One payload's outcome; a report past what is left of the file's records ends the file."""
    limits = budget.record_limits()
    try:
        report = parse_content(payload.data, limits)
    except BudgetExceeded:
        raise
    except ReportError as exc:
        if exc.note.key in TOO_MANY and budget.binds_records():
            raise budget.over_records() from None
        return Outcome(payload.name, error=exc)
    budget.take_records(records(report))
    return Outcome(payload.name, report=with_notes(report, notes.done()))


def _payloads(payloads: Iterator[containers.Payload], budget: Budget,
              notes: Notes) -> Iterator[Outcome]:
    for payload in payloads:
        yield _parse(payload, budget, notes)


def outcomes(data: bytes, name: str, limits: Limits = DEFAULT,
             budget: Budget | None = None) -> Iterator[Outcome]:
    """Every report in one file's bytes, one at a time (``name`` is used in messages only)."""
    budget = budget if budget is not None else Budget(limits)
    if not data.strip():
        raise ReportError("file.empty")
    if not containers.is_gzip(data) and not containers.is_zip(data) and containers.is_mail(data):
        mail = containers.parse_mail(data)
        del data  # the parsed mail holds what is needed
        yield from mail_outcomes(mail, name, limits, budget)
        return
    notes = Notes()
    yield from _payloads(containers.unpack(data, name, limits, notes, budget), budget, notes)


def read(data: bytes, name: str, limits: Limits = DEFAULT) -> list[Outcome]:
    """Every report in one file's bytes, as a list (see ``outcomes``)."""
    return list(outcomes(data, name, limits))


def read_mail(mail: Message, name: str, limits: Limits = DEFAULT) -> list[Outcome]:
    """Every report in a parsed mail, as a list (see ``mail_outcomes``)."""
    return list(mail_outcomes(mail, name, limits, Budget(limits)))


def mail_outcomes(mail: Message, name: str, limits: Limits,
                  budget: Budget) -> Iterator[Outcome]:
    """A report mail: a failure report if it has an ARF part, else its report attachments, else
    Exim's plain-text failure report."""
    parts = containers.leaf_parts(mail, limits)
    arf = next((p for p in parts if p.get_content_type() == "message/feedback-report"), None)
    if arf is not None:
        yield _failure(mail, arf, parts, name)
        return
    found = False
    for label, content in containers.attachments(parts):
        found = True
        yield from _attachment(content, f"{name}: {label}", limits, budget)
    if found:
        return
    for part in parts:
        if part.get_content_type() == "text/plain":
            text = containers.decoded(part).decode("utf-8", "replace")
            report = failure.from_exim_text(mail, text)
            if report is not None:
                yield Outcome(name, report=report)
                return
    raise ReportError("mail.no_report",
                      parts=", ".join(p.get_content_type() for p in parts[:12]) or "none")


def _attachment(content: bytes, where: str, limits: Limits,
                budget: Budget) -> Iterator[Outcome]:
    """One attachment's outcomes; its container's own error is that part's outcome."""
    notes = Notes()
    payloads = containers.unpack(content, where, limits, notes, budget)
    while True:
        try:
            payload = next(payloads, None)
        except BudgetExceeded:
            raise
        except ReportError as exc:
            yield Outcome(where, error=exc)
            return
        if payload is None:
            return
        yield _parse(payload, budget, notes)


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
