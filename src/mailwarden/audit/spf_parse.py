"""SPF records (RFC 7208 sections 4.5, 4.6, 5, 6 and 12): which TXT strings are SPF records,
and parsing one into mechanisms and modifiers.

The whole record is checked before anything is evaluated (a syntax error anywhere is a
permerror, RFC 7208 4.6). Every error names the term and says exactly what is wrong, in English
and Japanese.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field

from mailwarden.audit.spf_macro import (
    MacroString,
    SpfSyntaxError,
    parse_domain_spec,
    parse_macro_string,
)

__all__ = ["DNS_MECHANISMS", "MECHANISMS", "Mechanism", "Modifier", "SpfRecord",
           "SpfSyntaxError", "is_spf_record", "parse_record"]

VERSION = b"v=spf1"
MECHANISMS = ("all", "include", "a", "mx", "ptr", "ip4", "ip6", "exists")
DNS_MECHANISMS = frozenset(("include", "a", "mx", "ptr", "exists"))
QUALIFIERS = {"+": "pass", "-": "fail", "~": "softfail", "?": "neutral"}

_MODIFIER = re.compile(r"([A-Za-z][A-Za-z0-9._-]*)=(.*)", re.S)
_DIRECTIVE = re.compile(r"([+\-~?]?)([A-Za-z][A-Za-z0-9]*)(.*)", re.S)
_DUAL_CIDR = re.compile(r"(?::(.*?))?(?:/([0-9]+))?(?://([0-9]+))?", re.S)
_IP_NETWORK = re.compile(r":([^/]*)(?:/([0-9]+))?", re.S)
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_IP4 = re.compile(rf"{_OCTET}(?:\.{_OCTET}){{3}}")
_IP6_CHARS = re.compile(r"[0-9A-Fa-f:.]+")


@dataclass(frozen=True)
class Mechanism:
    """One directive: qualifier result, mechanism name and its arguments."""

    qualifier: str  # the result when it matches: pass, fail, softfail, neutral
    kind: str  # all, include, a, mx, ptr, ip4, ip6, exists
    text: str  # the term as written
    domain: MacroString | None = None
    network: ipaddress.IPv4Network | ipaddress.IPv6Network | None = None
    cidr4: int = 32
    cidr6: int = 128


@dataclass(frozen=True)
class Modifier:
    """``name=value``: redirect, exp, or an unknown modifier (ignored when evaluating)."""

    name: str  # lower case
    value: MacroString
    text: str


@dataclass(frozen=True)
class SpfRecord:
    """A parsed ``v=spf1`` record."""

    text: str
    mechanisms: tuple[Mechanism, ...] = ()
    redirect: Modifier | None = None
    exp: Modifier | None = None
    unknown: tuple[Modifier, ...] = field(default_factory=tuple)

    @property
    def all(self) -> Mechanism | None:
        """The first ``all`` mechanism (what follows it is never evaluated)."""
        return next((m for m in self.mechanisms if m.kind == "all"), None)

    @property
    def dns_terms(self) -> int:
        """Mechanisms and modifiers of this record that cost a DNS lookup."""
        own = sum(1 for m in self.mechanisms if m.kind in DNS_MECHANISMS)
        return own + (1 if self.redirect is not None and self.all is None else 0)


def is_spf_record(raw: bytes) -> bool:
    """A TXT string is an SPF record when it is ``v=spf1`` (any case) alone or followed by a
    space (RFC 7208 4.5)."""
    return raw[:6].lower() == VERSION and (len(raw) == 6 or raw[6:7] == b" ")


def parse_record(raw: bytes | str) -> SpfRecord:
    """Parse a whole record; :class:`SpfSyntaxError` on the first error found."""
    data = raw.encode("utf-8", "surrogateescape") if isinstance(raw, str) else raw
    if not is_spf_record(data):
        raise SpfSyntaxError("the record does not start with 'v=spf1' followed by a space",
                             "レコードが「v=spf1」と空白で始まっていません")
    for position, byte in enumerate(data):
        if not 0x20 <= byte <= 0x7E:
            raise SpfSyntaxError(
                f"byte 0x{byte:02X} at position {position}: SPF records are 7-bit ASCII and"
                " terms are separated by spaces only",
                f"{position}文字目にバイト 0x{byte:02X} があります。SPF レコードは7ビット ASCII "
                "のみで、項目の区切りは半角スペースだけです", _around(data, position))
    text = data.decode("ascii")
    return _assemble(text, [_parse_term(term) for term in text.split(" ")[1:] if term])


def _around(data: bytes, position: int) -> str:
    return data[max(0, position - 20):position + 20].decode("ascii", "backslashreplace")


def _assemble(text: str, terms: list[Mechanism | Modifier]) -> SpfRecord:
    mechanisms = tuple(t for t in terms if isinstance(t, Mechanism))
    modifiers = [t for t in terms if isinstance(t, Modifier)]
    known: dict[str, Modifier] = {}
    for modifier in modifiers:
        if modifier.name in ("redirect", "exp"):
            if modifier.name in known:
                raise SpfSyntaxError(
                    f"the {modifier.name}= modifier appears more than once",
                    f"{modifier.name}= 修飾子が複数回現れています", modifier.text)
            known[modifier.name] = modifier
    unknown = tuple(m for m in modifiers if m.name not in ("redirect", "exp"))
    return SpfRecord(text, mechanisms, known.get("redirect"), known.get("exp"), unknown)


def _parse_term(term: str) -> Mechanism | Modifier:
    modifier = _MODIFIER.fullmatch(term)
    if modifier is not None:
        return _parse_modifier(term, modifier.group(1).lower(), modifier.group(2))
    directive = _DIRECTIVE.fullmatch(term)
    if directive is None:
        raise SpfSyntaxError(
            f"unknown term {term!r}: expected a mechanism ([+-~?]name[:...]) or a modifier"
            " (name=value)",
            f"不明な項目 {term!r} です。メカニズム（[+-~?]名前[:...]）または修飾子（名前=値）が"
            "必要です", term)
    prefix, name, rest = directive.groups()
    kind = name.lower()
    if kind not in MECHANISMS:
        known = ", ".join(MECHANISMS)
        raise SpfSyntaxError(f"unknown mechanism {name!r} in {term!r} (known: {known})",
                             f"{term!r} のメカニズム {name!r} は不明です（有効なもの: {known}）",
                             term)
    return _PARSERS[kind](QUALIFIERS[prefix or "+"], kind, term, rest)


def _parse_modifier(term: str, name: str, value: str) -> Modifier:
    if name in ("redirect", "exp"):
        if not value:
            raise SpfSyntaxError(f"{name}= needs a domain", f"{name}= にドメインがありません", term)
        return Modifier(name, _domain(value, term), term)
    try:
        return Modifier(name, parse_macro_string(value, explanation=True), term)
    except SpfSyntaxError as exc:
        raise SpfSyntaxError(f"modifier {term!r}: {exc.en}", f"修飾子 {term!r}: {exc.ja}",
                             term) from None


def _domain(text: str, term: str) -> MacroString:
    try:
        return parse_domain_spec(text)
    except SpfSyntaxError as exc:
        raise SpfSyntaxError(f"{term!r}: {exc.en}", f"{term!r}: {exc.ja}", term) from None


def _no_argument(result: str, kind: str, term: str, rest: str) -> Mechanism:
    if rest:
        raise SpfSyntaxError(f"{term!r}: 'all' takes no argument",
                             f"{term!r}: all には引数を付けられません", term)
    return Mechanism(result, kind, term)


def _domain_argument(result: str, kind: str, term: str, rest: str) -> Mechanism:
    """include and exists need ':domain'; ptr takes an optional one; none takes a CIDR."""
    if not rest and kind == "ptr":
        return Mechanism(result, kind, term)
    if not rest.startswith(":") or len(rest) == 1:
        required = "needs ':' and a domain" if kind != "ptr" else "takes only ':' and a domain"
        required_ja = ("には「:ドメイン」が必要です" if kind != "ptr"
                       else "には「:ドメイン」しか付けられません")
        raise SpfSyntaxError(f"{term!r}: {kind} {required}", f"{term!r}: {kind} {required_ja}",
                             term)
    return Mechanism(result, kind, term, _domain(rest[1:], term))


def _dual_cidr(result: str, kind: str, term: str, rest: str) -> Mechanism:
    """a and mx: an optional ':domain', then optional '/ip4-cidr' and '//ip6-cidr'."""
    match = _DUAL_CIDR.fullmatch(rest)
    if match is None:
        raise SpfSyntaxError(
            f"{term!r}: {kind} takes an optional ':domain', '/0-32' and '//0-128'",
            f"{term!r}: {kind} に付けられるのは「:ドメイン」「/0-32」「//0-128」だけです", term)
    domain_text, cidr4, cidr6 = match.groups()
    domain = None
    if domain_text is not None:
        if not domain_text:
            raise SpfSyntaxError(f"{term!r}: empty domain after ':'",
                                 f"{term!r}: 「:」の後のドメインが空です", term)
        domain = _domain(domain_text, term)
    return Mechanism(result, kind, term, domain, None, _cidr(cidr4, 32, term),
                     _cidr(cidr6, 128, term))


def _cidr(digits: str | None, limit: int, term: str) -> int:
    if digits is None:
        return limit
    if (digits.startswith("0") and digits != "0") or len(digits) > 3 or int(digits) > limit:
        raise SpfSyntaxError(
            f"{term!r}: prefix length /{digits} must be 0 to {limit} without leading zeros",
            f"{term!r}: プレフィックス長 /{digits} は先頭に0を付けずに0〜{limit}で指定します",
            term)
    return int(digits)


def _ip(result: str, kind: str, term: str, rest: str) -> Mechanism:
    match = _IP_NETWORK.fullmatch(rest)
    address = match.group(1) if match is not None else ""
    version = 4 if kind == "ip4" else 6
    valid = _IP4.fullmatch(address) if version == 4 else _IP6_CHARS.fullmatch(address)
    network = None
    if match is not None and valid is not None:
        length = _cidr(match.group(2), 32 if version == 4 else 128, term)
        try:
            network = ipaddress.ip_network(f"{address}/{length}", strict=False)
        except ValueError:
            network = None
    if network is None or network.version != version:
        raise SpfSyntaxError(
            f"{term!r}: {kind} needs ':' and a full IPv{version} address with an optional"
            f" /prefix length",
            f"{term!r}: {kind} には「:」と完全な IPv{version} アドレス（任意で /プレフィックス長）"
            "が必要です", term)
    return Mechanism(result, kind, term, None, network)


_PARSERS = {"all": _no_argument, "include": _domain_argument, "exists": _domain_argument,
            "ptr": _domain_argument, "a": _dual_cidr, "mx": _dual_cidr, "ip4": _ip, "ip6": _ip}
