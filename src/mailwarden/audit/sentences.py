"""Filling the audit's (English, Japanese) sentence tables from a finding's evidence.

Each messages module keeps its own table; this is the one way they are filled: values are
shortened (lists to their first items, text to MAX_VALUE characters) and a placeholder
without a value stays as written rather than failing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mailwarden.audit.model import AreaResult, Finding

MAX_VALUE = 200


class _Keep(dict[str, Any]):
    """format_map helper: a placeholder without evidence stays as written."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def short(value: Any, items: int = 10) -> str:
    """A value as it appears in a sentence: at most ``items`` list items, MAX_VALUE chars."""
    if isinstance(value, (list, tuple)):
        text = ", ".join(str(v) for v in value[:items])
        value = text + (f", … (+{len(value) - items})" if len(value) > items else "")
    text = str(value)
    return text if len(text) <= MAX_VALUE else text[:MAX_VALUE - 1] + "…"


def fill(table: Mapping[str, tuple[str, str]], key: str, values: Mapping[str, Any],
         items: int = 10) -> tuple[str, str]:
    """The (en, ja) sentence of ``key`` in ``table``, filled from ``values``."""
    en, ja = table[key]
    filled = _Keep({k: short(v, items) for k, v in values.items()})
    return en.format_map(filled), ja.format_map(filled)


def add(result: AreaResult, sentences: tuple[str, str], check: str, status: str,
        evidence: dict[str, Any]) -> Finding:
    """Add the finding ``check`` with its filled sentences to ``result``."""
    en, ja = sentences
    return result.add(check, status, en, ja, **evidence)
