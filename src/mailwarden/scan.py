"""``logs scan``: a forensic timeline of mail logs with the login guard's findings.

Every line goes to the parser of its program (Postfix, Dovecot and Exim lines share one
syslog file on most systems; see ``sources/logs/route.py``). The events are put
in time order and run through a fresh login engine and the bounce counter, so the findings are
what Mailwarden would have said at the time.

:func:`scan` gives JSON-ready dicts; :func:`scan_json` the same records already as JSON text
(what ``logs scan --json`` prints), written without building a dict per event.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Iterator
from json.encoder import encode_basestring
from operator import attrgetter
from typing import Any

from mailwarden import i18n
from mailwarden.config import Config
from mailwarden.engine.engine import Engine
from mailwarden.engine.logins.engine import LoginEngine
from mailwarden.engine.state import MemoryStates
from mailwarden.events import Delivery, Login, Submission
from mailwarden.sources.logs import PARSERS, LogEvent, make_parser
from mailwarden.sources.logs.files import first_year, order_files, read_blocks_in_order
from mailwarden.sources.logs.route import router
from mailwarden.timefmt import iso

Paths = Iterable[str | os.PathLike[str]]
BOUNCE_SIGNAL = "bounce_burst"
_CACHE_LIMIT = 65536  # entries of each formatting cache (times, addresses)


def read_all(paths: Paths, cfg: Config, year: int | None = None) -> list[LogEvent]:
    """Every event of every parser, in time order."""
    files = order_files(paths, cfg.tz)
    first = first_year(files, cfg.tz) if year is None else year
    parsers = {name: make_parser(name, cfg.tz, first) for name in sorted(PARSERS)}
    feeds_of = router({name: p.feed for name, p in parsers.items()})
    events: list[LogEvent] = []
    extend = events.extend
    for lines in read_blocks_in_order(files):
        for line in lines:
            for feed in feeds_of(line):
                found = feed(line)
                if found:
                    extend(found)
    for parser in parsers.values():
        events.extend(parser.flush())
    events.sort(key=attrgetter("time"))
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


class _Timeline:
    """The engines a scan runs the events through, and what they found."""

    def __init__(self, cfg: Config) -> None:
        states = MemoryStates(cfg.store.max_accounts_in_memory)
        self.outbound = Engine(cfg, states)
        self.logins = LoginEngine(cfg, states, self.outbound.geo)
        self.counts = {Login: 0, Submission: 0, Delivery: 0}
        self.findings = 0

    def observe(self, event: LogEvent) -> list[dict[str, Any]]:
        """The findings ``event`` completes, as JSON-ready dicts."""
        self.counts[type(event)] += 1
        found: list[dict[str, Any]] = []
        if isinstance(event, Login):
            found = [f.to_dict() for f in self.logins.observe(event)]
        elif isinstance(event, Submission):
            if event.account:
                self.outbound.commit(event, held=False)
        elif isinstance(event, Delivery):
            found = _bounces(self.outbound, event)
        self.findings += len(found)
        return found

    def summary(self) -> dict[str, Any]:
        counts = self.counts
        return {"type": "summary", "logins": counts[Login], "submissions": counts[Submission],
                "deliveries": counts[Delivery], "findings": self.findings}


def scan(paths: Paths, cfg: Config, year: int | None = None,
         events: bool = True) -> Iterator[dict[str, Any]]:
    """The timeline (when ``events``) and the findings, as JSON-ready dicts, then a summary."""
    timeline = _Timeline(cfg)
    for event in read_all(paths, cfg, year):
        if events:
            yield record(event, timeline.outbound)
        yield from timeline.observe(event)
    yield timeline.summary()


def scan_json(paths: Paths, cfg: Config, year: int | None = None,
              events: bool = True) -> Iterator[str]:
    """:func:`scan`'s records as ``json.dumps(record, ensure_ascii=False)`` would write them."""
    timeline = _Timeline(cfg)
    write = _Writer(timeline.outbound).line
    for event in read_all(paths, cfg, year):
        if events:
            yield write(event)
        for finding in timeline.observe(event):
            yield json.dumps(finding, ensure_ascii=False)
    yield json.dumps(timeline.summary(), ensure_ascii=False)


class _Writer:
    """Events as JSON text, field for field what :func:`record` and ``json.dumps`` give.

    Timestamps and an address with its country and network repeat from event to event, so their
    JSON is kept (in bounded caches).
    """

    def __init__(self, engine: Engine) -> None:
        self.lookup = engine.geo.lookup
        self.times: dict[float, str] = {}
        self.places: dict[str, str] = {}  # address → its JSON with country and network
        self.countries: dict[str, str] = {}  # client address → its JSON with country
        self.kinds: dict[type, Callable[[Any], str]] = {
            Login: self.login, Submission: self.submission, Delivery: self.delivery}

    def line(self, event: LogEvent) -> str:
        kind = self.kinds.get(type(event))
        if kind is not None:
            return kind(event)
        if isinstance(event, Login):  # a subclass
            return self.login(event)
        return self.submission(event) if isinstance(event, Submission) else self.delivery(event)

    def time(self, t: float) -> str:
        text = self.times.get(t)
        if text is None:
            if len(self.times) >= _CACHE_LIMIT:
                self.times.clear()
            text = self.times[t] = encode_basestring(iso(t))
        return text

    def login(self, e: Login) -> str:
        place = self.places.get(e.address)
        if place is None:
            facts = self.lookup(e.address)
            if len(self.places) >= _CACHE_LIMIT:
                self.places.clear()
            place = self.places[e.address] = (
                f'"address": {encode_basestring(e.address)}, "country": '
                f'{encode_basestring(facts.country)}, "asn": {encode_basestring(facts.asn)}')
        return (f'{{"type": "login", "time": {self.time(e.time)}, "account": '
                f'{encode_basestring(e.account)}, {place}, "success": '
                f'{"true" if e.success else "false"}, "protocol": '
                f'{encode_basestring(e.protocol)}, "mechanism": {encode_basestring(e.mechanism)}, '
                f'"tls": {encode_basestring(e.tls)}, "attempts": {int.__repr__(e.attempts)}, '
                f'"source": {encode_basestring(e.source)}}}')

    def submission(self, e: Submission) -> str:
        client = self.countries.get(e.client_address)
        if client is None:
            if len(self.countries) >= _CACHE_LIMIT:
                self.countries.clear()
            client = self.countries[e.client_address] = (
                f'"client_address": {encode_basestring(e.client_address)}, "country": '
                f'{encode_basestring(self.lookup(e.client_address).country)}')
        return (f'{{"type": "submission", "time": {self.time(e.time)}, "account": '
                f'{encode_basestring(e.account)}, "sender": {encode_basestring(e.sender)}, '
                f'"recipients": {int.__repr__(e.size)}, {client}, "queue_id": '
                f'{encode_basestring(e.queue_id)}}}')

    def delivery(self, e: Delivery) -> str:
        return (f'{{"type": "delivery", "time": {self.time(e.time)}, "queue_id": '
                f'{encode_basestring(e.queue_id)}, "recipient": {encode_basestring(e.recipient)}, '
                f'"status": {encode_basestring(e.status)}, "dsn": {encode_basestring(e.dsn)}, '
                f'"relay": {encode_basestring(e.relay)}}}')


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
