"""Errors of the API: each answers JSON ``{"error": {"code", "en", "ja", "message"}}`` with a
4xx status (``message`` is in the language asked for with ``?lang=ja|en``). An endpoint wrapped
in :func:`guarded` never lets an exception escape: a bug answers 500 and is logged, without the
request body.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response

from mailwarden import i18n
from mailwarden.response.checklist import ChecklistError, UnknownIncident
from mailwarden.response.checklist import UnknownStep as UnknownChecklistStep
from mailwarden.response.playbook import UnknownStep as UnknownPlaybookStep
from mailwarden.response.runner import ResponseError

log = logging.getLogger("mailwarden.api")
Endpoint = Callable[[Request], Awaitable[Response]]
NO_STORE = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}


class Json(JSONResponse):
    """UTF-8 JSON, never cached (a response may carry a new password)."""

    def __init__(self, content: Any, status_code: int = 200,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(content, status_code, {**NO_STORE, **(headers or {})})

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=False, default=str).encode("utf-8")


def language(request: Request) -> str:
    """``ja`` when the query asks for it, else ``en``."""
    return "ja" if request.query_params.get("lang", "").lower() == "ja" else "en"


def code(key: str) -> str:
    """The short, stable name of an error for programs: ``not_found``, ``checklist.step``."""
    return key.removeprefix("api.error.").replace(".error.", ".")


class ApiError(Exception):
    """A request the API refuses: the HTTP status and the sentence in both languages."""

    def __init__(self, status: int, code: str, en: str, ja: str,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(en)
        self.status, self.code, self.en, self.ja = status, code, en, ja
        self.headers = headers or {}

    @classmethod
    def of(cls, status: int, key: str, **params: Any) -> ApiError:
        """An error whose sentence is ``key`` in mailwarden.i18n."""
        return cls(status, code(key), i18n.render(key, "en", **params),
                   i18n.render(key, "ja", **params))

    def response(self, lang: str) -> Json:
        message = self.ja if lang == "ja" else self.en
        return Json({"error": {"code": self.code, "en": self.en, "ja": self.ja,
                               "message": message}}, self.status, self.headers)


DomainError = ChecklistError | UnknownPlaybookStep | ResponseError


def from_domain(exc: DomainError) -> ApiError:
    """The API error for a refusal of the checklist, the playbook or the runner."""
    status = 400
    if isinstance(exc, UnknownIncident | UnknownChecklistStep):
        status = 404
    elif isinstance(exc, ResponseError):
        status = 404 if exc.key == "playbook.error.action" else 409
    key = getattr(exc, "key", "playbook.error.step")
    return ApiError(status, code(key), exc.text("en"), exc.text("ja"))


def guarded(endpoint: Endpoint) -> Endpoint:
    """The endpoint, answering its refusals as API errors and its bugs as a logged 500."""

    @functools.wraps(endpoint)
    async def wrapper(request: Request) -> Response:
        lang = language(request)
        try:
            return await endpoint(request)
        except ApiError as exc:
            return exc.response(lang)
        except (ChecklistError, UnknownPlaybookStep, ResponseError) as exc:
            return from_domain(exc).response(lang)
        except ClientDisconnect:
            return ApiError.of(400, "api.error.incomplete").response(lang)
        except Exception:
            log.exception("API %s %r failed", request.method, request.url.path[:200])
            return ApiError.of(500, "api.error.internal").response(lang)

    return wrapper


async def http_error(request: Request, exc: Exception) -> Response:
    """Starlette's own refusals (no such route, method not allowed) as API errors."""
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    headers = dict(exc.headers or {}) if isinstance(exc, HTTPException) else {}
    path = request.url.path[:200]
    if status == 405:
        error = ApiError.of(405, "api.error.method", method=request.method[:20], path=path)
    elif status == 404:
        error = ApiError.of(404, "api.error.not_found", path=path)
    else:
        error = ApiError(status, "http", str(getattr(exc, "detail", "")),
                         str(getattr(exc, "detail", "")))
    error.headers = headers
    return error.response(language(request))
