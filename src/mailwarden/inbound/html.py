"""HTML to what a reader sees and what a click does: text, links with their visible text, forms,
scripts, meta refreshes.

Not a browser: a linear scan with one regular expression for tags (``[^<>]*`` inside a tag,
so no attempt scans past the next ``<``), comments and script/style bodies skipped with
``str.find``. Input is cut at ``MAX_HTML`` characters and at most ``MAX_TAGS`` tags are
looked at, so time is linear and bounded whatever the markup.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field

MAX_HTML = 2_000_000
MAX_TAGS = 50_000
MAX_LINKS = 500
MAX_SCRIPT = 1_000_000
TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9:-]{0,40})([^<>]*)>")
ATTR = re.compile(
    r"""([a-zA-Z_:][-a-zA-Z0-9_:.]{0,60})\s*(?:=\s*("[^"]*"|'[^']*'|[^\s"'=<>`]+))?""")
BLOCK = frozenset({"br", "p", "div", "tr", "li", "h1", "h2", "h3", "h4", "h5", "h6", "table",
                   "td", "th", "blockquote", "hr", "section", "article", "header", "footer"})
RAW_TEXT = frozenset({"script", "style", "title", "textarea", "noscript", "template"})
REFRESH_URL = re.compile(r"url\s*=\s*['\"]?([^'\"\s>]+)", re.I)
SPACES = re.compile(r"[ \t\r\f\v\u00a0\u3000]+")
LINES = re.compile(r"\n\s*\n+")


@dataclass(slots=True)
class Anchor:
    """A link as the reader sees it: where it goes and the text shown for it."""

    href: str
    text: str
    tag: str = "a"
    download: bool = False


@dataclass(slots=True)
class Form:
    """A form: where it posts and what it asks for."""

    action: str
    method: str
    password: bool = False
    fields: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Document:
    """The readable content of an HTML text."""

    text: str = ""
    anchors: list[Anchor] = field(default_factory=list)
    forms: list[Form] = field(default_factory=list)
    scripts: list[str] = field(default_factory=list)
    script_sources: list[str] = field(default_factory=list)
    refresh: list[str] = field(default_factory=list)
    images: list[str] = field(default_factory=list)
    base: str = ""
    truncated: bool = False


def parse(source: str) -> Document:
    """Text, links, forms and scripts of ``source``."""
    doc = Document()
    if len(source) > MAX_HTML:
        source, doc.truncated = source[:MAX_HTML], True
    source = _strip_comments(source)
    out: list[str] = []
    anchor: Anchor | None = None
    anchor_text: list[str] = []
    form: Form | None = None
    pos = tags = 0
    while True:
        match = TAG.search(source, pos)
        if match is None or tags >= MAX_TAGS:
            break
        tags += 1
        text = source[pos:match.start()]
        out.append(text)
        if anchor is not None:
            anchor_text.append(text)
        pos = match.end()
        closing, name, rest = match.group(1), match.group(2).lower(), match.group(3)
        if name in BLOCK:
            out.append("\n")
        if closing:
            if name in ("a", "area") and anchor is not None:
                anchor.text = _clean("".join(anchor_text))[:500]
                anchor, anchor_text = None, []
            elif name == "form":
                form = None
            continue
        attrs = _attrs(rest)
        if name in RAW_TEXT:
            end = _find_close(source, name, pos)
            body = source[pos:end if end >= 0 else len(source)]
            if name == "script":
                _script(doc, body, attrs)
            elif name in ("textarea", "noscript"):
                out.append(body)
            pos = len(source) if end < 0 else end
            continue
        anchor, form = _element(doc, name, attrs, anchor, form)
        if name in ("a", "area") and anchor is not None:
            anchor_text = []
    out.append(source[pos:] if tags < MAX_TAGS else "")
    if anchor is not None:
        anchor.text = _clean("".join(anchor_text))[:500]
    doc.truncated = doc.truncated or tags >= MAX_TAGS
    doc.text = _clean("".join(out))
    return doc


def _strip_comments(source: str) -> str:
    if "<!--" not in source:
        return source
    pieces = []
    pos = 0
    while True:
        start = source.find("<!--", pos)
        if start < 0:
            pieces.append(source[pos:])
            break
        pieces.append(source[pos:start])
        end = source.find("-->", start + 4)
        if end < 0:
            break
        pos = end + 3
    return "".join(pieces)


def _find_close(source: str, name: str, pos: int) -> int:
    found = re.compile(f"</{name}", re.I).search(source, pos)
    return found.start() if found else -1


def _attrs(rest: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for name, value in ATTR.findall(rest[:8000]):
        if value[:1] in ("'", '"'):
            value = value[1:-1]
        found.setdefault(name.lower(), html.unescape(value).strip())
    return found


def _element(doc: Document, name: str, attrs: dict[str, str], anchor: Anchor | None,
             form: Form | None) -> tuple[Anchor | None, Form | None]:
    if name in ("a", "area") and "href" in attrs and len(doc.anchors) < MAX_LINKS:
        anchor = Anchor(attrs["href"], "", name, "download" in attrs)
        doc.anchors.append(anchor)
    elif name == "form":
        form = Form(attrs.get("action", ""), attrs.get("method", "get").lower())
        doc.forms.append(form)
    elif name == "input" and form is not None and len(form.fields) < 100:
        kind = attrs.get("type", "text").lower()
        form.password = form.password or kind == "password"
        form.fields.append(f"{kind}:{attrs.get('name', '')[:40]}")
    elif name == "input" and attrs.get("type", "").lower() == "password":
        doc.forms.append(Form("", "", True, ["password:" + attrs.get("name", "")[:40]]))
    elif name == "meta" and attrs.get("http-equiv", "").lower() == "refresh":
        found = REFRESH_URL.search(attrs.get("content", ""))
        if found:
            doc.refresh.append(found.group(1))
    elif name in ("iframe", "frame", "embed", "object") and len(doc.anchors) < MAX_LINKS:
        src = attrs.get("src") or attrs.get("data", "")
        if src:
            doc.anchors.append(Anchor(src, "", name))
    elif name == "img" and attrs.get("src") and len(doc.images) < MAX_LINKS:
        doc.images.append(attrs["src"])
    elif name == "base" and attrs.get("href"):
        doc.base = attrs["href"]
    return anchor, form


def _script(doc: Document, body: str, attrs: dict[str, str]) -> None:
    if attrs.get("src"):
        doc.script_sources.append(attrs["src"])
    if body.strip() and sum(len(s) for s in doc.scripts) < MAX_SCRIPT:
        doc.scripts.append(body[:MAX_SCRIPT])


def _clean(text: str) -> str:
    text = html.unescape(text)
    text = SPACES.sub(" ", text)
    return LINES.sub("\n\n", text).strip()
