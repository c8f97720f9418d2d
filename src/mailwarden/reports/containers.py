"""What reports arrive in: gzip, zip and mail, unpacked within bounds.

- gzip: decompressed in steps that never exceed ``max_unpacked``; several members are joined
  (RFC 1952 allows it); bytes after the last member are ignored with a warning (some senders
  append a line break, e.g. Mimecast's "weird gzip").
- zip: at most ``max_members`` entries, encrypted ones refused, and the *sum* of what they
  decompress to capped (overlapping entries cannot multiply the output); members are
  decompressed one at a time, as the caller asks for them.
- All the gzip streams, zip members and plain parts of one input file draw on one ``Budget``
  (``max_file_unpacked``): a mail of many small attachments cannot unpack more than one file may.
- One level only: a gzip or zip inside a gzip or zip is refused ("nested archive").
- mail: parsed with the standard library's ``email`` package (the caller has capped the size),
  at most ``max_parts`` MIME parts, never descending into an attached message (a failure
  report's sample of the offending mail is evidence, not a report).
"""

from __future__ import annotations

import email
import io
import re
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import Message

from mailwarden.reports.errors import Notes, ReportError
from mailwarden.reports.limits import DEFAULT, Budget, Limits

GZIP_MAGIC = b"\x1f\x8b"
ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")
MAX_GZIP_MEMBERS = 64
HEADER_LINE = re.compile(rb"[A-Za-z0-9][A-Za-z0-9_-]{0,75}[ \t]*:")
REPORT_TYPES = frozenset({
    "application/gzip", "application/x-gzip", "application/zip", "application/x-zip",
    "application/x-zip-compressed", "application/xml", "text/xml", "application/json",
    "application/tlsrpt+gzip", "application/tlsrpt+json"})
REPORT_NAME = re.compile(r"\.(xml|gz|gzip|zip|json)$", re.I)


@dataclass(frozen=True, slots=True)
class Payload:
    """Bytes that should be one report, and where they came from (file, member, part)."""

    name: str
    data: bytes


def is_gzip(data: bytes) -> bool:
    return data.startswith(GZIP_MAGIC)


def is_zip(data: bytes) -> bool:
    return data.startswith(ZIP_MAGICS)


def is_mail(data: bytes) -> bool:
    """True when the bytes start like a mail header ("Received:", "From:", "Return-Path:" ...),
    possibly after an mbox "From " line."""
    head = data.lstrip(b"\r\n")
    if head.startswith(b"From "):
        head = head.partition(b"\n")[2]
    return HEADER_LINE.match(head) is not None


def _too_large(own: ReportError, cap: int, budget: Budget | None) -> ReportError:
    """The error for output past ``cap``: the file's budget's when that was the tighter one."""
    return budget.over_unpacked() if budget is not None and budget.binds(cap) else own


def gunzip(data: bytes, limits: Limits = DEFAULT, notes: Notes | None = None,
           budget: Budget | None = None) -> bytes:
    """The decompressed bytes of every gzip member, or a ReportError (corrupt, too large)."""
    cap = budget.room(limits.max_unpacked) if budget is not None else limits.max_unpacked
    out = bytearray()
    rest = data
    for _ in range(MAX_GZIP_MEMBERS):
        inflater = zlib.decompressobj(wbits=31)
        room = cap - len(out)
        try:
            chunk = inflater.decompress(rest, room + 1)
        except zlib.error as exc:
            raise ReportError("gzip.corrupt", detail=str(exc)) from None
        if len(chunk) > room:
            raise _too_large(ReportError("gzip.too_large", limit=limits.max_unpacked),
                             limits.max_unpacked, budget)
        if not inflater.eof:
            raise ReportError("gzip.corrupt", detail="the data ends before the gzip stream does")
        out += chunk
        rest = inflater.unused_data
        if not is_gzip(rest):
            break
    if rest and notes is not None:
        notes.add("warn.gzip_trailing", count=len(rest))
    if budget is not None:
        budget.take_unpacked(len(out))
    return bytes(out)


