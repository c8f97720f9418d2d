"""Who a sender claims to be, against who it is: protected people, the organisation, brands,
an address written into the display name.

Worked out once per message and shared by the impersonation signals, so that each of them
states one finding (the person, the organisation, the brand, the free-mail sender) and the
verdict can weigh them together.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from mailwarden.inbound.addresses import Mailbox
from mailwarden.inbound.domains import label, registrable, within
from mailwarden.inbound.knowledge import Brand, Knowledge, Person
from mailwarden.inbound.message import Message
from mailwarden.inbound.names import contains, prepare, prepare_text, words_of_label

SHOWN_ADDRESS = re.compile(r"[\w.+'-]{1,64}@[\w-]{1,63}(?:\.[\w-]{1,63})+", re.UNICODE)
SIGNATURE_CHARS = 1500


@dataclass(frozen=True, slots=True)
class Claims:
    """What the sender claims that it is not."""

    person: Person | None = None
    org: str = ""  # the organisation's name or domain, as claimed
    brand: Brand | None = None
    brand_where: str = ""  # "domain", "display name", "address"
    shown_address: str = ""  # an address in the display name that is not the sender's
    signature_org: str = ""  # the organisation's name in the closing lines of the text


def of(msg: Message, know: Knowledge) -> Claims:
    """The claims of ``msg``'s sender."""
    box = msg.sender
    if box is None or not box.address or know.is_org(box.domain):
        return Claims()
    shown = _shown_address(box)
    return Claims(_person(box, know), _org(box, shown, know), *_brand(box, know),
                  shown, _signature(msg, know))


def _shown_address(box: Mailbox) -> str:
    found = SHOWN_ADDRESS.search(box.name)
    if found is None:
        return ""
    shown = found.group(0).lower()
    same = shown == box.address or registrable(shown.rpartition("@")[2]) == registrable(
        box.domain)
    return "" if same else shown


def _person(box: Mailbox, know: Knowledge) -> Person | None:
    if not box.name:
        return None
    display = prepare(box.name)
    for person in know.people:
        if not any(contains(display, name) for name in person.names):
            continue
        if box.address in person.addresses:
            return None
        return person
    return None


def _org(box: Mailbox, shown: str, know: Knowledge) -> str:
    if shown and know.is_org(shown.rpartition("@")[2]):
        return shown
    if not box.name:
        return ""
    lowered = box.name.lower()
    for domain in know.org_domains:
        if domain in lowered:
            return domain
    display = prepare(box.name)
    for name in know.org_names:
        if contains(display, name, min_run=2):
            return name.text
    return ""


def _brand(box: Mailbox, know: Knowledge) -> tuple[Brand | None, str]:
    freemail = know.is_freemail(box.domain)  # its name is the mail service's, not a claim
    domain_words = () if freemail else words_of_label(label(registrable(box.domain)))
    local_words = words_of_label(box.local)
    display = prepare(box.name) if box.name else None
    for brand in know.brands:
        if within(box.domain, brand.domains) and not freemail:
            continue
        if brand.words & set(domain_words) or _joined(domain_words, brand.words):
            return brand, "domain"
        if display is not None and any(contains(display, n, min_run=2) for n in brand.names):
            return brand, "display name"
        if brand.words & set(local_words):
            return brand, "address"
    return None, ""


def _joined(words: tuple[str, ...], brand_words: frozenset[str]) -> bool:
    """A brand run together with another word in a domain label (``paypalsupport``)."""
    return any(len(b) >= 5 and w != b and w.startswith(b) for w in words for b in brand_words)


def _signature(msg: Message, know: Knowledge) -> str:
    if not know.org_names:
        return ""
    closing = prepare_text(msg.text[-SIGNATURE_CHARS:])
    for name in know.org_names:
        if contains(closing, name, min_run=2):
            return name.text
    return ""
