"""The administrators' API in-process (Starlette's TestClient): hostile bodies, paths and tokens
get a clear 4xx in both languages, never a 500; no store query or command runs on the loop."""

from __future__ import annotations

import asyncio
import json
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.unit.scenarios import BRAZIL_IP, config

from mailwarden.api.app import ROUTES, build_app
from mailwarden.api.auth import api_token, bearer
from mailwarden.api.bodies import parse_object
from mailwarden.api.errors import ApiError
from mailwarden.service import Runtime

with warnings.catch_warnings():  # newer Starlette prefers httpx2; httpx works the same
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from starlette.testclient import TestClient

TOKEN = "unit-test-token-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
ACCOUNT = "a@city.example.jp"
FAST = settings(max_examples=60, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])


@dataclass
class Api:
    client: TestClient
    rt: Runtime
    incident: str

    def call(self, method: str, path: str, body: bytes | None = None,
             headers: dict[str, str] | None = None) -> Any:
        return self.client.request(method, path, content=body,
                                   headers={**AUTH, **(headers or {})})


def burst(rt: Runtime, account: str = ACCOUNT, n: int = 12) -> None:
    """A stolen-password burst from Brazil through the guard: one high incident."""
    for i in range(n):
        attrs = {"request": "smtpd_access_policy", "protocol_state": "RCPT",
                 "instance": f"i{i}", "sasl_username": account, "sender": account,
                 "recipient": f"v{i}@example.net", "client_address": BRAZIL_IP}
        rt.guard(attrs)
        rt.guard({**attrs, "protocol_state": "END-OF-MESSAGE", "recipient_count": "1",
                  "queue_id": f"Q{i}"})


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    cfg = config()
    cfg.data_dir = tmp_path_factory.mktemp("api")
    cfg.api.token = TOKEN
    for tool in ("postqueue", "postsuper", "postmap", "postcat", "doveadm"):
        setattr(cfg.response, tool, f"/nonexistent/{tool}")  # never this machine's Postfix
    rt = Runtime(cfg)
    burst(rt)
    rt.store.write(rt.collect(everything=True), 0.0)
    incident = str(rt.store.incidents()[0]["id"])
    with TestClient(build_app(cfg, rt.store, TOKEN)) as client:
        yield Api(client, rt, incident)


def clear_4xx(resp: Any, *statuses: int) -> dict[str, str]:
    """The response is a 4xx (one of ``statuses`` if given) with a sentence in both languages."""
    assert 400 <= resp.status_code < 500, (resp.status_code, resp.text)
    if statuses:
        assert resp.status_code in statuses, (resp.status_code, resp.text)
    error: dict[str, str] = resp.json()["error"]
    assert error["en"] and error["ja"] and error["code"]
    assert error["message"] in (error["en"], error["ja"])
    return error


def answered(resp: Any) -> None:
    """Either done (200) or refused clearly: never a server error."""
    if resp.status_code != 200:
        clear_4xx(resp)


def writes(api: Api) -> list[tuple[str, str]]:
    inc = api.incident
    return [("PUT", f"/api/v1/incidents/{inc}/checklist/audit"),
            ("POST", f"/api/v1/incidents/{inc}/respond"),
            ("POST", f"/api/v1/incidents/{inc}/undo"),
            ("POST", f"/api/v1/accounts/{ACCOUNT}/release")]


# -- authentication ---------------------------------------------------------------------------
def test_health_needs_no_token(api: Api) -> None:
    """GET /api/v1/health answers {"status": "ok"} without a token."""
    resp = api.client.get("/api/v1/health")
    assert resp.status_code == 200 and resp.json() == {"status": "ok"}


@pytest.mark.parametrize("header", [None, "Bearer wrong-token-0123456789", f"Basic {TOKEN}",
                                    f"Bearer {TOKEN}x", f"Bearer {TOKEN[:-1]}", "Bearer ",
                                    f"{TOKEN}"])
