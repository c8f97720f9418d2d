"""Per-person API tokens with roles, in-process (Starlette's TestClient): a viewer reads but
changes nothing (403 before the body is read), a responder's changes are recorded under the
token's name whatever the body claims, a revoked or unknown token is 401 at once, the shared
token still works as "admin", and no Authorization header, however broken, gets further than 401.
"""

from __future__ import annotations

import asyncio
import json
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.types import Message, Receive, Scope, Send
from tests.unit.scenarios import config
from tests.unit.test_api_bodies import burst
from typer.testing import CliRunner

from mailwarden.api.actor import DECLARED
from mailwarden.api.app import ROLES, ROUTES, build_app
from mailwarden.api.auth import BearerAuth, bearer
from mailwarden.api.identity import (
    SHARED_NAME,
    Authenticator,
    TokenNameError,
    check_name,
    new_token,
    token_hash,
)
from mailwarden.api.roles import Role
from mailwarden.cli.main import app as cli
from mailwarden.service import Runtime
from mailwarden.store.store import Store
from mailwarden.store.tokens_store import TokenExists, TokenStore

with warnings.catch_warnings():  # newer Starlette prefers httpx2; httpx works the same
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from starlette.testclient import TestClient

SHARED = "shared-test-token-0123456789"
ACCOUNT = "a@city.example.jp"
PEOPLE = {"help-desk": "viewer", "soumu-yamada": "responder", "joho-suzuki": "admin"}
VIEWER, RESPONDER, ADMIN = PEOPLE
FAST = settings(max_examples=80, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])


@dataclass
class Api:
    client: TestClient
    rt: Runtime
    incident: str
    tokens: dict[str, str] = field(default_factory=dict)  # name -> token

    def call(self, who: str | None, method: str, path: str, body: Any = None) -> Any:
        """A request with the token of ``who`` (SHARED_NAME: the shared token; None: none)."""
        token = SHARED if who == SHARED_NAME else self.tokens.get(who or "")
        headers = {} if token is None else {"Authorization": f"Bearer {token}"}
        content = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
        return self.client.request(method, path, content=content, headers=headers)

    def timeline(self) -> list[dict[str, Any]]:
        shown = self.rt.store.incident(self.incident)
        assert shown is not None
        return list(shown["timeline"])


def issue(store: Store, name: str, role: str) -> str:
    token = new_token()
    TokenStore(store).add(name=name, role=role, token_hash=token_hash(token), now=time.time(),
                          by="test")
    return token


@pytest.fixture
def api(tmp_path: Any) -> Iterator[Api]:
    cfg = config()
    cfg.data_dir = tmp_path
    cfg.api.token = SHARED
    for tool in ("postqueue", "postsuper", "postmap", "postcat", "doveadm"):
        setattr(cfg.response, tool, f"/nonexistent/{tool}")  # never this machine's Postfix
    rt = Runtime(cfg)
    burst(rt)
    rt.store.write(rt.collect(everything=True), 0.0)
    incident = str(rt.store.incidents()[0]["id"])
    tokens = {name: issue(rt.store, name, role) for name, role in PEOPLE.items()}
    with TestClient(build_app(cfg, rt.store, SHARED)) as client:
        yield Api(client, rt, incident, tokens)


def routes(api: Api) -> list[tuple[str, str, str]]:
    """(method, route, url) of every route but health."""
    return [(method, path, "/api/v1" + path.format(id=api.incident, step="audit",
                                                   account=ACCOUNT))
            for path, _endpoint, method in ROUTES if path != "/health"]


def forbidden(resp: Any) -> None:
    assert resp.status_code == 403, (resp.status_code, resp.text)
    error = resp.json()["error"]
    assert error["code"] == "forbidden" and error["en"] and error["ja"]


def unauthorized(resp: Any) -> None:
    assert resp.status_code == 401, (resp.status_code, resp.text)
    assert resp.headers["www-authenticate"].startswith("Bearer")
    assert resp.json()["error"]["code"] == "unauthorized"


