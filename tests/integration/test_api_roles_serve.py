"""Per-person API tokens against a real `mailwarden serve`: tokens issued and revoked with the
command line while serve runs, a help-desk viewer cannot release a quarantine, a responder's
release and containment are recorded under the token's name whatever the body claims, a
revoked token is refused at once, and the shared token keeps working as "admin"."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator

import pytest
from mailwarden_proc import MailwardenProcess
from test_api import PLAYBOOK_OFF, VICTIM, call, takeover

DECLARED = "[declared by / 申告者: {name}]"


@pytest.fixture
def mw() -> Iterator[MailwardenProcess]:
    proc = MailwardenProcess(extra=PLAYBOOK_OFF)
    try:
        yield proc
    finally:
        proc.stop()


def issue(mw: MailwardenProcess, name: str, role: str) -> str:
    """`mailwarden api token add NAME --role ROLE`: the token it prints, once."""
    out = mw.cli("api", "token", "add", name, "--role", role)
    assert out.returncode == 0, out.stderr
    token = out.stdout.strip()
    assert len(token) == 43 and "shown only now" in out.stderr and token not in out.stderr
    return token


def test_viewer_cannot_release_responder_can_and_is_recorded(mw: MailwardenProcess) -> None:
    """The viewer's release is 403 and changes nothing; the responder's release and
    containment are recorded as the responder even though the body says "mallory"."""
    incident = takeover(mw)
    viewer = issue(mw, "help-desk", "viewer")
    responder = issue(mw, "総務課 山田", "responder")
    base = f"/api/v1/incidents/{incident}"

    assert call(mw, "GET", base, token=viewer)[0] == 200
    status, error = call(mw, "POST", f"/api/v1/accounts/{VICTIM}/release",
                         {"by": "総務課 山田"}, token=viewer)
    assert status == 403 and error["error"]["code"] == "forbidden" and error["error"]["ja"]
    assert call(mw, "POST", f"{base}/respond", {"dry_run": True}, token=viewer)[0] == 403
    assert [a["account"] for a in mw.cli_json("accounts", "quarantined")] == [VICTIM]

    status, done = call(mw, "POST", f"{base}/respond",
                        {"steps": ["quarantine"], "by": "mallory", "reason": "電話で確認"},
                        token=responder)
    assert status == 200 and done["by"] == "総務課 山田", done
    status, released = call(mw, "POST", f"/api/v1/accounts/{VICTIM}/release",
                            {"by": "mallory", "note": "本人確認済み"}, token=responder)
    assert status == 200 and released["by"] == "総務課 山田", released
    assert mw.cli("accounts", "quarantined").stdout.strip() == "no quarantined accounts"

    actions = mw.cli_json("incidents", "actions", incident)
    assert actions and {a["actor"] for a in actions} == {"総務課 山田"}
    assert actions[0]["reason"] == "電話で確認\n" + DECLARED.format(name="mallory")
    timeline = call(mw, "GET", base, token=viewer)[1]["timeline"]
    [entry] = [e for e in timeline if e["kind"] == "released"]
    assert entry["by"] == "総務課 山田"
    assert entry["note"] == "本人確認済み\n" + DECLARED.format(name="mallory")
    assert all(e.get("by") != "mallory" for e in timeline)


def test_revoked_token_is_refused_by_the_running_serve(mw: MailwardenProcess) -> None:
    """`api token revoke` while serve runs: 401 from the next request; list shows names,
    roles and last use, never a token; the shared token still lists the tokens."""
    token = issue(mw, "joho-suzuki", "responder")
    assert call(mw, "GET", "/api/v1/incidents", token=token)[0] == 200
    listed = mw.cli("api", "token", "list", "--json")
    assert listed.returncode == 0 and token not in listed.stdout
    [row] = [json.loads(line) for line in listed.stdout.splitlines()]
    assert (row["name"], row["role"]) == ("joho-suzuki", "responder") and row["last_used_at"]

    status, error = call(mw, "GET", "/api/v1/tokens", token=token)
    assert status == 403 and error["error"]["code"] == "forbidden"
    status, tokens = call(mw, "GET", "/api/v1/tokens")  # the shared token: an admin
    assert status == 200 and [t["name"] for t in tokens["tokens"]] == ["joho-suzuki"]
    assert token not in json.dumps(tokens)

    out = mw.cli("api", "token", "revoke", "joho-suzuki")
    assert out.returncode == 0, out.stderr
    for method, path in (("GET", "/api/v1/incidents"),
                         ("POST", f"/api/v1/accounts/{VICTIM}/release")):
        status, error = call(mw, method, path, {"note": "x"}, token=token)
        assert status == 401 and error["error"]["code"] == "unauthorized"
    assert call(mw, "GET", "/api/v1/incidents")[0] == 200


def test_the_database_keeps_no_token(mw: MailwardenProcess) -> None:
    """After `api token add`, the store holds the token's SHA-256 and not the token."""
    token = issue(mw, "soumu-tanaka", "viewer")
    assert call(mw, "GET", "/api/v1/incidents", token=token)[0] == 200
    with sqlite3.connect(mw.data_dir / "mailwarden.db") as db:
        rows = db.execute("SELECT * FROM api_tokens").fetchall()
    assert len(rows) == 1 and token not in repr(rows)
    assert token not in mw.output()
