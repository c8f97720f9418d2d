"""A message as the signals see it: who it claims to be from, what it says, where its links
go, what its attachments are, what the trusted authentication results say.

Built once per message from the bounded MIME reader's output; every list is capped, and
the text the lure patterns read is the visible text of the body parts (HTML rendered to
text), including forwarded mail.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from urllib.parse import urljoin

from mailwarden.inbound import addresses, attachments, authresults, charset, html, lures, qr
from mailwarden.inbound.addresses import Mailbox
from mailwarden.inbound.headers import decode_words
from mailwarden.inbound.knowledge import Knowledge
from mailwarden.inbound.mime import Parsed
from mailwarden.inbound.urls import Url, find, split

MAX_TEXT = 500_000
MAX_LINKS = 500


@dataclass(frozen=True, slots=True)
class Link:
    """A link: where it goes, the text shown for it, where it was found."""

    url: Url
    text: str
    source: str  # "html", "text", "attachment", "qr"
    where: str = ""  # the attachment or image it came from


@dataclass(slots=True)
class FormFound:
    form: html.Form
    where: str  # "body" or the attachment's path


@dataclass(slots=True)
class Message:
    """The facts of one message."""

    parsed: Parsed
    sender: Mailbox | None
    reply_to: list[Mailbox]
    return_path: str
    recipients: list[str]
    subject: str
    text: str
    links: list[Link]
    forms: list[FormFound]
    documents: list[tuple[str, html.Document]]  # body and attachment HTML, by where
    inspection: attachments.Inspection
    auth: authresults.Verdicts
    lures: dict[str, str]
    date: float | None
    is_reply: bool
    list_id: str
    qr_codes: list[tuple[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def sender_domain(self) -> str:
        return self.sender.domain if self.sender else ""

    def web_links(self) -> list[Link]:
        return [link for link in self.links if link.url.is_web or link.url.ip]


def build(parsed: Parsed, know: Knowledge, *, max_inflate: int, max_members: int,
          qr_images: int, envelope_from: str = "", recipients: tuple[str, ...] = ()) -> Message:
    """The facts of ``parsed``."""
    h = parsed.headers
    senders = addresses.parse(h.get("from"))
    text_parts, docs = _body(parsed)
    inspection = attachments.inspect(parsed.parts, max_inflate, max_members)
    msg = Message(
        parsed=parsed, sender=senders[0] if senders else None,
        reply_to=addresses.parse(h.get("reply-to"))[:20],
        return_path=(envelope_from or _angle(h.get("return-path"))).lower(),
        recipients=list(recipients) or _recipients(parsed),
        subject=decode_words(h.get("subject"))[:1000], text="", links=[], forms=[],
        documents=docs, inspection=inspection,
        auth=authresults.trusted(h, know.authserv_ids), lures={},
        date=_date(h.get("date")), is_reply=_is_reply(parsed), list_id=h.get("list-id")[:300])
    msg.text = "\n".join([msg.subject, *text_parts])[:MAX_TEXT]
    _links(msg, text_parts)
    _qr(msg, qr_images)
    msg.lures = lures.find(msg.text)
    return msg


def _angle(value: str) -> str:
    box = addresses.first(value)
    return box.address if box else ""


def _recipients(parsed: Parsed) -> list[str]:
    h = parsed.headers
    for name in ("x-original-to", "delivered-to", "envelope-to"):
        found = [b.address for v in h.get_all(name) for b in addresses.parse(v)]
        if found:
            return found[:50]
    return [b.address for name in ("to", "cc") for v in h.get_all(name)
            for b in addresses.parse(v)][:50]


def _date(value: str) -> float | None:
    try:
        return parsedate_to_datetime(value).timestamp() if value else None
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def _is_reply(parsed: Parsed) -> bool:
    h = parsed.headers
    subject = decode_words(h.get("subject")).lstrip().lower()
    return bool(h.get("in-reply-to") or h.get("references")) or \
        subject.startswith(("re:", "re：", "aw:", "返信:", "返信："))


def _body(parsed: Parsed) -> tuple[list[str], list[tuple[str, html.Document]]]:
    texts: list[str] = []
    docs: list[tuple[str, html.Document]] = []
    size = 0
    for part in parsed.parts:
        if part.is_attachment or size > MAX_TEXT:
            continue
        text = charset.decode(part.body[: MAX_TEXT * 4], part.charset)
        if part.content_type == "text/html":
            doc = html.parse(text)
            docs.append(("body", doc))
            text = doc.text
        texts.append(text)
        size += len(text)
    return texts, docs


def _links(msg: Message, texts: list[str]) -> None:
    seen: set[tuple[str, str]] = set()

    def add(raw: str, shown: str, source: str, where: str = "", base: str = "") -> None:
        if len(msg.links) >= MAX_LINKS:
            return
        if base and "://" not in raw[:12]:
            raw = urljoin(base, raw)
        url = split(raw)
        if url is None or (url.raw, shown) in seen:
            return
        seen.add((url.raw, shown))
        msg.links.append(Link(url, shown, source, where))

    for where, doc in msg.documents:
        for anchor in doc.anchors:
            add(anchor.href, anchor.text, "html", where, doc.base)
        for target in doc.refresh:
            add(target, "", "html", where, doc.base)
        msg.forms.extend(FormFound(f, where) for f in doc.forms)
    for text in texts:
        for raw in find(text):
            add(raw, "", "text")
    for item in msg.inspection.files:
        for raw in item.links:
            add(raw, "", "attachment", item.path)
        if item.document is not None:
            msg.documents.append((item.path, item.document))
            for anchor in item.document.anchors:
                add(anchor.href, anchor.text, "attachment", item.path, item.document.base)
            msg.forms.extend(FormFound(f, item.path) for f in item.document.forms)


def _qr(msg: Message, limit: int) -> None:
    images = msg.inspection.images[:limit]
    if not images:
        return
    if not qr.available():
        msg.notes.append(f"qr_unavailable:{len(images)}")
        return
    for where, data in images:
        for text in qr.decode(data):
            msg.qr_codes.append((where, text))
            url = split(text)
            if url is not None and (url.is_web or url.ip) and len(msg.links) < MAX_LINKS:
                msg.links.append(Link(url, "", "qr", where))
    if len(msg.inspection.images) > limit:
        msg.notes.append(f"qr_skipped:{len(msg.inspection.images) - limit}")
