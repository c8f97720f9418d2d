"""Dovecot's auth policy protocol (``auth_policy_server_url``): HTTP framing and parsing only.

Dovecot POSTs a JSON object of its request attributes to ``URL?command=allow`` (before and
after the password check) and ``URL?command=report`` (after authentication, with ``success``
and ``policy_reject``); nested keys (``a/b`` in ``auth_policy_request_attributes``) arrive as
nested objects. The answer is ``{"status": -1 | 0 | N, "msg": "..."}``: reject, allow, or tarpit
for N seconds. Bad requests get a clear 4xx; any error of the handler answers status 0, so
Dovecot never locks everyone out because of Mailwarden.
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qs

log = logging.getLogger("mailwarden.auth_policy")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
Handler = Callable[[str, dict[str, str]], tuple[int, str]]
COMMANDS = ("allow", "report")
MAX_DEPTH = 4


class BadRequest(ValueError):
    """A request Mailwarden cannot take; ``status`` is the HTTP status to answer."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def flatten(obj: dict[str, Any], prefix: str = "", depth: int = 0) -> dict[str, str]:
    """Nested attributes as ``a/b`` keys; scalars as strings (booleans as true/false)."""
    if depth > MAX_DEPTH:
        raise BadRequest(400, "attributes nested too deeply")
    out: dict[str, str] = {}
    for key, value in obj.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(flatten(value, name + "/", depth + 1))
        elif isinstance(value, bool):
            out[name] = "true" if value else "false"
        elif value is None:
            out[name] = ""
        elif isinstance(value, str | int | float):
            out[name] = str(value)
        else:
            raise BadRequest(400, f"attribute {name!r} must be a string, number or boolean")
    return out


def parse_body(body: bytes) -> dict[str, str]:
    """The request's attributes; BadRequest for invalid UTF-8, invalid JSON or a non-object."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadRequest(400, f"body is not valid UTF-8 (byte {exc.start})") from None
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as exc:  # ValueError: also an integer of > 4300 digits
        raise BadRequest(400, f"body is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise BadRequest(400, "body must be a JSON object of attributes")
    return flatten(data)


class AuthPolicyApp:
    """The ASGI application served by uvicorn inside ``mailwarden serve``."""

    def __init__(self, handler: Handler, api_header: str, api_key: str,
                 max_body_bytes: int = 65536) -> None:
        self.handler = handler
        self.header = api_header.strip().lower().encode("latin-1")
        self.key = api_key.strip().encode("utf-8")
        self.max_body = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        try:
            command = self._check(scope)
            attrs = parse_body(await self._body(receive))
        except BadRequest as exc:
            await self._reply(send, exc.status, {"error": str(exc)})
            return
        try:
            status, msg = self.handler(command, attrs)
        except BadRequest as exc:
            await self._reply(send, exc.status, {"error": str(exc)})
            return
        except Exception:
            log.exception("auth policy handler failed; answering status 0")
            status, msg = 0, ""
        await self._reply(send, 200, {"status": status, "msg": msg})

    def _check(self, scope: Scope) -> str:
        if scope.get("method") != "POST":
            raise BadRequest(405, "only POST is served")
        sent = b""
        for name, value in scope.get("headers", ()):
            if name.lower() == self.header:
                sent = value.strip()
        if not self.key or not hmac.compare_digest(sent, self.key):
            raise BadRequest(401, "missing or wrong API key header")
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        command = str((query.get("command") or [""])[-1])
        if command not in COMMANDS:
            raise BadRequest(400, "command must be allow or report")
        return command

    async def _body(self, receive: Receive) -> bytes:
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise BadRequest(400, "client went away")
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                raise BadRequest(413, f"body larger than {self.max_body} bytes")
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)

    @staticmethod
    async def _reply(send: Send, status: int, payload: dict[str, Any]) -> None:
        body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})
