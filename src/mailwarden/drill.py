"""The fire drill: play an attacker against a deployment and count what got through.

Two ways in: straight at a policy server (the answer of each request says HOLD or not), or
through SMTP with AUTH — and XCLIENT to pose as an overseas address — where the held messages
are found afterwards in Postfix's hold queue or in Mailwarden's decisions.
"""

from __future__ import annotations

import json
import re
import smtplib
import socket
import subprocess
import time
from dataclasses import dataclass, field
from email.message import EmailMessage

QUEUED = re.compile(rb"queued as ([0-9A-Za-z]+)")


@dataclass
class DrillResult:
    """What the attacker achieved."""

    sent: int = 0
    accepted: int = 0
    held: int = 0
    refused: int = 0
    first_hold: int | None = None
    queue_ids: list[str] = field(default_factory=list)
    held_ids: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def got_through(self) -> int:
        """Messages that would have left before Mailwarden held the account."""
        return self.accepted - self.held

    def to_dict(self) -> dict[str, object]:
        return {"sent": self.sent, "accepted": self.accepted, "held": self.held,
                "refused": self.refused, "got_through": self.got_through,
                "first_hold": self.first_hold, "seconds": round(self.seconds, 2)}


@dataclass
class Attack:
    """The attacker's plan."""

    account: str
    sender: str
    client_address: str = "200.147.67.142"
    count: int = 50
    rate: float = 3.0
    recipients_per_message: int = 1
    recipient_domain: str = "example.net"

    def recipients(self, i: int) -> list[str]:
        return [f"drill{i}-{j}@d{i % 97}.{self.recipient_domain}"
                for j in range(self.recipients_per_message)]

    def pace(self, start: float, i: int) -> None:
        delay = start + i / self.rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)


def _request(attack: Attack, i: int, state: str, rcpt: str, count: int, instance: str) -> bytes:
    attrs = {
        "request": "smtpd_access_policy", "protocol_state": state, "protocol_name": "ESMTP",
        "client_address": attack.client_address, "client_name": "unknown",
        "reverse_client_name": "unknown", "helo_name": "drill.invalid",
        "sender": attack.sender, "recipient": rcpt, "recipient_count": str(count),
        "queue_id": f"DRILL{i:06d}", "instance": instance,
        "sasl_method": "PLAIN", "sasl_username": attack.account, "size": "2048",
    }
    return "".join(f"{k}={v}\n" for k, v in attrs.items()).encode() + b"\n"


def _ask(sock: socket.socket, reader: object, payload: bytes) -> str:
    sock.sendall(payload)
    lines = []
    while True:
        line = reader.readline()  # type: ignore[attr-defined]
        if not line:
            raise ConnectionError("policy server closed the connection")
        if line in (b"\n", b"\r\n"):
            break
        lines.append(line.decode("utf-8", "replace").strip())
    return " ".join(lines).removeprefix("action=")


def via_policy(attack: Attack, host: str, port: int) -> DrillResult:
    """Send each message's RCPT and END-OF-MESSAGE requests to a policy server."""
    result = DrillResult()
    start = time.monotonic()
    with socket.create_connection((host, port), timeout=10) as sock:
        reader = sock.makefile("rb")
        for i in range(attack.count):
            attack.pace(start, i)
            rcpts = attack.recipients(i)
            instance = f"drill.{time.time_ns()}.{i}"
            answers = [_ask(sock, reader, _request(attack, i, "RCPT", r, 0, instance))
                       for r in rcpts]
            answers.append(_ask(sock, reader, _request(
                attack, i, "END-OF-MESSAGE", rcpts[-1], len(rcpts), instance)))
            result.sent += 1
            result.queue_ids.append(f"DRILL{i:06d}")
            if any(a.upper().startswith(("REJECT", "DEFER", "4", "5")) for a in answers):
                result.refused += 1
                continue
            result.accepted += 1
            if any(a.upper().startswith("HOLD") for a in answers):
                result.held += 1
                result.held_ids.append(f"DRILL{i:06d}")
                if result.first_hold is None:
                    result.first_hold = i
    result.seconds = time.monotonic() - start
    return result


def _smtp_session(host: str, port: int, attack: Attack, user: str, password: str,
                  xclient: bool, starttls: bool) -> smtplib.SMTP:
    smtp = smtplib.SMTP(host, port, timeout=30)
    smtp.ehlo("drill.invalid")
    if xclient:
        code, msg = smtp.docmd("XCLIENT", f"ADDR={attack.client_address} NAME=[UNAVAILABLE]")
        if code != 220:
            raise smtplib.SMTPResponseException(code, b"XCLIENT refused: " + msg)
        smtp.ehlo("drill.invalid")
    if starttls:
        smtp.starttls()
        smtp.ehlo("drill.invalid")
    smtp.login(user, password)
    return smtp


def via_smtp(attack: Attack, host: str, port: int, user: str, password: str, *,
             xclient: bool = True, starttls: bool = False) -> DrillResult:
    """Submit the attack through SMTP AUTH; held messages are counted afterwards."""
    result = DrillResult()
    start = time.monotonic()
    smtp = _smtp_session(host, port, attack, user, password, xclient, starttls)
    try:
        for i in range(attack.count):
            attack.pace(start, i)
            msg = EmailMessage()
            msg["From"], msg["To"] = attack.sender, ", ".join(attack.recipients(i))
            msg["Subject"] = f"Mailwarden fire drill {i}"
            msg.set_content("This is a Mailwarden fire drill message. It should be held.\n")
            result.sent += 1
            queue_id = _transaction(smtp, attack.sender, attack.recipients(i), msg.as_bytes())
            if queue_id is None:
                result.refused += 1
                continue
            result.accepted += 1
            result.queue_ids.append(queue_id)
    finally:
        smtp.quit()
    result.seconds = time.monotonic() - start
    return result


def _transaction(smtp: smtplib.SMTP, sender: str, rcpts: list[str], data: bytes) -> str | None:
    """One SMTP transaction; the queue id from the reply to DATA, or None if refused."""
    code, _ = smtp.mail(sender)
    if code != 250:
        smtp.rset()
        return None
    if not any(smtp.rcpt(r)[0] in (250, 251) for r in rcpts):
        smtp.rset()
        return None
    code, reply = smtp.data(data)
    if code != 250:
        return None
    found = QUEUED.search(reply)
    return found.group(1).decode() if found else ""


def postqueue_held(config_dir: str | None) -> set[str]:
    """Queue ids in Postfix's hold queue (``postqueue -j``)."""
    cmd = ["postqueue", "-j"] if not config_dir else ["postqueue", "-c", config_dir, "-j"]
    out = subprocess.run(cmd, capture_output=True, check=True, timeout=60).stdout
    held = set()
    for line in out.splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if entry.get("queue_name") == "hold":
            held.add(str(entry.get("queue_id")))
    return held
