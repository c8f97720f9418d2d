"""The API's tokens as an administrator may see them: names, roles, who issued them, when,
when last used. Never a token, never a hash. Tokens are issued and revoked only on the command
line (``mailwarden api token add|revoke``), where the new token is shown once.

GET /api/v1/tokens (admin).
"""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from mailwarden.api.context import Context, context
from mailwarden.api.errors import Json
from mailwarden.api.identity import SHARED_NAME, token_dict
from mailwarden.api.roles import Role
from mailwarden.store.tokens_store import TokenStore


def _tokens(ctx: Context) -> dict[str, Any]:
    rows = TokenStore(ctx.store).listed()
    return {"tokens": [token_dict(row) for row in rows],
            "shared": {"name": SHARED_NAME, "role": Role.ADMIN.label}}


async def list_tokens(request: Request) -> Response:
    return Json(await run_in_threadpool(_tokens, context(request)))
