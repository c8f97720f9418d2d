"""Unicode TR39 confusable skeletons and scripts, from the Unicode data the package
``confusable-homoglyphs`` ships (``confusables.json`` from confusables.txt, ``categories.json``
from Scripts.txt; see docs/dependencies.md).

confusables.txt maps each source character to its prototype (``а`` → ``a``, ``1`` → ``l``,
``m`` → ``rn``). The package stores both directions per character; the direction is
recovered here: a source maps to exactly one prototype and is never a prototype itself, and
where a prototype has a single source the pair appears once, the source first (the file is
ordered by source). The result is checked to be idempotent, as TR39 promises.

``skeleton(X)`` is TR39's: NFD, map every character to its prototype, NFD. Domain names are
compared after case folding on both sides of the mapping (``g00gle`` → ``gOOgle`` →
``google``), and :func:`fold` also drops combining marks, for look-alikes such as
``robínhood`` that TR39 alone keeps apart. Case is folded after the first mapping, so that
``paypaI`` (capital i) still reads as ``paypal``.
"""

from __future__ import annotations

import bisect
import functools
import json
import unicodedata
from importlib import resources

MARKS = str.maketrans("", "", "\u200e\u200f")
COMMON = frozenset({"COMMON", "INHERITED"})
JAPANESE = frozenset({"LATIN", "HAN", "HIRAGANA", "KATAKANA"})
# TR39 "highly restrictive": one script, or Latin with one of these CJK combinations
ALLOWED_MIXES = (JAPANESE, frozenset({"LATIN", "HAN", "BOPOMOFO"}),
                 frozenset({"LATIN", "HAN", "HANGUL"}))


class DataMissing(RuntimeError):
    """The Unicode data package is not installed."""


@functools.cache
def _data(name: str) -> object:
    try:
        text = (resources.files("confusable_homoglyphs") / name).read_text("utf-8")
    except (ModuleNotFoundError, FileNotFoundError) as exc:
        raise DataMissing(f"confusable-homoglyphs is not installed ({exc})") from None
    return json.loads(text)


@functools.cache
def prototypes() -> dict[str, str]:
    """source character → prototype string (confusables.txt, direction recovered)."""
    data = _data("confusables.json")
    assert isinstance(data, dict)
    order = {key: i for i, key in enumerate(data)}
    mapping: dict[str, str] = {}
    for key, entries in data.items():
        source = key.translate(MARKS)
        if len(source) != 1 or len(entries) != 1:
            continue
        target = entries[0]["c"]
        back = data.get(target, [])
        mutual = len(back) == 1 and back[0]["c"] == key
        if not mutual or order[key] < order[target]:
            mapping[source] = target.translate(MARKS)
    for _ in range(3):  # TR39 data is idempotent; make sure of it
        changed = {k: "".join(mapping.get(ch, ch) for ch in v) for k, v in mapping.items()}
        if changed == mapping:
            break
        mapping = changed
    return mapping


@functools.cache
def _table() -> dict[int, str]:
    return {ord(k): v for k, v in prototypes().items()}


def skeleton(text: str) -> str:
    """TR39 skeleton: NFD, prototypes, NFD."""
    return unicodedata.normalize("NFD", unicodedata.normalize("NFD", text).translate(_table()))


@functools.lru_cache(maxsize=65536)
def domain_skeleton(name: str) -> str:
    """A case-insensitive skeleton for domain names and display names."""
    once = skeleton(unicodedata.normalize("NFKC", name)).casefold()
    return skeleton(once).casefold()


@functools.lru_cache(maxsize=65536)
def fold(name: str) -> str:
    """The skeleton with combining marks removed (``robínhood`` → ``robinhood``)."""
    return "".join(ch for ch in domain_skeleton(name) if not unicodedata.combining(ch))


@functools.cache
def _ranges() -> tuple[list[int], list[tuple[int, str]]]:
    data = _data("categories.json")
    assert isinstance(data, dict)
    aliases: list[str] = data["iso_15924_aliases"]
    starts, spans = [], []
    for start, end, alias, _category in data["code_points_ranges"]:
        starts.append(int(start))
        spans.append((int(end), aliases[int(alias)]))
    return starts, spans


def script(ch: str) -> str:
    """The Unicode script of a character (``LATIN``, ``CYRILLIC``, ``COMMON``, ...)."""
    starts, spans = _ranges()
    point = ord(ch)
    i = bisect.bisect_right(starts, point) - 1
    if i >= 0 and point <= spans[i][0]:
        return spans[i][1]
    return "UNKNOWN"


def scripts(text: str) -> frozenset[str]:
    """The scripts of ``text``, without Common and Inherited."""
    return frozenset(script(ch) for ch in set(text)) - COMMON


def mixed_scripts(text: str) -> bool:
    """More scripts than TR39's "highly restrictive" level allows in one label."""
    found = scripts(text)
    if len(found) <= 1:
        return False
    return not any(found <= allowed for allowed in ALLOWED_MIXES)


def confusable(a: str, b: str) -> bool:
    """Whether ``a`` and ``b`` look alike: as written (``PaypaI``), or case-folded first
    (``MICROSOFT`` and ``Microsoft``)."""
    return (domain_skeleton(a) == domain_skeleton(b)
            or domain_skeleton(a.casefold()) == domain_skeleton(b.casefold()))