def test_every_endpoint_but_health_refuses_a_missing_or_wrong_token(api: Api,
                                                                     header: str | None) -> None:
    """401 with WWW-Authenticate on every route (also unknown ones), body never looked at."""
    headers = {} if header is None else {"Authorization": header}
    for path, _endpoint, method in ROUTES:
        if path == "/health":
            continue
        url = "/api/v1" + path.format(id=api.incident, step="audit", account=ACCOUNT)
        resp = api.client.request(method, url, content=b"\xff not json", headers=headers)
        clear_4xx(resp, 401)
        assert resp.headers["www-authenticate"].startswith("Bearer")
    clear_4xx(api.client.get("/no/such/path", headers=headers), 401)


def test_bearer_scheme_is_case_insensitive_and_token_exact() -> None:
    """'bearer TOKEN' counts; a token is taken only from the Bearer scheme."""
    assert bearer([(b"Authorization", b"bearer abc")]) == b"abc"
    assert bearer([(b"authorization", b"Basic abc")]) == b""
    assert bearer([]) == b""


def test_generated_token_is_kept_private_and_stable(tmp_path: Any) -> None:
    """Without [api] token one is generated once into DATA_DIR/api.token, mode 0600."""
    cfg = config()
    cfg.data_dir = tmp_path
    first = api_token(cfg)
    assert len(first) >= 32 and api_token(cfg) == first
    assert (tmp_path / "api.token").stat().st_mode & 0o777 == 0o600


def test_errors_come_in_the_language_asked_for(api: Api) -> None:
    """?lang=ja: the message is the Japanese sentence; both are always there."""
    error = clear_4xx(api.call("GET", "/api/v1/incidents/INC-none?lang=ja"), 404)
    assert error["message"] == error["ja"] and "INC-none" in error["ja"]
    error = clear_4xx(api.call("GET", "/api/v1/incidents/INC-none"), 404)
    assert error["message"] == error["en"]


# -- bodies -----------------------------------------------------------------------------------
@pytest.mark.parametrize(("body", "code"), [
    (b"", "json"), (b"\xff\xfe{}", "utf8"), (b"[1, 2]", "object"), (b"null", "object"),
    (b'"by"', "object"), (b"{" * 30000, "json"), (b"[" * 30000, "json"),
    (b'{"by": 9' + b"9" * 5000 + b"}", "json"), (b'{"by": 5}', "type"), (b'{"by": ""}', "empty"),
    (b'{"by": "   "}', "empty"),
    (json.dumps({"by": "x" * 201}).encode(), "too_long"), (b'{"by": "a\\u0000b"}', "control"),
    (b'{"by": "\\ud800"}', "control"), (b'{"by": "a\\u202eb"}', "control"),
    (b'{"by": "x", "dryrun": true}', "unknown_field"),
])
def test_malformed_bodies_are_refused_with_400(api: Api, body: bytes, code: str) -> None:
    """Invalid UTF-8 or JSON, non-objects, wrong types, missing or unknown fields: 400."""
    for method, path in writes(api):
        error = clear_4xx(api.call(method, path, body), 400)
        if method == "PUT" and code in ("missing", "empty", "type", "too_long", "control"):
            continue  # the checklist asks for "state" first
        assert error["code"] == code, (path, error)


@pytest.mark.parametrize(("body", "code"), [
    ({"by": "x", "dry_run": "yes"}, "type"), ({"by": "x", "steps": "lock"}, "type"),
    ({"by": "x", "steps": []}, "no_steps"), ({"by": "x", "steps": ["fly"]}, "playbook.step"),
    ({"by": "x", "steps": [1]}, "type"), ({"by": "x", "steps": ["lock"] * 21}, "type"),
    ({"by": "x", "reason": ["why"]}, "type"),
])
def test_respond_refuses_wrong_fields_before_anything_runs(api: Api, body: dict[str, Any],
                                                           code: str) -> None:
    """Steps must be known step names, dry_run a boolean: 400, and no action is recorded."""
    before = api.call("GET", f"/api/v1/incidents/{api.incident}/actions").json()["actions"]
    path = f"/api/v1/incidents/{api.incident}/respond"
    assert clear_4xx(api.call("POST", path, json.dumps(body).encode()), 400)["code"] == code
    after = api.call("GET", f"/api/v1/incidents/{api.incident}/actions").json()["actions"]
    assert after == before


