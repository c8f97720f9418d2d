"""End to end on real Postfix + Dovecot: an overseas burst is detected and the playbook contains
it by itself — outbound quarantine, check_sasl_access and deny-passdb lock, the intruder's IMAP
session kicked, the queued mail held, the forwarding Sieve script deactivated (a copy kept) —
a signed webhook arrives within a second of the incident, the evidence bundle verifies, and
undo restores service."""

from __future__ import annotations

import contextlib
import imaplib
import subprocess
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from mailstack import DovecotInstance, PostfixInstance
from mailstack.common import require_program, wait_for
from mailstack.factories import DovecotFactory, PostfixFactory
from mailwarden_proc import MailwardenProcess
from test_notify_channels import SECRET, Receiver
from test_response_actions import FORWARD, SIEVE_CONFIG, put_deny_passdb_first, session_ended

VICTIM, VICTIM_PW = "keisatsu@city.example.jp", "stolen-but-real"
COLLEAGUE, COLLEAGUE_PW = "somu@city.example.jp", "colleague-pw"
USERS = {VICTIM: VICTIM_PW, COLLEAGUE: COLLEAGUE_PW}
BRAZIL = "200.147.67.142"
HOME = "133.242.10.20"
ATTACK = 24
AUTOMATIC = ["quarantine", "lock", "kick", "hold_queue", "sieve_deactivate"]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def response_config(postfix: PostfixInstance, dovecot: DovecotInstance, access_map: Path,
                    deny: Path, webhook: str) -> str:
    steps = ", ".join(f'"{s}"' for s in AUTOMATIC)
    return f"""
[response]
postfix_config_dir = "{postfix.config_dir}"
sasl_access_map = "{access_map}"
dovecot = true
dovecot_config = "{dovecot.config_path}"
deny_file = "{deny}"
passwd_file = "{dovecot.passwd_path}"

[playbook]
high = [{steps}]

[notify]
channels = ["webhook"]
webhook_url = "{webhook}"
webhook_secret = "{SECRET}"
"""


