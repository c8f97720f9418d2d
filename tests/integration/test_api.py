"""The administrators' HTTP API of a real `mailwarden serve`: the checklist round trip agrees with
the command line, respond (dry run and for real), actions, undo and release work over HTTP, the
token is required, a new password is shown once and kept nowhere, and a slow containment command
never stalls the policy server on the same event loop."""

from __future__ import annotations

import json
import os
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from mailstack.common import wait_for
from mailstack.factories import DovecotFactory
from mailwarden_proc import MailwardenProcess

from mailwarden.drill import Attack, via_policy

VICTIM, VICTIM_PW = "keisatsu@city.example.jp", "stolen-but-real"
PLAYBOOK_OFF = '\n[playbook]\nmode = "off"\n'  # only what the API asks for runs


def call(mw: MailwardenProcess, method: str, path: str, body: Any = None,
         token: str | None = "") -> tuple[int, Any]:
    """One request; token "" means the process's own token, None means no header."""
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token or mw.api_token}"
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(mw.api_url(path), data=data, method=method,
                                     headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def takeover(mw: MailwardenProcess, account: str = VICTIM) -> str:
    """Drive a stolen-password burst through the policy port; the incident it opens."""
    out = mw.cli("simulate", "takeover", "--account", account, "--policy",
                 f"127.0.0.1:{mw.policy_port}", "--count", "20", "--rate", "20", "--json")
    assert out.returncode == 0, out.stderr
    incidents = wait_for(lambda: [i for i in mw.cli_json("incidents", "list")
                                  if i["account"] == account], 10, what="the incident")
    return str(incidents[0]["id"])


@pytest.fixture
def mw() -> Iterator[MailwardenProcess]:
    proc = MailwardenProcess(extra=PLAYBOOK_OFF)
    try:
        yield proc
    finally:
        proc.stop()


def test_token_is_required_and_generated_privately(mw: MailwardenProcess) -> None:
    """Health needs no token; everything else is 401 without it or with a wrong one."""
    assert call(mw, "GET", "/api/v1/health", token=None) == (200, {"status": "ok"})
    token_file = mw.data_dir / "api.token"
    assert token_file.stat().st_mode & 0o777 == 0o600 and len(mw.api_token) >= 32
    for token in (None, "not-the-token", mw.api_token + "x"):
        status, body = call(mw, "GET", "/api/v1/incidents", token=token)
        assert status == 401 and body["error"]["en"] and body["error"]["ja"]
        status, _ = call(mw, "POST", "/api/v1/accounts/x@y/release", {"by": "a"}, token=token)
        assert status == 401
    assert call(mw, "GET", "/api/v1/incidents")[0] == 200
    assert mw.api_token not in mw.output()


def test_checklist_round_trip_matches_the_command_line(mw: MailwardenProcess) -> None:
    """GET equals `incidents checklist ID --json`; a PUT shows in the CLI and a --set in GET."""
    incident = takeover(mw)
    path = f"/api/v1/incidents/{incident}/checklist"
    status, listed = call(mw, "GET", path)
    assert status == 200 and listed == mw.cli_json("incidents", "checklist", incident)[0]
    assert [s["state"] for s in listed["steps"]] == ["todo"] * 9

    status, changed = call(mw, "PUT", f"{path}/notify_contacts",
                           {"state": "done", "by": "総務課 山田", "note": "電話で連絡済み"})
    assert status == 200
    cli = mw.cli_json("incidents", "checklist", incident)[0]
    assert changed == cli == call(mw, "GET", path)[1]
    entry = next(s for s in cli["steps"] if s["step"] == "notify_contacts")
    # the shared token's holder is who acted; the name in the body is kept as a stated note
    assert (entry["state"], entry["by"], entry["note"]) == (
        "done", "admin", "電話で連絡済み\n[declared by / 申告者: 総務課 山田]")

    out = mw.cli("incidents", "checklist", incident, "--set", "report_police=n/a", "--by", "cli")
    assert out.returncode == 0, out.stderr
    assert call(mw, "GET", path)[1] == mw.cli_json("incidents", "checklist", incident)[0]
    status, error = call(mw, "PUT", f"{path}/report_police?lang=ja", {"state": "maybe",
                                                                       "by": "x"})
    assert status == 400 and error["error"]["message"] == error["error"]["ja"]
    assert call(mw, "GET", "/api/v1/incidents/INC-nope/checklist")[0] == 404


def test_respond_actions_undo_and_release(mw: MailwardenProcess) -> None:
    """Dry run records nothing; quarantine is recorded with who and why, listed as the CLI
    lists it, undone by action number; a second quarantine is lifted by release."""
    incident = takeover(mw)
    base = f"/api/v1/incidents/{incident}"
    status, shown = call(mw, "GET", base)
    assert status == 200 and shown["account"] == VICTIM and shown["timeline"]
    status, plan = call(mw, "GET", f"{base}/plan")
    assert status == 200 and plan["automatic"][0]["step"] == "quarantine"
    assert plan["automatic"][0]["en"] and plan["automatic"][0]["ja"]
    [cli_plan] = mw.cli_json("incidents", "plan", incident)
    for kind in ("automatic", "manual"):
        assert [{k: o[k] for k in ("step", "target", "operation", "unavailable")}
                for o in plan[kind]] == cli_plan[kind]

    status, dry = call(mw, "POST", f"{base}/respond", {"dry_run": True, "by": "admin"})
    assert status == 200 and dry["dry_run"] and dry["note"]["ja"]
    assert [o["status"] for o in dry["outcomes"]] == ["planned"] * len(plan["automatic"])
    assert call(mw, "GET", f"{base}/actions")[1]["actions"] == []

    status, done = call(mw, "POST", f"{base}/respond",
                        {"steps": ["quarantine"], "by": "admin", "reason": "電話で本人確認"})
    assert status == 200, done
    [outcome] = done["outcomes"]
    assert (outcome["operation"], outcome["status"]) == ("quarantine", "done")
    status, actions = call(mw, "GET", f"{base}/actions")
    assert status == 200
    assert actions["actions"] == mw.cli_json("incidents", "actions", incident)
    [row] = actions["actions"]
    assert (row["id"], row["actor"], row["reason"]) == (outcome["action"], "admin",
                                                         "電話で本人確認")

    status, undone = call(mw, "POST", f"{base}/undo", {"action": row["id"], "by": "admin"})
    assert status == 200 and undone["outcomes"][0]["operation"] == "release"
    assert call(mw, "GET", "/api/v1/accounts/quarantined")[1] == {"accounts": []}
    status, again = call(mw, "POST", f"{base}/undo", {"action": row["id"], "by": "admin"})
    assert status == 409 and again["error"]["code"] == "playbook.undone"

    assert call(mw, "POST", f"{base}/respond", {"steps": ["quarantine"], "by": "admin"})[0] == 200
    accounts = call(mw, "GET", "/api/v1/accounts/quarantined")[1]["accounts"]
    assert [(a["account"], a["incident"]) for a in accounts] == [(VICTIM, incident)]
    status, released = call(mw, "POST", f"/api/v1/accounts/{VICTIM.upper()}/release",
                            {"by": "admin", "note": "password changed"})
    assert status == 200 and released["incident"] == incident and released["ja"]
    assert mw.cli("accounts", "quarantined").stdout.strip() == "no quarantined accounts"
    assert call(mw, "POST", f"/api/v1/accounts/{VICTIM}/release", {"by": "admin"})[0] == 409
    kinds = [e["kind"] for e in call(mw, "GET", base)[1]["timeline"]]
    assert "released" in kinds and "action" in kinds


def test_a_slow_command_does_not_stall_the_policy_server(tmp_path: Path) -> None:
    """While a containment command takes 3 s, policy requests and health are answered at
    once: the runner runs in a worker thread, not on the event loop they share."""
    slow = tmp_path / "postqueue"
    slow.write_text("#!/bin/sh\nsleep 3\n")
    slow.chmod(0o755)
    mw = MailwardenProcess(extra=PLAYBOOK_OFF + f'\n[response]\npostqueue = "{slow}"\n')
    try:
        incident = takeover(mw)
        answer: dict[str, Any] = {}

        def hold() -> None:
            answer["respond"] = call(mw, "POST", f"/api/v1/incidents/{incident}/respond",
                                     {"steps": ["hold_queue"], "by": "admin"})

        worker = threading.Thread(target=hold)
        started = time.monotonic()
        worker.start()
        time.sleep(0.5)
        policy = via_policy(Attack("colleague@city.example.jp", "colleague@city.example.jp",
                                   "133.242.10.20", count=3, rate=100.0), "127.0.0.1",
                            mw.policy_port)
        health_started = time.monotonic()
        assert call(mw, "GET", "/api/v1/health", token=None)[0] == 200
        health = time.monotonic() - health_started
        worker.join(30)
        assert time.monotonic() - started >= 3.0  # the command really was slow
        assert policy.accepted == 3 and policy.seconds < 1.0 and health < 1.0
        status, body = answer["respond"]
        assert status == 200 and body["outcomes"][0]["operation"] == "hold"
    finally:
        mw.stop()


def test_new_password_is_shown_once_and_kept_nowhere(dovecot_factory: DovecotFactory) -> None:
    """reset_password over the API: the new password is in that response only (not in the
    actions, the incident, the log or the database) and logs in; the stolen one fails."""
    dovecot = dovecot_factory({VICTIM: VICTIM_PW})
    mw = MailwardenProcess(extra=PLAYBOOK_OFF + f"""
[response]
dovecot = true
dovecot_config = "{dovecot.config_path}"
passwd_file = "{dovecot.passwd_path}"
""")
    try:
        incident = takeover(mw)
        base = f"/api/v1/incidents/{incident}"
        status, body = call(mw, "POST", f"{base}/respond",
                            {"steps": ["reset_password"], "by": "admin"})
        assert status == 200, body
        [outcome] = body["outcomes"]
        assert outcome["status"] == "done", outcome
        secret = outcome["new_password"]
        assert len(secret) >= 20
        wait_for(lambda: dovecot.imap_login(VICTIM, secret), 10, what="login with the new one")
        assert not dovecot.imap_login(VICTIM, VICTIM_PW)
        for path in (f"{base}/actions", base, f"{base}/checklist"):
            assert secret not in json.dumps(call(mw, "GET", path)[1])
        entry = next(s for s in call(mw, "GET", f"{base}/checklist")[1]["steps"]
                     if s["step"] == "change_password")
        assert entry["state"] == "done"
        mw.stop()  # flushes the store; the log is complete
        assert secret not in (mw.root / "serve.log").read_text(encoding="utf-8")
        for folder, _dirs, files in os.walk(mw.data_dir):
            for name in files:
                assert secret.encode() not in (Path(folder) / name).read_bytes(), name
    finally:
        mw.stop()
