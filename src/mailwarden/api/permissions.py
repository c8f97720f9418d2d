"""What a token's role allows: each endpoint needs a least role (see ``app.ROLES``); a lower
one is answered 403 before the endpoint runs, so before its body is read."""

from __future__ import annotations

import functools

from starlette.requests import Request
from starlette.responses import Response

from mailwarden.api.actor import principal
from mailwarden.api.errors import ApiError, Endpoint
from mailwarden.api.roles import Role


def forbidden(name: str, role: Role, needed: Role, method: str, path: str) -> ApiError:
    """403: the token is known, its role too low."""
    params = {"name": name, "role": role.label, "needed": needed.label, "method": method[:20],
              "path": path[:200]}
    return ApiError.of(403, "api.error.forbidden", **params)


def requires(role: Role, endpoint: Endpoint) -> Endpoint:
    """``endpoint``, answered only for a token whose role is at least ``role``."""

    @functools.wraps(endpoint)
    async def wrapper(request: Request) -> Response:
        who = principal(request)
        if who.role < role:
            raise forbidden(who.name, who.role, role, request.method, request.url.path)
        return await endpoint(request)

    return wrapper
