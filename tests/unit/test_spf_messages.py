"""Every SPF finding has sentences in both languages and is documented in docs/audit.md."""

from __future__ import annotations

import re
import string
from pathlib import Path

from mailwarden.audit import spf_messages
from mailwarden.audit.spf_messages import MESSAGES, render

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ["spf.py", "spf_walk.py"]


def _spf_section() -> str:
    text = (ROOT / "docs" / "audit.md").read_text(encoding="utf-8")
    start = text.index("## SPF")
    end = text.find("\n## ", start + 1)
    return text[start:end if end != -1 else None]


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def test_every_id_is_documented() -> None:
    """Each finding id and publish sentence appears in the SPF section of docs/audit.md."""
    section = _spf_section()
    missing = [key for key in MESSAGES if f"`{key}`" not in section]
    assert not missing


def test_every_id_used_has_sentences() -> None:
    """Every 'spf.*' id the area code emits has an entry in MESSAGES."""
    folder = Path(spf_messages.__file__).parent
    used = {m for name in SOURCES
            for m in re.findall(r'"(spf\.[a-z_]+)"', (folder / name).read_text("utf-8"))}
    assert used and used <= set(MESSAGES)


def test_both_languages_say_the_same_facts() -> None:
    """The Japanese sentence uses the English one's placeholders (or their *_ja forms)."""
    for key, (en, ja) in MESSAGES.items():
        assert en and ja and en != ja, key
        ja_fields = {name.removesuffix("_ja") for name in _fields(ja)}
        assert ja_fields <= _fields(en) | {"reason"}, key
        assert _fields(en) <= ja_fields, key


def test_values_are_shortened() -> None:
    """A huge value from a hostile record is cut before it reaches a sentence."""
    en, ja = render("spf.present", domain="example.com", record="x" * 10_000)
    assert len(en) < 300 and len(ja) < 300
