"""DMARC aggregate reports: RFC 7489 appendix C and RFC 9990 (DMARCbis) from one reader.

RFC 9990 differs from RFC 7489 in ways a reader must allow for, all optional here:
the namespace ``urn:ietf:params:xml:ns:dmarc-2.0``; ``<generator>`` and repeated ``<error>`` in
``report_metadata``; ``<np>``, ``<testing>`` (y/n) and ``<discovery_method>`` (psl/treewalk) in
``policy_published``, where ``<pct>`` is gone and ``<sp>``/``<adkim>``/``<aspf>`` are optional;
``pass`` as a ``disposition``; ``policy_test_mode`` as an override reason (``forwarded`` and
``sampled_out`` gone); ``<extension>`` elements, ignored. Reports without the namespace but
with DMARCbis elements are read the same way (reporters mix them).

What decides the summary is checked exactly: ``policy_evaluated``'s ``disposition``, ``dkim``
and ``spf`` must be the schema's lower-case values, or the report is refused with the record and
line (the RFC 7489 and RFC 9990 schemas agree on these, and a count we cannot classify would be
a wrong summary). Informational values outside the schema (a reason type, an SPF scope, an
``auth_results`` result) are kept as they are, with a warning.
"""

from __future__ import annotations

import ipaddress
import re

from mailwarden.reports import safexml
from mailwarden.reports.errors import Note, Notes, ReportError
from mailwarden.reports.limits import DEFAULT, Limits
from mailwarden.reports.model import AggregateReport, AuthResult, Policy, Record
from mailwarden.reports.safexml import Node

RFC9990_NAMESPACE = "urn:ietf:params:xml:ns:dmarc-2.0"
KNOWN_NAMESPACES = frozenset({"", RFC9990_NAMESPACE, "http://dmarc.org/dmarc-xml/0.1"})
ELEMENTS = frozenset({
    "feedback", "version", "report_metadata", "org_name", "email", "extra_contact_info",
    "report_id", "date_range", "begin", "end", "error", "generator", "policy_published",
    "domain", "adkim", "aspf", "p", "sp", "np", "pct", "fo", "testing", "discovery_method",
    "record", "row", "source_ip", "count", "policy_evaluated", "disposition", "dkim", "spf",
    "reason", "type", "comment", "identifiers", "envelope_to", "envelope_from", "header_from",
    "auth_results", "selector", "result", "human_result", "scope", "extension"})
DISPOSITIONS = ("none", "quarantine", "reject", "pass")
VERDICTS = ("pass", "fail")
DKIM_RESULTS = ("none", "pass", "fail", "policy", "neutral", "temperror", "permerror")
SPF_RESULTS = ("none", "neutral", "pass", "fail", "softfail", "temperror", "permerror")
POLICY_VALUES = {"p": ("none", "quarantine", "reject"), "sp": ("none", "quarantine", "reject"),
                 "np": ("none", "quarantine", "reject"), "adkim": ("r", "s"),
                 "aspf": ("r", "s"), "testing": ("n", "y"),
                 "discovery_method": ("psl", "treewalk")}
REASONS = ("forwarded", "sampled_out", "trusted_forwarder", "mailing_list", "local_policy",
           "other", "policy_test_mode")
SCOPES = ("helo", "mfrom")
NUMBER = re.compile(r"[0-9]{1,18}")
KEY_FIELD = 255  # report id, reporter and domain make the key: kept short


