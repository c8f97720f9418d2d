"""Request bodies: read at most a bounded number of bytes, parse one JSON object, and take its
fields with their types checked. Anything else is an :class:`ApiError` (400 or 413) that says
which field was wrong and why; an unknown field is refused too (a mistyped ``dry_run`` must not
turn a dry run into a real one).
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Sequence
from typing import Any

from starlette.requests import Request

from mailwarden.api.errors import ApiError

MAX_BY = 200  # a "by" the client states (kept in the note: see api.actor)
MAX_NOTE = 2000  # a note or a reason
MAX_STEPS = 20
MAX_STEP_CHARS = 64
MAX_ACTION_ID = 2**62
EXPECTED_JA = {"a string": "文字列", "true or false": "true または false",
               "a list of step names": "手順名の配列",
               "a whole number or null": "整数または null"}


async def read_object(request: Request, limit: int) -> dict[str, Any]:
    """The body as a JSON object; at most ``limit`` bytes are read (413 beyond)."""
    declared = request.headers.get("content-length")
    if declared is not None:
        if not (declared.isascii() and declared.isdigit() and len(declared) <= 18):
            raise ApiError.of(400, "api.error.length", value=declared[:40])
        if int(declared) > limit:
            raise ApiError.of(413, "api.error.too_large", limit=limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise ApiError.of(413, "api.error.too_large", limit=limit)
        chunks.append(chunk)
    return parse_object(b"".join(chunks))


def parse_object(body: bytes) -> dict[str, Any]:
    """One JSON object from UTF-8 bytes, or a 400 that says what is wrong."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ApiError.of(400, "api.error.utf8", position=exc.start) from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ApiError.of(400, "api.error.json", line=exc.lineno, column=exc.colno) from None
    except (ValueError, RecursionError):  # numbers too long to convert; nesting too deep
        raise ApiError.of(400, "api.error.json", line=1, column=1) from None
    if not isinstance(data, dict):
        raise ApiError.of(400, "api.error.object")
    return data


def only(body: dict[str, Any], fields: Sequence[str]) -> None:
    """Refuse a field that is not one of ``fields``."""
    for name in body:
        if name not in fields:
            raise ApiError.of(400, "api.error.unknown_field", field=name[:60],
                              fields=", ".join(fields))


def _wrong_type(name: str, expected: str) -> ApiError:
    return ApiError.of(400, "api.error.type", field=name, expected=expected,
                       expected_ja=EXPECTED_JA[expected])


def clean(value: str, name: str, limit: int, multiline: bool = False) -> str:
    """``value`` if it is at most ``limit`` characters of printable text (newlines and tabs
    only when ``multiline``), else a 400; surrounding white space is removed."""
    if len(value) > limit:
        raise ApiError.of(400, "api.error.too_long", field=name, limit=limit)
    allowed = "\n\t\r" if multiline else ""
    for char in value:
        category = unicodedata.category(char)
        if char not in allowed and (category in ("Cc", "Cs") or
                                    (not multiline and category == "Cf")):
            raise ApiError.of(400, "api.error.control", field=name)
    return value.strip()


def text(body: dict[str, Any], name: str, *, limit: int = MAX_NOTE, required: bool = False,
         multiline: bool = False) -> str:
    """A string field ("" when absent or null and not required)."""
    value = body.get(name)
    if value is None:
        if required:
            raise ApiError.of(400, "api.error.missing", field=name)
        return ""
    if not isinstance(value, str):
        raise _wrong_type(name, "a string")
    cleaned = clean(value, name, limit, multiline)
    if required and not cleaned:
        raise ApiError.of(400, "api.error.empty", field=name)
    return cleaned


def flag(body: dict[str, Any], name: str, default: bool = False) -> bool:
    """A boolean field (JSON true or false; absent or null: ``default``)."""
    value = body.get(name)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise _wrong_type(name, "true or false")
    return value


def steps(body: dict[str, Any]) -> list[str] | None:
    """``steps``: a non-empty list of step names, or None when absent or null."""
    value = body.get("steps")
    if value is None:
        return None
    if not isinstance(value, list) or len(value) > MAX_STEPS or not all(
            isinstance(v, str) for v in value):
        raise _wrong_type("steps", "a list of step names")
    if not value:
        raise ApiError.of(400, "api.error.no_steps")
    return [clean(v, "steps", MAX_STEP_CHARS) for v in value]


def action_id(body: dict[str, Any]) -> int | None:
    """``action``: a positive action number, or None when absent or null."""
    value = body.get("action")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < MAX_ACTION_ID:
        raise _wrong_type("action", "a whole number or null")
    return value
