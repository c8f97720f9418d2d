"""XML from strangers, read with the standard library's expat and nothing it does not need.

- No DTD at all: a ``<!DOCTYPE`` is refused before any entity could be declared, so neither
  entity expansion ("billion laughs") nor external entities can happen; parameter entities are
  never parsed.
- Bounded: the caller caps the size; here nesting depth and the number of elements are capped.
- The encoding is decoded here (any text encoding Python knows, from the BOM or the XML
  declaration); invalid bytes are replaced and reported as a warning, not a failure.
- Reporters' XML is sometimes broken in one way only: a ``<`` or ``&`` left unescaped inside a
  text value (``<email><bad@example.net></email>``). When expat refuses the document, such
  characters are escaped (a ``<`` that does not start a tag we know, a ``&`` that does not start
  a character or predefined entity reference) and the document is read once more, with a warning.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass, field
from typing import NoReturn, Protocol
from xml.parsers import expat

from mailwarden.reports.errors import Notes, ReportError
from mailwarden.reports.limits import DEFAULT, Limits

DECLARATION = re.compile(
    rb"""^\s*<\?xml[^>]{0,200}?encoding\s*=\s*["']([A-Za-z0-9._:-]{1,40})["']""")
BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF32_LE, "utf-32"),
        (codecs.BOM_UTF32_BE, "utf-32"), (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"))
# text codecs that are escapes or slow on long input, never an XML document's encoding
UNSAFE_CODECS = frozenset({"punycode", "idna", "unicode-escape", "raw-unicode-escape", "utf-7"})


@dataclass(slots=True)
class Node:
    """An element: its local name, namespace, text and children (attributes are not needed)."""

    name: str
    namespace: str = ""
    line: int = 0
    parts: list[str] = field(default_factory=list)
    children: list[Node] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "".join(self.parts).strip()

    def find(self, name: str) -> Node | None:
        """The first child called ``name`` (any namespace)."""
        return next((c for c in self.children if c.name == name), None)

    def findall(self, name: str) -> list[Node]:
        return [c for c in self.children if c.name == name]


class Stream(Protocol):
    """Takes the root's children called ``name`` one by one as they end; the parser then drops
    them, so memory holds one at a time however long the document (a report's records)."""

    name: str

    def reset(self) -> None:
        """Forget what was taken: the document is being read again (after a repair)."""

    def add(self, node: Node) -> None:
        """Take one element (may raise ReportError to stop the parse)."""


class _Refused(Exception):
    """Raised inside an expat handler to stop the parse with a ReportError."""

    def __init__(self, error: ReportError) -> None:
        self.error = error


def _encoding(data: bytes) -> str:
    """The encoding named by the BOM or the XML declaration; UTF-8 when neither names one."""
    encoding = next((name for bom, name in BOMS if data.startswith(bom)), "")
    if not encoding:
        found = DECLARATION.match(data[:300])
        encoding = found.group(1).decode("ascii") if found else "utf-8"
    return encoding


def decode(data: bytes, notes: Notes) -> str:
    """The document as text; invalid bytes are replaced, with a warning."""
    encoding = _encoding(data)
    try:
        name = codecs.lookup(encoding).name
    except LookupError:
        raise ReportError("xml.encoding", encoding=encoding) from None
    if name in UNSAFE_CODECS:
        raise ReportError("xml.encoding", encoding=encoding)
    try:
        return data.decode(name)
    except UnicodeDecodeError as exc:
        offset = exc.start
    except (UnicodeError, LookupError, ValueError):  # not a text encoding ("zlib"), "undefined"
        raise ReportError("xml.encoding", encoding=encoding) from None
    notes.add("warn.encoding_replaced", encoding=name, offset=offset)
    try:
        return data.decode(name, errors="replace")
    except (UnicodeError, LookupError, ValueError):
        raise ReportError("xml.encoding", encoding=encoding) from None


class _Builder:
    """Collects the element tree from expat's callbacks, within the limits."""

    def __init__(self, parser: expat.XMLParserType, limits: Limits,
                 stream: Stream | None) -> None:
        self.parser = parser
        self.limits = limits
        self.stream = stream
        self.stack: list[Node] = []
        self.root: Node | None = None
        self.elements = 0

    def start(self, name: str, _attrs: dict[str, str]) -> None:
        self.elements += 1
        if self.elements > self.limits.max_elements:
            raise _Refused(ReportError("xml.too_many", limit=self.limits.max_elements))
        if len(self.stack) >= self.limits.max_depth:
            raise _Refused(ReportError("xml.too_deep", limit=self.limits.max_depth))
        namespace, _, local = name.rpartition(" ")
        node = Node(local, namespace, self.parser.CurrentLineNumber)
        if self.stack:
            self.stack[-1].children.append(node)
        else:
            self.root = node
        self.stack.append(node)

    def end(self, _name: str) -> None:
        node = self.stack.pop()
        if self.stream is not None and len(self.stack) == 1 and node.name == self.stream.name:
            self.stream.add(node)
            self.stack[0].children.pop()  # it is the last child: the one that just ended

    def data(self, text: str) -> None:
        if self.stack:
            self.stack[-1].parts.append(text)


def _refuse_doctype(*_args: object) -> NoReturn:
    raise _Refused(ReportError("xml.doctype"))


def _build(text: str, limits: Limits, stream: Stream | None = None) -> Node:
    """Parse ``text``; expat's own errors come out as ``expat.ExpatError``."""
    if stream is not None:
        stream.reset()
    parser = expat.ParserCreate(namespace_separator=" ")
    builder = _Builder(parser, limits, stream)
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.StartDoctypeDeclHandler = _refuse_doctype
    parser.EntityDeclHandler = _refuse_doctype
    parser.ExternalEntityRefHandler = _refuse_doctype
    parser.StartElementHandler = builder.start
    parser.EndElementHandler = builder.end
    parser.CharacterDataHandler = builder.data
    parser.buffer_text = True
    try:
        parser.Parse(text, True)
    except _Refused as refused:
        raise refused.error from None
    if builder.root is None:  # expat reports "no element found" before this
        raise ReportError("xml.syntax", line=1, column=0, detail="no element found")
    return builder.root


def _syntax_error(exc: expat.ExpatError) -> ReportError:
    return ReportError("xml.syntax", line=exc.lineno, column=exc.offset,
                       detail=expat.ErrorString(exc.code) or str(exc))


def repair(text: str, known: frozenset[str]) -> tuple[str, int]:
    """Escape each ``<`` that starts no known tag, comment, declaration or CDATA, and each ``&``
    that starts no reference; returns the text and how many characters were escaped."""
    names = "|".join(sorted(map(re.escape, known)))
    bad_lt = re.compile(rf"<(?!/?(?:[A-Za-z_][\w.-]*:)?(?:{names})[\s/>]|\?|!--|!\[CDATA\[)")
    bad_amp = re.compile(r"&(?!(?:amp|lt|gt|quot|apos|#[0-9]{1,7}|#x[0-9A-Fa-f]{1,6});)")
    text, lt = bad_lt.subn("&lt;", text)
    text, amp = bad_amp.subn("&amp;", text)
    return text, lt + amp


def _extract(text: str, root: str) -> str:
    """From the first ``<root`` start tag to the last ``</root>`` end tag, or ""."""
    start = re.search(rf"<{re.escape(root)}[\s>/]", text)
    ends = list(re.finditer(rf"</{re.escape(root)}\s*>", text))
    if start is None or not ends or ends[-1].end() <= start.start():
        return ""
    return text[start.start():ends[-1].end()]


Repair = tuple[str, tuple[tuple[str, int], ...]]


def _repairs(text: str, known: frozenset[str], root: str) -> list[Repair]:
    """Texts to try after the document was refused, each with what was changed: escaped text
    characters, then only the ``root`` element (junk around it dropped), then both."""
    escaped, count = repair(text, known) if known else (text, 0)
    out: list[Repair] = [(escaped, (("escaped", count),))] if count else []
    inner = _extract(text, root) if root else ""
    if inner and inner != text.strip():
        out.append((inner, (("extracted", 1),)))
    inner_escaped = _extract(escaped, root) if root and count else ""
    if inner_escaped and inner_escaped != escaped.strip():
        out.append((inner_escaped, (("escaped", count), ("extracted", 1))))
    return out


def parse(data: bytes, notes: Notes, known: frozenset[str] = frozenset(), root: str = "",
          limits: Limits = DEFAULT, stream: Stream | None = None) -> Node:
    """The root element of ``data``, or a ReportError naming the line and the reason.

    ``known`` (element names) and ``root`` (the expected root element) enable the repairs
    described above; the limits are never relaxed for a repaired document.
    """
    text = decode(data, notes)
    if not text.strip():
        raise ReportError("file.empty")
    try:
        return _build(text, limits, stream)
    except expat.ExpatError as exc:
        first = _syntax_error(exc)
    for candidate, changes in _repairs(text, known, root):
        try:
            node = _build(candidate, limits, stream)
        except expat.ExpatError:
            continue
        for change, count in changes:
            if change == "escaped":
                notes.add("warn.repaired", detail=first.text("en"), detail_ja=first.text("ja"),
                          count=count)
            else:
                notes.add("warn.extracted", detail=first.text("en"), detail_ja=first.text("ja"),
                          root=root)
        return node
    raise first
