"""What every outbound signal sees and returns."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from mailwarden import i18n
from mailwarden.config import Config
from mailwarden.engine.geo import IpFacts
from mailwarden.engine.state import AccountState
from mailwarden.engine.windows import Totals
from mailwarden.events import Submission


@dataclass(frozen=True, slots=True)
class Reason:
    """One signal's contribution to a verdict, explained."""

    signal: str
    weight: float
    en: str
    ja: str
    evidence: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"signal": self.signal, "weight": round(self.weight, 3), "en": self.en,
                "ja": self.ja, "evidence": self.evidence}


@dataclass(slots=True)
class Quiet:
    """Where a signal that found nothing keeps finding nothing, so the engine may skip it.

    It holds for the account's next messages from the same client address and sender, in the
    same clock hour, while the account's baseline, quarantine and bounces stay as they are
    (``engine/headroom.py`` checks all that). ``most`` bounds volume metrics as the signal sees
    them with the message counted: ``"<window>.<messages|recipients|external|domains>"`` and
    ``"message.recipients"``; ``known_recipients`` asks that every external recipient be a
    known correspondent; ``still`` is re-checked on each message, for state that others change.
    """

    most: dict[str, int] = field(default_factory=dict)
    known_recipients: bool = False
    still: Callable[[AccountState, float], bool] | None = None


@dataclass(slots=True)
class Context:
    """A message being decided, with the facts signals need, computed once."""

    sub: Submission
    state: AccountState
    cfg: Config
    facts: IpFacts
    totals: dict[str, Totals]
    external: tuple[str, ...]
    hour_of_week: int
    hour_of_day: int
    warm: bool

    def peak(self, key: str) -> float:
        half_life = self.cfg.baseline.peak_half_life_days * 86400
        return self.state.baseline.peak(key, self.sub.time, half_life)

    def limit(self, key: str, floor: int) -> int:
        """The larger of the cold-start floor and the account's learned peak times the factor.

        Learned limits change only when the baseline learns or as peaks decay, so they are
        cached per account for the hour (a decision must not redo the arithmetic).
        """
        state = self.state
        stamp = (int(self.sub.time // 3600), state.baseline.messages)
        cache = state.limits
        if cache is None or cache[0] != stamp:
            cache = state.limits = (stamp, {})
        learned = cache[1].get(key)
        if learned is None:
            learned = cache[1][key] = int(self.peak(key) * self.cfg.baseline.limit_factor)
        return max(floor, learned)

    def known_limit(self, key: str, floor: int) -> int:
        """What ``limit`` gives now if it was already worked out this hour, else the floor
        (never more than ``limit`` would give); it computes nothing, so the limits of later
        decisions are the same with and without the fast path."""
        state = self.state
        cache = state.limits
        if cache is None or cache[0] != (int(self.sub.time // 3600), state.baseline.messages):
            return floor
        return max(floor, cache[1].get(key, floor))

    def reason(self, name: str, fraction: float = 1.0, **evidence: Any) -> Reason | None:
        weight = float(getattr(self.cfg.signals, name)) * fraction
        if weight <= 0:
            return None
        return Reason(name, weight, i18n.render(name, "en", **evidence),
                      i18n.render(name, "ja", **evidence), evidence)


class Signal(Protocol):
    """A detector: a name, a description and a pure function of the context.

    A signal may also offer ``quiet(ctx) -> Quiet | None``, called after it found nothing:
    where it will go on finding nothing (None: no promise). The engine's fast path is on only
    when every signal offers it.
    """

    name: str
    description: str

    def evaluate(self, ctx: Context) -> Reason | None: ...
