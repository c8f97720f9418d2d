"""The header fields the milter adds: the verdict, its reasons and notes, in English and
Japanese, safe to put into any message.

``X-Mailwarden-Verdict: phishing; score=1.99; action=hold`` comes first, then per reason
``X-Mailwarden-Reason: SIGNAL=WEIGHT; sentence`` and ``X-Mailwarden-Reason-Ja`` (the same in
Japanese), then ``X-Mailwarden-Note``/``-Note-Ja`` for what went unchecked. Text that is
not ASCII is written as RFC 2047 encoded words (UTF-8, base64), each at most 75 characters;
lines are folded (LF and a space, the milter convention) to stay under 78 characters.
Control characters in evidence (a subject with a line break, ...) become spaces, so a field
can never end early and start another.
"""

from __future__ import annotations

import base64
import re

from mailwarden.inbound import texts
from mailwarden.inbound.verdict import Verdict

PREFIX = "X-Mailwarden-"
VERDICT = PREFIX + "Verdict"
LINE = 76  # characters per folded line, the field name's line included
WORD_BYTES = 45  # UTF-8 bytes per encoded word: base64 of 45 bytes is 60 characters
MAX_TEXT = 600  # characters of one sentence kept
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029\x85]+")


def clean(value: str, limit: int = MAX_TEXT) -> str:
    """One line of text: control characters and runs of space become one space."""
    return " ".join(_CONTROL.sub(" ", value).split())[:limit]


def _encoded_words(value: str) -> list[str]:
    """``value`` as RFC 2047 B-encoded UTF-8 words, never splitting a character."""
    words: list[str] = []
    chunk = b""
    for char in value:
        raw = char.encode("utf-8", "replace")
        if len(chunk) + len(raw) > WORD_BYTES:
            words.append(chunk.decode("utf-8"))
            chunk = b""
        chunk += raw
    if chunk:
        words.append(chunk.decode("utf-8"))
    return [f"=?UTF-8?B?{base64.b64encode(w.encode('utf-8')).decode('ascii')}?=" for w in words]


def _fold(tokens: list[str], used: int) -> str:
    """Join tokens with spaces, breaking the line (LF, space) before one that would pass
    ``LINE``; ``used`` characters of the first line are taken (the field name)."""
    lines: list[str] = []
    line = ""
    for token in tokens:
        width = used if not lines else 1
        if line and width + len(line) + 1 + len(token) > LINE:
            lines.append(line)
            line = token
        else:
            line = f"{line} {token}" if line else token
    lines.append(line)
    return "\n ".join(lines)


def field_value(name: str, head: str, sentence: str) -> str:
    """``head`` (ASCII, e.g. ``auth_fail=0.60;``) then ``sentence``: folded ASCII words, or
    encoded words when the sentence is not ASCII."""
    sentence = clean(sentence)
    head = clean(head).encode("ascii", "replace").decode("ascii")
    tokens = head.split() if head else []
    tokens += sentence.split() if sentence.isascii() else _encoded_words(sentence)
    return _fold(tokens, len(name) + 2)


def verdict_headers(verdict: Verdict, action: str, languages: str = "both",
                    max_reasons: int = 10) -> list[tuple[str, str]]:
    """The fields for a verdict (``languages``: en, ja or both)."""
    state = "unchecked" if verdict.error else verdict.verdict
    out = [(VERDICT, f"{state}; score={verdict.score:.2f}; action={action}")]
    for reason in verdict.reasons[:max_reasons]:
        head = f"{clean(reason.signal, 60)}={reason.weight:.2f};"
        out += _pair("Reason", head, reason.en, reason.ja, languages)
    for key, params in verdict.notes[:5]:
        out += _pair("Note", "", _note(key, "en", params), _note(key, "ja", params), languages)
    return out


def _note(key: str, lang: str, params: dict[str, object]) -> str:
    if f"note.{key}" not in texts.MESSAGES:
        return f"{key}: {params}"
    return texts.render(f"note.{key}", lang, **params)


def unchecked_headers(why: str, languages: str = "both") -> list[tuple[str, str]]:
    """The fields for a message that passed without a verdict (``why``: timeout, error)."""
    out = [(VERDICT, f"unchecked; reason={clean(why, 40)}")]
    out += _pair("Note", "", _note(f"milter_{why}", "en", {}), _note(f"milter_{why}", "ja", {}),
                 languages)
    return out


def _pair(kind: str, head: str, en: str, ja: str, languages: str) -> list[tuple[str, str]]:
    out = []
    if languages in ("en", "both"):
        name = f"{PREFIX}{kind}"
        out.append((name, field_value(name, head, en)))
    if languages in ("ja", "both"):
        name = f"{PREFIX}{kind}-Ja"
        out.append((name, field_value(name, head, ja)))
    return out
