"""MTA-STS (RFC 8461): the ``_mta-sts`` TXT record (§3.1), the policy served over HTTPS
(§3.2) and how its ``mx`` patterns match MX host names (§4.1).

:func:`parse_sts_record` and :func:`parse_policy` never raise: everything wrong is a
:class:`Problem` (``tag`` is the field; ``offset`` the character offset in the TXT record, the
line number in the policy).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from mailwarden.audit.dmarc_record import Problem
from mailwarden.audit.txt_fields import split_fields, starts_with_version

VERSION = "v=STSv1"
ID = re.compile(r"^[A-Za-z0-9]{1,32}$")
MODES = ("enforce", "testing", "none")
MAX_AGE_LIMIT = 31_557_600  # one year, the most RFC 8461 allows
MAX_LINES = 1000
MAX_MX = 100
KNOWN = ("version", "mode", "max_age", "mx")
_POLICY_LINE = re.compile(r"^([A-Za-z0-9][A-Za-z0-9_.\-]{0,31})[ \t]*:(.*)$", re.DOTALL)
_LABEL = re.compile(r"^[a-z0-9]([a-z0-9\-]{0,61}[a-z0-9])?$")


@dataclass
class StsRecord:
    """One ``_mta-sts`` TXT string. ``is_sts``: it begins with ``v=STSv1`` (senders discard
    the others); ``valid``: the whole record follows the grammar and has an ``id``."""

    text: str
    is_sts: bool = False
    id: str | None = None
    fields: dict[str, str] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return self.is_sts and self.id is not None and not any(
            p.code in ("syntax", "id_syntax", "id_missing", "version") for p in self.problems)


def is_sts_text(text: str) -> bool:
    return starts_with_version(text, VERSION)


def parse_sts_record(text: str) -> StsRecord:
    """Parse one TXT string published at ``_mta-sts.<domain>``."""
    record = StsRecord(text)
    parts = split_fields(text, VERSION)
    record.is_sts = parts.version_ok
    record.problems.extend(parts.problems)
    for part in parts.fields:
        if part.name in record.fields:
            record.problems.append(Problem("duplicate_field", part.name, part.value[:80],
                                           part.offset))
            continue
        record.fields[part.name] = part.value
        if part.name != "id":
            record.problems.append(Problem("unknown_field", part.name, part.value[:80],
                                           part.offset))
        elif ID.match(part.value):
            record.id = part.value
        else:
            record.problems.append(Problem("id_syntax", "id", part.value[:80],
                                           part.offset + 3, "[A-Za-z0-9]{1,32}"))
    if record.is_sts and "id" not in record.fields:
        record.problems.append(Problem("id_missing", "id", expected="id=20240101T000000"))
    return record


@dataclass
class Policy:
    """A policy file. ``version``, ``mode`` and ``max_age`` are the first valid value of
    each (None when absent or invalid); ``mx`` every valid pattern in order."""

    text: str
    version: str | None = None
    mode: str | None = None
    max_age: int | None = None
    mx: list[str] = field(default_factory=list)
    seen: dict[str, int] = field(default_factory=dict)  # field name -> first line
    problems: list[Problem] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        """Everything a sender needs: version, mode, max_age, and mx unless mode is none."""
        return (self.version == "STSv1" and self.mode is not None and self.max_age is not None
                and (bool(self.mx) or self.mode == "none"))

    def problem(self, code: str) -> Problem | None:
        return next((p for p in self.problems if p.code == code), None)


def parse_policy(text: str) -> Policy:
    """Parse the body of ``https://mta-sts.<domain>/.well-known/mta-sts.txt``: lines ending in
    CRLF or LF, each ``name: value``; field names are case-sensitive, unknown ones ignored."""
    policy = Policy(text)
    lines = text.split("\n")
    if len(lines) > MAX_LINES:
        policy.problems.append(Problem("too_many_lines", value=str(len(lines)),
                                       offset=MAX_LINES))
    for number, raw in enumerate(lines[:MAX_LINES], start=1):
        line = raw.removesuffix("\r")
        if line.strip(" \t"):
            _policy_line(policy, line, number)
    _required(policy)
    return policy


def _policy_line(policy: Policy, line: str, number: int) -> None:
    matched = _POLICY_LINE.match(line)
    if matched is None:
        policy.problems.append(Problem("line_syntax", "", line[:80], number, "name: value"))
        return
    name, value = matched.group(1), matched.group(2).strip(" \t")
    if name not in KNOWN and name.lower() in KNOWN:
        policy.problems.append(Problem("field_case", name, value[:80], number, name.lower()))
        return
    if name not in KNOWN:
        policy.problems.append(Problem("unknown_field", name, value[:80], number))
        return
    if name in policy.seen and name != "mx":
        policy.problems.append(Problem("duplicate_field", name, value[:80], number))
        return
    policy.seen.setdefault(name, number)
    _value(policy, name, value, number)


def _value(policy: Policy, name: str, value: str, number: int) -> None:
    if name == "version":
        if value == "STSv1":
            policy.version = value
        else:
            policy.problems.append(Problem("bad_version", name, value[:80], number, "STSv1"))
    elif name == "mode":
        if value in MODES:
            policy.mode = value
        else:
            policy.problems.append(Problem("bad_mode", name, value[:80], number,
                                           " | ".join(MODES)))
    elif name == "max_age":
        if value.isascii() and value.isdigit() and len(value) <= 10 \
                and int(value) <= MAX_AGE_LIMIT:
            policy.max_age = int(value)
        else:
            policy.problems.append(Problem("bad_max_age", name, value[:80], number,
                                           f"0-{MAX_AGE_LIMIT}"))
    elif valid_pattern(value) and len(policy.mx) < MAX_MX:
        policy.mx.append(value.lower().rstrip("."))
    elif len(policy.mx) < MAX_MX:
        policy.problems.append(Problem("bad_mx", name, value[:80], number,
                                       "mail.example.com | *.example.com"))


def _required(policy: Policy) -> None:
    for name in ("version", "mode", "max_age"):
        if name not in policy.seen:
            policy.problems.append(Problem("missing_field", name))
    if "mx" not in policy.seen and policy.mode != "none":
        policy.problems.append(Problem("missing_field", "mx"))


def valid_pattern(pattern: str) -> bool:
    """``["*."] Domain``: a host name, or ``*.`` followed by a domain of two labels or more."""
    name = pattern.lower().rstrip(".")
    if name.startswith("*."):
        name = name[2:]
        if name.count(".") < 1:
            return False
    labels = name.split(".")
    return len(name) <= 253 and len(labels) >= 2 and all(_LABEL.match(x) for x in labels)


def mx_matches(pattern: str, host: str) -> bool:
    """RFC 8461 §4.1: ``mail.example.com`` matches only itself; ``*.example.com`` matches
    exactly one label to the left of ``example.com`` (not ``example.com``, not
    ``a.b.example.com``). Case and a trailing dot do not matter."""
    pattern = pattern.lower().rstrip(".")
    host = host.lower().rstrip(".")
    if not pattern.startswith("*."):
        return host == pattern
    suffix = pattern[1:]  # ".example.com"
    head = host[:-len(suffix)] if host.endswith(suffix) else ""
    return bool(head) and "." not in head
