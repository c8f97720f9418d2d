"""The strict ``v=VERSION; name=value`` grammar shared by the MTA-STS TXT record (RFC 8461
§3.1) and the TLS-RPT record (RFC 8460 §3):

    record      = version 1*(field-delim field) [field-delim]
    field-delim = *WSP ";" *WSP
    field       = ext-name "=" ext-value
    ext-name    = (ALPHA / DIGIT) *31(ALPHA / DIGIT / "_" / "-" / ".")
    ext-value   = 1*(%x21-3A / %x3C / %x3E-7E)   ; visible characters but "=" and ";"

Unlike the DMARC and DKIM tag lists, no space is allowed around ``=``. :func:`split_fields`
never raises; what breaks the grammar is a :class:`Problem` with the character offset.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from mailwarden.audit.dmarc_record import Problem

WSP = " \t"
MAX_TEXT = 4096
MAX_FIELDS = 64
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,31}$")
VALUE = re.compile(r"^[\x21-\x3a\x3c\x3e-\x7e]+$")


@dataclass(frozen=True)
class Field:
    """One ``name=value`` field and where it starts in the record."""

    name: str
    value: str
    offset: int


@dataclass
class Fields:
    """The fields after the version, in order, and what broke the grammar."""

    version_ok: bool = False
    fields: list[Field] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    def first(self, name: str) -> Field | None:
        return next((f for f in self.fields if f.name == name), None)


def starts_with_version(text: str, version: str) -> bool:
    """The record begins with exactly ``version`` (e.g. ``v=STSv1``), then a delimiter or its
    end: what senders keep among the TXT records of the name."""
    return text.startswith(version) and text[len(version):].lstrip(WSP)[:1] in ("", ";")


def split_fields(text: str, version: str, value_pattern: dict[str, re.Pattern[str]]
                 | None = None) -> Fields:
    """Split ``text``; ``value_pattern`` gives the value grammar of fields whose value is not
    an ext-value (TLS-RPT's ``rua`` holds URIs separated by commas and spaces)."""
    found = Fields()
    text = text[:MAX_TEXT]
    if not starts_with_version(text, version):
        head = text.split(";", 1)[0].strip(WSP)
        found.problems.append(Problem("version", "v", head[:60], 0, version))
        return found
    found.version_ok = True
    chunks = text[len(version):].split(";")  # chunks[0] is blank (starts_with_version)
    offset = len(chunks[0]) + len(version) + 1
    rest = chunks[1:]
    for index, chunk in enumerate(rest):
        start = offset
        offset += len(chunk) + 1
        _field(found, chunk, start, last=index == len(rest) - 1, patterns=value_pattern or {})
        if len(found.fields) >= MAX_FIELDS:
            break
    if not found.fields and not any(p.code == "syntax" for p in found.problems):
        found.problems.append(Problem("syntax", "", "", len(text), f"{version}; name=value"))
    return found


def _field(found: Fields, chunk: str, start: int, last: bool,
           patterns: dict[str, re.Pattern[str]]) -> None:
    stripped = chunk.strip(WSP)
    at = start + len(chunk) - len(chunk.lstrip(WSP))
    if not stripped:
        if not last:  # only one trailing delimiter is allowed: "a=1;;b=2" is not
            found.problems.append(Problem("syntax", "", ";;", start - 1, "name=value"))
        return
    name, equals, value = stripped.partition("=")
    pattern = patterns.get(name, VALUE)
    if not equals or not NAME.match(name):
        found.problems.append(Problem("syntax", name[:40], stripped[:80], at, "name=value"))
    elif not pattern.match(value):
        found.problems.append(Problem("syntax", name, value[:80], at + len(name) + 1,
                                      f"{name}=value"))
    else:
        found.fields.append(Field(name, value, at))
