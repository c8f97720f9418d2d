"""What every login signal sees and returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from mailwarden import i18n
from mailwarden.config import Config
from mailwarden.engine.geo import IpFacts
from mailwarden.engine.logins.profile import LoginProfile
from mailwarden.engine.logins.tracker import Tracker
from mailwarden.engine.signals.base import Reason
from mailwarden.events import Login
from mailwarden.timefmt import iso

SEVERITIES = ("low", "medium", "high")


@dataclass
class Finding:
    """A named detection about a login or a source of logins, explained."""

    signal: str
    account: str
    address: str
    time: float
    severity: str
    reasons: list[Reason] = field(default_factory=list)
    weight: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"type": "finding", "signal": self.signal, "account": self.account,
                "address": self.address, "time": iso(self.time), "severity": self.severity,
                "reasons": [r.to_dict() for r in self.reasons]}


@dataclass(slots=True)
class LoginContext:
    """One login attempt with the facts the signals need."""

    login: Login
    cfg: Config
    facts: IpFacts
    profile: LoginProfile | None
    tracker: Tracker
    hour: int
    denied: bool
    refused: Tracker | None = None  # attempts Dovecot refused on our answer (not counted)

    @property
    def account(self) -> str:
        return self.login.account

    @property
    def address(self) -> str:
        return self.login.address

    @property
    def warm(self) -> bool:
        return self.profile is not None and self.profile.warm(self.cfg.login.warm_logins)

    def finding(self, signal: str, severity: str, weight: float, key: str | None = None,
                **evidence: Any) -> Finding:
        """A finding of ``signal``, explained by the sentence ``key`` (default: the signal's)."""
        key = key or signal
        reason = Reason(signal, weight, i18n.render(key, "en", **evidence),
                        i18n.render(key, "ja", **evidence), evidence)
        return Finding(signal, self.account, self.address, self.login.time, severity,
                       [reason], weight)


class LoginSignal(Protocol):
    """A login detector: a stable name (SIEM rules use it) and a pure evaluation.

    A signal that can only fire on successful logins may say ``on = "success"`` (or
    ``"failure"``); the engine then does not ask it about the others. Without ``on`` it is asked
    about every login.
    """

    name: str
    description: str

    def evaluate(self, ctx: LoginContext) -> Finding | None: ...