# -- the role table ---------------------------------------------------------------------------
def test_every_route_has_a_least_role() -> None:
    """ROLES names exactly the routes; reads are viewer's, changes responder's or more."""
    assert set(ROLES) == {(method, path) for path, _endpoint, method in ROUTES}
    for (method, path), role in ROLES.items():
        if path == "/health":
            assert role is None
        elif method == "GET":
            assert role == (Role.ADMIN if path == "/tokens" else Role.VIEWER), path
        else:
            assert role is not None and role >= Role.RESPONDER, path


def test_roles_parse_and_order() -> None:
    """viewer < responder < admin; names in any case; anything else is a ValueError."""
    assert Role.parse(" Responder ") is Role.RESPONDER
    assert Role.VIEWER < Role.RESPONDER < Role.ADMIN
    with pytest.raises(ValueError, match="viewer, responder, admin"):
        Role.parse("root")


# -- viewer, responder, admin -----------------------------------------------------------------
def test_viewer_reads_everything_a_viewer_may(api: Api) -> None:
    """Every viewer route answers 200 to the viewer's token."""
    for method, path, url in routes(api):
        if ROLES[(method, path)] == Role.VIEWER:
            assert api.call(VIEWER, method, url).status_code == 200, url


def test_viewer_gets_403_on_every_change_and_nothing_changes(api: Api) -> None:
    """A release, respond, undo or checklist change by a viewer: 403, the account stays
    quarantined, no action or timeline entry is recorded."""
    before = api.timeline()
    for method, path, url in routes(api):
        if ROLES[(method, path)] != Role.VIEWER:
            forbidden(api.call(VIEWER, method, url, {"by": "admin", "state": "done"}))
    error = api.call(VIEWER, "POST", f"/api/v1/accounts/{ACCOUNT}/release?lang=ja",
                     {"by": "x"}).json()["error"]
    assert error["message"] == error["ja"] and "help-desk" in error["ja"]
    assert [q["account"] for q in api.rt.store.quarantined()] == [ACCOUNT]
    assert api.timeline() == before
    flag = api.rt.store.flag(ACCOUNT)
    assert flag is not None and flag["updated_by"] != VIEWER


def test_a_role_too_low_is_refused_before_the_body_is_read(api: Api) -> None:
    """The 403 comes without reading a byte of the body (a body that is not JSON is not 400)."""
    read: list[bytes] = []

    def body() -> Iterator[bytes]:
        read.append(b"x")
        yield b"\xff not json"

    resp = api.client.post(f"/api/v1/accounts/{ACCOUNT}/release", content=body(),
                           headers={"Authorization": f"Bearer {api.tokens[VIEWER]}"})
    forbidden(resp)
    assert read == []


def test_responder_release_is_recorded_under_the_tokens_name(api: Api) -> None:
    """The body claims "mallory"; the flag and the timeline say soumu-yamada, and the claim
    is kept only in the note, marked as declared."""
    resp = api.call(RESPONDER, "POST", f"/api/v1/accounts/{ACCOUNT}/release",
                    {"by": "mallory", "note": "本人に電話で確認"})
    assert resp.status_code == 200, resp.text
    assert resp.json()["by"] == RESPONDER and api.rt.store.quarantined() == []
    flag = api.rt.store.flag(ACCOUNT)
    assert flag is not None and flag["updated_by"] == RESPONDER
    assert flag["note"] == "本人に電話で確認\n" + DECLARED.format(name="mallory")
    [released] = [e for e in api.timeline() if e["kind"] == "released"]
    assert released["by"] == RESPONDER and "mallory" in released["note"]
    assert all(e.get("by") != "mallory" for e in api.timeline())


