"""Incidents and their response checklist.

GET /api/v1/incidents?status=&limit=, GET /api/v1/incidents/{id},
GET /api/v1/incidents/{id}/checklist, PUT /api/v1/incidents/{id}/checklist/{step}.
The checklist answers exactly what ``mailwarden incidents checklist ID --json`` prints.
"""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from mailwarden.api import actor, bodies
from mailwarden.api.context import Context, context
from mailwarden.api.errors import ApiError, Json
from mailwarden.response.checklist import STEPS, UnknownIncident, UnknownStep

STATUSES = ("open", "closed")
MAX_LIMIT = 1000
MAX_ID_CHARS = 200


def incident_id(request: Request) -> str:
    """The ``{id}`` of the path; an overlong one cannot be an incident (404)."""
    value = str(request.path_params["id"])
    if len(value) > MAX_ID_CHARS:
        raise UnknownIncident(value[:80] + "…")
    return value


def _limit(request: Request) -> int:
    value = request.query_params.get("limit", "100")
    if not (value.isascii() and value.isdigit() and len(value) <= 6
            and 1 <= int(value) <= MAX_LIMIT):
        raise ApiError.of(400, "api.error.limit", max=MAX_LIMIT)
    return int(value)


def _status(request: Request) -> str | None:
    value = request.query_params.get("status") or None
    if value is not None and value not in STATUSES:
        raise ApiError.of(400, "api.error.status", statuses=", ".join(STATUSES))
    return value


async def list_incidents(request: Request) -> Response:
    limit, status = _limit(request), _status(request)
    rows = await run_in_threadpool(context(request).store.incidents, limit, status)
    return Json({"incidents": rows})


def _incident(ctx: Context, incident: str) -> dict[str, Any]:
    found = ctx.store.incident(incident)
    if found is None:
        raise UnknownIncident(incident)
    return found


async def show_incident(request: Request) -> Response:
    ctx, incident = context(request), incident_id(request)
    return Json(await run_in_threadpool(_incident, ctx, incident))


def _checklist(ctx: Context, incident: str) -> dict[str, Any]:
    entries = ctx.checklist.entries(incident)
    return {"incident": incident, "steps": [e.to_dict() for e in entries]}


async def get_checklist(request: Request) -> Response:
    ctx, incident = context(request), incident_id(request)
    return Json(await run_in_threadpool(_checklist, ctx, incident))


def _set_step(ctx: Context, incident: str, step: str, state: str, by: str,
              note: str) -> dict[str, Any]:
    ctx.checklist.set(incident, step, state, by, note)
    return _checklist(ctx, incident)


async def put_checklist_step(request: Request) -> Response:
    """Body ``{"state": "todo|done|skipped|n/a", "note": "...", "by": "... (optional, kept in
    the note)"}``; the step is recorded as changed by the token's holder."""
    ctx, incident = context(request), incident_id(request)
    step = str(request.path_params["step"])
    if step not in STEPS:
        raise UnknownStep(step[:80])
    body = await bodies.read_object(request, ctx.cfg.api.max_body_bytes)
    bodies.only(body, ("state", "by", "note"))
    state = bodies.text(body, "state", limit=20, required=True).lower()
    note = bodies.text(body, "note", multiline=True)
    by, note = actor.recorded(request, body, note)
    return Json(await run_in_threadpool(_set_step, ctx, incident, step, state, by, note))
