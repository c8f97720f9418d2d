"""Names as a reader sees them: display names, people's names, brand and organisation names.

A name is compared in two forms: as a sequence of words in Latin-like scripts ("Taro
Yamada" matches the display name "Yamada, Taro (CEO)" but not "Brian Thielen" for "Ian
Thiel"), and as a run of characters for Japanese and Chinese, which have no spaces ("山田太郎"
matches "山田 太郎 社長"). Both sides are NFKC-normalised, case-folded and reduced to TR39
skeletons with accents dropped, so that "Тaro Yamada" with a Cyrillic Т still matches.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass

from mailwarden.inbound.confusables import fold

WORD = re.compile(r"[^\W_]+", re.UNICODE)
CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff\uff66-\uff9f]")


@dataclass(frozen=True, slots=True)
class Name:
    """A name prepared for matching: its words and its letters run together."""

    text: str
    words: tuple[str, ...]
    run: str
    cjk: bool


def prepare_text(text: str) -> Name:
    """``text`` as words and as one run, in skeleton form."""
    norm = unicodedata.normalize("NFKC", text)
    words = tuple(fold(w) for w in WORD.findall(norm))
    return Name(text, words, "".join(words), bool(CJK.search(norm)))


prepare = functools.lru_cache(maxsize=16384)(prepare_text)


def contains(haystack: Name, needle: Name, min_run: int = 2) -> bool:
    """Whether ``haystack`` names ``needle``: its words in order (either order for two-word
    Latin names), or its characters for names in Japanese or Chinese script."""
    if not needle.words:
        return False
    if needle.cjk:
        return len(needle.run) >= min_run and needle.run in haystack.run
    size = len(needle.words)
    orders = {needle.words, tuple(reversed(needle.words))} if size == 2 else {needle.words}
    hay = haystack.words
    return any(hay[i:i + size] == order for order in orders for i in range(len(hay) - size + 1))


def words_of_label(label: str) -> tuple[str, ...]:
    """The words of a domain label or an address's local part (``deliver-fedex``,
    ``billingservices.amazon.com``)."""
    return tuple(fold(w) for w in re.split(r"[-_.+0-9]+", label) if w)
