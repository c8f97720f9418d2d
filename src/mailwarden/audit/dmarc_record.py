"""The DMARC policy record: RFC 9989 §4.7 and its formal definition, read with RFC 7489
compatibility (``pct``, ``rf``, ``ri`` and the ``!size`` suffix still parse, and are reported as
removed).

:func:`parse_dmarc` never raises: everything wrong is a :class:`Problem` with the tag, the
value and the character offset, so the audit can say exactly what to fix.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from mailwarden.audit.dns import valid_name

MAX_RECORD = 4096
MAX_URIS = 16
POLICIES = ("none", "quarantine", "reject")
KNOWN = ("v", "p", "sp", "np", "adkim", "aspf", "t", "pct", "rua", "ruf", "fo", "rf", "ri",
         "psd")
REMOVED = ("pct", "rf", "ri")  # RFC 7489 tags that RFC 9989 removed
FO_OPTIONS = ("0", "1", "d", "s")
WSP = " \t"
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:")
_SIZE = re.compile(r"^(.*?)!(\d{1,20})([kmgtKMGT]?)$")
_LOCAL = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~.\-]{1,64}$")
_TAG_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class Problem:
    """One thing wrong in a record. ``code`` is the finding id's last part (``bad_value``)."""

    code: str
    tag: str = ""
    value: str = ""
    offset: int = -1
    expected: str = ""


@dataclass(frozen=True)
class ReportUri:
    """One ``rua``/``ruf`` destination."""

    raw: str
    scheme: str = ""
    address: str = ""  # mailto: the address; other schemes: the rest of the URI
    host: str = ""  # the domain that receives the reports
    size: str = ""  # RFC 7489 "!10m" suffix, as written
    error: str = ""  # why it is not a usable URI

    @property
    def valid(self) -> bool:
        return not self.error


@dataclass
class DmarcRecord:
    """A parsed record. ``is_dmarc`` is False when receivers would ignore it entirely (no
    ``v=DMARC1`` first); the other fields then keep their defaults."""

    text: str
    is_dmarc: bool = False
    tags: dict[str, str] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)
    p: str | None = None
    sp: str | None = None
    np: str | None = None
    adkim: str = "r"
    aspf: str = "r"
    t: str = "n"
    pct: int | None = None
    rua: list[ReportUri] = field(default_factory=list)
    ruf: list[ReportUri] = field(default_factory=list)
    fo: list[str] = field(default_factory=lambda: ["0"])
    rf: str | None = None
    ri: int | None = None
    psd: str = "u"
    unknown: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def policy(self) -> str:
        """The policy receivers apply to the domain itself (RFC 9989: a record without a
        valid ``p`` acts as ``p=none`` when it has a valid ``rua``, else not at all)."""
        if self.p is not None:
            return self.p
        return "none" if any(u.valid for u in self.rua) else "absent"

    @property
    def subdomain_policy(self) -> str:
        return self.sp or self.policy

    @property
    def nonexistent_policy(self) -> str:
        return self.np or self.subdomain_policy

    @property
    def testing(self) -> bool:
        """The policy is announced but not to be applied (``t=y``, or RFC 7489 ``pct=0``)."""
        return self.t == "y" or self.pct == 0

    def problem(self, code: str) -> Problem | None:
        return next((p for p in self.problems if p.code == code), None)


def is_dmarc_text(text: str) -> bool:
    """Does this TXT string start with the ``v=DMARC1`` tag (what discovery keeps)?"""
    head = text.lstrip(WSP)
    if head[:1] not in ("v", "V"):
        return False
    rest = head[1:].lstrip(WSP)
    if not rest.startswith("="):
        return False
    value = rest[1:].lstrip(WSP)
    return value.startswith("DMARC1") and value[6:].lstrip(WSP)[:1] in ("", ";")


def decode_txt(data: bytes) -> tuple[str, bool]:
    """TXT bytes as text; False when they were not printable ASCII (replaced by U+FFFD)."""
    text = data.decode("ascii", "replace")
    clean = all(32 <= b < 127 or b == 9 for b in data)
    return text, clean


def split_tags(text: str) -> list[tuple[str, str, int, Problem | None]]:
    """``(name, value, offset, problem)`` for each ``;``-separated part."""
    parts: list[tuple[str, str, int, Problem | None]] = []
    offset = 0
    for chunk in text.split(";"):
        start = offset
        offset += len(chunk) + 1
        stripped = chunk.strip(WSP)
        if not stripped:
            continue
        at = start + len(chunk) - len(chunk.lstrip(WSP))
        name, equals, value = stripped.partition("=")
        name, value = name.strip(WSP), value.strip(WSP)
        if not equals:
            parts.append((name, "", at, Problem("tag_syntax", name[:40], stripped[:80], at,
                                                "tag=value")))
        elif not _TAG_NAME.match(name):
            parts.append((name, value, at, Problem("tag_syntax", name[:40], stripped[:80], at,
                                                   "a tag name of letters")))
        else:
            parts.append((name.lower(), value, at, None))
    return parts


