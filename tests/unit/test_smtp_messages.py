"""Every SMTP probe finding has sentences in both languages, saying the same facts, and is
documented in the SMTP probe section of docs/audit.md."""

from __future__ import annotations

import re
import string
from pathlib import Path

from mailwarden.audit import smtp_messages
from mailwarden.audit.smtp_messages import MESSAGES, render

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ["smtp.py", "smtp_judge.py"]


def _section() -> str:
    text = (ROOT / "docs" / "audit.md").read_text(encoding="utf-8")
    start = text.index("## SMTP probe")
    end = text.find("\n## ", start + 1)
    return text[start:end if end != -1 else None]


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def test_every_id_is_documented() -> None:
    """Each finding id appears in the SMTP probe section of docs/audit.md."""
    section = _section()
    assert [key for key in MESSAGES if f"`{key}`" not in section] == []


def test_every_id_used_has_sentences() -> None:
    """Every 'smtp.*' id the area code emits has an entry in MESSAGES, and every entry is
    used."""
    folder = Path(smtp_messages.__file__).parent
    code = "".join((folder / name).read_text("utf-8") for name in SOURCES)
    used = set(re.findall(r'"(smtp\.[a-z0-9_]+)"', code))
    used |= {f"smtp.tls_version_{s}" for s in ("untestable", "unchecked")}  # built from status
    assert used == set(MESSAGES)


def test_both_languages_say_the_same_facts() -> None:
    """The Japanese sentence uses exactly the English one's placeholders."""
    for key, (en, ja) in MESSAGES.items():
        assert en and ja and en != ja, key
        assert _fields(en) == _fields(ja), key


def test_values_are_shortened() -> None:
    """A huge banner from a hostile server is cut before it reaches a sentence."""
    en, ja = render("smtp.banner", host="mx.example.jp", address="192.0.2.1", port=25,
                    reply="220 " + "x" * 10_000)
    assert len(en) < 300 and len(ja) < 300