def unzip(data: bytes, name: str, limits: Limits = DEFAULT,
          budget: Budget | None = None) -> Iterator[Payload]:
    """The files of a zip archive (directories and macOS ``__MACOSX/`` entries skipped), one at
    a time: a member is decompressed only when the one before it has been dealt with."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            entries = archive.infolist()
            if len(entries) > limits.max_members:
                raise ReportError("zip.too_many", count=len(entries), limit=limits.max_members)
            files = [e for e in entries
                     if not e.is_dir() and not e.filename.startswith("__MACOSX/")]
            if not files:
                raise ReportError("zip.empty")
            left = [limits.max_unpacked]
            for entry in files:
                yield Payload(f"{name}:{entry.filename}",
                              _member(archive, entry, left, limits, budget))
    except ReportError:
        raise
    except Exception as exc:  # zipfile raises many kinds on hostile input; each means "corrupt"
        raise ReportError("zip.corrupt", detail=f"{type(exc).__name__}: {exc}") from None


def _member(archive: zipfile.ZipFile, entry: zipfile.ZipInfo, left: list[int],
            limits: Limits, budget: Budget | None) -> bytes:
    if entry.flag_bits & 0x1:
        raise ReportError("zip.encrypted", member=entry.filename)
    room = budget.room(left[0]) if budget is not None else left[0]
    with archive.open(entry) as handle:
        content = handle.read(room + 1)
    if len(content) > room:
        raise _too_large(ReportError("zip.too_large", member=entry.filename,
                                     limit=limits.max_unpacked), left[0], budget)
    left[0] -= len(content)
    if budget is not None:
        budget.take_unpacked(len(content))
    return content


def unpack(data: bytes, name: str, limits: Limits = DEFAULT, notes: Notes | None = None,
           budget: Budget | None = None) -> Iterator[Payload]:
    """A gzip or zip opened one level (nested archives refused); anything else as it is.

    Payloads come one at a time; all of them draw on ``budget`` (plain ones too)."""
    if is_gzip(data):
        payloads: Iterator[Payload] = iter([Payload(name, gunzip(data, limits, notes, budget))])
    elif is_zip(data):
        payloads = unzip(data, name, limits, budget)
    else:
        if budget is not None:
            budget.take_unpacked(len(data))
        yield Payload(name, data)
        return
    for payload in payloads:
        if is_gzip(payload.data) or is_zip(payload.data):
            raise ReportError("archive.nested", outer=name, inner=payload.name)
        yield payload


def parse_mail(data: bytes) -> Message:
    """The mail as a ``Message`` (the caller has bounded ``data``)."""
    try:
        return email.message_from_bytes(data)
    except Exception as exc:  # the email package's parser is lenient; anything left is "broken"
        raise ReportError("mail.unparsable", detail=f"{type(exc).__name__}: {exc}") from None


def leaf_parts(mail: Message, limits: Limits = DEFAULT) -> list[Message]:
    """The mail's non-multipart parts in order; attached messages are leaves, not opened."""
    leaves: list[Message] = []
    stack = [mail]
    seen = 0
    while stack:
        part = stack.pop()
        seen += 1
        if seen > limits.max_parts:
            raise ReportError("mail.too_many_parts", limit=limits.max_parts)
        payload = part.get_payload()
        if part.get_content_maintype() == "multipart" and isinstance(payload, list):
            stack.extend(reversed([p for p in payload if isinstance(p, Message)]))
        else:
            leaves.append(part)
    return leaves


def decoded(part: Message) -> bytes:
    """A part's content with its transfer encoding undone (empty if it cannot be)."""
    try:
        content = part.get_payload(decode=True)
    except Exception:  # a broken encoding in a stranger's mail is no report, not a crash
        return b""
    return content if isinstance(content, bytes) else b""


def _filename(part: Message) -> str:
    try:
        return str(part.get_filename() or "")
    except (ValueError, LookupError, TypeError, UnicodeError):  # broken RFC 2231 parameters
        return ""


def attachments(parts: list[Message]) -> Iterator[tuple[str, bytes]]:
    """Parts that carry a report by type or file name, or an XML report inline (decoded one at
    a time, as they are asked for)."""
    for index, part in enumerate(parts, 1):
        kind = part.get_content_type()
        filename = _filename(part)
        content = decoded(part) if kind.split("/")[0] != "message" else b""
        inline_xml = kind == "text/plain" and content.lstrip()[:9] in (b"<?xml ver", b"<feedback")
        if kind in REPORT_TYPES or REPORT_NAME.search(filename) or inline_xml:
            yield f"part {index} ({filename or kind})", content
