"""Playbooks of a campaign run at once on real Postfix and Dovecot: twelve accounts taken over
together are each locked in the real check_sasl_access table (rebuilt by the real postmap) and in
the deny passdb Dovecot reads, none lost to concurrent rewrites, while a thirteenth account's
playbook is stuck (another process holds its lock) — and that one completes once freed."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

from mailstack import PostfixInstance
from mailstack.common import require_program, wait_for
from mailstack.factories import DovecotFactory, PostfixFactory
from test_response_actions import put_deny_passdb_first

from mailwarden.config import Config
from mailwarden.engine.incident import Incident
from mailwarden.response.locks import account_lock_path
from mailwarden.response.runner import ResponseRunner
from mailwarden.service import Runtime
from mailwarden.store.store import Batch

CAMPAIGN = [f"user{n:02d}@city.example.jp" for n in range(12)]
STUCK = "keisatsu@city.example.jp"
OTHER, OTHER_PW = "kacho@city.example.jp", "untouched-password"
USERS = {**{a: f"pw-{a}" for a in [*CAMPAIGN, STUCK]}, OTHER: OTHER_PW}
STEPS = ["quarantine", "lock", "kick", "hold_queue"]
HOLDER = """
import fcntl, sys
handle = open(sys.argv[1], "a+b")
fcntl.flock(handle, fcntl.LOCK_EX)
print("held", flush=True)
sys.stdin.read()
"""


def table_value(postfix: PostfixInstance, access_map: Path, account: str) -> str:
    """What Postfix's table answers for account (`postmap -q`; empty when not found)."""
    done = subprocess.run([require_program("postmap", "postfix"), "-c", str(postfix.config_dir),
                           "-q", account, f"hash:{access_map}"],
                          capture_output=True, text=True, timeout=30, check=False)
    assert done.returncode in (0, 1), done.stderr
    return done.stdout.strip()


def statuses(runner: ResponseRunner, incident_id: str) -> list[tuple[str, str, str]]:
    return [(r["target"], r["operation"], r["status"])
            for r in runner.actions.for_incident(incident_id)]


DONE = [("outbound", "quarantine", "done"), ("postfix", "lock", "done"),
        ("dovecot", "lock", "done"), ("dovecot", "kick", "done"), ("postfix", "hold", "done")]


def test_a_campaign_is_locked_in_real_postfix_and_dovecot_at_once(
    dovecot_factory: DovecotFactory, postfix_factory: PostfixFactory, tmp_path: Path
) -> None:
    """With one playbook stuck, four workers lock the 12 other accounts: the real table says
    HOLD for each, Dovecot refuses each login (a bystander still logs in), the map and deny
    file hold every line; freed, the stuck playbook completes too."""
    dovecot = dovecot_factory(USERS)
    postfix = postfix_factory(dovecot=dovecot)
    access_map, deny = postfix.root / "sasl_access", dovecot.root / "deny"
    cfg = Config()
    cfg.data_dir = tmp_path / "data"
    r = cfg.response
    r.postfix_config_dir, r.sasl_access_map = str(postfix.config_dir), str(access_map)
    r.postmap = require_program("postmap", "postfix")
    r.postqueue = require_program("postqueue", "postfix")
    r.postsuper = require_program("postsuper", "postfix")
    r.dovecot, r.dovecot_config = True, str(dovecot.config_path)
    r.doveadm, r.deny_file = require_program("doveadm", "dovecot-core"), str(deny)
    cfg.playbook.high = STEPS
    deny.write_text("")
    put_deny_passdb_first(dovecot, deny)
    rt = Runtime(cfg)
    runner = rt.response = ResponseRunner(cfg, rt.store)
    incidents = [Incident(f"INC-{n:02d}", float(n), account, "account_takeover", "high", 3.0, [])
                 for n, account in enumerate([STUCK, *CAMPAIGN])]
    rt.store.write(Batch(incidents=incidents), 1.0)
    stuck, *campaign = [incident.id for incident in incidents]
    runner.account_locks.mkdir(parents=True, exist_ok=True)  # made by the runner
    holder = subprocess.Popen([sys.executable, "-c", HOLDER,
                               str(account_lock_path(runner.account_locks, STUCK))],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"

        async def campaign_then_free() -> None:
            rt.respond([stuck, *campaign])
            await asyncio.to_thread(
                wait_for, lambda: all(statuses(runner, i) == DONE for i in campaign), 60.0,
                what="the 12 playbooks done")
            assert statuses(runner, stuck) == [("outbound", "quarantine", "started")]
            assert holder.stdin is not None
            holder.stdin.close()
            await rt.finish_responses(60.0)

        asyncio.run(campaign_then_free())
    finally:
        if holder.poll() is None:
            holder.kill()
        holder.wait(30)

    assert statuses(runner, stuck) == DONE
    locked = sorted([STUCK, *CAMPAIGN])
    assert sorted(line.split()[0] for line in access_map.read_text().splitlines()) == locked
    assert sorted(deny.read_text().split()) == locked
    assert {a: table_value(postfix, access_map, a) for a in locked} == dict.fromkeys(locked,
                                                                                      "HOLD")
    assert table_value(postfix, access_map, OTHER) == ""
    for n, account in enumerate(locked):  # each from its own address: no auth penalty
        wait_for(lambda a=account, n=n: not dovecot.imap_login(a, USERS[a], f"198.51.100.{n}"),
                 10.0, what=f"{account} refused by Dovecot")
    assert dovecot.imap_login(OTHER, OTHER_PW, "198.51.100.200")
