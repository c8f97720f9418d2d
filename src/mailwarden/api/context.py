"""What every endpoint works with: the settings, the store, the response runner."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request

from mailwarden.config import Config
from mailwarden.response.checklist import Checklist
from mailwarden.response.runner import ResponseRunner
from mailwarden.store.store import Store


@dataclass(frozen=True)
class Context:
    """Shared by the endpoints of one app; every call on it blocks (run it in a thread)."""

    cfg: Config
    store: Store
    runner: ResponseRunner

    @property
    def checklist(self) -> Checklist:
        return self.runner.checklist


def context(request: Request) -> Context:
    """The context of the app serving ``request``."""
    found: Context = request.app.state.mailwarden
    return found
