"""The API as a Starlette application: routes, the bearer-token check, JSON errors."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from mailwarden.api import accounts, containment, incidents
from mailwarden.api.auth import BearerAuth
from mailwarden.api.context import Context
from mailwarden.api.errors import Json, guarded, http_error
from mailwarden.config import Config
from mailwarden.response.runner import ResponseRunner
from mailwarden.store.store import Store

PREFIX = "/api/v1"


async def health(request: Request) -> Response:
    """Liveness for monitoring and load balancers; needs no token."""
    return Json({"status": "ok"})


ROUTES = (
    ("/health", health, "GET"),
    ("/incidents", incidents.list_incidents, "GET"),
    ("/incidents/{id}", incidents.show_incident, "GET"),
    ("/incidents/{id}/checklist", incidents.get_checklist, "GET"),
    ("/incidents/{id}/checklist/{step}", incidents.put_checklist_step, "PUT"),
    ("/incidents/{id}/plan", containment.get_plan, "GET"),
    ("/incidents/{id}/actions", containment.get_actions, "GET"),
    ("/incidents/{id}/respond", containment.respond, "POST"),
    ("/incidents/{id}/undo", containment.undo, "POST"),
    ("/accounts/quarantined", accounts.quarantined, "GET"),
    ("/accounts/{account}/release", accounts.release, "POST"),
)


def build_app(cfg: Config, store: Store, token: str,
              runner: ResponseRunner | None = None) -> Starlette:
    """The API over ``store``; every request but /api/v1/health must carry ``token``."""
    app = Starlette(
        routes=[Route(PREFIX + path, guarded(endpoint), methods=[method])
                for path, endpoint, method in ROUTES],
        middleware=[Middleware(BearerAuth, token=token)],
        exception_handlers={HTTPException: http_error},
    )
    app.state.mailwarden = Context(cfg, store, runner or ResponseRunner(cfg, store))
    return app
