"""Who has written to whom before: what the history signals ask of the store.

Two sources answer: the inbound record (each delivered message counted per recipient and
sender, with how many carried links or payment requests) and the outbound guard's learned
correspondents (a recipient who wrote to a sender knows them). :class:`MemoryHistory` serves
tests and one-off runs; ``mailwarden.store.inbound_store.StoreHistory`` keeps it in the store.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Correspondent:
    """What a recipient has seen of a sender."""

    messages: int = 0
    first_seen: float = 0.0
    last_seen: float = 0.0
    with_links: int = 0
    with_payment: int = 0
    wrote_to: bool = False  # the recipient has written to the sender (outbound guard)


class History(Protocol):
    """The inbound analyser's view of past correspondence."""

    def lookup(self, recipient: str, sender: str) -> Correspondent | None:
        """What ``recipient`` has seen of ``sender``; None when nothing."""

    def received(self, recipient: str) -> int:
        """How many messages ``recipient`` is known to have received."""

    def record(self, recipient: str, sender: str, t: float, *, links: bool,
               payment: bool) -> None:
        """Count a delivered message."""


class MemoryHistory:
    """History in a dict (tests, ``mailwarden analyze`` without a store)."""

    def __init__(self) -> None:
        self.rows: dict[tuple[str, str], Correspondent] = {}
        self.wrote: set[tuple[str, str]] = set()

    def lookup(self, recipient: str, sender: str) -> Correspondent | None:
        key = (recipient.lower(), sender.lower())
        row = self.rows.get(key)
        if key in self.wrote:
            return dataclasses.replace(row or Correspondent(), wrote_to=True)
        return row

    def received(self, recipient: str) -> int:
        rcpt = recipient.lower()
        return sum(c.messages for (r, _), c in self.rows.items() if r == rcpt)

    def record(self, recipient: str, sender: str, t: float, *, links: bool,
               payment: bool) -> None:
        key = (recipient.lower(), sender.lower())
        old = self.rows.get(key) or Correspondent(first_seen=t, last_seen=t)
        self.rows[key] = Correspondent(old.messages + 1, min(old.first_seen, t),
                                       max(old.last_seen, t), old.with_links + links,
                                       old.with_payment + payment)

    def wrote_to(self, recipient: str, sender: str) -> None:
        """Say that ``recipient`` has written to ``sender`` (as the outbound guard learns)."""
        self.wrote.add((recipient.lower(), sender.lower()))
