"""The API as a Starlette application: routes with the least role each needs, the bearer-token
check, JSON errors."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from mailwarden.api import accounts, containment, incidents, tokens
from mailwarden.api.auth import BearerAuth
from mailwarden.api.context import Context
from mailwarden.api.errors import Endpoint, Json, guarded, http_error
from mailwarden.api.identity import Authenticator
from mailwarden.api.permissions import requires
from mailwarden.api.roles import Role
from mailwarden.config import Config
from mailwarden.response.runner import ResponseRunner
from mailwarden.store.store import Store
from mailwarden.store.tokens_store import TokenStore

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
    ("/tokens", tokens.list_tokens, "GET"),
)

VIEWER, RESPONDER, ADMIN = Role.VIEWER, Role.RESPONDER, Role.ADMIN
# The least role each route needs (None: no token at all). docs/api.md has the same table.
ROLES: dict[tuple[str, str], Role | None] = {
    ("GET", "/health"): None,
    ("GET", "/incidents"): VIEWER,
    ("GET", "/incidents/{id}"): VIEWER,
    ("GET", "/incidents/{id}/checklist"): VIEWER,
    ("PUT", "/incidents/{id}/checklist/{step}"): RESPONDER,
    ("GET", "/incidents/{id}/plan"): VIEWER,
    ("GET", "/incidents/{id}/actions"): VIEWER,
    ("POST", "/incidents/{id}/respond"): RESPONDER,
    ("POST", "/incidents/{id}/undo"): RESPONDER,
    ("GET", "/accounts/quarantined"): VIEWER,
    ("POST", "/accounts/{account}/release"): RESPONDER,
    ("GET", "/tokens"): ADMIN,
}


def _endpoint(path: str, endpoint: Endpoint, method: str) -> Endpoint:
    """The endpoint with its role check (a route missing from ROLES fails here, at start)."""
    role = ROLES[(method, path)]
    return guarded(endpoint if role is None else requires(role, endpoint))


def build_app(cfg: Config, store: Store, token: str,
              runner: ResponseRunner | None = None) -> Starlette:
    """The API over ``store``; every request but /api/v1/health must carry ``token`` (the shared
    one, an administrator's) or a personal token from the store's ``api_tokens``."""
    authenticator = Authenticator(token, TokenStore(store))
    app = Starlette(
        routes=[Route(PREFIX + path, _endpoint(path, endpoint, method), methods=[method])
                for path, endpoint, method in ROUTES],
        middleware=[Middleware(BearerAuth, identify=authenticator.identify)],
        exception_handlers={HTTPException: http_error},
    )
    app.state.mailwarden = Context(cfg, store, runner or ResponseRunner(cfg, store))
    return app