def test_responder_actions_undo_and_checklist_carry_the_tokens_name(api: Api) -> None:
    """respond, undo and a checklist tick are recorded as the token's holder, with or without
    a "by" in the body."""
    base = f"/api/v1/incidents/{api.incident}"
    resp = api.call(RESPONDER, "POST", f"{base}/respond",
                    {"steps": ["lock"], "by": "mallory", "reason": "phoned"})
    assert resp.status_code == 200 and resp.json()["by"] == RESPONDER, resp.text
    resp = api.call(RESPONDER, "POST", f"{base}/undo", {"reason": "user confirmed"})
    assert resp.status_code == 200, resp.text
    resp = api.call(RESPONDER, "PUT", f"{base}/checklist/notify_contacts",
                    {"state": "done", "by": RESPONDER})
    assert resp.status_code == 200, resp.text
    actions = api.call(VIEWER, "GET", f"{base}/actions").json()["actions"]
    assert actions and {a["actor"] for a in actions} == {RESPONDER}
    assert actions[0]["reason"] == "phoned\n" + DECLARED.format(name="mallory")
    entry = next(s for s in resp.json()["steps"] if s["step"] == "notify_contacts")
    assert (entry["by"], entry["note"]) == (RESPONDER, "")  # the same name is no note
    stated = {e.get("by") for e in api.timeline() if e["kind"] in ("action", "checklist")}
    assert stated == {RESPONDER}


def test_only_an_admin_lists_tokens_and_never_sees_one(api: Api) -> None:
    """GET /tokens: 403 for viewer and responder; an admin gets names and roles, no token and
    no hash."""
    forbidden(api.call(VIEWER, "GET", "/api/v1/tokens"))
    forbidden(api.call(RESPONDER, "GET", "/api/v1/tokens"))
    resp = api.call(ADMIN, "GET", "/api/v1/tokens")
    assert resp.status_code == 200
    listed = resp.json()
    assert {t["name"]: t["role"] for t in listed["tokens"]} == PEOPLE
    assert listed["shared"] == {"name": SHARED_NAME, "role": "admin"}
    for token in [*api.tokens.values(), SHARED]:
        assert token not in resp.text and token_hash(token) not in resp.text


def test_the_shared_token_still_acts_as_an_administrator_named_admin(api: Api) -> None:
    """The single token of earlier versions: every route, recorded as "admin"."""
    assert api.call(SHARED_NAME, "GET", "/api/v1/tokens").status_code == 200
    resp = api.call(SHARED_NAME, "POST", f"/api/v1/accounts/{ACCOUNT}/release",
                    {"by": "総務課 山田"})
    assert resp.status_code == 200 and resp.json()["by"] == SHARED_NAME
    flag = api.rt.store.flag(ACCOUNT)
    assert flag is not None and flag["updated_by"] == SHARED_NAME
    assert flag["note"] == DECLARED.format(name="総務課 山田")


def test_a_revoked_token_is_refused_at_once(api: Api) -> None:
    """Revoked in the store: the running app answers 401 from the next request; the others
    still work."""
    assert api.call(RESPONDER, "GET", "/api/v1/incidents").status_code == 200
    assert TokenStore(api.rt.store).revoke(RESPONDER.upper(), time.time(), "test") == RESPONDER
    for method, _path, url in routes(api):
        unauthorized(api.call(RESPONDER, method, url, {"by": RESPONDER}))
    assert api.call(VIEWER, "GET", "/api/v1/incidents").status_code == 200
    assert [q["account"] for q in api.rt.store.quarantined()] == [ACCOUNT]


def test_unknown_tokens_and_stored_hashes_are_401(api: Api) -> None:
    """A token never issued, a token's hash, a token with a character more or less: 401."""
    token = api.tokens[ADMIN]
    for sent in ("x" * 43, token_hash(token), token + "A", token[:-1], token.upper(),
                 token_hash(SHARED), "Bearer " + token, "x" * 5000):
        resp = api.client.get("/api/v1/incidents", headers={"Authorization": f"Bearer {sent}"})
        unauthorized(resp)


