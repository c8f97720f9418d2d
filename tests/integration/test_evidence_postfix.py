"""Evidence export on real Postfix: a held message is copied with postcat into the bundle."""

from __future__ import annotations

import io
import json
import os
import time
import zipfile
from collections.abc import Iterator

import pytest
from mailstack.factories import MailStackFactory
from mailwarden_proc import CONFIG, MailwardenProcess

VICTIM, VICTIM_PW = "keisatsu@city.example.jp", "stolen-but-real"
BRAZIL = "200.147.67.142"


def local_zone() -> str:
    """The machine's IANA zone, the one Postfix writes its log timestamps in."""
    target = os.path.realpath("/etc/localtime")
    return target.split("zoneinfo/", 1)[1] if "zoneinfo/" in target else "UTC"


@pytest.fixture
def mailwarden() -> Iterator[MailwardenProcess]:
    proc = MailwardenProcess(CONFIG.replace('"Asia/Tokyo"', f'"{local_zone()}"'))
    try:
        yield proc
    finally:
        proc.stop()


def test_export_copies_held_messages_queue_and_log_and_verifies(
    mailstack_factory: MailStackFactory, mailwarden: MailwardenProcess
) -> None:
    """A burst from Brazil is held; the bundle has each held message (postcat), the queue
    snapshot and log excerpt of Postfix, and `evidence verify` finds it intact."""
    stack = mailstack_factory({VICTIM: VICTIM_PW}, policy=mailwarden.policy_port)
    postfix = stack.postfix

    def held() -> set[str]:
        return {e["queue_id"] for e in postfix.postqueue_json() if e["queue_name"] == "hold"}

    for i in range(30):
        postfix.submit(VICTIM, VICTIM_PW, VICTIM, [f"target{i}@victim{i % 5}.example.org"],
                       xclient_addr=BRAZIL, subject=f"Urgent invoice {i}")
        if len(held()) >= 3:
            break
    postfix.wait_for(lambda: len(held()) >= 3, timeout=30, what="three held messages")
    time.sleep(0.8)  # write-behind flush of the incident and its decisions
    incident = str(mailwarden.cli_json("incidents", "list")[0]["id"])
    out = mailwarden.root / "evidence.zip"
    done = mailwarden.cli("incidents", "export", incident, "--out", str(out),
                          "--postqueue-config", str(postfix.config_dir),
                          "--log", str(postfix.log_path), "--by", "keibu", "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)

    with zipfile.ZipFile(out) as zf:
        files = {info.filename: zf.read(info) for info in zf.infolist()}
    for queue_id in held():
        copy = files[f"messages/{queue_id}.txt"].decode()
        assert "Subject: Urgent invoice" in copy and VICTIM in copy
    queue = [json.loads(line) for line in io.BytesIO(files["queue.jsonl"])]
    assert {e["queue_id"] for e in queue} >= held()
    excerpt = files["logs/01-postfix.log.txt"].decode()
    assert all(queue_id in excerpt for queue_id in held())
    assert "sasl_username=" + VICTIM in excerpt
    assert result["not_collected"] == []

    verified = mailwarden.cli("evidence", "verify", str(out), "--expect", result["chain_head"])
    assert verified.returncode == 0, verified.stderr
    assert "intact" in verified.stdout and "keibu" in verified.stdout