class _Reader:
    """Field access with the checks and messages every element shares."""

    def __init__(self, notes: Notes, limits: Limits) -> None:
        self.notes = notes
        self.limits = limits

    def text(self, node: Node, name: str, where: str, *, required: bool = False,
             limit: int = 0) -> str:
        child = node.find(name)
        if child is None:
            if required:
                raise ReportError("dmarc.missing", where=where, element=name)
            return ""
        value = child.text
        if len(value) > (limit or self.limits.max_field):
            raise ReportError("dmarc.too_long", where=where, element=name,
                              limit=limit or self.limits.max_field)
        return value

    def nonempty(self, node: Node, name: str, where: str) -> str:
        value = self.text(node, name, where, required=True, limit=KEY_FIELD)
        if not value:
            raise ReportError("dmarc.empty", where=where, element=name)
        return value

    def integer(self, node: Node, name: str, where: str) -> int:
        value = self.text(node, name, where, required=True)
        if not NUMBER.fullmatch(value):
            raise ReportError("dmarc.integer", where=where, element=name, value=value)
        return int(value)

    def exact(self, node: Node, name: str, where: str, allowed: tuple[str, ...]) -> str:
        value = self.text(node, name, where, required=True)
        if value not in allowed:
            raise ReportError("dmarc.enum", where=where, element=name, value=value,
                              allowed=", ".join(allowed))
        return value

    def known(self, node: Node, name: str, where: str, allowed: tuple[str, ...]) -> str:
        value = self.text(node, name, where)
        if value and value not in allowed:
            self.notes.add("warn.value", where=where, element=name, value=value)
        return value


class _Records:
    """Reads each ``<record>`` as the parser finishes it (see ``safexml.Stream``)."""

    name = "record"

    def __init__(self, read: _Reader) -> None:
        self.read = read
        self.items: list[Record] = []
        self.saved: tuple[dict[str, Note], dict[str, int]] | None = None

    def reset(self) -> None:
        """Before each reading: the warnings are those from before the first one (decoding)."""
        self.items = []
        if self.saved is None:
            self.saved = self.read.notes.snapshot()
        else:
            self.read.notes.restore(self.saved)

    def add(self, node: Node) -> None:
        if len(self.items) >= self.read.limits.max_records:
            raise ReportError("dmarc.too_many_records", limit=self.read.limits.max_records)
        self.items.append(_record(self.read, node, len(self.items) + 1))


def parse_aggregate(data: bytes, limits: Limits = DEFAULT) -> AggregateReport:
    """An aggregate report from XML bytes, or a ReportError saying what and where."""
    notes = Notes()
    records = _Records(_Reader(notes, limits))
    root = safexml.parse(data, notes, ELEMENTS, "feedback", limits, records)
    return interpret(root, notes, limits, records.items)


def interpret(root: Node, notes: Notes, limits: Limits = DEFAULT,
              streamed: list[Record] | None = None) -> AggregateReport:
    """The report from a parsed tree; ``streamed`` are its records if they were read as the
    parser went (otherwise they are read from the tree)."""
    if root.name != "feedback":
        raise ReportError("xml.not_report", root=root.name)
    if root.namespace not in KNOWN_NAMESPACES:
        notes.add("warn.namespace", namespace=root.namespace)
    read = _Reader(notes, limits)
    meta = _section(root, "report_metadata")
    published = _section(root, "policy_published")
    org_name, email = _reporter(read, meta)
    date_range = _section(meta, "date_range", "report_metadata")
    records = streamed if streamed is not None else [
        _record(read, node, i) for i, node in enumerate(root.findall("record"), 1)]
    if len(records) > limits.max_records:
        raise ReportError("dmarc.too_many_records", limit=limits.max_records)
    if not records:
        notes.add("warn.no_records")
    rfc9990 = root.namespace == RFC9990_NAMESPACE or any(
        n.find(name) is not None for n, name in
        ((published, "testing"), (published, "discovery_method"), (meta, "generator")))
    return AggregateReport(
        schema="rfc9990" if rfc9990 else "rfc7489", org_name=org_name, email=email,
        report_id=read.nonempty(meta, "report_id", "report_metadata"),
        begin=read.integer(date_range, "begin", "report_metadata/date_range"),
        end=read.integer(date_range, "end", "report_metadata/date_range"),
        policy=_policy(read, published),
        records=tuple(records),
        namespace=root.namespace, version=read.text(root, "version", "feedback"),
        extra_contact_info=read.text(meta, "extra_contact_info", "report_metadata"),
        generator=read.text(meta, "generator", "report_metadata"),
        errors=tuple(e.text[:limits.max_field] for e in meta.findall("error") if e.text)[:20],
        warnings=notes.done())


