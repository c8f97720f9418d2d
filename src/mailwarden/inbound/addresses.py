"""Mailbox lists (From, Reply-To, To, ...) to display names and addresses, leniently.

Accepts what mail really carries: ``"Name" <a@b>``, ``Name <a@b>``, ``a@b (Name)``, bare
addresses, groups (``undisclosed-recipients:;``), encoded words inside quotes. At most
``MAX_ADDRESSES`` mailboxes are returned; nothing raises.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from mailwarden.inbound.headers import decode_words

MAX_ADDRESSES = 200
ADDR = re.compile(r"[^\s<>(),;:\"@]{1,256}@[^\s<>(),;:\"@]{1,256}")
SPACES = re.compile(r"\s+")


@dataclass(frozen=True, slots=True)
class Mailbox:
    """A display name (decoded) and an address (lower case, may be empty)."""

    name: str
    address: str

    @property
    def domain(self) -> str:
        return self.address.rpartition("@")[2]

    @property
    def local(self) -> str:
        return self.address.rpartition("@")[0]


def parse(value: str) -> list[Mailbox]:
    """The mailboxes of a header value."""
    out: list[Mailbox] = []
    for chunk in _split(value):
        box = _mailbox(chunk)
        if box is not None:
            out.append(box)
            if len(out) >= MAX_ADDRESSES:
                break
    return out


def first(value: str) -> Mailbox | None:
    found = parse(value)
    return found[0] if found else None


def _split(value: str) -> list[str]:
    """Top-level comma (and group ``:``/``;``) separated chunks."""
    chunks: list[str] = []
    buf: list[str] = []
    quoted = escaped = has_at = False
    depth = angle = 0
    for ch in value:
        if escaped:
            escaped = False
        elif ch == "\\":
            escaped = True
        elif quoted:
            quoted = ch != '"'
        elif ch == '"':
            quoted = True
        elif ch == "(":
            depth += 1
        elif ch == ")" and depth:
            depth -= 1
        elif ch == "<" and not depth:
            angle += 1
        elif ch == ">" and angle:
            angle -= 1
        elif ch in ",;" and not depth and not angle:
            chunks.append("".join(buf))
            buf, has_at = [], False
            continue
        elif ch == ":" and not depth and not angle and not has_at:
            buf = []  # a group's name: its members follow
            continue
        has_at = has_at or ch == "@"
        buf.append(ch)
        if len(chunks) > MAX_ADDRESSES:
            break
    chunks.append("".join(buf))
    return [c.strip() for c in chunks if c.strip()]


def _mailbox(chunk: str) -> Mailbox | None:
    name, address = chunk, ""
    lt = chunk.rfind("<")
    if lt >= 0:
        gt = chunk.find(">", lt)
        address = chunk[lt + 1:gt if gt > lt else None].strip()
        name = chunk[:lt] + (chunk[gt + 1:] if gt > lt else "")
    else:
        found = ADDR.search(chunk)
        if found:
            address = found.group(0)
            name = chunk[:found.start()] + chunk[found.end():]
    name = _clean_name(name)
    address = address.strip().strip("'\"").lower()
    if address.startswith("mailto:"):
        address = address[7:]
    if "@" not in address and not name:
        return None
    return Mailbox(name, address[:320])


def _clean_name(name: str) -> str:
    name = name.strip()
    if name.startswith("(") and name.endswith(")"):
        name = name[1:-1]
    name = re.sub(r'\\(.)', r"\1", name.replace('"', ""))
    return SPACES.sub(" ", decode_words(name)).strip()[:300]
