"""Messages assembled from several log lines, released complete and in submission order.

Postfix and Exim log one message over several lines (arrival, sender, each delivery, removal),
interleaved with other messages. A message is complete at its last line, or once the log's clock
is ``grace`` seconds past its first line; complete messages are released in the order of their
first lines, so that whoever reads the events sees a clock that never goes back. Memory is
bounded: past ``max_pending`` messages the oldest is released early, and a message keeps at most
``max_recipients`` addresses (the others are counted).
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from typing import Generic, Protocol, TypeVar


class AssembledMessage(Protocol):
    """What the assembly needs of a parser's message."""

    key: tuple[str, str]
    sequence: int
    time: float
    done: bool
    extra: int
    recipients: dict[str, None]


class AssemblyStats(Protocol):
    """The counters the assembly keeps in the parser's statistics."""

    evicted: int
    recipients_dropped: int
    submissions: int


M = TypeVar("M", bound=AssembledMessage)
E = TypeVar("E")
Out = Callable[[E], None]


class Assembly(Generic[M, E]):
    """Pending messages by key, a heap of their start times, a heap of complete ones.

    ``emit(message, time)`` turns a released message into the parser's event, with a time that
    never goes back (a line logged out of order takes its predecessor's time); the methods that
    may release messages hand those events to ``out`` (typically the parser's ``out.append``).
    """

    def __init__(self, stats: AssemblyStats, emit: Callable[[M, float], E], grace: float,
                 max_pending: int, max_recipients: int) -> None:
        self.stats = stats
        self.emit = emit
        self.grace = grace
        self.max_pending = max(1, max_pending)
        self.max_recipients = max(0, max_recipients)
        self.now = float("-inf")  # the latest line time seen
        self.last = float("-inf")  # the time of the last message released
        self.pending: dict[tuple[str, str], M] = {}
        self.waiting: list[tuple[float, int, M]] = []  # pending (done ones are stale)
        self.ready: list[tuple[float, int, M]] = []  # complete, waiting for older ones
        self.sequence = 0

    def __len__(self) -> int:
        return len(self.pending) + len(self.ready)

    def next_sequence(self) -> int:
        self.sequence += 1
        return self.sequence

    def open(self, message: M, out: Out[E]) -> None:
        """Start assembling ``message``; making room may release messages to ``out``."""
        if len(self) >= self.max_pending:
            self.evict(out)
        self.pending[message.key] = message
        heapq.heappush(self.waiting, (message.time, message.sequence, message))

    def add_recipient(self, message: M, address: str) -> None:
        recipients = message.recipients
        if address in recipients:
            return
        if len(recipients) < self.max_recipients:
            recipients[address] = None
        else:
            message.extra += 1
            self.stats.recipients_dropped += 1

    def finish(self, message: M) -> None:
        """Mark ``message`` complete; it is released once no older message is pending."""
        message.done = True
        del self.pending[message.key]
        heapq.heappush(self.ready, (message.time, message.sequence, message))

    def evict(self, out: Out[E]) -> None:
        """Complete the oldest pending message early to make room."""
        while self.waiting:
            message = heapq.heappop(self.waiting)[2]
            if not message.done:
                self.finish(message)
                self.stats.evicted += 1
                break
        self.release(out)

    def due(self) -> bool:
        """Whether ``release`` has anything to do."""
        waiting = self.waiting
        return bool(self.ready) or bool(waiting and waiting[0][0] < self.now - self.grace)

    def release(self, out: Out[E]) -> None:
        """Complete messages past the grace period; release complete ones no pending one
        precedes."""
        waiting, ready = self.waiting, self.ready
        limit = self.now - self.grace
        while waiting:
            when, _, message = waiting[0]
            if message.done:
                heapq.heappop(waiting)
            elif when < limit:
                heapq.heappop(waiting)
                self.finish(message)
            else:
                break
        horizon = waiting[0][0] if waiting else float("inf")
        while ready and ready[0][0] <= horizon:
            message = heapq.heappop(ready)[2]
            self.last = max(message.time, self.last)
            self.stats.submissions += 1
            out(self.emit(message, self.last))

    def flush(self, out: Out[E]) -> None:
        """Complete and release everything (the end of the log)."""
        for message in list(self.pending.values()):
            self.finish(message)
        self.waiting.clear()
        self.release(out)