def doveadm(dovecot: DovecotInstance, *args: str, stdin: str = "") -> str:
    done = subprocess.run(["doveadm", "-c", str(dovecot.config_path), *args], input=stdin,
                          capture_output=True, text=True, timeout=30, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


def queue(postfix: PostfixInstance) -> dict[str, str]:
    return {str(e["queue_id"]): str(e["queue_name"]) for e in postfix.postqueue_json()}


def test_overseas_burst_is_contained_notified_evidenced_and_undone(
    dovecot_factory: DovecotFactory, postfix_factory: PostfixFactory, receiver: Receiver,
    tmp_path: Path,
) -> None:
    require_program("sieve-test", "dovecot-sieve")
    dovecot = dovecot_factory(USERS, extra_config=SIEVE_CONFIG)
    deny = dovecot.root / "deny"
    deny.write_text("")
    put_deny_passdb_first(dovecot, deny)
    postfix = postfix_factory(dovecot=dovecot)  # relay to a closed port: accepted mail waits
    access_map = postfix.root / "sasl_access"
    access_map.write_text("")
    subprocess.run(["postmap", "-c", str(postfix.config_dir), f"hash:{access_map}"], check=True)
    postfix.set_params(smtpd_sender_restrictions=f"check_sasl_access hash:{access_map}")
    mailwarden = MailwardenProcess(extra=response_config(postfix, dovecot, access_map, deny,
                                                         receiver.url("/webhook")))
    with contextlib.ExitStack() as stack:
        stack.callback(mailwarden.stop)
        postfix.set_policy(mailwarden.policy_port)
        doveadm(dovecot, "sieve", "put", "-a", "-u", VICTIM, "forward", stdin=FORWARD)
        sessions = {}
        for user, password in USERS.items():  # the intruder's session and a colleague's
            imap = imaplib.IMAP4(dovecot.host, dovecot.imap_port, timeout=15)
            stack.callback(imap.shutdown)
            imap.login(user, password)
            imap.select("INBOX")
            sessions[user] = imap

        # -- the burst from Brazil ---------------------------------------------------------
        start = time.monotonic()
        attack_ids = []
        for i in range(ATTACK):
            delay = start + i / 4 - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            try:
                attack_ids.append(postfix.submit(VICTIM, VICTIM_PW, VICTIM,
                                                 [f"target{i}@victim{i % 7}.example.org"],
                                                 xclient_addr=BRAZIL, subject=f"invoice {i}"))
            except Exception:  # locked meanwhile: the intruder can no longer submit
                break
        incidents = wait_for(lambda: mailwarden.cli_json("incidents", "list"), 10,
                             what="the incident")
        assert [i["account"] for i in incidents] == [VICTIM]
        incident = str(incidents[0]["id"])
        assert incidents[0]["severity"] == "high"
        shown = mailwarden.cli_json("incidents", "show", incident)[0]
        opened = next(float(e["time"]) for e in shown["timeline"]  # type: ignore[union-attr]
                      if e["kind"] == "opened")  # opened_at is shown to the second only

        # -- the alert: signed, within a second of the incident -----------------------------
        wait_for(lambda: receiver.at("/webhook"), 5, what="the webhook alert")
        alert = receiver.at("/webhook")[0]
        received = time.time() - (time.monotonic() - alert.at)
        assert received - opened < 1.0, f"alert {received - opened:.2f} s after the incident"
        assert alert.json()["id"] == incident and receiver.rejected == []

        # -- the playbook ran by itself, each action recorded -------------------------------
        def finished() -> list[dict[str, object]]:
            rows = mailwarden.cli_json("incidents", "actions", incident)
            return rows if len(rows) == 6 and all(r["status"] != "started" for r in rows) else []

        rows = wait_for(finished, 30, what="the playbook's six operations")
        assert [(r["target"], r["operation"], r["status"]) for r in rows] == [
            ("outbound", "quarantine", "done"), ("dovecot", "sieve_deactivate", "done"),
            ("postfix", "lock", "done"), ("dovecot", "lock", "done"),
            ("dovecot", "kick", "done"), ("postfix", "hold", "done")]
        assert {r["actor"] for r in rows} == {"mailwarden (playbook)"}

        # locked: Postfix map, Dovecot deny passdb; the intruder's session is gone
        assert access_map.read_text() == f"{VICTIM} HOLD\n"
        assert deny.read_text() == f"{VICTIM}\n"
        wait_for(lambda: session_ended(sessions[VICTIM]), 10, what="the kicked session")
        assert not session_ended(sessions[COLLEAGUE])
        wait_for(lambda: not dovecot.imap_login(VICTIM, VICTIM_PW), 10, what="denied login")
        assert dovecot.imap_login(COLLEAGUE, COLLEAGUE_PW)
        # every attack message still queued is on hold (the policy's HOLDs and hold_queue's)
        names = queue(postfix)
        waiting = [q for q in attack_ids if q in names]
        assert waiting and all(names[q] == "hold" for q in waiting)
        hold_action = rows[5]
        # the forwarding script is inactive (no active link in the home), its text kept
        assert not (dovecot.root / "home" / VICTIM / ".dovecot.sieve").exists()
        assert (dovecot.root / "home" / VICTIM / "sieve").is_dir()
        assert "attacker.example" in str(rows[1]["result"])
        steps = {s["step"]: s["state"] for s in
                 mailwarden.cli_json("incidents", "checklist", incident)[0]["steps"]}
        assert steps["end_sessions"] == steps["check_forwarding"] == "done"

        # -- the evidence bundle -----------------------------------------------------------
        bundle = tmp_path / "evidence.zip"
        exported = mailwarden.cli("incidents", "export", incident, "--out", str(bundle),
                                  "--postqueue-config", str(postfix.config_dir))
        assert exported.returncode == 0, exported.stderr
        verified = mailwarden.cli("evidence", "verify", str(bundle))
        assert verified.returncode == 0, verified.stdout + verified.stderr
        names_in_zip = zipfile.ZipFile(bundle).namelist()
        assert {"actions.json", "actions.csv", "timeline.json", "checklist.json"} <= set(
            names_in_zip)
        assert any(n.startswith("sieve/") and n.endswith("forward.sieve") for n in names_in_zip)
        assert {f"messages/{q}.txt" for q in waiting} <= set(names_in_zip)

        # -- undo restores service ---------------------------------------------------------
        undone = mailwarden.cli("incidents", "undo", incident, "--by", "admin",
                                "--reason", "password changed, user confirmed by phone")
        assert undone.returncode == 0, undone.stdout + undone.stderr
        assert access_map.read_text() == "" and deny.read_text() == ""
        assert "ACTIVE" in doveadm(dovecot, "sieve", "list", "-u", VICTIM)
        wait_for(lambda: dovecot.imap_login(VICTIM, VICTIM_PW), 10, what="login after undo")
        released = set(hold_action["result"]["queue_ids"])  # type: ignore[index]
        names = queue(postfix)
        assert all(names.get(q) != "hold" for q in released)
        time.sleep(0.6)  # the service applies the release on its next flush
        after = postfix.submit(VICTIM, VICTIM_PW, VICTIM, ["friend@example.com"],
                               xclient_addr=HOME)
        postfix.wait_for(lambda: after in queue(postfix), what="the message after undo")
        assert queue(postfix)[after] != "hold"
        rows = mailwarden.cli_json("incidents", "actions", incident)
        undos = [r for r in rows if r["undo_of"]]
        assert {r["operation"] for r in undos} == {"release", "unlock", "sieve_activate"}
        assert all(r["status"] == "done" and r["actor"] == "admin" for r in undos)
