"""Account state behind one small interface: windows, baseline, pending learning, quarantine.

``MemoryStates`` keeps the most recently used accounts in memory and writes the others to the
store (through the ``save``/``load`` callbacks), so a million accounts fit in bounded memory.
A Redis implementation can later share the same interface between several MTAs.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, Protocol

from mailwarden.engine.baseline import Baseline, Pending
from mailwarden.engine.logins.profile import LoginProfile
from mailwarden.engine.windows import Window, Windows

if TYPE_CHECKING:
    from mailwarden.engine.headroom import Headroom

MAX_PENDING = 24 * 8  # hourly records: the settle period and then some


def bounce_window() -> Window:
    """The hour of bounces kept for the bounce signal."""
    return Window(3600, 12)


class AccountState:
    """Everything the engine knows about one account."""

    __slots__ = ("account", "baseline", "bounces", "commits", "headroom", "limits", "logins",
                 "pending", "quarantine_incident", "quarantine_since", "quarantined", "windows")

    def __init__(self, account: str) -> None:
        self.account = account
        self.windows = Windows()
        self.baseline = Baseline()
        self.pending: list[Pending] = []
        self.quarantined = False
        self.quarantine_since = 0.0
        self.quarantine_incident = ""
        self.logins: LoginProfile | None = None
        self.bounces: Window | None = None
        # (hour, baseline size) → learned limits; derived, never stored
        self.limits: tuple[tuple[int, int], dict[str, int]] | None = None
        # what the account may still send without a full check (engine/headroom.py); derived
        self.headroom: Headroom | None = None
        # messages counted since the state was made or loaded; derived, never stored
        self.commits = 0

    def to_json(self) -> str:
        return json.dumps({
            "windows": self.windows.to_dict(), "baseline": self.baseline.to_dict(),
            "pending": [p.to_list() for p in self.pending],
            "quarantine": [self.quarantined, self.quarantine_since, self.quarantine_incident],
            "logins": self.logins.to_dict() if self.logins else None,
            "bounces": self.bounces.to_dict() if self.bounces else None,
        }, separators=(",", ":"))

    @classmethod
    def from_json(cls, account: str, text: str) -> AccountState:
        state = cls(account)
        try:
            data: dict[str, Any] = json.loads(text)
            state.windows.load(data.get("windows", {}))
            state.baseline = Baseline.from_dict(data.get("baseline", {}))
            state.pending = [Pending.from_list(p) for p in data.get("pending", [])]
            q = data.get("quarantine", [False, 0.0, ""])
            state.quarantined, state.quarantine_since = bool(q[0]), float(q[1])
            state.quarantine_incident = str(q[2])
            if data.get("logins"):
                state.logins = LoginProfile.from_dict(data["logins"])
            if data.get("bounces"):
                state.bounces = bounce_window()
                state.bounces.load(data["bounces"])
        except (ValueError, TypeError, KeyError, IndexError, AttributeError):
            return cls(account)  # a damaged record starts afresh rather than failing mail
        return state


class States(Protocol):
    """Where the engine finds account state."""

    def get(self, account: str) -> AccountState: ...

    def changed(self, state: AccountState) -> None: ...

    def __iter__(self) -> Iterator[AccountState]: ...


class MemoryStates:
    """An LRU of account states; evicted states go to ``save``, misses come from ``load``."""

    def __init__(
        self,
        max_accounts: int = 200_000,
        load: Callable[[str], str | None] | None = None,
        save: Callable[[str, str], None] | None = None,
    ) -> None:
        self.max_accounts = max(1, max_accounts)
        self._load = load
        self._save = save
        self._states: dict[str, AccountState] = {}
        self.dirty: set[str] = set()

    def get(self, account: str) -> AccountState:
        state = self._states.pop(account, None)
        if state is None:
            text = self._load(account) if self._load else None
            state = AccountState.from_json(account, text) if text else AccountState(account)
            if len(self._states) >= self.max_accounts:
                self._evict()
        self._states[account] = state
        return state

    def _evict(self) -> None:
        oldest = next(iter(self._states))
        state = self._states.pop(oldest)
        if self._save is not None:
            self._save(oldest, state.to_json())
        self.dirty.discard(oldest)

    def changed(self, state: AccountState) -> None:
        self.dirty.add(state.account)

    def take_dirty(self, limit: int | None = None) -> list[tuple[str, str]]:
        """Up to ``limit`` changed states, serialised, for a write-behind flush.

        Serialising runs on the event loop; a limit keeps each flush's pause short (the rest
        waits for the next flush; eviction and shutdown write everything).
        """
        names = list(self.dirty) if limit is None else list(itertools.islice(self.dirty, limit))
        self.dirty.difference_update(names)
        return [(a, self._states[a].to_json()) for a in names if a in self._states]

    def peek(self, account: str) -> AccountState | None:
        return self._states.get(account)

    def __len__(self) -> int:
        return len(self._states)

    def __iter__(self) -> Iterator[AccountState]:
        return iter(list(self._states.values()))
