"""A sink SMTP server (aiosmtpd in a thread) that records every message Postfix relays to it."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from typing import Any

from aiosmtpd.controller import Controller

from .common import LOOPBACK, free_port, wait_for


@dataclass(frozen=True)
class ReceivedMessage:
    """One message as the sink received it: envelope and the raw bytes of the DATA phase."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    content: bytes

    def message(self) -> EmailMessage:
        """The content parsed as an email message (headers added by Postfix included)."""
        parsed = BytesParser(policy=policy.default).parsebytes(self.content)
        assert isinstance(parsed, EmailMessage)
        return parsed

    @property
    def subject(self) -> str:
        """The Subject header, or '' when absent."""
        return str(self.message().get("Subject", ""))


class _Recorder:
    """aiosmtpd handler: hands each DATA to the sink."""

    def __init__(self, sink: SinkServer) -> None:
        self._sink = sink

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        content = envelope.original_content or envelope.content or b""
        if isinstance(content, str):
            content = content.encode("utf-8", "surrogateescape")
        return self._sink.record(
            ReceivedMessage(str(envelope.mail_from), tuple(envelope.rcpt_tos), bytes(content))
        )


class SinkServer:
    """SMTP server on 127.0.0.1:port that records messages; `reply` sets the answer to DATA."""

    def __init__(self, port: int | None = None) -> None:
        self.host = LOOPBACK
        self.port = port or free_port()
        self.reply = "250 2.0.0 OK: recorded"
        self._messages: list[ReceivedMessage] = []
        self._lock = threading.Lock()
        self._controller = Controller(_Recorder(self), hostname=self.host, port=self.port)
        self._running = False

    def __repr__(self) -> str:
        return f"SinkServer({self.host}:{self.port}, {len(self.messages)} messages)"

    def start(self) -> SinkServer:
        """Start listening (returns self)."""
        self._controller.start()
        self._running = True
        return self

    def stop(self) -> None:
        """Stop listening; safe to call twice."""
        if self._running:
            self._running = False
            self._controller.stop()

    def record(self, message: ReceivedMessage) -> str:
        """Store a message only when the configured reply accepts it; return that reply."""
        reply = self.reply
        if reply.startswith("2"):
            with self._lock:
                self._messages.append(message)
        return reply

    @property
    def messages(self) -> list[ReceivedMessage]:
        """A copy of the messages received so far, oldest first."""
        with self._lock:
            return list(self._messages)

    def clear(self) -> None:
        """Forget the messages received so far."""
        with self._lock:
            self._messages.clear()

    def wait_for_messages(self, count: int = 1, timeout: float = 10.0) -> list[ReceivedMessage]:
        """Wait until at least count messages arrived and return all of them."""

        def enough() -> list[ReceivedMessage]:
            got = self.messages
            return got if len(got) >= count else []

        return wait_for(enough, timeout, what=f"{count} message(s) at the sink {self.port}")
