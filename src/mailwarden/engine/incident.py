"""An incident: what the engine opens when an account stops sending like itself."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from mailwarden import i18n
from mailwarden.engine.signals.base import Reason
from mailwarden.timefmt import iso


def incident_id(account: str, t: float) -> str:
    """A stable, readable id: the same log replayed twice names its incidents the same."""
    stamp = datetime.fromtimestamp(t, UTC).strftime("%Y%m%d-%H%M%S")
    return f"INC-{stamp}-{hashlib.sha1(account.encode(), usedforsecurity=False).hexdigest()[:6]}"


@dataclass
class Incident:
    """An open incident with its evidence."""

    id: str
    opened_at: float
    account: str
    kind: str
    severity: str
    score: float
    reasons: list[Reason]
    evidence: dict[str, Any] = field(default_factory=dict)
    status: str = "open"
    title_key: str = "incident.title"

    @property
    def title_en(self) -> str:
        return i18n.render(self.title_key, "en", account=self.account)

    @property
    def title_ja(self) -> str:
        return i18n.render(self.title_key, "ja", account=self.account)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "opened_at": iso(self.opened_at), "account": self.account,
            "kind": self.kind, "severity": self.severity, "status": self.status,
            "score": round(self.score, 3), "title_en": self.title_en, "title_ja": self.title_ja,
            "reasons": [r.to_dict() for r in self.reasons], "evidence": self.evidence,
        }