def parse_dmarc(text: str) -> DmarcRecord:
    """Parse one TXT string published at ``_dmarc.<domain>``."""
    record = DmarcRecord(text=text[:MAX_RECORD])
    if len(text) > MAX_RECORD:
        record.problems.append(Problem("too_long", value=str(len(text)), offset=MAX_RECORD))
    parts = split_tags(record.text)
    if not is_dmarc_text(record.text):
        found = parts[0][1] if parts and parts[0][0] == "v" else (parts[0][0] if parts else "")
        record.problems.append(Problem("version", "v", found[:40], 0, "v=DMARC1 first"))
        return record
    record.is_dmarc = True
    for name, value, offset, problem in parts[1:]:
        if problem is not None:
            record.problems.append(problem)
            continue
        if name in record.tags:
            record.problems.append(Problem("duplicate_tag", name, value[:80], offset))
            continue
        record.tags[name] = value
        record.order.append(name)
        _apply(record, name, value, offset)
    _check_order(record)
    return record


def _check_order(record: DmarcRecord) -> None:
    if "p" not in record.tags:
        record.problems.append(Problem("p_missing", "p"))
    elif record.order[0] != "p":
        record.problems.append(Problem("p_not_second", "p", record.tags["p"],
                                       expected="v=DMARC1; p=..."))
    if "fo" in record.tags and not record.ruf:
        record.problems.append(Problem("fo_without_ruf", "fo", record.tags["fo"]))


def _bad(record: DmarcRecord, name: str, value: str, offset: int, expected: str) -> None:
    code = "empty_value" if not value else "bad_value"
    record.problems.append(Problem(code, name, value[:80], offset, expected))


def _apply(record: DmarcRecord, name: str, value: str, offset: int) -> None:
    if name in ("p", "sp", "np"):
        if value.lower() in POLICIES:
            setattr(record, name, value.lower())
        else:
            _bad(record, name, value, offset, "none | quarantine | reject")
    elif name in ("adkim", "aspf"):
        _choice(record, name, value, offset, ("r", "s"))
    elif name in ("t", "psd"):
        _choice(record, name, value, offset, ("y", "n") if name == "t" else ("y", "n", "u"))
    elif name in ("rua", "ruf"):
        setattr(record, name, _uris(record, name, value, offset))
    elif name == "fo":
        _fo(record, value, offset)
    elif name in ("pct", "ri"):
        _number(record, name, value, offset)
    elif name == "rf":
        record.rf = value.lower()
        if any(f.strip(WSP).lower() != "afrf" for f in value.split(":")):
            _bad(record, name, value, offset, "afrf")
    else:
        record.unknown.append(name)
        record.problems.append(Problem("unknown_tag", name, value[:80], offset))
    if name in REMOVED:
        record.problems.append(Problem("removed_tag", name, value[:80], offset))


def _choice(record: DmarcRecord, name: str, value: str, offset: int,
            allowed: tuple[str, ...]) -> None:
    if value.lower() in allowed:
        setattr(record, name, value.lower())
    else:
        _bad(record, name, value, offset, " | ".join(allowed))


def _number(record: DmarcRecord, name: str, value: str, offset: int) -> None:
    high = 100 if name == "pct" else 2**32 - 1
    if value.isascii() and value.isdigit() and len(value) <= 10 and int(value) <= high:
        setattr(record, name, int(value))
    else:
        _bad(record, name, value, offset, f"an integer 0-{high}")


def _fo(record: DmarcRecord, value: str, offset: int) -> None:
    options = [o.strip(WSP).lower() for o in value.split(":")]
    if not value or any(o not in FO_OPTIONS for o in options):
        _bad(record, "fo", value, offset, "0 | 1 | d | s, separated by ':'")
        return
    record.fo = list(dict.fromkeys(options))


def _uris(record: DmarcRecord, name: str, value: str, offset: int) -> list[ReportUri]:
    uris = [parse_uri(raw.strip(WSP)) for raw in value.split(",")][:MAX_URIS]
    for uri in uris:
        if not uri.valid:
            record.problems.append(Problem("bad_uri", name, uri.raw[:120], offset, uri.error))
        elif uri.size:
            record.problems.append(Problem("uri_size", name, uri.raw[:120], offset))
    if not value:
        _bad(record, name, value, offset, "mailto:reports@example.com")
    return uris


def parse_uri(raw: str) -> ReportUri:
    """One DMARC reporting URI (RFC 3986 URI; ``mailto:`` is what receivers must support)."""
    body, size = raw, ""
    matched = _SIZE.match(raw)
    if matched:
        body, size = matched.group(1), matched.group(2) + matched.group(3)
    if not raw:
        return ReportUri(raw, error="empty")
    scheme_match = _SCHEME.match(body)
    if scheme_match is None:
        hint = "mailto:" + body if "@" in body else "mailto:reports@example.com"
        return ReportUri(raw, size=size, error=f"no URI scheme (write {hint[:80]})")
    scheme = scheme_match.group(0)[:-1].lower()
    rest = body[scheme_match.end():]
    if scheme != "mailto":
        host = rest.removeprefix("//").split("/", 1)[0].split(":", 1)[0].lower()
        return ReportUri(raw, scheme, rest, host, size)
    address = rest.split("?", 1)[0]
    local, at, domain = address.rpartition("@")
    domain = domain.lower().rstrip(".")
    if not at or not _LOCAL.match(local):
        return ReportUri(raw, scheme, address, domain, size, "not a mail address")
    if "." not in domain or not valid_name(domain) or not _hostname(domain):
        return ReportUri(raw, scheme, address, domain, size, "not a valid mail domain")
    return ReportUri(raw, scheme, address, domain, size)


def _hostname(domain: str) -> bool:
    return all(re.fullmatch(r"[a-z0-9_]([a-z0-9\-_]{0,61}[a-z0-9_])?", label)
               for label in domain.split("."))
