"""End to end on real Postfix + Dovecot SASL: a stolen password used from Brazil is held."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from mailstack.factories import MailStackFactory
from mailwarden_proc import MailwardenProcess

VICTIM, VICTIM_PW = "keisatsu@city.example.jp", "stolen-but-real"
COLLEAGUE, COLLEAGUE_PW = "somu@city.example.jp", "colleague-pw"
BRAZIL = "200.147.67.142"
HOME = "133.242.10.20"
ATTACK = 40


@pytest.fixture
def mailwarden() -> Iterator[MailwardenProcess]:
    proc = MailwardenProcess()
    try:
        yield proc
    finally:
        proc.stop()


def test_overseas_burst_is_held_colleague_flows_and_kill9_fails_open(
    mailstack_factory: MailStackFactory, mailwarden: MailwardenProcess
) -> None:
    """≤10 of a 3/s burst from Brazil reach the sink, the rest are held, nothing is lost."""
    stack = mailstack_factory({VICTIM: VICTIM_PW, COLLEAGUE: COLLEAGUE_PW},
                              policy=mailwarden.policy_port)
    postfix, sink = stack.postfix, stack.sink
    start = time.monotonic()
    attack_ids = []
    colleague_ids = []
    for i in range(ATTACK):
        delay = start + i / 3 - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        attack_ids.append(postfix.submit(VICTIM, VICTIM_PW, VICTIM,
                                         [f"target{i}@victim{i % 9}.example.org"],
                                         xclient_addr=BRAZIL, subject=f"invoice {i}"))
        if i % 8 == 0:
            colleague_ids.append(postfix.submit(COLLEAGUE, COLLEAGUE_PW, COLLEAGUE,
                                                [f"partner{i}@client.example.com"],
                                                xclient_addr=HOME, subject=f"minutes {i}"))

    def victim_at_sink() -> int:
        return sum(1 for m in sink.messages if m.mail_from == VICTIM)

    def held() -> set[str]:
        return {e["queue_id"] for e in postfix.postqueue_json() if e["queue_name"] == "hold"}

    postfix.wait_for(lambda: victim_at_sink() + len(held() & set(attack_ids)) == ATTACK,
                     timeout=30, what="every attack message at the sink or held")
    assert victim_at_sink() <= 10
    assert len(held() & set(attack_ids)) >= ATTACK - 10
    assert held() <= set(attack_ids)  # nothing of the colleague is held
    sink.wait_for_messages(victim_at_sink() + len(colleague_ids), timeout=20)
    assert sum(1 for m in sink.messages if m.mail_from == COLLEAGUE) == len(colleague_ids)

    # The incident and the quarantine are in the store, with the held queue ids.
    time.sleep(0.6)
    incidents = mailwarden.cli_json("incidents", "list")
    assert [i["account"] for i in incidents] == [VICTIM]
    assert any(r["signal"] == "foreign_country" for r in incidents[0]["reasons"])
    shown = mailwarden.cli_json("incidents", "show", str(incidents[0]["id"]))[0]
    assert {d["queue_id"] for d in shown["decisions"]} >= held()

    # Quarantined: even a quiet message from home is held, until released.
    quiet = postfix.submit(VICTIM, VICTIM_PW, VICTIM, ["friend@example.com"], xclient_addr=HOME)
    postfix.wait_for(lambda: quiet in held(), timeout=10, what="quarantined message held")
    released = mailwarden.cli("accounts", "release", VICTIM, "--note", "password changed")
    assert released.returncode == 0, released.stderr
    time.sleep(0.8)  # serve polls releases every flush
    after = postfix.submit(VICTIM, VICTIM_PW, VICTIM, ["friend2@example.com"], xclient_addr=HOME)
    sink.wait_for_messages(victim_at_sink() + len(colleague_ids) + 1, timeout=20)
    assert after not in held()

    # kill -9: Postfix fails open, mail flows, the hold queue keeps what it had.
    held_before = held()
    mailwarden.kill9()
    at_sink = len(sink.messages)
    for i in range(3):
        postfix.submit(COLLEAGUE, COLLEAGUE_PW, COLLEAGUE, [f"after{i}@client.example.com"],
                       xclient_addr=HOME)
        postfix.submit(VICTIM, VICTIM_PW, VICTIM, [f"later{i}@example.com"], xclient_addr=HOME)
    sink.wait_for_messages(at_sink + 6, timeout=60)
    assert held() == held_before
