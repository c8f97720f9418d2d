"""The mail-stack fixtures drive real Postfix and Dovecot: submission, SASL, policy, XCLIENT."""

from __future__ import annotations

import asyncio
import smtplib
import threading
from collections.abc import Iterator

import pytest
from mailstack import MailStack, free_port
from mailstack.common import require_program
from mailstack.factories import MailStackFactory

USER = "alice@mailwarden.test"
PASSWORD = "correct horse battery staple"
RCPT = "bob@example.org"
OVERSEAS = "200.147.67.142"


class PolicyServer:
    """A tiny Postfix policy server: answers `action` to every request and records requests."""

    def __init__(self, action: str) -> None:
        self.action = action
        self.port = free_port()
        self.requests: list[dict[str, str]] = []
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._stopping: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._loop.run_until_complete, args=(self._main(),))

    async def _main(self) -> None:
        self._stopping = asyncio.Event()
        server = await asyncio.start_server(self._session, "127.0.0.1", self.port)
        self._ready.set()
        async with server:
            await self._stopping.wait()

    async def _session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        request: dict[str, str] = {}
        while line := await reader.readline():
            text = line.decode("utf-8", "replace").rstrip("\r\n")
            if text:
                name, _, value = text.partition("=")
                request[name] = value
                continue
            self.requests.append(request)
            request = {}
            writer.write(f"action={self.action}\n\n".encode())
            await writer.drain()
        writer.close()

    def start(self) -> PolicyServer:
        self._thread.start()
        if not self._ready.wait(5):
            raise RuntimeError("policy server did not start")
        return self

    def stop(self) -> None:
        if self._stopping is not None:
            self._loop.call_soon_threadsafe(self._stopping.set)
        self._thread.join(5)


@pytest.fixture
def hold_policy() -> Iterator[PolicyServer]:
    """A policy server answering HOLD to everything."""
    server = PolicyServer("HOLD test").start()
    yield server
    server.stop()


@pytest.fixture
def stack(mailstack_factory: MailStackFactory) -> MailStack:
    """Postfix + Dovecot + sink without a policy service."""
    return mailstack_factory({USER: PASSWORD})


def test_authenticated_submission_reaches_sink(stack: MailStack) -> None:
    """A SASL-authenticated submission is relayed by Postfix to the sink with its envelope."""
    queue_id = stack.postfix.submit(USER, PASSWORD, USER, [RCPT], subject="hello sink")
    [received] = stack.sink.wait_for_messages(1)
    assert received.mail_from == USER
    assert received.rcpt_tos == (RCPT,)
    assert received.subject == "hello sink"
    assert queue_id in received.content.decode()  # Postfix's Received: header names the queue id


def test_sha512_crypt_password_authenticates(mailstack_factory: MailStackFactory) -> None:
    """Dovecot users stored as SHA512-CRYPT authenticate through Postfix."""
    stack = mailstack_factory({USER: PASSWORD}, scheme="SHA512-CRYPT")
    assert "{SHA512-CRYPT}$6$" in stack.dovecot.passwd_path.read_text()
    stack.postfix.submit(USER, PASSWORD, USER, [RCPT])
    assert len(stack.sink.wait_for_messages(1)) == 1


def test_wrong_password_is_refused(stack: MailStack) -> None:
    """A wrong password gets 535 from Postfix (via Dovecot) and nothing reaches the sink."""
    with pytest.raises(smtplib.SMTPAuthenticationError) as refused:
        stack.postfix.submit(USER, "wrong password", USER, [RCPT])
    assert refused.value.smtp_code == 535
    stack.postfix.wait_for_log("SASL PLAIN authentication failed")
    assert stack.sink.messages == []


def test_unauthenticated_relay_is_refused(stack: MailStack) -> None:
    """Without AUTH the recipient is rejected (permit_sasl_authenticated, reject)."""
    with pytest.raises(smtplib.SMTPRecipientsRefused):
        stack.postfix.submit(None, None, USER, [RCPT])


def test_policy_hold_puts_mail_in_hold_queue(
    mailstack_factory: MailStackFactory, hold_policy: PolicyServer
) -> None:
    """A policy answer HOLD leaves the message in the hold queue, not at the sink."""
    stack = mailstack_factory({USER: PASSWORD}, policy=hold_policy.port)
    queue_id = stack.postfix.submit(USER, PASSWORD, USER, [RCPT])
    [entry] = stack.postfix.postqueue_json()
    assert (entry["queue_id"], entry["queue_name"]) == (queue_id, "hold")
    assert entry["sender"] == USER
    assert [r["address"] for r in entry["recipients"]] == [RCPT]
    stack.postfix.flush()
    assert stack.postfix.queue_ids("hold") == [queue_id]
    assert stack.sink.messages == []
    states = [r.get("protocol_state") for r in hold_policy.requests]
    assert states == ["RCPT", "END-OF-MESSAGE"]


