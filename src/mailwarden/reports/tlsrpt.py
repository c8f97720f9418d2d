"""SMTP TLS reports (RFC 8460): JSON, checked field by field.

Required fields with the wrong type are errors naming the path (``policies[2].summary``);
values outside RFC 8460's lists (a new ``result-type`` from the IANA registry, an unknown
``policy-type``) are kept with a warning. ``mx-host`` is accepted as a string or a list, as
reporters send both.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, NoReturn

from mailwarden.reports.errors import Notes, ReportError
from mailwarden.reports.limits import DEFAULT, Limits
from mailwarden.reports.model import TlsFailure, TlsPolicy, TlsReport

POLICY_TYPES = ("tlsa", "sts", "no-policy-found")
RESULT_TYPES = ("starttls-not-supported", "certificate-host-mismatch", "certificate-expired",
                "certificate-not-trusted", "validation-failure", "tlsa-invalid",
                "dnssec-invalid", "dane-required", "sts-policy-fetch-error",
                "sts-policy-invalid", "sts-webpki-invalid")
MAX_COUNT = 2**53
KEY_FIELD = 255


def _refuse_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not a JSON number")


def load_json(data: bytes, limits: Limits = DEFAULT) -> Any:
    """JSON from UTF-8 bytes (a BOM is allowed), or a ReportError with the line and column."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ReportError("json.encoding", detail=str(exc)) from None
    if not text.strip():
        raise ReportError("file.empty")
    try:
        return json.loads(text, parse_constant=_refuse_constant)
    except json.JSONDecodeError as exc:
        raise ReportError("json.syntax", line=exc.lineno, column=exc.colno,
                          detail=exc.msg) from None
    except RecursionError:
        raise ReportError("json.too_deep", limit=limits.max_depth) from None
    except ValueError as exc:  # NaN/Infinity, a number with thousands of digits
        raise ReportError("json.syntax", line=0, column=0, detail=str(exc)) from None


class _Fields:
    """Typed access to one JSON object, with the path for messages."""

    def __init__(self, value: Any, where: str, notes: Notes, limits: Limits) -> None:
        if not isinstance(value, dict):
            raise ReportError("tls.not_object", where=where)
        self.value: dict[str, Any] = value
        self.where = where
        self.notes = notes
        self.limits = limits

    def _bad(self, name: str, expected: str) -> NoReturn:
        raise ReportError("tls.type", where=self.where, field=name, expected=expected)

    def text(self, name: str, *, required: bool = False, limit: int = 0) -> str:
        if name not in self.value:
            if required:
                raise ReportError("tls.missing", where=self.where, field=name)
            return ""
        value = self.value[name]
        if not isinstance(value, str):
            self._bad(name, "a string")
        if len(value) > (limit or self.limits.max_field):
            raise ReportError("tls.too_long", where=self.where, field=name,
                              limit=limit or self.limits.max_field)
        return value.strip()

    def count(self, name: str) -> int:
        if name not in self.value:
            raise ReportError("tls.missing", where=self.where, field=name)
        value = self.value[name]
        if type(value) is not int or not 0 <= value < MAX_COUNT:
            self._bad(name, "a whole number from 0")
        return value

    def items(self, name: str, *, required: bool = False) -> list[Any]:
        if name not in self.value:
            if required:
                raise ReportError("tls.missing", where=self.where, field=name)
            return []
        value = self.value[name]
        if not isinstance(value, list):
            self._bad(name, "an array")
        if len(value) > self.limits.max_records:
            raise ReportError("tls.too_many", where=self.where, field=name,
                              limit=self.limits.max_records)
        return value

    def strings(self, name: str) -> tuple[str, ...]:
        """A string or a list of strings (``mx-host`` comes both ways)."""
        value = self.value.get(name)
        values = [value] if isinstance(value, str) else value if value is not None else []
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            self._bad(name, "an array of strings")
        if len(values) > self.limits.max_records or any(
                len(v) > self.limits.max_field for v in values):
            raise ReportError("tls.too_long", where=self.where, field=name,
                              limit=self.limits.max_field)
        return tuple(values)

    def child(self, name: str) -> _Fields:
        if name not in self.value:
            raise ReportError("tls.missing", where=self.where, field=name)
        return _Fields(self.value[name], f"{self.where}.{name}", self.notes, self.limits)

    def known(self, name: str, allowed: tuple[str, ...], *, required: bool = False) -> str:
        value = self.text(name, required=required)
        if value not in allowed and (value or required):
            self.notes.add("warn.tls_value", where=self.where, field=name, value=value)
        return value


def parse_tls(data: bytes, limits: Limits = DEFAULT) -> TlsReport:
    """A TLS report from JSON bytes, or a ReportError saying which field is wrong."""
    return interpret(load_json(data, limits), limits)


def interpret(value: Any, limits: Limits = DEFAULT) -> TlsReport:
    notes = Notes()
    top = _Fields(value, "report", notes, limits)
    dates = top.child("date-range")
    if "contact-info" not in top.value:
        notes.add("tls.missing", where="report", field="contact-info")
    return TlsReport(
        org_name=top.text("organization-name", required=True, limit=KEY_FIELD),
        report_id=top.text("report-id", required=True, limit=KEY_FIELD),
        contact_info=top.text("contact-info"),
        begin=_datetime(dates, "start-datetime"), end=_datetime(dates, "end-datetime"),
        policies=tuple(_policy(_Fields(p, f"policies[{i}]", notes, limits))
                       for i, p in enumerate(top.items("policies", required=True))),
        warnings=notes.done())


def _datetime(fields: _Fields, name: str) -> float:
    value = fields.text(name, required=True)
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is None:
        raise ReportError("tls.date", where=fields.where, field=name, value=value)
    return parsed.timestamp()


def _policy(fields: _Fields) -> TlsPolicy:
    policy = fields.child("policy")
    summary = fields.child("summary")
    return TlsPolicy(
        policy_type=policy.known("policy-type", POLICY_TYPES, required=True),
        policy_domain=policy.text("policy-domain", required=True,
                                  limit=KEY_FIELD).lower().rstrip("."),
        successful=summary.count("total-successful-session-count"),
        failed=summary.count("total-failure-session-count"),
        policy_string=policy.strings("policy-string"), mx_host=policy.strings("mx-host"),
        failures=tuple(_failure(_Fields(d, f"{fields.where}.failure-details[{i}]",
                                        fields.notes, fields.limits))
                       for i, d in enumerate(fields.items("failure-details"))))


def _failure(fields: _Fields) -> TlsFailure:
    return TlsFailure(
        result_type=fields.known("result-type", RESULT_TYPES, required=True),
        failed_sessions=fields.count("failed-session-count"),
        sending_mta_ip=fields.text("sending-mta-ip"),
        receiving_mx_hostname=fields.text("receiving-mx-hostname").lower(),
        receiving_mx_helo=fields.text("receiving-mx-helo"),
        receiving_ip=fields.text("receiving-ip"),
        failure_reason_code=fields.text("failure-reason-code"),
        additional_information=fields.text("additional-information"))