def test_the_token_is_looked_up_off_the_event_loop(api: Api,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """The store query behind every token check runs in a worker thread."""
    on_loop: list[bool] = []
    original = TokenStore.active

    def watched(self: TokenStore) -> list[dict[str, Any]]:
        try:
            asyncio.get_running_loop()
            on_loop.append(True)
        except RuntimeError:
            on_loop.append(False)
        return original(self)

    monkeypatch.setattr(TokenStore, "active", watched)
    assert api.call(VIEWER, "GET", "/api/v1/incidents").status_code == 200
    assert on_loop == [False]


def test_last_used_is_noted_at_most_once_a_minute(tmp_path: Any) -> None:
    """Each use updates last_used_at, unless the last update is less than a minute old."""
    store = Store(f"sqlite:///{tmp_path / 'x.db'}")
    token = issue(store, "yamada", "viewer")
    now = [1000.0]
    auth = Authenticator(SHARED, TokenStore(store), clock=lambda: now[0])
    found = auth.identify(token.encode())
    assert found is not None and (found.name, found.role) == ("yamada", Role.VIEWER)
    now[0] = 1030.0
    auth.identify(token.encode())
    assert TokenStore(store).listed()[0]["last_used_at"] == 1000.0
    now[0] = 1061.0
    auth.identify(token.encode())
    assert TokenStore(store).listed()[0]["last_used_at"] == 1061.0


def test_a_token_with_a_damaged_role_is_refused(tmp_path: Any) -> None:
    """A row whose role is no role (edited by hand): no access, not an error."""
    store = Store(f"sqlite:///{tmp_path / 'x.db'}")
    token = issue(store, "yamada", "superuser")
    assert Authenticator(SHARED, TokenStore(store)).identify(token.encode()) is None


# -- the Authorization header -----------------------------------------------------------------
async def _through(auth: BearerAuth, headers: list[tuple[bytes, bytes]]) -> tuple[int, bool]:
    """Send one request through the middleware alone: its status, whether it got past."""
    passed: list[bool] = []
    statuses: list[int] = []

    async def inner(scope: Scope, receive: Receive, send: Send) -> None:
        passed.append(True)

    async def receive() -> Message:
        raise AssertionError("the body was read")

    async def send(message: Message) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    scope: Scope = {"type": "http", "method": "POST", "path": "/api/v1/incidents",
                    "query_string": b"", "headers": headers, "http_version": "1.1",
                    "scheme": "http", "server": ("127.0.0.1", 10042), "root_path": ""}
    await auth(scope, receive, send)
    return (statuses or [0])[0], bool(passed)


HEADER_NAMES = st.sampled_from([b"authorization", b"Authorization", b"AUTHORIZATION", b"x-a"])


@given(headers=st.lists(st.tuples(HEADER_NAMES | st.binary(max_size=20),
                                  st.binary(max_size=600)), max_size=4))
@FAST
def test_any_authorization_header_without_a_token_is_401(tmp_path_factory: Any,
                                                         headers: list[tuple[bytes, bytes]]
                                                         ) -> None:
    """Arbitrary header names and bytes: the middleware answers 401, never raises, never
    reads the body, never lets the request through."""
    store = _hypothesis_store(tmp_path_factory)
    auth = BearerAuth(_never, Authenticator(SHARED, TokenStore(store)).identify)
    assert asyncio.run(_through(auth, headers)) == (401, False)


_STORES: dict[str, Store] = {}


def _hypothesis_store(factory: Any) -> Store:
    """One store with an issued token for every example (it must never be guessed)."""
    if "store" not in _STORES:
        _STORES["store"] = store = Store(f"sqlite:///{factory.mktemp('hyp') / 'x.db'}")
        issue(store, "yamada", "admin")
    return _STORES["store"]


async def _never(scope: Scope, receive: Receive, send: Send) -> None:
    raise AssertionError("an unauthenticated request reached the app")


@given(scheme=st.sampled_from(["Bearer", "bearer", "BEARER", "Basic", "", "Bearer\t"]),
       noise=st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7e), max_size=80),
       where=st.sampled_from(["prefix", "suffix", "inside", "alone"]))