@pytest.mark.parametrize("action", [True, -1, 0, 1.5, "1", 10**30, [1]])
def test_undo_action_must_be_a_positive_whole_number(api: Api, action: object) -> None:
    """{"action": true | -1 | 1.5 | "1" | 10**30 | [1]}: 400, not 500."""
    body = json.dumps({"by": "x", "action": action}).encode()
    error = clear_4xx(api.call("POST", f"/api/v1/incidents/{api.incident}/undo", body), 400)
    assert error["code"] == "type"


def test_unknown_action_is_404(api: Api) -> None:
    """An action number that is not in this incident: 404."""
    body = json.dumps({"by": "x", "action": 987654}).encode()
    error = clear_4xx(api.call("POST", f"/api/v1/incidents/{api.incident}/undo", body), 404)
    assert error["code"] == "playbook.action"


def test_checklist_state_and_step_are_checked(api: Api) -> None:
    """Unknown state: 400; unknown step or incident: 404."""
    base = f"/api/v1/incidents/{api.incident}/checklist"
    body = json.dumps({"state": "finished", "by": "x"}).encode()
    assert clear_4xx(api.call("PUT", f"{base}/audit", body), 400)["code"] == "checklist.state"
    ok = json.dumps({"state": "done", "by": "x"}).encode()
    assert clear_4xx(api.call("PUT", f"{base}/nope", ok), 404)["code"] == "checklist.step"
    missing = "/api/v1/incidents/INC-missing/checklist/audit"
    assert clear_4xx(api.call("PUT", missing, ok), 404)["code"] == "checklist.incident"


def test_huge_bodies_are_refused_with_413(api: Api) -> None:
    """Over [api] max_body_bytes, declared or streamed: 413 before the body is parsed."""
    limit = api.rt.cfg.api.max_body_bytes
    for method, path in writes(api):
        big = b'{"by": "' + b"x" * limit + b'"}'
        assert clear_4xx(api.call(method, path, big), 413)["code"] == "too_large"
        clear_4xx(api.call(method, path, b"{}", {"Content-Length": str(10**12)}), 413)

        def chunks() -> Iterator[bytes]:
            for _ in range(limit // 1024 + 2):
                yield b" " * 1024

        assert clear_4xx(api.client.request(method, path, content=chunks(), headers=AUTH),
                         413)["code"] == "too_large"


@given(body=st.binary(max_size=3000))
@FAST
def test_arbitrary_bytes_never_cause_a_server_error(api: Api, body: bytes) -> None:
    """Any byte string as a body: done or a clear 4xx."""
    for method, path in writes(api):
        answered(api.call(method, path, body))


JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
                    lambda inner: st.lists(inner, max_size=4)
                    | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=12)
FIELDS = st.sampled_from(["by", "note", "state", "steps", "dry_run", "reason", "action"])


@given(body=st.dictionaries(FIELDS | st.text(max_size=10), JSON, max_size=5))
@FAST
def test_fields_of_any_type_never_cause_a_server_error(api: Api, body: dict[str, Any]) -> None:
    """Known and unknown fields holding any JSON value: done or a clear 4xx."""
    body.setdefault("dry_run", True)  # keep most runs from changing anything
    data = json.dumps(body).encode()
    for method, path in writes(api):
        answered(api.call(method, path, data))


@given(body=st.binary(max_size=200))
@FAST
def test_parse_object_returns_a_dict_or_a_400(body: bytes) -> None:
    """parse_object: a dict, or ApiError 400; no other exception."""
    try:
        assert isinstance(parse_object(body), dict)
    except ApiError as exc:
        assert exc.status == 400


