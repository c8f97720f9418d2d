"""DMARC failure (forensic) reports: one failing message each, as the receiver saw it.

Two forms are read: the standard one, a ``message/feedback-report`` part (RFC 6591 ARF, as
RFC 7489 section 7.3 and RFC 9991 ask), whose fields may be sent plain or base64-encoded; and
Exim's plain-text form ("A message claiming to be from you has failed the published DMARC
policy..."), which has no ARF part but names the domain, address and alignment results.

Kept: who reported, the domain, the source address, arrival time, the failure, and the
sampled message's From and Subject (they name the campaign). Not kept: bodies and recipients.
"""

from __future__ import annotations

import binascii
import contextlib
import hashlib
import ipaddress
import quopri
import re
from email.header import decode_header, make_header
from email.message import Message
from email.parser import HeaderParser
from email.utils import parseaddr, parsedate_to_datetime

from mailwarden.reports.errors import Notes, ReportError
from mailwarden.reports.model import FailureReport

EXIM_MARK = "failed the published DMARC policy"
EXIM_FIELDS = re.compile(r"^\s*(Sender Domain|Sender IP Address|Received Date|SPF Alignment|"
                         r"DKIM Alignment|DMARC Results)\s*:\s*(.*?)\s*$", re.I | re.M)
EXIM_HEADERS = "This is a copy of the headers"
FIELD = 300  # characters kept of one header value


def _header(value: object) -> str:
    """A header value decoded from RFC 2047 where possible, on one line, bounded."""
    text = str(value or "")
    # a broken encoded-word keeps its raw value: it is still evidence
    with contextlib.suppress(ValueError, LookupError, UnicodeError, TypeError, IndexError):
        text = str(make_header(decode_header(text)))
    return " ".join(text.split())[:FIELD]


def _domain_of(address: str) -> str:
    return parseaddr(address)[1].rpartition("@")[2].strip().lower().rstrip(".")[:255]


def _arrival(value: str) -> float:
    """Seconds since the epoch of an RFC 5322 date, or 0.0 when it cannot be read."""
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return 0.0
    return parsed.timestamp() if parsed.tzinfo else 0.0


def _address(value: str, notes: Notes) -> str:
    if not value:
        return ""
    try:
        return ipaddress.ip_address(value.strip().strip("[]")).compressed
    except ValueError:
        notes.add("warn.source_ip", value=value)
        return ""


def arf_fields(part: Message) -> Message:
    """The fields of a ``message/feedback-report`` part, decoding base64/quoted-printable."""
    payload = part.get_payload()
    inner = payload[0] if isinstance(payload, list) and payload else None
    encoding = str(part.get("Content-Transfer-Encoding", "")).strip().lower()
    if isinstance(inner, Message) and encoding not in ("base64", "quoted-printable"):
        return inner
    raw = inner.get_payload() if isinstance(inner, Message) else payload
    text = raw if isinstance(raw, str) else ""
    if encoding == "base64":
        try:
            text = binascii.a2b_base64(text.encode("ascii", "ignore")).decode("utf-8", "replace")
        except (binascii.Error, ValueError):
            text = ""
    elif encoding == "quoted-printable":
        text = quopri.decodestring(text.encode("ascii", "ignore")).decode("utf-8", "replace")
    return HeaderParser().parsestr(text)


def _digest(*values: str) -> str:
    return hashlib.sha256("\x00".join(values).encode("utf-8", "replace")).hexdigest()


def from_arf(mail: Message, fields: Message, sample: Message | None) -> FailureReport:
    """A failure report from its ARF fields and the sampled message's headers (if sent)."""
    notes = Notes()
    kind = _header(fields.get("Feedback-Type")).lower()
    if kind != "auth-failure":
        raise ReportError("failure.type", value=kind or "(none)")
    results = _header(fields.get("Authentication-Results"))
    header_from = _header(sample.get("From")) if sample is not None else ""
    found = re.search(r"header\.from=([^\s;]+)", results)
    domain = (_header(fields.get("Reported-Domain")).lower().rstrip(".")
              or (found.group(1).lower() if found else "") or _domain_of(header_from))
    if not domain:
        raise ReportError("failure.no_domain")
    arrival = _header(fields.get("Arrival-Date") or mail.get("Date"))
    canonical = "\n".join(f"{k.lower()}:{_header(v)}" for k, v in sorted(fields.items()))
    return FailureReport(
        key=_digest("arf", canonical, _header(sample.get("Message-ID")) if sample else ""),
        format="arf", reporter=_domain_of(str(mail.get("From", ""))), domain=domain[:255],
        source_ip=_address(_header(fields.get("Source-IP")), notes),
        arrival=arrival, time=_arrival(arrival),
        auth_failure=_header(fields.get("Auth-Failure")),
        delivery_result=_header(fields.get("Delivery-Result")),
        original_mail_from=_header(fields.get("Original-Mail-From")),
        dkim_domain=_header(fields.get("DKIM-Domain")),
        identity_alignment=_header(fields.get("Identity-Alignment")),
        header_from=header_from,
        subject=_header(sample.get("Subject")) if sample is not None else "",
        user_agent=_header(fields.get("User-Agent")), warnings=notes.done())


def from_exim_text(mail: Message, text: str) -> FailureReport | None:
    """Exim's plain-text failure report, or None if ``text`` is not one."""
    if EXIM_MARK not in text:
        return None
    notes = Notes()
    found = {k.lower(): " ".join(v.split())[:FIELD] for k, v in EXIM_FIELDS.findall(text)}
    copied = text.partition(EXIM_HEADERS)[2].partition("\n")[2]
    sample = HeaderParser().parsestr(copied.lstrip("\r\n")) if copied else None
    header_from = _header(sample.get("From")) if sample is not None else ""
    domain = found.get("sender domain", "").lower().rstrip(".") or _domain_of(header_from)
    if not domain:
        raise ReportError("failure.no_domain")
    arrival = found.get("received date", "") or _header(mail.get("Date"))
    alignment = ",".join(name for name in ("spf", "dkim")
                         if found.get(f"{name} alignment", "").lower() == "yes")
    return FailureReport(
        key=_digest("exim-text", domain, found.get("sender ip address", ""), arrival,
                    header_from, _header(sample.get("Message-Id")) if sample else ""),
        format="exim-text", reporter=_domain_of(str(mail.get("From", ""))),
        domain=domain[:255], source_ip=_address(found.get("sender ip address", ""), notes),
        arrival=arrival, time=_arrival(arrival), auth_failure="dmarc",
        delivery_result=found.get("dmarc results", ""), identity_alignment=alignment,
        header_from=header_from,
        subject=_header(sample.get("Subject")) if sample is not None else "",
        warnings=notes.done())