@FAST
def test_a_real_token_changed_in_any_way_is_401(api: Api, scheme: str, noise: str,
                                                where: str) -> None:
    """A real token with text added before, after or inside it (or text alone), in any
    scheme: 401 over HTTP, with the usual JSON error."""
    token = api.tokens[ADMIN]
    sent = {"prefix": noise + token, "suffix": token + noise,
            "inside": token[:10] + noise + token[10:], "alone": noise}[where]
    if sent.strip() == token and scheme.strip().lower() == "bearer":
        return  # only white space added: that is the token
    value = f"{scheme} {sent}" if scheme else sent
    unauthorized(api.client.get("/api/v1/incidents", headers={"Authorization": value}))


@given(headers=st.lists(st.tuples(st.binary(max_size=20), st.binary(max_size=200)),
                        max_size=5))
@FAST
def test_bearer_parsing_never_raises(headers: list[tuple[bytes, bytes]]) -> None:
    """bearer(): bytes for any header list, empty unless an Authorization header is Bearer."""
    found = bearer(headers)
    assert isinstance(found, bytes)
    first = next((v for k, v in headers if k.lower() == b"authorization"), None)
    if first is None or not first.strip().lower().startswith(b"bearer "):
        assert found == b""


# -- names and the store ----------------------------------------------------------------------
@pytest.mark.parametrize("name", ["", "   ", "x" * 65, "a\nb", "a\tb", "a\u202eb", "a\u200bb",
                                  "admin", "ADMIN", " Admin ", "ａｄｍｉｎ", "ＡＤＭＩＮ"])
def test_names_that_cannot_be_a_tokens_are_refused(name: str) -> None:
    """Empty, too long, control or invisible characters, the shared token's name."""
    with pytest.raises(TokenNameError):
        check_name(name)


def test_a_person_may_be_named_in_japanese() -> None:
    """Names are NFC, without surrounding space; Japanese and inner spaces are kept."""
    assert check_name(" 総務課 山田 ") == "総務課 山田"
    assert check_name("Jose\u0301") == "Jos\u00e9"


def test_a_failed_last_used_write_does_not_refuse_the_token(tmp_path: Any,
                                                             caplog: Any) -> None:
    """"Last used" cannot be written (the table is gone, as with a broken or read-only
    store): the token is still accepted, and the failure is logged once a minute, not on
    every request."""
    store = Store(f"sqlite:///{tmp_path / 'x.db'}")
    token = issue(store, "yamada", "responder")
    tokens = TokenStore(store)
    active = tokens.active()

    class Unwritable(TokenStore):
        def active(self) -> list[dict[str, Any]]:
            return active

    with store.engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE api_tokens")
    clock = [1000.0]
    auth = Authenticator(SHARED, Unwritable(store), clock=lambda: clock[0])
    for step in (0.0, 1.0, 30.0, 70.0):
        clock[0] = 1000.0 + step
        found = auth.identify(token.encode())
        assert found is not None and found.name == "yamada"
    failures = [r for r in caplog.records if "cannot record its use" in r.getMessage()]
    assert len(failures) == 2  # at 0 s and again after a minute


def test_the_store_keeps_only_the_hash(tmp_path: Any) -> None:
    """The database file holds the SHA-256 of a token and never the token."""
    store = Store(f"sqlite:///{tmp_path / 'x.db'}")
    token = issue(store, "yamada", "responder")
    store.engine.dispose()
    raw = b"".join(p.read_bytes() for p in tmp_path.iterdir())
    assert token.encode() not in raw and token_hash(token).encode() in raw