def test_released_mail_reaches_sink(
    mailstack_factory: MailStackFactory, hold_policy: PolicyServer
) -> None:
    """postsuper -H releases a held message and it is then delivered to the sink."""
    stack = mailstack_factory({USER: PASSWORD}, policy=hold_policy.port)
    queue_id = stack.postfix.submit(USER, PASSWORD, USER, [RCPT])
    stack.postfix.postsuper("-H", "-", queue_ids=[queue_id])
    stack.postfix.flush()
    assert len(stack.sink.wait_for_messages(1)) == 1
    stack.postfix.wait_for(lambda: stack.postfix.postqueue_json() == [], what="empty queue")


def test_set_policy_switches_service_at_runtime(
    mailstack_factory: MailStackFactory, hold_policy: PolicyServer
) -> None:
    """set_policy() reloads Postfix: first without policy (delivered), then HOLD (held)."""
    stack = mailstack_factory({USER: PASSWORD})
    stack.postfix.submit(USER, PASSWORD, USER, [RCPT])
    stack.sink.wait_for_messages(1)
    stack.postfix.set_policy(hold_policy.port)
    queue_id = stack.postfix.submit(USER, PASSWORD, USER, [RCPT])
    assert stack.postfix.queue_ids("hold") == [queue_id]
    assert len(stack.sink.messages) == 1


def test_policy_server_down_fails_open(mailstack_factory: MailStackFactory) -> None:
    """With the policy service on a closed port, mail still reaches the sink (DUNNO)."""
    stack = mailstack_factory({USER: PASSWORD}, policy=f"inet:127.0.0.1:{free_port()}")
    stack.postfix.submit(USER, PASSWORD, USER, [RCPT])
    assert len(stack.sink.wait_for_messages(1)) == 1
    stack.postfix.wait_for_log("problem talking to server")


def test_xclient_address_reaches_policy_request(
    mailstack_factory: MailStackFactory,
) -> None:
    """XCLIENT ADDR= sets the client address Postfix reports in policy requests."""
    policy = PolicyServer("DUNNO").start()
    try:
        stack = mailstack_factory({USER: PASSWORD}, policy=policy.port)
        stack.postfix.submit(USER, PASSWORD, USER, [RCPT], xclient_addr=OVERSEAS)
        stack.sink.wait_for_messages(1)
    finally:
        policy.stop()
    assert [r["client_address"] for r in policy.requests] == [OVERSEAS, OVERSEAS]
    assert {r["sasl_username"] for r in policy.requests} == {USER}
    assert len({r["instance"] for r in policy.requests}) == 1


def test_imap_login_with_originating_ip(stack: MailStack) -> None:
    """IMAP LOGIN works, and ID x-originating-ip from loopback shows up as the remote address."""
    assert stack.dovecot.imap_login(USER, PASSWORD, originating_ip="203.0.113.9")
    assert not stack.dovecot.imap_login(USER, "wrong password")
    lines = stack.dovecot.log_lines()
    assert any("rip=203.0.113.9" in line for line in lines)


def test_instances_do_not_clash(mailstack_factory: MailStackFactory) -> None:
    """Two stacks run side by side with their own ports, queues and sinks."""
    first = mailstack_factory({USER: PASSWORD})
    second = mailstack_factory({USER: PASSWORD})
    assert first.postfix.port != second.postfix.port
    first.postfix.submit(USER, PASSWORD, USER, ["one@example.org"])
    second.postfix.submit(USER, PASSWORD, USER, ["two@example.org"])
    assert first.sink.wait_for_messages(1)[0].rcpt_tos == ("one@example.org",)
    assert second.sink.wait_for_messages(1)[0].rcpt_tos == ("two@example.org",)


def test_missing_component_skips_or_fails_in_strict_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    """A missing program skips the test locally and fails it under MAILWARDEN_STRICT=1."""
    monkeypatch.delenv("MAILWARDEN_STRICT", raising=False)
    with pytest.raises(pytest.skip.Exception, match="no-such-mta"):
        require_program("no-such-mta", "no-such-package")
    monkeypatch.setenv("MAILWARDEN_STRICT", "1")
    with pytest.raises(pytest.fail.Exception, match="MAILWARDEN_STRICT=1"):
        require_program("no-such-mta", "no-such-package")
