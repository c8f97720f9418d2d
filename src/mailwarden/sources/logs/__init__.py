"""Mail server logs → events, for ``logs import`` (learning) and ``replay`` (what would we do?).

A log parser is fed lines in log order and returns the events each line completes; ``flush``
returns what is still pending at the end. Parsers are registered by name in :data:`PARSERS`; each
one has sample lines with their expected events under ``tests/data/logs/<name>/``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import tzinfo
from types import MappingProxyType
from typing import Protocol, TypeAlias

from mailwarden.events import Delivery, Login, Submission
from mailwarden.sources.logs.dovecot import DovecotLogParser
from mailwarden.sources.logs.exim import EximLogParser
from mailwarden.sources.logs.files import first_year, order_files, read_in_order
from mailwarden.sources.logs.postfix import PostfixLogParser

__all__ = [
    "PARSERS",
    "LogEvent",
    "LogParser",
    "ParserFactory",
    "UnknownParserError",
    "make_parser",
    "read_events",
]

LogEvent: TypeAlias = Submission | Delivery | Login


class LogParser(Protocol):
    """Turns the lines of one kind of log, fed in order, into events."""

    def feed(self, line: str) -> Sequence[LogEvent]:
        """The events this line produces or completes."""
        ...

    def flush(self) -> Sequence[LogEvent]:
        """The events still pending at the end of the log."""
        ...


ParserFactory: TypeAlias = Callable[[tzinfo, int | None], LogParser]
"""Makes a parser from the zone of the log's timestamps and the year of its first line."""

PARSERS: Mapping[str, ParserFactory] = MappingProxyType(
    {"dovecot": DovecotLogParser, "exim": EximLogParser, "postfix": PostfixLogParser}
)


class UnknownParserError(LookupError):
    """A parser name that is not registered; ``known`` lists the names that are."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.known = tuple(sorted(PARSERS))
        super().__init__(f"unknown log parser {name!r} (known: {', '.join(self.known)})")


def make_parser(name: str, tz: tzinfo, year: int | None = None) -> LogParser:
    """A new parser of the kind ``name`` (raises :class:`UnknownParserError`)."""
    factory = PARSERS.get(name)
    if factory is None:
        raise UnknownParserError(name)
    return factory(tz, year)


def read_events(
    paths: Iterable[str | os.PathLike[str]], name: str, tz: tzinfo, year: int | None = None
) -> Iterator[LogEvent]:
    """The events of log files given in any order, read oldest file first.

    ``year`` is the year of the oldest line; None guesses it from the files' modification times.
    Raises :class:`~mailwarden.sources.logs.files.LogFileError` for a file that cannot be read.
    """
    files = order_files(paths, tz)
    parser = make_parser(name, tz, first_year(files, tz) if year is None else year)
    feed = parser.feed
    for line in read_in_order(files):
        events = feed(line)
        if events:
            yield from events
    yield from parser.flush()
