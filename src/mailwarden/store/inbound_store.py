"""Queries for the inbound analyser's history: the ``inbound_correspondents`` table, and a
read-only look at the outbound guard's learned correspondents in ``account_states``."""

from __future__ import annotations

import json
import time
from collections import OrderedDict

from sqlalchemy import case, func, select
from sqlalchemy.dialects import postgresql, sqlite

from mailwarden.inbound.history import Correspondent
from mailwarden.store import schema
from mailwarden.store.store import Store

MAX_CACHED = 1024
CACHE_SECONDS = 300.0  # the outbound guard writes its state behind, in batches


class StoreHistory:
    """The inbound history kept in the store (implements ``mailwarden.inbound.history.History``)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._outbound: OrderedDict[str, tuple[float, frozenset[str]]] = OrderedDict()

    def lookup(self, recipient: str, sender: str) -> Correspondent | None:
        rcpt, snd = recipient.lower(), sender.lower()
        t = schema.inbound_correspondents
        with self.store.engine.connect() as conn:
            row = conn.execute(select(t).where(t.c.recipient == rcpt, t.c.sender == snd)
                               ).mappings().first()
        wrote = snd in self.outbound(rcpt)
        if row is None:
            return Correspondent(wrote_to=True) if wrote else None
        return Correspondent(int(row["messages"]), float(row["first_seen"]),
                             float(row["last_seen"]), int(row["with_links"]),
                             int(row["with_payment"]), wrote)

    def received(self, recipient: str) -> int:
        t = schema.inbound_correspondents
        with self.store.engine.connect() as conn:
            total = conn.execute(select(func.sum(t.c.messages)).where(
                t.c.recipient == recipient.lower())).scalar()
        return int(total or 0)

    def record(self, recipient: str, sender: str, t: float, *, links: bool,
               payment: bool) -> None:
        rcpt, snd = recipient.lower()[:320], sender.lower()[:320]
        table = schema.inbound_correspondents
        dialect = postgresql if self.store.engine.dialect.name == "postgresql" else sqlite
        stmt = dialect.insert(table).values(
            recipient=rcpt, sender=snd, first_seen=t, last_seen=t, messages=1,
            with_links=int(links), with_payment=int(payment))
        stmt = stmt.on_conflict_do_update(index_elements=["recipient", "sender"], set_={
            "messages": table.c.messages + 1,
            "first_seen": case((table.c.first_seen < t, table.c.first_seen), else_=t),
            "last_seen": case((table.c.last_seen > t, table.c.last_seen), else_=t),
            "with_links": table.c.with_links + int(links),
            "with_payment": table.c.with_payment + int(payment)})
        with self.store.lock, self.store.engine.begin() as conn:
            conn.execute(stmt)

    def outbound(self, recipient: str) -> frozenset[str]:
        """The external addresses ``recipient`` has written to, as the outbound guard learned
        them (the account may be named by its address or its local part); cached a while."""
        now = time.monotonic()
        cached = self._outbound.get(recipient)
        if cached is not None and now - cached[0] < CACHE_SECONDS:
            self._outbound.move_to_end(recipient)
            return cached[1]
        found: set[str] = set()
        for account in {recipient, recipient.partition("@")[0]}:
            text = self.store.load_state(account)
            if text:
                found |= _correspondents(text)
        frozen = frozenset(found)
        self._outbound[recipient] = (now, frozen)
        if len(self._outbound) > MAX_CACHED:
            self._outbound.popitem(last=False)
        return frozen


def _correspondents(text: str) -> set[str]:
    try:
        data = json.loads(text)
        return {str(k).lower() for k in data.get("baseline", {}).get("correspondents", {})}
    except (ValueError, AttributeError, TypeError):
        return set()
