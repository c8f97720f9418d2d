"""SMTP replies as a client reads them (RFC 5321 §4.2): a three-digit code, ``-`` between the
lines of a multi-line reply and a space (or nothing) after the code on its last line; and the
EHLO reply's list of extensions (§4.1.1.1).

Everything here is pure and bounded: a line is at most :data:`MAX_LINE` bytes, a reply at most
:data:`MAX_LINES` lines, and whatever breaks the grammar ends in :class:`ReplyError` naming the
line and what is wrong. A server is untrusted input.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

MAX_LINE = 2048  # bytes with CRLF (RFC 5321 allows 512; real servers stay well below 2048)
MAX_LINES = 100  # lines of one reply (an EHLO reply has about a dozen)
MAX_TEXT = 300  # characters kept of each line's text
MAX_EXTENSIONS = 64
_CODE = re.compile(rb"[2-5][0-9][0-9]")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_KEYWORD = re.compile(r"^[A-Za-z0-9][A-Za-z0-9\-]*$")
CLEARTEXT_MECHANISMS = frozenset({"PLAIN", "LOGIN", "XOAUTH2", "OAUTHBEARER"})


class ReplyError(ValueError):
    """A reply that is not SMTP: the message says which line and why."""

    def __init__(self, message: str, line: bytes = b"") -> None:
        self.line = line[:80]
        super().__init__(f"{message}: {self.line!r}" if line else message)


@dataclass(frozen=True)
class Reply:
    """One complete reply: its code and the text of each line (decoded, shortened)."""

    code: int
    lines: tuple[str, ...]

    @property
    def ok(self) -> bool:
        """A positive completion (2yz)."""
        return 200 <= self.code < 300

    @property
    def text(self) -> str:
        return " / ".join(line for line in self.lines if line)[:MAX_TEXT]

    def __str__(self) -> str:
        return f"{self.code} {self.text}".rstrip()


def clean_text(raw: bytes) -> str:
    """Reply text for a report: UTF-8 (bad bytes replaced), control characters removed,
    shortened."""
    return _CONTROL.sub("", raw.decode("utf-8", "replace"))[:MAX_TEXT]


def parse_line(raw: bytes) -> tuple[int, bool, str]:
    """``(code, more lines follow, text)`` of one reply line, with or without its line end."""
    if len(raw) > MAX_LINE:
        raise ReplyError(f"reply line longer than {MAX_LINE} bytes", raw)
    line = raw[:-1] if raw.endswith(b"\n") else raw
    line = line[:-1] if line.endswith(b"\r") else line
    if not _CODE.fullmatch(line[:3]):
        raise ReplyError("reply line does not start with a code 200-599", raw)
    separator = line[3:4]
    if separator not in (b"", b" ", b"-"):
        raise ReplyError("reply code not followed by a space or '-'", raw)
    return int(line[:3]), separator == b"-", clean_text(line[4:])


def parse_reply(lines: Iterable[bytes]) -> Reply:
    """The reply made of ``lines`` (each one line as received). Every line must carry the same
    code, only the last may lack the ``-``, and there is at most :data:`MAX_LINES` of them."""
    code = 0
    texts: list[str] = []
    more = True
    for raw in lines:
        if not more:
            raise ReplyError("a line after the last line of the reply", raw)
        if len(texts) >= MAX_LINES:
            raise ReplyError(f"reply of more than {MAX_LINES} lines", raw)
        line_code, more, text = parse_line(raw)
        if code and line_code != code:
            raise ReplyError(f"code {line_code} inside a reply that began with {code}", raw)
        code = line_code
        texts.append(text)
    if not texts:
        raise ReplyError("empty reply")
    if more:
        raise ReplyError("reply ends without its last line", b"")
    return Reply(code, tuple(texts))


class ReplyReader:
    """Feed received lines one at a time; :attr:`done` says when a whole reply is in."""

    def __init__(self) -> None:
        self.lines: list[bytes] = []
        self.done = False

    def feed(self, raw: bytes) -> None:
        if self.done:
            raise ReplyError("a line after the last line of the reply", raw)
        if len(self.lines) >= MAX_LINES:
            raise ReplyError(f"reply of more than {MAX_LINES} lines", raw)
        _code, more, _text = parse_line(raw)
        self.lines.append(raw)
        self.done = not more

    def reply(self) -> Reply:
        return parse_reply(self.lines)


def extensions(reply: Reply) -> dict[str, tuple[str, ...]]:
    """The EHLO reply's extensions: ``{KEYWORD: parameters}``, keywords upper-cased. The first
    line is the server's greeting, not an extension; lines that are not ``keyword params`` are
    skipped; the old ``AUTH=MECH ...`` form counts as AUTH."""
    found: dict[str, tuple[str, ...]] = {}
    for line in reply.lines[1:]:
        words = line.split()
        if not words:
            continue
        keyword, params = words[0], words[1:]
        if keyword.upper().startswith("AUTH="):
            keyword, params = "AUTH", [keyword[5:], *params]
        if not _KEYWORD.match(keyword) or len(found) >= MAX_EXTENSIONS:
            continue
        name = keyword.upper()
        found[name] = tuple(dict.fromkeys((*found.get(name, ()), *params[:32])))
    return found


def auth_mechanisms(found: dict[str, tuple[str, ...]]) -> tuple[str, ...]:
    """The SASL mechanisms an EHLO reply offers, upper-cased, once each."""
    return tuple(dict.fromkeys(m.upper() for m in found.get("AUTH", ()) if m))


def cleartext(mechanisms: Iterable[str]) -> list[str]:
    """The mechanisms that send the password (or a bearer token) itself."""
    return [m for m in mechanisms if m in CLEARTEXT_MECHANISMS]
