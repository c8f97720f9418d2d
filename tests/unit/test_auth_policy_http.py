"""The Dovecot auth policy HTTP endpoint on a real uvicorn: answers, API key, bad input."""

from __future__ import annotations

import asyncio
import http.client
import json
import threading
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.unit.scenarios import config

from mailwarden.service import Runtime, start_auth_policy

KEY = "test-key-123"


class Server:
    def __init__(self, tmp_path) -> None:
        cfg = config()
        cfg.data_dir = tmp_path
        cfg.login.api_key = KEY
        cfg.login.max_body_bytes = 4096
        self.rt = Runtime(cfg)
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        assert self.ready.wait(10)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)

        async def main() -> None:
            self.server = await start_auth_policy(self.rt, ("127.0.0.1", 0))
            self.port = self.server.servers[0].sockets[0].getsockname()[1]
            self.ready.set()
            while not self.server.should_exit:
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.2)

        self.loop.run_until_complete(main())

    def post(self, command: str, body: bytes, key: str | None = KEY,
             conn: http.client.HTTPConnection | None = None) -> tuple[int, dict]:
        own = conn is None
        conn = conn or http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        headers = {"Content-Type": "application/json"}
        if key is not None:
            headers["X-API-Key"] = key
        conn.request("POST", f"/?command={command}", body, headers)
        resp = conn.getresponse()
        data = json.loads(resp.read() or b"{}")
        if own:
            conn.close()
        return resp.status, data

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)


@pytest.fixture
def server(tmp_path) -> Iterator[Server]:
    s = Server(tmp_path)
    yield s
    s.stop()


def attrs(login="taro@city.example.jp", remote="45.155.205.10", pwhash="abc", **kw) -> bytes:
    body = {"login": login, "pwhash": pwhash, "remote": remote, "device_id": "",
            "protocol": "imap", "session_id": "s1", "fail_type": "", **kw}
    return json.dumps(body).encode()


def test_allow_answers_status_zero_for_a_clean_address(server):
    """A first attempt is allowed: {"status": 0}."""
    assert server.post("allow", attrs()) == (200, {"status": 0, "msg": ""})


def test_reports_of_failures_lead_to_tarpit_then_reject(server):
    """Reports of distinct wrong passwords make later allow answers tarpit, then reject."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)  # keep-alive
    statuses = []
    for i in range(11):
        statuses.append(server.post("allow", attrs(pwhash=f"p{i}"), conn=conn)[1]["status"])
        server.post("report", attrs(pwhash=f"p{i}", success=False, policy_reject=False),
                    conn=conn)
    assert statuses[0] == 0 and 5 in statuses and statuses[-1] == -1


def test_reports_of_refused_attempts_are_not_counted(server):
    """Reports with policy_reject true (our own refusals) or fail_type internal count nothing."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    for i in range(12):
        server.post("report", attrs(login=f"u{i}@city.example.jp", pwhash=f"p{i}",
                                    success=False, policy_reject=True), conn=conn)
        server.post("report", attrs(pwhash=f"q{i}", success=False, policy_reject=False,
                                    fail_type="internal"), conn=conn)
    assert server.post("allow", attrs(), conn=conn)[1]["status"] == 0


def test_nested_attributes_are_accepted(server):
    """Nested keys (a/b in auth_policy_request_attributes) arrive as objects and are fine."""
    status, body = server.post("allow", attrs(tls={"cipher": "TLS_AES_256", "bits": 256}))
    assert status == 200 and body["status"] == 0


@pytest.mark.parametrize(("key", "status"), [(None, 401), ("wrong", 401)])
def test_api_key_is_required(server, key, status):
    """Without the right API key header the answer is 401."""
    assert server.post("allow", attrs(), key=key)[0] == status


@pytest.mark.parametrize(("command", "body", "status", "words"), [
    ("allow", b"{not json", 400, "JSON"),
    ("allow", b"\xff\xfe{}", 400, "UTF-8"),
    ("allow", b"[1, 2]", 400, "object"),
    ("allow", json.dumps({"remote": "1.2.3.4"}).encode(), 400, "login"),
    ("allow", json.dumps({"login": "x"}).encode(), 400, "remote"),
    ("allow", json.dumps({"login": [1], "remote": "1.2.3.4"}).encode(), 400, "login"),
    ("allow", b'{"x": "' + b"y" * 5000 + b'"}', 413, "larger"),
    ("nope", attrs(), 400, "command"),
])
def test_bad_requests_get_clear_4xx(server, command, body, status, words):
    """Invalid JSON or UTF-8, wrong shapes, missing fields, huge bodies: a clear 4xx."""
    got, data = server.post(command, body)
    assert got == status and words in data["error"]


def test_internal_error_answers_status_zero(server, monkeypatch):
    """If the engine fails, Dovecot is told to allow (status 0), never to reject."""
    def boom(login):
        raise RuntimeError("engine down")

    monkeypatch.setattr(server.rt.logins.engine, "allow", boom)
    assert server.post("allow", attrs()) == (200, {"status": 0, "msg": ""})


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.one_of(st.binary(max_size=600), st.text(max_size=300).map(str.encode),
                 st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=20),
                              lambda c: st.lists(c, max_size=4)
                              | st.dictionaries(st.text(max_size=8), c, max_size=4),
                              max_leaves=20).map(lambda v: json.dumps(v).encode())))
def test_any_body_gets_a_json_answer_and_the_server_lives(server, body):
    """Any body gets 200 or a 4xx with a JSON error, and the next request still works."""
    status, data = server.post("allow", body)
    assert status == 200 or (400 <= status < 500 and data["error"])
    assert server.post("allow", attrs())[0] == 200
