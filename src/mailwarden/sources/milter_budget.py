"""The milter's memory bounds: the bytes of mail all its connections may hold at once, and how
many connections there may be.

Each connection collects its message up to ``max_message_bytes``; together they may hold at
most the budget (``[milter] max_buffered_bytes``). A :class:`Hold` is what one message holds:
it grows chunk by chunk while the message is collected (a chunk that does not fit is refused:
the message is analysed on what was read, as one over ``max_message_bytes``) and gives its
bytes back once, when the message is done with — after the analysis, or when the message is
aborted or its connection lost. Thread-safe: the analysis threads give bytes back too.

Outside the budget, each connection holds the packet it is framing (at most
``milter_codec.MAX_PACKET``, about 1 MiB) and its envelope (bounded by the session); the
:class:`ConnectionLimit` (``[milter] max_connections``) bounds how many do, so the milter's
memory for mail is at most about max_connections × MAX_PACKET + max_buffered_bytes. A
connection over the limit is closed before anything is read from it: Postfix then applies its
``milter_default_action`` to that session at once (with ``accept``, as docs/inbound.md asks,
its mail passes unchecked; with Postfix's own default, ``tempfail``, it is deferred), and
nothing waits for a free slot.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

log = logging.getLogger("mailwarden.milter")
LOG_SECONDS = 60.0  # at most one log line per minute about truncated messages or refusals


class LogEvery:
    """Counts events and says when to log them: the first at once, then at most one line per
    LOG_SECONDS, covering the events counted since the last line."""

    __slots__ = ("_clock", "_logged_at", "_unlogged")

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._logged_at: float | None = None
        self._unlogged = 0

    def count(self) -> int:
        """Count one event; the number of events to log now, or 0 when no line is due."""
        self._unlogged += 1
        now = self._clock()
        if self._logged_at is not None and now - self._logged_at < LOG_SECONDS:
            return 0
        count, self._unlogged, self._logged_at = self._unlogged, 0, now
        return count


class MemoryBudget:
    """Bytes of mail the milter may hold; ``used`` is what the holds have now."""

    def __init__(self, limit: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.used = 0
        self.truncated = 0  # messages cut short by the budget, ever
        self._lock = threading.Lock()
        self._log = LogEvery(clock)

    def hold(self) -> Hold:
        """A new, empty hold for one message."""
        return Hold(self)

    def note_truncated(self) -> None:
        """Count a message cut short by the budget; log it at most once per LOG_SECONDS."""
        with self._lock:
            self.truncated += 1
            count, used = self._log.count(), self.used
        if not count:
            return
        log.warning("milter: memory budget full (%d of max_buffered_bytes = %d bytes held): "
                    "%d message(s) analysed on their first bytes only since the last such "
                    "line; raise [milter] max_buffered_bytes if this recurs", used, self.limit,
                    count)


class Hold:
    """The bytes of the budget one message holds."""

    __slots__ = ("budget", "size")

    def __init__(self, budget: MemoryBudget) -> None:
        self.budget = budget
        self.size = 0

    def grow(self, size: int) -> bool:
        """Take ``size`` more bytes from the budget; False (nothing taken) if they do not fit."""
        budget = self.budget
        with budget._lock:
            if budget.used + size > budget.limit:
                return False
            budget.used += size
            self.size += size
            return True

    def release(self) -> None:
        """Give every byte back (again: nothing more)."""
        budget = self.budget
        with budget._lock:
            budget.used -= self.size
            self.size = 0


class ConnectionLimit:
    """At most ``limit`` connections from the MTA at once (used on the event loop only)."""

    def __init__(self, limit: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.refused = 0  # connections closed at once because of the limit, ever
        self._log = LogEvery(clock)

    def admits(self, open_now: int) -> bool:
        """Whether a new connection may join the ``open_now`` ones; a refusal is counted and
        logged (at most once per LOG_SECONDS, with the count since the last line)."""
        if open_now < self.limit:
            return True
        self.refused += 1
        count = self._log.count()
        if count:
            log.warning("milter: %d connections open (max_connections = %d): %d new "
                        "connection(s) closed at once since the last such line: Postfix "
                        "applies milter_default_action to them (with accept, as "
                        "docs/inbound.md advises, their mail passes unchecked); raise "
                        "[milter] max_connections to the sum of Postfix's process limits if "
                        "this recurs", open_now, self.limit, count)
        return False
