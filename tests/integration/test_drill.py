"""The fire drill (`mailwarden simulate takeover`) against real deployments."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from mailstack.factories import MailStackFactory
from mailwarden_proc import MailwardenProcess

DRILL, DRILL_PW = "drill@city.example.jp", "drill-pw"


@pytest.fixture
def mailwarden() -> Iterator[MailwardenProcess]:
    proc = MailwardenProcess()
    try:
        yield proc
    finally:
        proc.stop()


def test_drill_against_the_policy_server(mailwarden: MailwardenProcess) -> None:
    """Straight at the policy server: the report says 8 got through, the rest were held."""
    out = mailwarden.cli("simulate", "takeover", "--account", DRILL, "--policy",
                         f"127.0.0.1:{mailwarden.policy_port}", "--count", "20", "--rate", "20",
                         "--json")
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert report == {**report, "sent": 20, "accepted": 20, "got_through": 8, "held": 12,
                      "first_hold": 8}


def test_drill_through_smtp_with_xclient(mailstack_factory: MailStackFactory,
                                         mailwarden: MailwardenProcess) -> None:
    """Through Postfix with AUTH and XCLIENT: held counts match the hold queue."""
    stack = mailstack_factory({DRILL: DRILL_PW}, policy=mailwarden.policy_port)
    args = ["simulate", "takeover", "--account", DRILL, "--password", DRILL_PW, "--smtp",
            f"127.0.0.1:{stack.postfix.port}", "--count", "15", "--rate", "5", "--json"]
    out = mailwarden.cli(*args, "--postqueue-config", str(stack.postfix.config_dir))
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    held = [e for e in stack.postfix.postqueue_json() if e["queue_name"] == "hold"]
    assert report["sent"] == report["accepted"] == 15
    assert report["held"] == len(held) >= 5
    assert report["got_through"] <= 10
    from_store = mailwarden.cli(*args[:-1], "--json")  # a second run: all held (quarantined)
    again = json.loads(from_store.stdout)
    assert from_store.returncode == 0 and again["held"] == 15 and again["got_through"] == 0
