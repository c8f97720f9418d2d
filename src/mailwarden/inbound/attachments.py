"""Attachments as they really are: each file's sniffed type, what it can do when opened, and
the files inside archives, down to ``MAX_ARCHIVE_DEPTH`` levels.

All decompression of one message shares one :class:`~mailwarden.inbound.zipread.Budget`, so a
zip bomb, a quine or a thousand nested archives cost at most the configured bytes; members
and files listed are capped as well. Images are kept (up to a size) for the QR decoder.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field

from mailwarden.inbound import charset, documents, html, sniff, zipread
from mailwarden.inbound.mime import Part

MAX_ARCHIVE_DEPTH = 3
MAX_FILES = 2000
MAX_MEMBER_BYTES = 16 * 1024 * 1024
MAX_IMAGE_BYTES = 8 * 1024 * 1024


@dataclass(slots=True)
class Attachment:
    """One file, attached to the mail (depth 0) or inside an archive (depth 1, 2, ...)."""

    name: str
    path: str
    declared: str
    kind: str
    size: int
    depth: int = 0
    encrypted: bool = False
    macro: bool = False
    active: list[str] = field(default_factory=list)
    links: list[str] = field(default_factory=list)
    document: html.Document | None = None
    unread: bool = False  # content could not be inspected (encrypted, unsupported, budget)


@dataclass(slots=True)
class Inspection:
    """Every file found and what limited the search."""

    files: list[Attachment] = field(default_factory=list)
    images: list[tuple[str, bytes]] = field(default_factory=list)
    budget_exhausted: bool = False
    too_many: bool = False


def inspect(parts: list[Part], max_inflate: int, max_members: int) -> Inspection:
    """Describe every attachment part and what it contains."""
    out = Inspection()
    budget = zipread.Budget(max_inflate)
    for i, part in enumerate(parts):
        if not part.is_attachment:
            continue
        name = part.filename or f"part-{part.path}"
        _describe(out, budget, max_members, name, name, part.content_type, part.body, 0,
                  part.charset)
        if i > 10000:
            break
    out.budget_exhausted = budget.exhausted
    return out


def _describe(out: Inspection, budget: zipread.Budget, max_members: int, name: str, path: str,
              declared: str, data: bytes, depth: int, declared_charset: str = "") -> None:
    if len(out.files) >= MAX_FILES:
        out.too_many = True
        return
    item = Attachment(name, path, declared, sniff.kind(data), len(data), depth)
    out.files.append(item)
    if item.kind == "zip":
        _zip(out, budget, max_members, item, data)
    elif item.kind == "ole":
        _facts(item, documents.ole(data))
    elif item.kind == "pdf":
        _facts(item, documents.pdf(data, budget))
    elif item.kind == "rtf":
        _facts(item, documents.rtf(data))
    elif item.kind in ("html", "svg") or sniff.extension(name) in ("htm", "html", "shtml",
                                                                     "svg", "xhtml", "mht"):
        item.document = html.parse(charset.decode(data[:html.MAX_HTML * 2], declared_charset))
    elif item.kind == "gzip":
        _gzip(out, budget, max_members, item, data)
    elif item.kind in sniff.IMAGE_KINDS and len(data) <= MAX_IMAGE_BYTES:
        out.images.append((path, data))
    elif item.kind in ("rar", "7z", "cab", "iso", "vhd", "bzip2", "xz"):
        item.unread = True


def _facts(item: Attachment, facts: documents.Facts) -> None:
    item.macro = item.macro or facts.macro
    item.encrypted = item.encrypted or facts.encrypted
    item.active.extend(a for a in facts.active if a not in item.active)
    item.links.extend(facts.links[:200])
    if facts.kind and facts.kind not in ("pdf", "rtf", "ole"):
        item.kind = facts.kind


def _zip(out: Inspection, budget: zipread.Budget, max_members: int, item: Attachment,
         data: bytes) -> None:
    entries, more = zipread.members(data, max_members)
    out.too_many = out.too_many or more
    names = {m.name.lower() for m in entries}
    if "[content_types].xml" in names:
        _facts(item, documents.ooxml(data, entries, budget))
        return
    if "androidmanifest.xml" in names and "classes.dex" in names:
        item.kind = "apk"
        return
    if "meta-inf/manifest.mf" in names and any(n.endswith(".class") for n in names):
        item.kind = "jar"
        return
    if "mimetype" in names and "content.xml" in names:
        item.kind = "odf"
        item.macro = any(n.startswith("basic/") and n.endswith(".xml") and
                         not n.endswith(("script-lc.xml", "dialog-lc.xml")) for n in names)
        return
    item.encrypted = any(m.encrypted for m in entries)
    for member in entries:
        if member.is_dir:
            continue
        _member(out, budget, max_members, item, data, member)


def _member(out: Inspection, budget: zipread.Budget, max_members: int, item: Attachment,
            data: bytes, member: zipread.Member) -> None:
    path = f"{item.path}/{member.name}"
    content = None
    if item.depth + 1 <= MAX_ARCHIVE_DEPTH:
        content = zipread.read(data, member, budget, MAX_MEMBER_BYTES)
    if content is None:
        out.files.append(Attachment(member.name, path, "", "", member.size, item.depth + 1,
                                    encrypted=member.encrypted, unread=True))
        return
    _describe(out, budget, max_members, member.name, path, "", content, item.depth + 1)


def _gzip(out: Inspection, budget: zipread.Budget, max_members: int, item: Attachment,
          data: bytes) -> None:
    if item.depth + 1 > MAX_ARCHIVE_DEPTH:
        item.unread = True
        return
    allowed = budget.take(MAX_MEMBER_BYTES)
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        inner = inflater.decompress(data, allowed)
    except zlib.error:
        item.unread = True
        return
    budget.spend(len(inner))
    budget.exhausted = budget.exhausted or bool(inflater.unconsumed_tail)
    lower = item.name.lower()
    name = item.name[:-4] + ".tar" if lower.endswith(".tgz") else \
        item.name[:-3] if lower.endswith(".gz") else item.name + ".out"
    _describe(out, budget, max_members, name, f"{item.path}/{name}", "", inner, item.depth + 1)
