"""A bounded MIME reader: raw message bytes to header fields and decoded leaf parts.

Written for hostile input rather than on top of :mod:`email`: every structure is bounded
(message size, header block size, number of parts, nesting depth of multiparts and attached
messages), the walk is iterative, and every limit reached or malformation met is recorded in
``defects`` instead of raising. Boundaries follow RFC 2046 (a delimiter line is ``--boundary``
optionally followed by ``--`` and white space); transfer encodings are undone leniently, as
mail clients do.
"""

from __future__ import annotations

import binascii
import re
from dataclasses import dataclass, field

from mailwarden.inbound.headers import Headers, content_type, params, parse_block, split_block

B64_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/="
B64_JUNK = bytes(b for b in range(256) if b not in B64_ALPHABET)
MESSAGE_TYPES = ("message/rfc822", "message/global")


@dataclass(frozen=True, slots=True)
class Limits:
    """How much of a message is read."""

    max_bytes: int = 50 * 1024 * 1024
    max_header_bytes: int = 256 * 1024
    max_parts: int = 500
    max_depth: int = 20


@dataclass(slots=True)
class Part:
    """A leaf part, its body with the transfer encoding undone."""

    path: str
    depth: int
    headers: Headers
    content_type: str
    params: dict[str, str]
    disposition: str
    filename: str
    body: bytes
    in_message: int = 0  # levels of attached (message/rfc822) mail around it

    @property
    def charset(self) -> str:
        return self.params.get("charset", "")

    @property
    def is_attachment(self) -> bool:
        if self.disposition == "attachment" or self.filename:
            return True
        return not self.content_type.startswith("text/")


@dataclass(slots=True)
class Parsed:
    """A message as read: its own header fields, leaf parts, attached mails' headers, defects."""

    headers: Headers
    parts: list[Part] = field(default_factory=list)
    attached: list[Headers] = field(default_factory=list)
    defects: list[str] = field(default_factory=list)
    size: int = 0

    def defect(self, what: str) -> None:
        if what not in self.defects:
            self.defects.append(what)


@dataclass(slots=True)
class _Entity:
    headers: Headers
    body: bytes
    depth: int
    path: str
    in_message: int
    default_type: str = "text/plain"


def parse(raw: bytes, limits: Limits | None = None) -> Parsed:
    """Read ``raw`` within ``limits``; never raises on malformed input."""
    lim = limits or Limits()
    out = Parsed(Headers(), size=len(raw))
    if len(raw) > lim.max_bytes:
        raw = raw[:lim.max_bytes]
        out.defect("message_truncated")
    block, body, cut = split_block(raw, lim.max_header_bytes)
    out.headers = parse_block(block, cut)
    _note_headers(out, out.headers)
    stack = [_Entity(out.headers, body, 0, "1", 0)]
    entities = 0
    while stack:
        ent = stack.pop()
        entities += 1
        if entities > lim.max_parts:
            out.defect("too_many_parts")
            break
        children = _expand(ent, out, lim)
        stack.extend(reversed(children))
    return out


def _note_headers(out: Parsed, headers: Headers) -> None:
    if headers.truncated:
        out.defect("headers_truncated")
    if headers.malformed:
        out.defect("malformed_header_lines")


def _expand(ent: _Entity, out: Parsed, lim: Limits) -> list[_Entity]:
    """The children of a multipart or attached message, or [] after recording a leaf."""
    ctype, ps = content_type(ent.headers.get("content-type")) if "content-type" in \
        ent.headers else (ent.default_type, {})
    if "/" not in ctype:
        ctype, ps = "text/plain", ps
    if ctype.startswith("multipart/") or ctype in MESSAGE_TYPES:
        if ent.depth >= lim.max_depth:
            out.defect("nesting_too_deep")
            return []
        if ctype in MESSAGE_TYPES:
            return [_attached(ent, out, lim)]
        boundary = ps.get("boundary", "")
        if boundary:
            return _children(ent, ctype, boundary, out, lim)
        out.defect("multipart_without_boundary")
        ctype = "text/plain"
    _leaf(ent, ctype, ps, out)
    return []


def _attached(ent: _Entity, out: Parsed, lim: Limits) -> _Entity:
    data = transfer_decode(ent.body, ent.headers.get("content-transfer-encoding"))
    block, body, cut = split_block(data, lim.max_header_bytes)
    headers = parse_block(block, cut)
    _note_headers(out, headers)
    out.attached.append(headers)
    return _Entity(headers, body, ent.depth + 1, ent.path + ".1", ent.in_message + 1)


def _children(ent: _Entity, ctype: str, boundary: str, out: Parsed,
              lim: Limits) -> list[_Entity]:
    bodies, closed = split_multipart(ent.body, boundary[:200], lim.max_parts + 1)
    if not bodies:
        out.defect("boundary_not_found")
        _leaf(ent, "text/plain", {}, out)
        return []
    if not closed:
        out.defect("multipart_not_closed")
    default = "message/rfc822" if ctype == "multipart/digest" else "text/plain"
    children = []
    for i, data in enumerate(bodies, 1):
        block, body, cut = split_block(data, lim.max_header_bytes)
        headers = parse_block(block, cut)
        _note_headers(out, headers)
        children.append(_Entity(headers, body, ent.depth + 1, f"{ent.path}.{i}",
                                ent.in_message, default))
    return children


def split_multipart(body: bytes, boundary: str, max_parts: int) -> tuple[list[bytes], bool]:
    """The bodies between delimiter lines, and whether the close delimiter was found."""
    delim = re.compile(rb"(?m)^--" + re.escape(boundary.encode("utf-8", "replace"))
                       + rb"(--)?[ \t]*\r?$")
    parts: list[bytes] = []
    start = -1
    for match in delim.finditer(body):
        if start >= 0:
            end = match.start()
            if body[end - 2:end] == b"\r\n":
                end -= 2
            elif body[end - 1:end] == b"\n":
                end -= 1
            parts.append(body[start:end])
        if match.group(1) or len(parts) >= max_parts:
            return parts, bool(match.group(1))
        start = match.end() + (2 if body[match.end():match.end() + 2] == b"\r\n" else 1)
    if start >= 0:
        parts.append(body[start:])
    return parts, False


def _leaf(ent: _Entity, ctype: str, ps: dict[str, str], out: Parsed) -> None:
    disposition, dparams = content_type(ent.headers.get("content-disposition"))
    name = dparams.get("filename") or ps.get("name") or ""
    body = transfer_decode(ent.body, ent.headers.get("content-transfer-encoding"))
    out.parts.append(Part(ent.path, ent.depth, ent.headers, ctype, ps, disposition,
                          name.strip()[:500], body, ent.in_message))


def transfer_decode(body: bytes, encoding: str) -> bytes:
    """Undo a Content-Transfer-Encoding leniently (unknown ones leave the bytes as they are)."""
    enc = encoding.strip().lower()
    if enc == "base64":
        return _base64(body)
    if enc == "quoted-printable":
        return binascii.a2b_qp(body)
    return body


def _base64(body: bytes) -> bytes:
    data = body.translate(None, B64_JUNK)
    try:
        return binascii.a2b_base64(data)
    except (binascii.Error, ValueError):
        pass
    data = data.replace(b"=", b"")
    data = data[: len(data) - (len(data) % 4 == 1)]
    try:
        return binascii.a2b_base64(data + b"=" * (-len(data) % 4))
    except (binascii.Error, ValueError):
        return b""


__all__ = ["Limits", "Parsed", "Part", "params", "parse", "split_multipart", "transfer_decode"]
