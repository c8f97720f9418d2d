"""End to end on real Dovecot with auth_policy_server_url pointing at Mailwarden."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from mailstack.factories import MailStackFactory
from mailwarden_proc import MailwardenProcess

KEY = "e2e-auth-policy-key"
EXTRA = f"""
[login]
api_key = "{KEY}"
tarpit_seconds = 1
"""
PROFESSOR, PROFESSOR_PW = "kyoju@city.example.jp", "correct horse"
VICTIM, VICTIM_PW = "somu@city.example.jp", "battery staple"
DICTIONARY_ATTACKER = "45.155.205.10"
SPRAYER = "185.220.101.33"
VIETNAM = "14.160.0.1"
HOME = "133.242.10.20"
STAFF = {f"staff{i:02d}@city.example.jp": f"pw-{i}" for i in range(30)}


@pytest.fixture
def mailwarden() -> Iterator[MailwardenProcess]:
    proc = MailwardenProcess(extra=EXTRA)
    try:
        yield proc
    finally:
        proc.stop()


def policy_config(port: int) -> list[str]:
    return [
        f"auth_policy_server_url = http://127.0.0.1:{port}/",
        f"auth_policy_server_api_header = X-API-Key:{KEY}",
        "auth_policy_hash_nonce = e2e-nonce-9f2c",
        "auth_policy_server_timeout_msecs = 2000",
        # Dovecot's own per-address penalty (2, 4, 8, 15 s) would hide Mailwarden's tarpit
        "service anvil {",
        "  unix_listener anvil-auth-penalty {",
        "    mode = 0",
        "  }",
        "}",
    ]


def findings(mw: MailwardenProcess, signal: str) -> list[dict[str, object]]:
    time.sleep(0.6)  # written behind, every flush
    return [f for f in mw.cli_json("logins", "findings") if f["signal"] == signal]


def test_login_guard_on_real_dovecot(mailstack_factory: MailStackFactory,
                                     mailwarden: MailwardenProcess) -> None:
    """Dictionary attack tarpitted then refused, spray caught, risky login held, fail-open."""
    users = {PROFESSOR: PROFESSOR_PW, VICTIM: VICTIM_PW, **STAFF}
    stack = mailstack_factory(users, policy=mailwarden.policy_port,
                              dovecot_config=policy_config(mailwarden.auth_port))
    dovecot, postfix = stack.dovecot, stack.postfix

    # 1. A dictionary attack: distinct wrong passwords from one address.
    durations = []
    for i in range(12):
        started = time.monotonic()
        assert not dovecot.imap_login(VICTIM, f"password{i}", DICTIONARY_ATTACKER)
        durations.append(time.monotonic() - started)
    assert max(durations[6:10]) >= 0.9  # tarpitted (1 s) once past 5 distinct passwords
    # rejected now: even the right password does not get in from that address ...
    assert not dovecot.imap_login(VICTIM, VICTIM_PW, DICTIONARY_ATTACKER)
    assert any("policy" in line.lower() and "refus" in line.lower()
               for line in dovecot.log_lines())
    # ... while the user, from home, does
    assert dovecot.imap_login(VICTIM, VICTIM_PW, HOME)
    assert findings(mailwarden, "brute_force_address")

    # 2. A spray: 30 accounts, two common passwords each, from one address.
    for user in STAFF:
        for guess in ("Spring2025!", "Password1"):
            dovecot.imap_login(user, guess, SPRAYER)
    spray = findings(mailwarden, "password_spray")
    assert spray and spray[0]["address"] == SPRAYER

    # 3. The right password "from Vietnam" after a few failures: flagged, and the account's
    #    next submission burst through real Postfix is held from its first message.
    for guess in ("sensei", "kyoju2024", "letmein"):
        assert not dovecot.imap_login(PROFESSOR, guess, VIETNAM)
    assert dovecot.imap_login(PROFESSOR, PROFESSOR_PW, VIETNAM)
    flagged = findings(mailwarden, "login_after_failures")
    assert [f["account"] for f in flagged] == [PROFESSOR]
    queued = [postfix.submit(PROFESSOR, PROFESSOR_PW, PROFESSOR,
                             [f"student{i}@example.ac.jp"], xclient_addr=VIETNAM,
                             subject="scholarship form") for i in range(5)]
    postfix.wait_for(lambda: {e["queue_id"] for e in postfix.postqueue_json()
                              if e["queue_name"] == "hold"} >= set(queued),
                     timeout=15, what="the professor's burst held")
    assert not any(m.mail_from == PROFESSOR for m in stack.sink.messages)

    # 4. Mailwarden down: logins still work (Dovecot fails open).
    mailwarden.kill9()
    assert dovecot.imap_login(VICTIM, VICTIM_PW, HOME)
    assert dovecot.imap_login("staff07@city.example.jp", "pw-7", SPRAYER)
