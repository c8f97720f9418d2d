"""What a document can do when opened: macros, encryption, embedded objects, remote templates,
scripts and launch actions, and the links it carries.

Office: legacy files are OLE2 compound files (VBA storages show macros, ``EncryptedPackage``
an encrypted OOXML file); OOXML files are zips (``vbaProject.bin`` is their macro project,
relationships with ``TargetMode="External"`` fetch templates or objects from the web). PDF:
``/JavaScript``, ``/Launch``, ``/EmbeddedFile`` and ``/URI`` are looked for in the file and in
its compressed streams (inflated under the message's budget). RTF: ``\\objdata`` embeds an
object, the usual carrier of Equation Editor exploits.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass, field

from mailwarden.inbound import cfb
from mailwarden.inbound.zipread import Budget, Member, read

VBA_NAMES = frozenset({"vba", "_vba_project", "_vba_project_cur", "macros", "vbaproject"})
RELATIONSHIP = re.compile(rb"<Relationship\b([^<>]{0,4000})>", re.I)
XML_ATTR = re.compile(rb'([A-Za-z:]{1,40})\s*=\s*"([^"]{0,2000})"')
ACTIVE_RELS = (b"attachedtemplate", b"oleobject", b"frame", b"subdocument")
PDF_URI = re.compile(rb"/URI\s*\(([^)]{1,2000})\)")
PDF_ACTIONS = {b"/JavaScript": "pdf_javascript", b"/JS": "pdf_javascript",
               b"/Launch": "pdf_launch", b"/EmbeddedFile": "pdf_embedded_file"}
MAX_STREAMS = 64
MAX_STREAM_OUT = 1024 * 1024


@dataclass(slots=True)
class Facts:
    """What opening the document would do."""

    kind: str = ""
    macro: bool = False
    encrypted: bool = False
    active: list[str] = field(default_factory=list)
    links: list[str] = field(default_factory=list)

    def add(self, what: str) -> None:
        if what not in self.active:
            self.active.append(what)


def ole(data: bytes) -> Facts:
    names = [n.lower() for n in cfb.names(data)]
    facts = Facts("ole")
    facts.macro = any(n in VBA_NAMES for n in names)
    facts.encrypted = "encryptedpackage" in names
    if "\x01ole10native" in names:
        facts.add("embedded_package")
    return facts


def ooxml(data: bytes, entries: list[Member], budget: Budget) -> Facts:
    facts = Facts("ooxml")
    facts.macro = any(m.name.lower().endswith("vbaproject.bin") for m in entries)
    if any("/embeddings/" in m.name.lower() and m.name.lower().endswith(".bin")
           for m in entries):
        facts.add("embedded_object")
    for member in entries:
        if not member.name.lower().endswith(".rels"):
            continue
        text = read(data, member, budget, 256 * 1024) or b""
        for rel in RELATIONSHIP.findall(text)[:500]:
            _relationship(facts, dict(XML_ATTR.findall(rel)))
    return facts


def _relationship(facts: Facts, attrs: dict[bytes, bytes]) -> None:
    if attrs.get(b"TargetMode", b"").lower() != b"external":
        return
    kind = attrs.get(b"Type", b"").rsplit(b"/", 1)[-1].lower()
    url = attrs.get(b"Target", b"").decode("utf-8", "replace")
    if kind == b"hyperlink":
        facts.links.append(url)
    elif kind in ACTIVE_RELS and url.lower().startswith(("http", "\\\\", "file:", "//")):
        facts.add("remote_template")
        facts.links.append(url)


def pdf(data: bytes, budget: Budget) -> Facts:
    facts = Facts("pdf")
    chunks = [data, *_streams(data, budget)]
    for chunk in chunks:
        for token, what in PDF_ACTIONS.items():
            if token in chunk:
                facts.add(what)
        for uri in PDF_URI.findall(chunk)[:100]:
            facts.links.append(uri.decode("latin-1", "replace").replace("\\", ""))
    facts.encrypted = b"/Encrypt" in data
    return facts


def _streams(data: bytes, budget: Budget) -> list[bytes]:
    out: list[bytes] = []
    pos = 0
    while len(out) < MAX_STREAMS:
        start = data.find(b"stream", pos)
        if start < 0:
            break
        body = start + 6 + (2 if data[start + 6:start + 8] == b"\r\n" else 1)
        end = data.find(b"endstream", body)
        if end < 0:
            break
        pos = end + 9
        if b"FlateDecode" not in data[max(0, start - 300):start]:
            continue
        allowed = budget.take(MAX_STREAM_OUT)
        try:
            inflated = zlib.decompressobj().decompress(data[body:end], allowed)
        except zlib.error:
            continue
        budget.spend(len(inflated))
        out.append(inflated)
    return out


def rtf(data: bytes) -> Facts:
    facts = Facts("rtf")
    if b"\\objdata" in data or b"\\objupdate" in data:
        facts.add("rtf_object")
    if re.search(rb"\\\*\\template\s*https?:", data):
        facts.add("remote_template")
    return facts
