"""Auth policy bodies Python's json refuses with a plain ValueError get a 400, not a 500."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from mailwarden.sources.dovecot_policy import AuthPolicyApp, BadRequest, parse_body

KEY = "test-key-123"
HUGE = b'{"login": "u", "remote": "192.0.2.1", "n": 1' + b"0" * 5000 + b"}"


def test_an_integer_of_more_than_4300_digits_is_invalid_json() -> None:
    """int() refuses more than 4300 digits (ValueError, not JSONDecodeError): a BadRequest."""
    with pytest.raises(BadRequest, match="not valid JSON") as caught:
        parse_body(HUGE)
    assert caught.value.status == 400


def call(app: AuthPolicyApp, body: bytes) -> tuple[int, dict[str, Any]]:
    """One POST through the ASGI app: (status, JSON answer)."""
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "query_string": b"command=report",
             "headers": [(b"x-api-key", KEY.encode())]}
    asyncio.run(app(scope, receive, send))
    return sent[0]["status"], json.loads(sent[1]["body"])


def test_the_server_answers_400_with_a_json_error() -> None:
    """The app answers such a body like any invalid JSON, and the handler never sees it."""
    seen: list[dict[str, str]] = []

    def handler(command: str, attrs: dict[str, str]) -> tuple[int, str]:
        seen.append(attrs)
        return 0, ""

    app = AuthPolicyApp(handler, "X-API-Key", KEY)
    status, answer = call(app, HUGE)
    assert status == 400 and "not valid JSON" in answer["error"]
    assert seen == []
    assert call(app, b'{"login": "u", "remote": "192.0.2.1", "n": 12345}')[0] == 200
