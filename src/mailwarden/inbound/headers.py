"""Header blocks: split, unfold, decode (RFC 5322, RFC 2047, RFC 2231), bounded.

Everything here takes attacker-written bytes. The block is cut at ``max_bytes``, at most
``MAX_FIELDS`` fields are kept and each at most ``MAX_FIELD`` characters; raw 8-bit bytes are
decoded as UTF-8 or guessed (Japanese mailers still send raw Shift_JIS). Nothing raises.
"""

from __future__ import annotations

import binascii
import re
from dataclasses import dataclass, field

from mailwarden.inbound import charset

MAX_FIELDS = 1000
MAX_FIELD = 65536
ENCODED_WORD = re.compile(r"=\?([^?\s]{1,60})\?([bBqQ])\?([^?\s]{0,4000})\?=")
BETWEEN_WORDS = re.compile(r"(\?=)[ \t\r\n]+(=\?)")
PARAM = re.compile(
    r';\s*([!#$%&\'*+.^_`|~0-9A-Za-z-]{1,80})\s*=\s*("(?:[^"\\]|\\.){0,4000}"|[^;\s]{0,4000})'
)
CONTINUATION = re.compile(r"^(.+?)\*(\d{1,3})(\*?)$")


@dataclass(slots=True)
class Headers:
    """Header fields in order: lower-case name, unfolded raw value (not RFC 2047 decoded)."""

    fields: list[tuple[str, str]] = field(default_factory=list)
    truncated: bool = False
    malformed: int = 0

    def get(self, name: str, default: str = "") -> str:
        for key, value in self.fields:
            if key == name:
                return value
        return default

    def get_all(self, name: str) -> list[str]:
        return [value for key, value in self.fields if key == name]

    def __contains__(self, name: str) -> bool:
        return any(key == name for key, _ in self.fields)


def split_block(raw: bytes, max_bytes: int) -> tuple[bytes, bytes, bool]:
    """(header block, body, truncated): the block ends at the first empty line and is cut
    at ``max_bytes``."""
    if raw[:1] == b"\n":
        return b"", raw[1:], False
    if raw[:2] == b"\r\n":
        return b"", raw[2:], False
    found = [(i, gap) for i, gap in ((raw.find(b"\n\n"), 2), (raw.find(b"\r\n\r\n"), 4))
             if i >= 0]
    if not found:
        return raw[:max_bytes], b"", len(raw) > max_bytes
    cut, gap = min(found)
    return raw[:min(cut, max_bytes)], raw[cut + gap:], cut > max_bytes


def parse_block(block: bytes, truncated: bool = False) -> Headers:
    """The fields of a header block; lines that are not fields are counted as malformed."""
    out = Headers(truncated=truncated)
    text = _text(block)
    current: list[str] = []
    for line in text.split("\n"):
        line = line.rstrip("\r")
        if line[:1] in (" ", "\t") and current:
            if sum(len(c) for c in current) < MAX_FIELD:
                current.append(line)
            continue
        if current:
            _add(out, current)
            current = []
        if len(out.fields) >= MAX_FIELDS:
            out.truncated = True
            break
        if not line:
            continue
        if line.startswith(("From ", ">From ")) and not out.fields:
            continue  # mbox separator line
        current = [line]
    if current and len(out.fields) < MAX_FIELDS:
        _add(out, current)
    return out


def _text(block: bytes) -> str:
    if block.isascii():
        return block.decode("ascii")
    try:
        return block.decode("utf-8")
    except UnicodeDecodeError:
        return charset.decode(block)


def _add(out: Headers, lines: list[str]) -> None:
    name, colon, value = lines[0].partition(":")
    name = name.strip()
    if not colon or not name or len(name) > 100 or " " in name:
        out.malformed += 1
        return
    unfolded = " ".join(part.strip() for part in [value, *lines[1:]])
    out.fields.append((name.lower(), unfolded[:MAX_FIELD].strip()))


def decode_words(value: str) -> str:
    """RFC 2047 encoded words decoded; malformed ones are left as they are."""
    if "=?" not in value:
        return value
    value = BETWEEN_WORDS.sub(r"\1\2", value)
    return ENCODED_WORD.sub(_word, value)


def _word(match: re.Match[str]) -> str:
    declared, kind, payload = match.group(1), match.group(2).lower(), match.group(3)
    try:
        if kind == "b":
            data = binascii.a2b_base64(payload + "=" * (-len(payload) % 4))
        else:
            data = binascii.a2b_qp(payload.replace("_", " ").encode("ascii", "replace"))
    except (binascii.Error, ValueError):
        return match.group(0)
    return charset.decode(data, declared.split("*", 1)[0])


def content_type(value: str) -> tuple[str, dict[str, str]]:
    """(type/subtype in lower case, parameters) of a Content-Type or -Disposition value."""
    main, _, _ = value.partition(";")
    return main.strip().lower()[:100], params(value)


def params(value: str) -> dict[str, str]:
    """Parameters, with RFC 2231 continuations and charsets joined and decoded."""
    raw: dict[str, str] = {}
    pieces: dict[str, dict[int, tuple[str, bool]]] = {}
    for name, val in PARAM.findall(value[:20000]):
        name = name.lower()
        if val.startswith('"'):
            val = re.sub(r"\\(.)", r"\1", val[1:-1])
        cont = CONTINUATION.match(name)
        if cont:
            pieces.setdefault(cont.group(1), {})[int(cont.group(2))] = (val, bool(cont.group(3)))
        elif name.endswith("*"):
            raw.setdefault(name[:-1], _extended(val, True))
        else:
            raw.setdefault(name, decode_words(val))
    for name, parts in pieces.items():
        ordered = [parts[i] for i in sorted(parts)][:64]
        first_encoded = ordered[0][1]
        text = "".join(v for v, _ in ordered)
        raw.setdefault(name, _extended(text, first_encoded) if first_encoded else text)
    return raw


def _extended(val: str, encoded: bool) -> str:
    """``charset'language'percent-encoded`` (RFC 2231) to text."""
    if not encoded or val.count("'") < 2:
        return val
    declared, _, rest = val.partition("'")
    _, _, data = rest.partition("'")
    raw = re.sub(r"%([0-9A-Fa-f]{2})", lambda m: chr(int(m.group(1), 16)), data)
    return charset.decode(raw.encode("latin-1", "replace"), declared or "utf-8")
