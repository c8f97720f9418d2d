"""Authentication-Results (RFC 8601) and ARC-Authentication-Results (RFC 8617), from trusted
authserv-ids only.

Anyone can write an Authentication-Results header into a message; only those added by the
organisation's own receiving MTAs (``[inbound] authserv_ids``) say anything. Of those, the
topmost one that reports a method is the latest and wins. ARC-Authentication-Results of a
trusted authserv-id are read only when no trusted Authentication-Results exist.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from mailwarden.inbound.headers import Headers

PAIR = re.compile(r'([A-Za-z0-9_.\-/]{1,64})\s*=\s*("(?:[^"\\]|\\.){0,1000}"|[^\s;"]{1,1000})')
ARC_INSTANCE = re.compile(r"^\s*i\s*=\s*(\d{1,3})\s*;", re.I)
MAX_VALUE = 16384
METHODS = ("spf", "dkim", "dmarc", "arc")


@dataclass(frozen=True, slots=True)
class Result:
    """One method's result, e.g. ``dkim=pass header.d=example.jp``."""

    method: str
    result: str
    props: dict[str, str] = field(default_factory=dict)

    def domain(self) -> str:
        """The domain the result is about (DMARC: header.from; SPF: smtp.mailfrom; DKIM: d)."""
        for key in ("header.from", "header.d", "smtp.mailfrom", "header.i", "smtp.helo"):
            value = self.props.get(key, "")
            if value:
                return value.rpartition("@")[2].strip("<>").lower()
        return ""


@dataclass(frozen=True, slots=True)
class Header:
    """One parsed header: who wrote it and what it reports."""

    authserv_id: str
    results: tuple[Result, ...]


@dataclass(slots=True)
class Verdicts:
    """What the trusted headers say, per method (empty when nothing trusted says anything)."""

    authserv_id: str = ""
    by_method: dict[str, list[Result]] = field(default_factory=dict)
    ignored: list[str] = field(default_factory=list)  # authserv-ids not trusted

    @property
    def present(self) -> bool:
        return bool(self.authserv_id)

    def results(self, method: str) -> list[str]:
        return [r.result for r in self.by_method.get(method, [])]

    def passed(self, method: str, domain: str = "") -> bool:
        return any(r.result == "pass" and (not domain or _aligned(r.domain(), domain))
                   for r in self.by_method.get(method, []))

    def failed(self, method: str) -> bool:
        bad = {"fail", "softfail", "permerror"} if method == "spf" else {"fail", "permerror"}
        return any(r.result in bad for r in self.by_method.get(method, []))


def _aligned(a: str, b: str) -> bool:
    """Relaxed alignment: one domain is the other or a subdomain of it."""
    a, b = a.lower().rstrip("."), b.lower().rstrip(".")
    return bool(a and b) and (a == b or a.endswith("." + b) or b.endswith("." + a))


def parse(value: str) -> Header | None:
    """One header value; None when it names no authserv-id."""
    text = _strip_comments(value[:MAX_VALUE])
    chunks = _split(text)
    if not chunks:
        return None
    first = chunks[0].split()
    if not first or "=" in first[0]:
        return None
    results = []
    for chunk in chunks[1:]:
        pairs = PAIR.findall(chunk)
        if not pairs or "." in pairs[0][0]:
            continue
        method = pairs[0][0].split("/", 1)[0].lower()
        props = {k.lower(): v.strip('"') for k, v in pairs[1:]}
        results.append(Result(method, pairs[0][1].strip('"').lower(), props))
    return Header(first[0].lower().rstrip(";"), tuple(results))


def _strip_comments(text: str) -> str:
    out: list[str] = []
    depth = 0
    quoted = escaped = False
    for ch in text:
        if escaped:
            escaped = False
        elif ch == "\\":
            escaped = True
        elif quoted:
            quoted = ch != '"'
        elif ch == "(":
            depth += 1
            continue
        elif ch == ")" and depth:
            depth -= 1
            continue
        elif ch == '"' and not depth:
            quoted = True
        if not depth:
            out.append(ch)
    return "".join(out)


def _split(text: str) -> list[str]:
    chunks: list[str] = []
    buf: list[str] = []
    quoted = False
    for ch in text:
        if ch == '"':
            quoted = not quoted
        if ch == ";" and not quoted:
            chunks.append("".join(buf).strip())
            buf = []
        else:
            buf.append(ch)
    chunks.append("".join(buf).strip())
    return [c for c in chunks if c]


def trusted(headers: Headers, ids: Iterable[str]) -> Verdicts:
    """The combined results of the trusted authserv-ids, topmost first."""
    wanted = {i.lower() for i in ids}
    out = Verdicts()
    for name in ("authentication-results", "arc-authentication-results"):
        for value in headers.get_all(name)[:50]:
            if name.startswith("arc"):
                value = ARC_INSTANCE.sub("", value, count=1)
            parsed = parse(value)
            if parsed is None:
                continue
            if parsed.authserv_id not in wanted:
                if parsed.authserv_id not in out.ignored:
                    out.ignored.append(parsed.authserv_id)
                continue
            _merge(out, parsed)
        if out.present:
            break
    return out


def _merge(out: Verdicts, parsed: Header) -> None:
    out.authserv_id = out.authserv_id or parsed.authserv_id
    seen = {r.method for r in parsed.results}
    for method in seen:
        if method in out.by_method:
            continue  # a header above already reported it
        out.by_method[method] = [r for r in parsed.results if r.method == method]
