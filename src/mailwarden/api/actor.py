"""Who a change is recorded as: the holder of the request's token, never a name the client
states. A ``by`` in the body (optional) is kept in the note or reason, marked as stated by the
client, so a shared token's users can still say who sat at the keyboard."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from mailwarden.api import bodies
from mailwarden.api.identity import Principal

SCOPE_KEY = "mailwarden.principal"  # set by BearerAuth once the token is known
DECLARED = "[declared by / 申告者: {name}]"


def principal(request: Request) -> Principal:
    """The holder of the request's token (a bug when the app has no BearerAuth: 500)."""
    found = request.scope.get(SCOPE_KEY)
    if not isinstance(found, Principal):
        raise RuntimeError("request without an authenticated token (no BearerAuth?)")
    return found


def declared(body: dict[str, Any]) -> str:
    """``by`` as the client states it: optional; when given, one non-empty line of at most
    bodies.MAX_BY characters."""
    if body.get("by") is None:
        return ""
    return bodies.text(body, "by", limit=bodies.MAX_BY, required=True)


def with_declared(note: str, stated: str, name: str) -> str:
    """``note`` with the client's stated name appended, unless it is the token's name."""
    if not stated or stated == name:
        return note
    mark = DECLARED.format(name=stated)
    return f"{note}\n{mark}" if note else mark


def recorded(request: Request, body: dict[str, Any], note: str) -> tuple[str, str]:
    """``(by, note)`` to record: the token's name, the note with a stated ``by`` kept in it."""
    name = principal(request).name
    return name, with_declared(note, declared(body), name)
