"""Quarantined accounts and their release.

GET /api/v1/accounts/quarantined, POST /api/v1/accounts/{account}/release.
A release is written to the store; the service applies it on its next flush, as it does for
``mailwarden accounts release``; it is recorded as done by the holder of the request's token.
"""

from __future__ import annotations

import time
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from mailwarden import i18n
from mailwarden.api import actor, bodies
from mailwarden.api.context import Context, context
from mailwarden.api.errors import ApiError, Json
from mailwarden.timefmt import iso

MAX_ACCOUNT = 512  # longer than any address; names come from logs, so they are bounded


def _quarantined(ctx: Context) -> dict[str, Any]:
    return {"accounts": [{"account": row["account"], "since": iso(row["since"]),
                          "incident": row["incident_id"]} for row in ctx.store.quarantined()]}


async def quarantined(request: Request) -> Response:
    return Json(await run_in_threadpool(_quarantined, context(request)))


def account_name(request: Request) -> str:
    """The ``{account}`` of the path, lower-cased; 400 for one that cannot be an account."""
    value = str(request.path_params["account"])
    try:
        return bodies.clean(value, "account", MAX_ACCOUNT).lower()
    except ApiError:
        raise ApiError.of(400, "api.error.account", value=value[:80]) from None


def _release(ctx: Context, account: str, by: str, note: str) -> dict[str, Any]:
    incident = ctx.store.release(account, time.time(), by, note)
    if incident is None:
        raise ApiError.of(409, "api.error.not_quarantined", account=account[:80])
    seconds = f"{ctx.cfg.store.flush_interval:g}"
    return {"account": account, "incident": incident, "released": True, "by": by,
            **{lang: i18n.render("api.released", lang, account=account, incident=incident,
                                 seconds=seconds) for lang in ("en", "ja")}}


async def release(request: Request) -> Response:
    """Body ``{"note": "...", "by": "... (optional, kept in the note)"}``."""
    ctx, account = context(request), account_name(request)
    if not account:
        raise ApiError.of(400, "api.error.account", value="")
    body = await bodies.read_object(request, ctx.cfg.api.max_body_bytes)
    bodies.only(body, ("by", "note"))
    note = bodies.text(body, "note", multiline=True)
    by, note = actor.recorded(request, body, note)
    return Json(await run_in_threadpool(_release, ctx, account, by, note))
