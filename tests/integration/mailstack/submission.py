"""An SMTP submission client for the tests: optional XCLIENT, SASL AUTH, returns the queue id."""

from __future__ import annotations

import re
import smtplib
import uuid
from collections.abc import Sequence
from email.message import EmailMessage
from email.utils import formatdate

_QUEUED_AS = re.compile(rb"queued as ([0-9A-Za-z]+)")


def build_message(sender: str, rcpts: Sequence[str], subject: str, body: str) -> bytes:
    """A small RFC 5322 message with Date and Message-ID."""
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = ", ".join(rcpts)
    msg["Subject"] = subject
    msg["Date"] = formatdate(localtime=True)
    msg["Message-ID"] = f"<{uuid.uuid4().hex}@mailwarden.test>"
    msg.set_content(body)
    return msg.as_bytes()


def xclient(smtp: smtplib.SMTP, addr: str, name: str, helo: str) -> None:
    """Send XCLIENT ADDR=... NAME=..., then EHLO again (XCLIENT restarts the session)."""
    code, reply = smtp.docmd("XCLIENT", f"ADDR={addr} NAME={name}")
    if code != 220:
        raise smtplib.SMTPResponseException(code, reply)
    smtp.ehlo(helo)


def authenticate(smtp: smtplib.SMTP, user: str, password: str, mechanism: str) -> None:
    """One AUTH attempt with the given mechanism (PLAIN or LOGIN); SMTPAuthenticationError on 535.

    smtplib's login() would try every mechanism in turn, so a wrong password would count twice.
    """
    if not smtp.has_extn("auth"):
        raise smtplib.SMTPNotSupportedError("the server does not offer AUTH")
    smtp.user, smtp.password = user, password
    auth_object = {"PLAIN": smtp.auth_plain, "LOGIN": smtp.auth_login}[mechanism.upper()]
    smtp.auth(mechanism.upper(), auth_object, initial_response_ok=True)


def send_envelope(smtp: smtplib.SMTP, sender: str, rcpts: Sequence[str], data: bytes) -> str:
    """MAIL, RCPT each, DATA; the queue id from '250 ... queued as ID'.

    Raises SMTPSenderRefused, SMTPRecipientsRefused (when every recipient is refused; the
    refusals are in .recipients) or SMTPDataError, as smtplib does.
    """
    code, reply = smtp.mail(sender)
    if code != 250:
        raise smtplib.SMTPSenderRefused(code, reply, sender)
    refused: dict[str, tuple[int, bytes]] = {}
    for rcpt in rcpts:
        code, reply = smtp.rcpt(rcpt)
        if code not in (250, 251):
            refused[rcpt] = (code, reply)
    if len(refused) == len(rcpts):
        smtp.rset()
        raise smtplib.SMTPRecipientsRefused(refused)
    code, reply = smtp.data(data)  # raises SMTPDataError on a non-250 answer
    match = _QUEUED_AS.search(reply)
    if match is None:
        raise smtplib.SMTPResponseException(code, b"no queue id in: " + reply)
    return match.group(1).decode()


def submit(
    host: str,
    port: int,
    user: str | None,
    password: str | None,
    sender: str,
    rcpts: Sequence[str],
    *,
    xclient_addr: str | None = None,
    xclient_name: str = "[UNAVAILABLE]",
    helo: str = "client.mailwarden.test",
    subject: str = "mailwarden test",
    body: str = "Hello from the Mailwarden integration tests.\n",
    message: bytes | None = None,
    auth_mechanism: str = "PLAIN",
    timeout: float = 30.0,
) -> str:
    """Submit one message and return its Postfix queue id; user=None skips AUTH.

    message replaces the generated one (then subject and body are unused).
    """
    data = message if message is not None else build_message(sender, rcpts, subject, body)
    with smtplib.SMTP(host, port, local_hostname=helo, timeout=timeout) as smtp:
        smtp.ehlo(helo)
        if xclient_addr is not None:
            xclient(smtp, xclient_addr, xclient_name, helo)
        if user is not None:
            authenticate(smtp, user, password or "", auth_mechanism)
        return send_envelope(smtp, sender, rcpts, data)