def test_one_active_token_per_name_and_a_new_one_after_revoking(tmp_path: Any) -> None:
    """A second token for the name (in any case) is refused; after revoking, a new one may be
    issued, and the revoked one stays listed with --all."""
    store = Store(f"sqlite:///{tmp_path / 'x.db'}")
    tokens = TokenStore(store)
    first = issue(store, "Yamada", "viewer")
    with pytest.raises(TokenExists):
        issue(store, "yamada", "admin")
    with pytest.raises(TokenExists):  # full width reads as the same name
        issue(store, "ｙａｍａｄａ", "admin")
    assert tokens.revoke("nobody", 1.0, "t") is None
    assert tokens.revoke("YAMADA", 2.0, "t") == "Yamada"
    second = issue(store, "yamada", "responder")
    auth = Authenticator(SHARED, tokens)
    assert auth.identify(first.encode()) is None
    found = auth.identify(second.encode())
    assert found is not None and (found.name, found.role) == ("yamada", Role.RESPONDER)
    assert [r["name"] for r in tokens.listed()] == ["yamada"]
    everything = tokens.listed(include_revoked=True)
    assert [(r["name"], r["revoked_by"]) for r in everything] == [("Yamada", "t"), ("yamada", "")]
    assert all("token_hash" not in r for r in everything)


# -- the command line -------------------------------------------------------------------------
def test_cli_add_prints_the_token_once_list_never_revoke_refuses_it(tmp_path: Any) -> None:
    """`api token add` prints a working token; `list` shows name and role but no token;
    `revoke` makes it unknown; the shared name and unknown roles are refused."""
    runner = CliRunner()
    where = ["--data-dir", str(tmp_path)]
    added = runner.invoke(cli, ["api", "token", "add", "soumu-yamada", "--role", "responder",
                                *where])
    assert added.exit_code == 0, added.output
    token = added.stdout.strip()
    assert len(token) == 43 and "\n" not in token
    store = Store(f"sqlite:///{tmp_path / 'mailwarden.db'}")
    found = Authenticator(SHARED, TokenStore(store)).identify(token.encode())
    assert found is not None and (found.name, found.role) == ("soumu-yamada", Role.RESPONDER)

    listed = runner.invoke(cli, ["api", "token", "list", "--json", *where])
    assert listed.exit_code == 0 and token not in listed.output
    assert token_hash(token) not in listed.output
    [row] = [json.loads(line) for line in listed.stdout.splitlines()]
    assert (row["name"], row["role"]) == ("soumu-yamada", "responder")
    assert row["last_used_at"].endswith("Z")  # used just above

    assert runner.invoke(cli, ["api", "token", "add", "Soumu-Yamada", *where]).exit_code == 1
    assert runner.invoke(cli, ["api", "token", "add", "admin", *where]).exit_code == 2
    assert runner.invoke(cli, ["api", "token", "add", "x", "--role", "root",
                               *where]).exit_code == 2
    assert runner.invoke(cli, ["api", "token", "revoke", "soumu-yamada", *where]).exit_code == 0
    assert Authenticator(SHARED, TokenStore(store)).identify(token.encode()) is None
    assert runner.invoke(cli, ["api", "token", "revoke", "soumu-yamada", *where]).exit_code == 1
    assert runner.invoke(cli, ["api", "token", "revoke", "admin", *where]).exit_code == 1


def test_the_shared_token_can_be_switched_off(tmp_path: Any) -> None:
    """``[api] token = "off"``: no shared token is generated or accepted (not even "off"
    itself); personal tokens still work."""
    from mailwarden.api.auth import TOKEN_FILE, api_token
    from mailwarden.config import load

    path = tmp_path / "mailwarden.toml"
    path.write_text('[api]\ntoken = "off"\n', encoding="utf-8")
    cfg = load(path, tmp_path)  # "off" is not refused as a token too short
    assert cfg.api.token == "off"
    assert api_token(cfg) == "" and not (tmp_path / TOKEN_FILE).exists()
    store = Store(f"sqlite:///{tmp_path / 'mw.db'}")
    personal = issue(store, "soumu-yamada", "responder")
    auth = Authenticator(api_token(cfg), TokenStore(store))
    assert auth.identify(b"off") is None and auth.identify(b"") is None
    who = auth.identify(personal.encode())
    assert who is not None and who.name == "soumu-yamada" and who.role == Role.RESPONDER
