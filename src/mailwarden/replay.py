"""Old logs through the engine: ``logs import`` learns, ``replay`` decides as live would have.

Both run the very engine the policy server runs, in log time. Replay starts from empty state
and learns as it goes (cold start, then warm), so its answer to "would Mailwarden have caught
our incident?" is honest about what it would have known at the time.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from mailwarden.config import Config
from mailwarden.engine.engine import Engine
from mailwarden.engine.state import MemoryStates
from mailwarden.events import Submission
from mailwarden.service import Runtime
from mailwarden.sources.logs import read_events
from mailwarden.timefmt import iso

Paths = Iterable[str | os.PathLike[str]]
IMPORT_FLUSH_EVERY = 20000


def _submissions(cfg: Config, paths: Paths, year: int | None,
                 counts: Counter[str]) -> Iterator[Submission]:
    for event in read_events(paths, "postfix", cfg.tz, year):
        counts[type(event).__name__] += 1
        if isinstance(event, Submission):
            account = event.account.lower()
            if not account and cfg.outbound.track_unauthenticated:
                sender = event.sender.lower()
                account = sender if "@" in sender else ""
            if account:
                yield Submission(event.time, account, event.sender, event.recipients,
                                 event.recipient_count, event.client_address, event.queue_id,
                                 event.instance, event.source)


@dataclass
class _Tally:
    """Per-incident figures for the summary."""

    incident: dict[str, Any]
    held: int = 0
    sent_before: int = 0


@dataclass
class Replay:
    """Runs the engine over logs and yields the JSON-ready records of ``replay --json``."""

    cfg: Config
    release_after: float = 0.0  # seconds after which a quarantine is lifted (0: never)
    counts: Counter[str] = field(default_factory=Counter)

    def run(self, paths: Paths, year: int | None = None) -> Iterator[dict[str, Any]]:
        engine = Engine(self.cfg, MemoryStates(self.cfg.store.max_accounts_in_memory))
        tallies: dict[str, _Tally] = {}
        sent: Counter[str] = Counter()
        accounts: set[str] = set()
        held = 0
        first = last = None
        for sub in _submissions(self.cfg, paths, year, self.counts):
            first = sub.time if first is None else first
            last = sub.time
            accounts.add(sub.account)
            self._maybe_release(engine, sub)
            verdict = engine.check(sub)
            hold = verdict.hold and self.cfg.outbound.mode != "warn"
            engine.commit(sub, hold)
            if verdict.incident is not None:
                record = {"type": "incident", **verdict.incident.to_dict()}
                tallies[verdict.incident.id] = _Tally(record, sent_before=sent[sub.account])
                yield record
            if not verdict.hold:
                sent[sub.account] += 1
                continue
            held += 1
            state = engine.states.get(sub.account)
            incident = verdict.incident.id if verdict.incident else state.quarantine_incident
            if incident in tallies:
                tallies[incident].held += 1
            yield {"type": "hold", "queue_id": sub.queue_id, "account": sub.account,
                   "time": iso(sub.time), "sender": sub.sender, "recipients": sub.size,
                   "client_address": sub.client_address, "incident": incident,
                   "score": round(verdict.score, 3),
                   "reasons": [r.to_dict() for r in verdict.reasons]}
        yield {
            "type": "summary", "messages": sum(sent.values()) + held, "held": held,
            "incidents": len(tallies), "accounts": len(accounts),
            "from": iso(first) if first is not None else None,
            "to": iso(last) if last is not None else None,
            "deliveries": self.counts["Delivery"], "logins": self.counts["Login"],
            "per_incident": [{"id": t.incident["id"], "account": t.incident["account"],
                              "opened_at": t.incident["opened_at"], "held": t.held,
                              "sent_before_by_account": t.sent_before}
                             for t in tallies.values()],
        }

    def _maybe_release(self, engine: Engine, sub: Submission) -> None:
        if not self.release_after:
            return
        state = engine.states.get(sub.account)
        if state.quarantined and sub.time - state.quarantine_since >= self.release_after:
            engine.release(sub.account)


def import_logs(cfg: Config, paths: Paths, year: int | None = None,
                now: float | None = None) -> dict[str, Any]:
    """Learn baselines from logs into the store; decides nothing."""
    rt = Runtime(cfg)
    counts: Counter[str] = Counter()
    accounts: set[str] = set()
    first = last = None
    learned = 0
    for sub in _submissions(cfg, paths, year, counts):
        rt.engine.learn(sub)
        accounts.add(sub.account)
        first = sub.time if first is None else first
        last = sub.time
        learned += 1
        if learned % IMPORT_FLUSH_EVERY == 0:
            batch = rt.collect(everything=True)
            rt.store.write(batch, time.time())
            rt.written(batch)
    rt.engine.settle_all(time.time() if now is None else now)
    for state in rt.states:
        rt.states.changed(state)
    batch = rt.collect(everything=True)
    rt.store.write(batch, time.time())
    rt.written(batch)
    return {"type": "summary", "messages": learned, "accounts": len(accounts),
            "from": iso(first) if first is not None else None,
            "to": iso(last) if last is not None else None,
            "deliveries": counts["Delivery"], "logins": counts["Login"]}
