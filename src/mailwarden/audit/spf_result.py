"""What SPF evaluation gives: the result, the explanation, every step in English and
Japanese, and what it cost in DNS lookups."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

RESULTS = ("pass", "fail", "softfail", "neutral", "none", "permerror", "temperror")


@dataclass(frozen=True)
class Reason:
    """One step of an evaluation, in English and Japanese."""

    en: str
    ja: str

    def text(self, lang: str) -> str:
        return self.ja if lang == "ja" else self.en


@dataclass(frozen=True)
class SpfResult:
    """What ``check_host()`` decided, why, and what it cost."""

    result: str
    explanation: str = ""
    reasons: tuple[Reason, ...] = ()
    lookups: int = 0  # DNS-querying mechanisms and modifiers evaluated
    void_lookups: int = 0
    domain: str = ""
    mechanism: str = ""  # the term that decided, if one matched

    def to_dict(self) -> dict[str, Any]:
        return {"result": self.result, "explanation": self.explanation, "domain": self.domain,
                "mechanism": self.mechanism, "lookups": self.lookups,
                "void_lookups": self.void_lookups,
                "reasons": [{"en": r.en, "ja": r.ja} for r in self.reasons]}