def _section(parent: Node, name: str, where: str = "feedback") -> Node:
    node = parent.find(name)
    if node is None:
        raise ReportError("dmarc.missing", where=where, element=name)
    return node


def _reporter(read: _Reader, meta: Node) -> tuple[str, str]:
    """The reporting organisation; named after its e-mail domain when ``org_name`` is empty."""
    org = read.text(meta, "org_name", "report_metadata", limit=KEY_FIELD)
    email = read.text(meta, "email", "report_metadata")
    if not org:
        org = email.rpartition("@")[2].strip().strip(">")[:KEY_FIELD]
        if not org:
            raise ReportError("dmarc.no_org")
        read.notes.add("warn.org_from_email", org=org)
    return org, email


def _policy(read: _Reader, node: Node) -> Policy:
    where = "policy_published"
    values = {name: read.known(node, name, where, allowed)
              for name, allowed in POLICY_VALUES.items()}
    return Policy(domain=read.nonempty(node, "domain", where).lower().rstrip("."),
                  pct=read.text(node, "pct", where), fo=read.text(node, "fo", where), **values)


def _record(read: _Reader, node: Node, number: int) -> Record:
    where = f"record {number} (line {node.line})"
    row = _section(node, "row", where)
    evaluated = _section(row, "policy_evaluated", where + "/row")
    ident = _section(node, "identifiers", where)
    auth = node.find("auth_results")
    return Record(
        source_ip=_address(read, row, where), count=read.integer(row, "count", where),
        disposition=read.exact(evaluated, "disposition", where, DISPOSITIONS),
        dkim=read.exact(evaluated, "dkim", where, VERDICTS),
        spf=read.exact(evaluated, "spf", where, VERDICTS),
        header_from=read.text(ident, "header_from", where, required=True).lower(),
        envelope_from=read.text(ident, "envelope_from", where).lower(),
        envelope_to=read.text(ident, "envelope_to", where).lower(),
        reasons=_reasons(read, evaluated, where),
        dkim_results=tuple(_dkim(read, d, where) for d in _all(auth, "dkim")),
        spf_results=tuple(_spf(read, s, where) for s in _all(auth, "spf")))


def _all(node: Node | None, name: str) -> list[Node]:
    return node.findall(name) if node is not None else []


def _address(read: _Reader, row: Node, where: str) -> str:
    value = read.text(row, "source_ip", where, required=True)
    try:
        return ipaddress.ip_address(value).compressed
    except ValueError:
        raise ReportError("dmarc.ip", where=where, value=value) from None


def _reasons(read: _Reader, evaluated: Node, where: str) -> tuple[tuple[str, str], ...]:
    """The override reasons that name a type (some reporters send empty ones)."""
    found = ((read.known(node, "type", where, REASONS), read.text(node, "comment", where))
             for node in evaluated.findall("reason"))
    return tuple(reason for reason in found if reason[0])


def _dkim(read: _Reader, node: Node, where: str) -> AuthResult:
    return AuthResult(domain=read.text(node, "domain", where).lower(),
                      result=read.known(node, "result", where, DKIM_RESULTS),
                      selector=read.text(node, "selector", where),
                      human_result=read.text(node, "human_result", where))


def _spf(read: _Reader, node: Node, where: str) -> AuthResult:
    return AuthResult(domain=read.text(node, "domain", where).lower(),
                      result=read.known(node, "result", where, SPF_RESULTS),
                      scope=read.known(node, "scope", where, SCOPES),
                      human_result=read.text(node, "human_result", where))
