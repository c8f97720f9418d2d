"""A verdict: clean, suspicious, phishing, bec or malware, with a score and its reasons.

The score is the sum of the reasons' weights. Attachment findings alone reaching
``malware_threshold`` make it malware. Otherwise a score reaching ``phishing_threshold`` is
phishing when the mail wants a click or a form filled (a link, form or QR finding, or any
outside link when nothing points to a payment), and business e-mail compromise when it wants
a reply or a payment (payment requests, "are you at your desk" openers, impersonation without
links). A score reaching ``suspicious_threshold`` is suspicious; below it, clean.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mailwarden.config import Inbound
from mailwarden.engine.signals.base import Reason
from mailwarden.inbound import texts
from mailwarden.inbound.lures import BEC

VERDICTS = ("clean", "suspicious", "phishing", "bec", "malware")
IMPERSONATION = frozenset({"display_name_person", "display_name_org", "display_name_address",
                           "freemail_claim", "own_domain_spoof", "lookalike_domain"})


@dataclass(slots=True)
class Verdict:
    """What the analyser concluded about one message, and why."""

    verdict: str
    score: float
    reasons: list[Reason] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)
    notes: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    error: str = ""
    elapsed_ms: float = 0.0

    @property
    def dangerous(self) -> bool:
        return self.verdict in ("phishing", "bec", "malware")

    def title(self, lang: str) -> str:
        return texts.render("verdict.line", lang, score=f"{self.score:.2f}",
                            verdict=texts.render(f"verdict.{self.verdict}", lang))

    def note_texts(self, lang: str) -> list[str]:
        return [texts.render(f"note.{key}", lang, **params) for key, params in self.notes]

    def to_dict(self) -> dict[str, Any]:
        return {"verdict": self.verdict, "score": round(self.score, 3),
                "reasons": [r.to_dict() for r in self.reasons], "facts": self.facts,
                "notes_en": self.note_texts("en"), "notes_ja": self.note_texts("ja"),
                "error": self.error, "elapsed_ms": round(self.elapsed_ms, 2)}

    def headers(self) -> list[tuple[str, str]]:
        """Header fields a milter may add: the verdict and one line per reason (ASCII)."""
        out = [("X-Mailwarden-Verdict", f"{self.verdict}; score={self.score:.2f}")]
        for reason in self.reasons[:10]:
            line = f"{reason.signal}={reason.weight:.2f}; {reason.en}"
            out.append(("X-Mailwarden-Reason",
                        line.encode("ascii", "replace").decode("ascii")[:900]))
        return out


def classify(reasons: list[Reason], kinds: dict[str, str], lures: dict[str, str],
             outside_links: bool, cfg: Inbound) -> tuple[str, float]:
    """(verdict, score) from the reasons; ``kinds`` maps signal names to their kinds."""
    score = sum(r.weight for r in reasons)
    names = {r.signal for r in reasons}
    attachment = sum(r.weight for r in reasons if kinds.get(r.signal) == "attachment")
    if attachment >= cfg.malware_threshold:
        return "malware", score
    if score >= cfg.phishing_threshold:
        return _dangerous(names, kinds, lures, outside_links), score
    if score >= cfg.suspicious_threshold:
        return "suspicious", score
    return "clean", score


def _dangerous(names: set[str], kinds: dict[str, str], lures: dict[str, str],
               outside_links: bool) -> str:
    if any(kinds.get(n) == "link" for n in names):
        return "phishing"
    if "payment_change" in names or BEC & set(lures):
        return "bec"
    if outside_links:
        return "phishing"
    if names & IMPERSONATION:
        return "bec"
    return "phishing"
