"""SPF macro strings (RFC 7208 section 7): parsing, domain-spec syntax, bounded expansion.

A macro string is a sequence of literals, escapes (``%%``, ``%_``, ``%-``) and macros
(``%{d2r-}``). Parsing checks the grammar and raises :class:`SpfSyntaxError` with the exact
reason; expansion never reads DNS (the caller supplies the validated name for ``%{p}``) and its
output is bounded, so a hostile record cannot make it grow without limit.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from urllib.parse import quote

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

LETTERS = "slodipvhcrt"
EXPLANATION_ONLY = "crt"  # allowed only in the explanation text an exp= modifier points at
DELIMITERS = ".-+,/_="
MAX_DOMAIN = 253
MAX_EXPANSION = 1024  # characters kept of an expansion (domains keep the right end)
_TOPLABEL = re.compile(r"[A-Za-z0-9]*[A-Za-z][A-Za-z0-9]*|[A-Za-z0-9]+-[A-Za-z0-9-]*[A-Za-z0-9]")
_MACRO = re.compile(r"%\{([A-Za-z])([0-9]*)([rR]?)([.\-+,/_=]*)\}")
_ESCAPES = {"%": "%", "_": " ", "-": "%20"}


class SpfSyntaxError(ValueError):
    """A record (or macro string) that breaks the RFC 7208 grammar: a permerror, with why."""

    def __init__(self, en: str, ja: str, term: str = "") -> None:
        super().__init__(en)
        self.en = en
        self.ja = ja
        self.term = term


@dataclass(frozen=True)
class Macro:
    """``%{letter digits r delimiters}``; an upper-case letter means URL-escape the value."""

    letter: str
    keep: int = 0  # rightmost parts to keep; 0 = all
    reverse: bool = False
    delimiters: str = ""
    escape: bool = False


@dataclass(frozen=True)
class Escape:
    """``%%``, ``%_`` or ``%-``: a literal percent sign, space or ``%20``."""

    value: str


Token = str | Macro | Escape


@dataclass(frozen=True)
class MacroString:
    """A parsed macro string: the text as written and its tokens."""

    text: str
    tokens: tuple[Token, ...]

    @property
    def letters(self) -> frozenset[str]:
        return frozenset(t.letter for t in self.tokens if isinstance(t, Macro))

    @property
    def has_macros(self) -> bool:
        return any(isinstance(t, Macro) for t in self.tokens)


def parse_macro_string(text: str, *, explanation: bool = False) -> MacroString:
    """Parse ``text``; ``explanation`` allows spaces and the c/r/t letters (an exp= text)."""
    tokens: list[Token] = []
    literal: list[str] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char != "%":
            if not (0x21 <= ord(char) <= 0x7E or (explanation and char == " ")):
                raise _bad_char(text, char)
            literal.append(char)
            i += 1
            continue
        if literal:
            tokens.append("".join(literal))
            literal = []
        token, i = _parse_percent(text, i, explanation)
        tokens.append(token)
    if literal:
        tokens.append("".join(literal))
    return MacroString(text, tuple(tokens))


def _parse_percent(text: str, i: int, explanation: bool) -> tuple[Token, int]:
    follower = text[i + 1:i + 2]
    if follower in _ESCAPES:
        return Escape(_ESCAPES[follower]), i + 2
    match = _MACRO.match(text, i)
    if follower != "{" or match is None:
        shown = text[i:i + 8]
        raise SpfSyntaxError(
            f"invalid macro {shown!r} in {text!r}: '%' must be followed by '{{', '%', '_' or"
            " '-', and a macro is %{letter[digits][r][delimiters]}",
            f"{text!r} のマクロ {shown!r} が不正です。'%' の後には '{{'、'%'、'_'、'-' のいずれかが"
            "必要で、マクロは %{文字[数字][r][区切り文字]} の形です", text)
    letter, digits, reverse, delimiters = match.groups()
    low = letter.lower()
    if low not in LETTERS or (low in EXPLANATION_ONLY and not explanation):
        where = "is allowed only in explanation texts" if low in LETTERS else "is not a macro"
        where_ja = ("は説明文（exp）の中でのみ使えます" if low in LETTERS
                    else "はマクロ文字ではありません")
        raise SpfSyntaxError(f"macro letter {letter!r} in {text!r} {where}",
                             f"{text!r} のマクロ文字 {letter!r} {where_ja}", text)
    significant = digits.lstrip("0")
    if digits and not significant:
        raise SpfSyntaxError(f"macro {match.group(0)!r}: the number of parts must not be zero",
                             f"マクロ {match.group(0)!r}: 部分の数に 0 は指定できません", text)
    keep = int(significant) if 0 < len(significant) <= 6 else (10**6 if significant else 0)
    return Macro(low, keep, bool(reverse), delimiters, letter.isupper()), match.end()


def _bad_char(text: str, char: str) -> SpfSyntaxError:
    code = f"U+{ord(char):04X}"
    return SpfSyntaxError(f"character {code} is not allowed in {text!r}",
                          f"{text!r} に使用できない文字 {code} が含まれています", text)


def parse_domain_spec(text: str) -> MacroString:
    """A domain-spec: a macro string ending in a macro or in ``.toplabel`` (with an optional
    trailing dot); the c/r/t letters are not allowed."""
    if not text:
        raise SpfSyntaxError("empty domain-spec", "ドメイン指定が空です")
    parsed = parse_macro_string(text)
    last = parsed.tokens[-1]
    if isinstance(last, str) and not _ends_in_toplabel(last):
        raise SpfSyntaxError(
            f"domain-spec {text!r} must end in '.' and a top label (letters, digits, hyphens,"
            " not all digits, no leading or trailing hyphen) or in a macro",
            f"ドメイン指定 {text!r} は「.」とトップラベル（英数字とハイフン。数字のみ・先頭や末尾の"
            "ハイフンは不可）かマクロで終わる必要があります", text)
    return parsed


def _ends_in_toplabel(literal: str) -> bool:
    body = literal[:-1] if literal.endswith(".") else literal
    _head, dot, toplabel = body.rpartition(".")
    return bool(dot) and _TOPLABEL.fullmatch(toplabel) is not None


@dataclass(frozen=True)
class MacroEnv:
    """The values the macro letters stand for during one check."""

    sender: str
    local: str
    sender_domain: str
    domain: str
    ip: IPAddress
    helo: str
    validated: str = "unknown"  # %{p}
    receiver: str = "unknown"  # %{r}
    timestamp: int = 0  # %{t}


def letter_value(letter: str, env: MacroEnv) -> str:
    """The raw value of one macro letter."""
    if letter in ("i", "c", "v"):
        return _ip_value(letter, env.ip)
    values = {"s": env.sender, "l": env.local, "o": env.sender_domain, "d": env.domain,
              "p": env.validated, "h": env.helo, "r": env.receiver, "t": str(env.timestamp)}
    return values[letter]


def _ip_value(letter: str, ip: IPAddress) -> str:
    if letter == "v":
        return "in-addr" if ip.version == 4 else "ip6"
    if letter == "c" or ip.version == 4:
        return str(ip)
    return ".".join(ip.exploded.replace(":", "").upper())


def transform(value: str, macro: Macro) -> str:
    """Split on the delimiters (default '.'), reverse, keep the rightmost parts, join by '.';
    an upper-case letter URL-escapes the result."""
    if macro.keep or macro.reverse or macro.delimiters:
        parts = re.split("[" + re.escape(macro.delimiters or ".") + "]", value)
        if macro.reverse:
            parts.reverse()
        if macro.keep:
            parts = parts[-macro.keep:]
        value = ".".join(parts)
    return quote(value, safe="-._~") if macro.escape else value


def _token_text(token: Token, env: MacroEnv) -> str:
    if isinstance(token, str):
        return token
    if isinstance(token, Escape):
        return token.value
    return transform(letter_value(token.letter, env), token)


def expand(parsed: MacroString, env: MacroEnv, limit: int = MAX_EXPANSION) -> str:
    """Expand for text (an explanation): the first ``limit`` characters."""
    out: list[str] = []
    size = 0
    for token in parsed.tokens:
        piece = _token_text(token, env)
        out.append(piece)
        size += len(piece)
        if size >= limit:
            break
    return "".join(out)[:limit]


def expand_domain(parsed: MacroString, env: MacroEnv) -> str:
    """Expand for a DNS query: trailing dot removed, then labels dropped from the left until
    the name fits in 253 characters (RFC 7208 7.3); '' when nothing fits."""
    out: list[str] = []
    size = 0
    for token in reversed(parsed.tokens):  # only the right end can survive truncation
        piece = _token_text(token, env)
        out.append(piece)
        size += len(piece)
        if size > MAX_EXPANSION:
            break
    name = "".join(reversed(out))[-MAX_EXPANSION:]
    if name.endswith("."):
        name = name[:-1]
    while len(name) > MAX_DOMAIN:
        _, dot, name = name.partition(".")
        if not dot:
            return ""
    return name
