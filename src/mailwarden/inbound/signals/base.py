"""What every inbound signal sees and returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from mailwarden.config import Config
from mailwarden.engine.signals.base import Reason
from mailwarden.inbound import claims
from mailwarden.inbound.history import History
from mailwarden.inbound.knowledge import Knowledge
from mailwarden.inbound.message import Message
from mailwarden.inbound.texts import render

KINDS = ("auth", "sender", "link", "content", "attachment", "history", "structure")


@dataclass(slots=True)
class Context:
    """A message being judged, with what the analyser knows."""

    msg: Message
    know: Knowledge
    cfg: Config
    history: History | None = None
    memo: dict[str, Any] = field(default_factory=dict)

    def reason(self, name: str, fraction: float = 1.0, **evidence: Any) -> Reason | None:
        """The signal's reason with its configured weight times ``fraction`` (None at 0)."""
        weight = float(getattr(self.cfg.inbound_signals, name)) * max(0.0, min(1.0, fraction))
        if weight <= 0:
            return None
        return Reason(name, round(weight, 3), render(name, "en", **evidence),
                      render(name, "ja", **evidence), evidence)


class Signal(Protocol):
    """A detector: a name, a description, a kind (which verdict it points to) and a pure
    function of the context."""

    name: str
    description: str
    kind: str

    def evaluate(self, ctx: Context) -> Reason | None: ...


def shorten(items: list[str], limit: int = 5) -> str:
    """Up to ``limit`` items joined for a sentence, with how many more there are."""
    shown = ", ".join(items[:limit])
    return shown + (f" (+{len(items) - limit})" if len(items) > limit else "")


def claimed(ctx: Context) -> claims.Claims:
    """The sender's claims, worked out once per message."""
    found = ctx.memo.get("claims")
    if not isinstance(found, claims.Claims):
        found = ctx.memo["claims"] = claims.of(ctx.msg, ctx.know)
    return found
