"""Who may use the API: whoever sends ``Authorization: Bearer TOKEN`` with a personal token
(``mailwarden api token add``, see :mod:`mailwarden.api.identity`) or the shared one
(``[api] token``, or the one generated once into DATA_DIR/api.token, mode 0600). The check runs
before a body is read; tokens are compared in constant time. The holder of the token is put in
the request's scope for the endpoints (:func:`mailwarden.api.actor.principal`).
"""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Callable, Collection

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from mailwarden.api.actor import SCOPE_KEY
from mailwarden.api.errors import ApiError, language
from mailwarden.api.identity import Principal
from mailwarden.config import SHARED_TOKEN_OFF, Config

log = logging.getLogger("mailwarden.api")

TOKEN_FILE = "api.token"  # noqa: S105 (a file name, not a secret)
OPEN_PATHS = frozenset({"/api/v1/health"})


def token_path(cfg: Config) -> str:
    """Where the generated token is kept (for messages)."""
    return str(cfg.data_dir / TOKEN_FILE)


def api_token(cfg: Config) -> str:
    """The shared API token: configured, generated once into the data folder (0600), or ""
    when switched off (``[api] token = "off"``: personal tokens only)."""
    if cfg.api.token == SHARED_TOKEN_OFF:
        return ""
    if cfg.api.token:
        return cfg.api.token
    path = cfg.data_dir / TOKEN_FILE
    cfg.data_dir.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        token = path.read_text(encoding="utf-8").strip()
        if not token:
            raise OSError(f"{path} is empty: delete it and a new token is generated") from None
        return token
    token = secrets.token_urlsafe(32)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(token + "\n")
    return token


def bearer(headers: list[tuple[bytes, bytes]]) -> bytes:
    """The token of the first Authorization header using the Bearer scheme (b"" if none)."""
    for name, value in headers:
        if name.lower() == b"authorization":
            scheme, _, credentials = value.strip().partition(b" ")
            if scheme.lower() == b"bearer":
                return credentials.strip()
            return b""
    return b""


class BearerAuth:
    """ASGI middleware: 401 for a request without a known token, except ``open_paths``;
    otherwise the token's holder goes into ``scope[SCOPE_KEY]``. ``identify`` blocks (it reads
    the store): it runs in a worker thread."""

    def __init__(self, app: ASGIApp, identify: Callable[[bytes], Principal | None],
                 open_paths: Collection[str] = OPEN_PATHS) -> None:
        self.app = app
        self.identify = identify
        self.open_paths = open_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in self.open_paths:
            await self.app(scope, receive, send)
            return
        sent = bearer(list(scope.get("headers", ())))
        try:
            who = await run_in_threadpool(self.identify, sent) if sent else None
        except Exception:
            log.exception("API token check failed")
            error = ApiError.of(500, "api.error.internal")
            await error.response(language(Request(scope)))(scope, receive, send)
            return
        if who is not None:
            scope[SCOPE_KEY] = who
            await self.app(scope, receive, send)
            return
        error = ApiError.of(401, "api.error.unauthorized")
        error.headers = {"WWW-Authenticate": 'Bearer realm="mailwarden"'}
        await error.response(language(Request(scope)))(scope, receive, send)
