"""Postfix policy delegation (SMTPD_POLICY_README): framing and parsing only.

A request is ``name=value`` lines ended by an empty line; the answer is ``action=...`` and an
empty line; the connection stays open for the next request. A request that is too large, has
too many attributes or a line without ``=`` is malformed: the connection is closed without a
reply, as the protocol asks. Any error of the handler answers DUNNO, so Postfix goes on.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import cast

log = logging.getLogger("mailwarden.policy")

Handler = Callable[[dict[str, str]], str]
FALLBACK = b"action=DUNNO\n\n"


class MalformedRequest(ValueError):
    """A policy request that breaks the protocol; names what was wrong."""


def parse_request(block: bytes, max_attributes: int) -> dict[str, str]:
    """Parse one request (without its terminating empty line) into attributes.

    Unknown attributes are kept (the handler ignores what it does not know); a repeated
    attribute keeps its last value; invalid UTF-8 is replaced, never fatal.
    """
    lines = block.decode("utf-8", "replace").split("\n")
    if len(lines) > max_attributes:
        raise MalformedRequest(f"{len(lines)} attributes, more than {max_attributes}")
    try:
        attrs: dict[str, str] | None = dict(line.split("=", 1) for line in lines)
    except ValueError:  # a line without "="
        attrs = None
    if attrs is None or "" in attrs:
        for number, line in enumerate(lines, 1):
            if "=" not in line or line.startswith("="):
                raise MalformedRequest(f"line {number}: not name=value: {line[:60]!r}")
    assert attrs is not None
    return attrs


def format_reply(action: str) -> bytes:
    """One reply; newlines inside the action are flattened so a reason cannot break framing."""
    clean = " ".join(action.split())
    return b"action=" + clean.encode("utf-8", "replace") + b"\n\n"


class PolicyProtocol(asyncio.Protocol):
    """One Postfix connection: many requests, one at a time."""

    def __init__(self, server: PolicyServer) -> None:
        self.server = server
        self.buffer = bytearray()
        self.transport: asyncio.Transport | None = None
        self.last_active = time.monotonic()
        self.peer_full = False  # the peer does not read our answers (pause_writing)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement asyncio.Transport without subclassing it
        self.transport = cast(asyncio.Transport, transport)
        self.server.connections.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.server.connections.discard(self)

    def pause_writing(self) -> None:
        """The peer is not reading our answers: read nothing more from it until it does
        (the requests already read are answered then, none is dropped)."""
        self.peer_full = True
        if self.transport is not None and not self.transport.is_closing():
            self.transport.pause_reading()

    def resume_writing(self) -> None:
        self.peer_full = False
        transport = self.transport
        if transport is None or transport.is_closing():
            return
        try:
            self._answer_buffered()
        except Exception:  # only asyncio's handler would see it, leaving the peer paused
            log.exception("policy connection: internal error; closing it (Postfix fails open)")
            transport.abort()
            return
        if not self.peer_full and not transport.is_closing():
            transport.resume_reading()

    def data_received(self, data: bytes) -> None:
        self.last_active = time.monotonic()
        self.buffer += data
        self._answer_buffered()

    def _answer_buffered(self) -> None:
        """Answer the complete requests in the buffer, until the peer stops reading."""
        server = self.server
        while not self.peer_full:
            end = self.buffer.find(b"\n\n")
            if end < 0:
                if len(self.buffer) > server.max_request_bytes:
                    self._malformed(MalformedRequest("request larger than the limit"))
                return
            if end > server.max_request_bytes:
                self._malformed(MalformedRequest("request larger than the limit"))
                return
            block = bytes(self.buffer[:end])
            del self.buffer[: end + 2]
            try:
                attrs = parse_request(block, server.max_attributes)
            except MalformedRequest as exc:
                self._malformed(exc)
                return
            assert self.transport is not None
            self.transport.write(server.answer(attrs))

    def _malformed(self, exc: MalformedRequest) -> None:
        log.warning("closing policy connection: malformed request: %s", exc)
        self.buffer.clear()
        self.shut()

    def shut(self) -> None:
        """Close; a peer not reading our answers is aborted (a close would wait for it)."""
        if self.transport is not None:
            if self.peer_full:
                self.transport.abort()
            else:
                self.transport.close()


class PolicyServer:
    """The listening side; ``handler`` decides, this class only frames."""

    def __init__(
        self,
        handler: Handler,
        *,
        max_request_bytes: int = 16384,
        max_attributes: int = 128,
        idle_timeout: float = 600.0,
    ) -> None:
        self.handler = handler
        self.max_request_bytes = max_request_bytes
        self.max_attributes = max_attributes
        self.idle_timeout = idle_timeout
        self.connections: set[PolicyProtocol] = set()
        self.server: asyncio.Server | None = None

    def answer(self, attrs: dict[str, str]) -> bytes:
        try:
            action = self.handler(attrs)
            return FALLBACK if action == "DUNNO" else format_reply(action)
        except Exception:
            log.exception("policy handler failed; answering DUNNO")
            return FALLBACK

    async def start(self, host: str, port: int) -> tuple[str, int]:
        loop = asyncio.get_running_loop()
        self.server = await loop.create_server(
            lambda: PolicyProtocol(self), host, port, reuse_address=True
        )
        sock = self.server.sockets[0].getsockname()
        return str(sock[0]), int(sock[1])

    def close_idle(self) -> None:
        horizon = time.monotonic() - self.idle_timeout
        for conn in list(self.connections):
            if conn.last_active < horizon:
                conn.shut()

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            for conn in list(self.connections):
                conn.shut()
            await self.server.wait_closed()
