"""The milter's memory budget: bytes of mail all its connections may hold at once.

Each connection collects its message up to ``max_message_bytes``; together they may hold at
most the budget (``[milter] max_buffered_bytes``). A :class:`Hold` is what one message holds:
it grows chunk by chunk while the message is collected (a chunk that does not fit is refused:
the message is analysed on what was read, as one over ``max_message_bytes``) and gives its
bytes back once, when the message is done with — after the analysis, or when the message is
aborted or its connection lost. Thread-safe: the analysis threads give bytes back too.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

log = logging.getLogger("mailwarden.milter")
LOG_SECONDS = 60.0  # at most one log line about truncated messages per minute


class MemoryBudget:
    """Bytes of mail the milter may hold; ``used`` is what the holds have now."""

    def __init__(self, limit: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.used = 0
        self.truncated = 0  # messages cut short by the budget, ever
        self._lock = threading.Lock()
        self._clock = clock
        self._logged_at: float | None = None
        self._unlogged = 0

    def hold(self) -> Hold:
        """A new, empty hold for one message."""
        return Hold(self)

    def note_truncated(self) -> None:
        """Count a message cut short by the budget; log it at most once per LOG_SECONDS."""
        with self._lock:
            self.truncated += 1
            self._unlogged += 1
            now = self._clock()
            if self._logged_at is not None and now - self._logged_at < LOG_SECONDS:
                return
            count, self._unlogged, self._logged_at = self._unlogged, 0, now
            used = self.used
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
