"""``logs scan``: a forensic timeline of mail logs with the login guard's findings.

Every line goes to the parser of its program (Postfix, Dovecot and Exim lines share one
syslog file on most systems; see ``sources/logs/route.py``). The events are put
in time order and run through a fresh login engine and the bounce counter, so the findings are
what Mailwarden would have said at the time.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from typing import Any

from mailwarden import i18n
from mailwarden.config import Config
from mailwarden.engine.engine import Engine
from mailwarden.engine.logins.engine import LoginEngine
from mailwarden.engine.state import MemoryStates
from mailwarden.events import Delivery, Login, Submission
from mailwarden.sources.logs import PARSERS, LogEvent, make_parser
from mailwarden.sources.logs.files import first_year, order_files, read_in_order
from mailwarden.sources.logs.route import route
from mailwarden.timefmt import iso

Paths = Iterable[str | os.PathLike[str]]
BOUNCE_SIGNAL = "bounce_burst"


def read_all(paths: Paths, cfg: Config, year: int | None = None) -> list[LogEvent]:
    """Every event of every parser, in time order."""
    files = order_files(paths, cfg.tz)
    first = first_year(files, cfg.tz) if year is None else year
    parsers = {name: make_parser(name, cfg.tz, first) for name in sorted(PARSERS)}
    feeds = {name: p.feed for name, p in parsers.items()}
    events: list[LogEvent] = []
    for line in read_in_order(files):
        for name in route(line):
            found = feeds[name](line)
            if found:
                events.extend(found)
    for parser in parsers.values():
        events.extend(parser.flush())
    events.sort(key=lambda e: e.time)
    return events


def record(event: LogEvent, engine: Engine) -> dict[str, Any]:
    """An event as a JSON-ready dict (with country and network for addresses)."""
    if isinstance(event, Login):
        facts = engine.geo.lookup(event.address)
        return {"type": "login", "time": iso(event.time), "account": event.account,
                "address": event.address, "country": facts.country, "asn": facts.asn,
                "success": event.success, "protocol": event.protocol,
                "mechanism": event.mechanism, "tls": event.tls, "attempts": event.attempts,
                "source": event.source}
    if isinstance(event, Submission):
        facts = engine.geo.lookup(event.client_address)
        return {"type": "submission", "time": iso(event.time), "account": event.account,
                "sender": event.sender, "recipients": event.size,
                "client_address": event.client_address, "country": facts.country,
                "queue_id": event.queue_id}
    return {"type": "delivery", "time": iso(event.time), "queue_id": event.queue_id,
            "recipient": event.recipient, "status": event.status, "dsn": event.dsn,
            "relay": event.relay}


def scan(paths: Paths, cfg: Config, year: int | None = None,
         events: bool = True) -> Iterator[dict[str, Any]]:
    """The timeline (when ``events``) and the findings, as JSON-ready dicts, then a summary."""
    states = MemoryStates(cfg.store.max_accounts_in_memory)
    outbound = Engine(cfg, states)
    logins = LoginEngine(cfg, states, outbound.geo)
    counts = {"login": 0, "submission": 0, "delivery": 0, "finding": 0}
    for event in read_all(paths, cfg, year):
        kind = type(event).__name__.lower()
        counts[kind] += 1
        if events:
            yield record(event, outbound)
        found: list[dict[str, Any]] = []
        if isinstance(event, Login):
            found = [f.to_dict() for f in logins.observe(event)]
        elif isinstance(event, Submission) and event.account:
            outbound.commit(event, held=False)
        elif isinstance(event, Delivery):
            found = _bounces(outbound, event)
        counts["finding"] += len(found)
        yield from found
    yield {"type": "summary", "logins": counts["login"], "submissions": counts["submission"],
           "deliveries": counts["delivery"], "findings": counts["finding"]}


def _bounces(engine: Engine, delivery: Delivery) -> list[dict[str, Any]]:
    account = engine.bounce(delivery)
    if not account:
        return []
    state = engine.states.get(account)
    count = state.bounces.totals(delivery.time).recipients if state.bounces else 0
    threshold = engine.cfg.login.bounce_threshold
    if count != threshold:  # report once, when the hour's count reaches the threshold
        return []
    return [{"type": "finding", "signal": BOUNCE_SIGNAL, "account": account, "address": "",
             "time": iso(delivery.time), "severity": "medium",
             "reasons": [{"signal": "bounces", "weight": 0.0,
                          "en": i18n.render("bounces", "en", count=count),
                          "ja": i18n.render("bounces", "ja", count=count),
                          "evidence": {"count": count}}]}]
