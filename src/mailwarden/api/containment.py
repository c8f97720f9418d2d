"""The containment playbook of an incident: its plan, its recorded actions, running steps and
undoing them.

GET /api/v1/incidents/{id}/plan, GET /api/v1/incidents/{id}/actions,
POST /api/v1/incidents/{id}/respond, POST /api/v1/incidents/{id}/undo.
The runner runs commands (postsuper, postmap, doveadm): always in a worker thread. A new password
(reset_password) is in the answer of the request that set it, and nowhere else. Every action is
recorded as done by the holder of the request's token (api.actor).
"""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from mailwarden import i18n
from mailwarden.api import actor, bodies
from mailwarden.api.context import Context, context
from mailwarden.api.errors import Json
from mailwarden.api.incidents import incident_id
from mailwarden.config import Config
from mailwarden.response.playbook import Operation, ordered
from mailwarden.response.runner import Outcome

DEFAULT_REASON = "administrator (API)"


def _operation(op: Operation, cfg: Config) -> dict[str, Any]:
    return {"step": op.step, "target": op.target, "operation": op.operation,
            "unavailable": op.unavailable, "en": op.describe(cfg, "en"),
            "ja": op.describe(cfg, "ja")}


def outcome_dict(outcome: Outcome, cfg: Config) -> dict[str, Any]:
    """One outcome as JSON; ``new_password`` only when the operation set one."""
    op = outcome.operation
    out = {"action": outcome.action_id, "step": op.step, "target": op.target,
           "operation": op.operation, "account": op.account, "status": outcome.status,
           "changed": outcome.changed, "error": outcome.error, "result": outcome.result,
           "en": op.describe(cfg, "en"), "ja": op.describe(cfg, "ja")}
    if outcome.secret is not None:
        out["new_password"] = outcome.secret
    return out


def _plan(ctx: Context, incident: str) -> dict[str, Any]:
    found = ctx.runner.plan(incident)
    return {"incident": found.incident_id, "account": found.account,
            "severity": found.severity, "mode": found.mode,
            "automatic": [_operation(o, ctx.cfg) for o in found.automatic],
            "manual": [_operation(o, ctx.cfg) for o in found.manual]}


async def get_plan(request: Request) -> Response:
    ctx, incident = context(request), incident_id(request)
    return Json(await run_in_threadpool(_plan, ctx, incident))


def _actions(ctx: Context, incident: str) -> dict[str, Any]:
    ctx.runner.incident(incident)
    return {"incident": incident, "actions": ctx.runner.actions.for_incident(incident)}


async def get_actions(request: Request) -> Response:
    ctx, incident = context(request), incident_id(request)
    return Json(await run_in_threadpool(_actions, ctx, incident))


def _respond(ctx: Context, incident: str, steps: list[str] | None, dry_run: bool, by: str,
             reason: str) -> dict[str, Any]:
    runner = ctx.runner
    chosen = steps if steps is not None else ctx.cfg.playbook.automatic(
        str(runner.incident(incident)["severity"]))
    outcomes = runner.run(incident, chosen, actor=by, reason=reason, dry_run=dry_run)
    out: dict[str, Any] = {"incident": incident, "dry_run": dry_run, "by": by,
                           "outcomes": [outcome_dict(o, ctx.cfg) for o in outcomes]}
    if dry_run:
        out["note"] = {lang: i18n.render("playbook.dry_run", lang) for lang in ("en", "ja")}
    return out


async def respond(request: Request) -> Response:
    """Body ``{"steps": [...] (default: the playbook's automatic steps), "dry_run": false,
    "reason": "...", "by": "... (optional, kept in the reason)"}``; answers each operation's
    outcome."""
    ctx, incident = context(request), incident_id(request)
    body = await bodies.read_object(request, ctx.cfg.api.max_body_bytes)
    bodies.only(body, ("steps", "dry_run", "by", "reason"))
    steps = bodies.steps(body)
    if steps is not None:
        ordered(steps)  # an unknown step is refused before anything runs
    dry_run = bodies.flag(body, "dry_run")
    reason = bodies.text(body, "reason", multiline=True) or DEFAULT_REASON
    by, reason = actor.recorded(request, body, reason)
    return Json(await run_in_threadpool(_respond, ctx, incident, steps, dry_run, by, reason))


def _undo(ctx: Context, incident: str, action: int | None, by: str,
          reason: str) -> dict[str, Any]:
    runner = ctx.runner
    outcomes = ([runner.undo(incident, action, actor=by, reason=reason)] if action is not None
                else runner.undo_all(incident, actor=by, reason=reason))
    return {"incident": incident, "by": by,
            "outcomes": [outcome_dict(o, ctx.cfg) for o in outcomes]}


async def undo(request: Request) -> Response:
    """Body ``{"action": N or null (every action that can be undone), "reason", "by"
    (optional)}``."""
    ctx, incident = context(request), incident_id(request)
    body = await bodies.read_object(request, ctx.cfg.api.max_body_bytes)
    bodies.only(body, ("action", "by", "reason"))
    action = bodies.action_id(body)
    reason = bodies.text(body, "reason", multiline=True) or f"{DEFAULT_REASON}: undo"
    by, reason = actor.recorded(request, body, reason)
    return Json(await run_in_threadpool(_undo, ctx, incident, action, by, reason))