# -- paths ------------------------------------------------------------------------------------
HOSTILE_NAMES = ["../../etc/passwd", "a@b;rm -rf /", "$(reboot)@x", "-rf", "a\x00b",
                 "\u202eevil@x", "x" * 10000, "A@CITY.EXAMPLE.JP'--", "\ud800", " ", "%2F",
                 "a b@c", "\n", "名前@例え.jp"]


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_hostile_account_names_in_the_path_are_refused(api: Api, name: str) -> None:
    """Release of a hostile or unknown account name: 400/404/409, never 200 or 500."""
    url = f"/api/v1/accounts/{quote(name, safe='', errors='surrogatepass')}/release"
    clear_4xx(api.call("POST", url, b'{"by": "admin"}'), 400, 404, 409)


@given(name=st.text(max_size=400))
@FAST
def test_any_text_as_account_incident_or_step_is_answered(api: Api, name: str) -> None:
    """Any text in a path parameter: a clear answer, never a server error."""
    part = quote(name, safe="", errors="surrogatepass")
    body = b'{"by": "admin", "state": "done", "dry_run": true}'
    answered(api.call("POST", f"/api/v1/accounts/{part}/release", body))
    answered(api.call("GET", f"/api/v1/incidents/{part}"))
    answered(api.call("GET", f"/api/v1/incidents/{part}/checklist"))
    answered(api.call("PUT", f"/api/v1/incidents/{api.incident}/checklist/{part}", body))
    answered(api.call("POST", f"/api/v1/incidents/{part}/respond", body))


def test_query_parameters_are_checked(api: Api) -> None:
    """limit 1..1000 and status open|closed; anything else 400."""
    for query in ("limit=0", "limit=-1", "limit=abc", "limit=1001", "limit=" + "9" * 50,
                  "status=everything"):
        clear_4xx(api.call("GET", f"/api/v1/incidents?{query}"), 400)
    resp = api.call("GET", "/api/v1/incidents?limit=1&status=open")
    assert resp.status_code == 200 and len(resp.json()["incidents"]) == 1


# -- the event loop ---------------------------------------------------------------------------
def test_no_store_query_or_command_runs_on_the_event_loop(api: Api,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """Every store query, checklist change and runner call happens in a worker thread."""
    ctx = api.client.app.state.mailwarden  # type: ignore[attr-defined]
    seen: list[tuple[str, bool]] = []

    def watch(owner: object, name: str) -> None:
        original: Callable[..., Any] = getattr(owner, name)

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                asyncio.get_running_loop()
                seen.append((name, True))
            except RuntimeError:
                seen.append((name, False))
            return original(*args, **kwargs)

        monkeypatch.setattr(owner, name, wrapper)

    for name in ("incidents", "incident", "quarantined", "release"):
        watch(ctx.store, name)
    for name in ("plan", "run", "undo", "undo_all", "incident"):
        watch(ctx.runner, name)
    for name in ("entries", "set"):
        watch(ctx.runner.checklist, name)
    watch(ctx.runner.actions, "for_incident")
    inc = f"/api/v1/incidents/{api.incident}"
    by = b'{"by": "admin"}'
    for method, path, body in [
        ("GET", "/api/v1/incidents", None), ("GET", inc, None), ("GET", f"{inc}/plan", None),
        ("GET", f"{inc}/checklist", None), ("GET", f"{inc}/actions", None),
        ("PUT", f"{inc}/checklist/audit", b'{"state": "done", "by": "admin"}'),
        ("POST", f"{inc}/respond", b'{"by": "admin", "dry_run": true}'),
        ("POST", f"{inc}/undo", by), ("GET", "/api/v1/accounts/quarantined", None),
        ("POST", f"/api/v1/accounts/{ACCOUNT}/release", by),
    ]:
        answered(api.call(method, path, body))
    assert {name for name, _ in seen} >= {"incidents", "incident", "plan", "run", "entries",
                                          "set", "for_incident", "quarantined", "release",
                                          "undo_all"}
    assert [name for name, on_loop in seen if on_loop] == []
