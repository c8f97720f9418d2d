"""Every MTA-STS, TLS-RPT, BIMI, DNSSEC and DANE finding has sentences in both languages, says
the same facts in both, and is documented in its section of docs/audit.md."""

from __future__ import annotations

import re
import string
from pathlib import Path

from mailwarden.audit import policy_messages
from mailwarden.audit.messages import MESSAGES as ALL_MESSAGES
from mailwarden.audit.messages import render
from mailwarden.audit.policy_messages import MESSAGES

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ["mta_sts.py", "tls_rpt.py", "bimi.py", "dnssec.py", "dane.py"]
SECTIONS = {"mta_sts": "## MTA-STS", "tls_rpt": "## TLS-RPT", "bimi": "## BIMI",
            "dnssec": "## DNSSEC", "dane": "## DANE"}


def _section(title: str) -> str:
    text = (ROOT / "docs" / "audit.md").read_text(encoding="utf-8")
    start = text.index(title + "\n")
    end = text.find("\n## ", start + 1)
    return text[start:end if end != -1 else None]


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def test_every_id_is_documented_in_its_section() -> None:
    """Each id appears, in backquotes, in the section of its area."""
    missing = [key for key in MESSAGES
               if f"`{key}`" not in _section(SECTIONS[key.split(".", 1)[0]])]
    assert missing == []


def test_every_id_used_has_sentences() -> None:
    """Every finding id the five areas' code names is in MESSAGES (f-string ids included)."""
    folder = Path(policy_messages.__file__).parent
    used: set[str] = set()
    for name in SOURCES:
        code = (folder / name).read_text("utf-8")
        used |= set(re.findall(r'"((?:mta_sts|tls_rpt|bimi|dnssec|dane)\.[a-z_]+)"', code))
    dynamic = {f"mta_sts.mode_{m}" for m in ("enforce", "testing", "none")} | {
        f"dane.{p}" for p in ("pkix_usage", "bad_usage", "bad_selector", "bad_matching",
                              "digest_length", "empty", "full_data")}
    assert used and used | dynamic <= set(MESSAGES)
    assert set(MESSAGES) <= set(ALL_MESSAGES)  # merged into the audit's sentences


def test_both_languages_say_the_same_facts() -> None:
    """The Japanese sentence has exactly the English one's placeholders."""
    for key, (en, ja) in MESSAGES.items():
        assert en and ja and en != ja, key
        assert _fields(en) == _fields(ja), key


def test_hostile_values_are_shortened() -> None:
    """A huge value from a hostile record is cut before it reaches a sentence."""
    en, ja = render("mta_sts.found", domain="example.com", record="x" * 10_000)
    assert len(en) < 300 and len(ja) < 300
