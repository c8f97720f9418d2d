"""The milter server: Postfix connects, sends each message's envelope, header and body, and
asks at its end what to do. Framing and the protocol only; a handler decides.

The handler runs in worker threads, so this event loop (which also answers Postfix policy
and Dovecot auth policy requests) never waits for an analysis. While it runs, the
connection reads nothing more and sends PROGRESS every few seconds. It fails open: a handler
that raises or is slower than ``timeout`` lets the message pass (the handler's ``unchecked``
answer, or a bare CONTINUE), and a peer that breaks the protocol is disconnected, so that
Postfix applies its ``milter_default_action`` (to be ``accept``).

Memory: all connections share one budget of buffered mail (``max_buffered_bytes``); a
message that does not fit is analysed on what was read (the session marks it truncated). A
message's bytes go back to the budget when its analysis is over (also one that went on after
the timeout, or was cancelled before it started), or when it is aborted or its connection lost.
Outside the budget a connection holds the packet it is framing (at most ``max_packet``), the
packets of one read not yet handled (at most the transport's read size, 256 KiB; only from a
peer that does not wait for answers, as Postfix does), the replies not yet sent (up to the
write buffer's high-water mark, 64 KiB) and its envelope (bounded by the session: recipients,
macros); ``max_connections`` bounds how many connections do, so the memory for mail is at most
about max_connections × MAX_PACKET + max_buffered_bytes (200 × 1 MiB + 256 MiB by default),
plus the envelopes and those reads and replies (about 320 KiB a connection). A connection beyond
``max_connections`` is closed as soon as it is accepted, before any packet is read or
answered: Postfix applies its ``milter_default_action`` to that session (with ``accept``, as
the docs ask, its mail passes unchecked) and nothing waits for a free slot; the refusals are
logged at most once a minute, with their count. A peer that does not read the replies (the
transport's write buffer over its high-water mark) is not read from either until it does, and
is aborted (its unsent replies dropped) once idle for ``idle_timeout``: a plain close would
wait for it to read them, and hold its slot for ever.

Fail open: an unexpected error while handling a connection is logged with its traceback and
the connection is closed, so that the MTA applies its ``milter_default_action`` at once rather
than waiting for a reply until its own milter timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Protocol, cast

from mailwarden.sources import milter_codec as mc
from mailwarden.sources.milter_budget import ConnectionLimit, MemoryBudget
from mailwarden.sources.milter_codec import MilterProtocolError, Packet, PacketReader
from mailwarden.sources.milter_session import MilterActions, MilterMessage, Session

log = logging.getLogger("mailwarden.milter")
PROGRESS_SECONDS = 5.0
REAP_SECONDS = 30.0
MAX_BUFFERED_BYTES = 256 * 1024 * 1024


class MilterHandler(Protocol):
    """Decides about a message (runs in a worker thread)."""

    def decide(self, message: MilterMessage) -> MilterActions:
        """The actions for a complete message."""

    def unchecked(self, message: MilterMessage, why: str) -> MilterActions:
        """The actions when no decision came (``why``: timeout, error); must be quick."""


class MilterConnection(asyncio.Protocol):
    """One connection from the MTA: packets in order, one decision at a time."""

    def __init__(self, server: MilterServer) -> None:
        self.server = server
        self.reader = PacketReader(server.max_packet)
        self.session = Session(server.max_message_bytes, server.watch, server.budget)
        self.pending: deque[Packet] = deque()
        self.transport: asyncio.Transport | None = None
        self.deciding: asyncio.Task[None] | None = None
        self.work: Future[MilterActions] | None = None  # the analysis of ``deciding``
        self.last_active = time.monotonic()
        self.refused = False  # closed at once: max_connections were open
        self.peer_full = False  # the peer does not read our replies (pause_writing)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, but behave as one
        self.transport = cast(asyncio.Transport, transport)
        if not self.server.limit.admits(len(self.server.connections)):
            self.refused = True
            self.transport.close()  # before a byte is read or written
            return
        self.server.connections.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.server.connections.discard(self)
        self.pending.clear()
        self.session.close()  # a message being collected gives its bytes back
        if self.work is not None:
            self.work.cancel()  # one still waiting for a worker is dropped (and gives back)
        if self.deciding is not None:
            self.deciding.cancel()

    def data_received(self, data: bytes) -> None:
        if self.refused:
            return
        self.last_active = time.monotonic()
        try:
            self.pending.extend(self.reader.feed(data))
            self._drain()
        except MilterProtocolError as exc:
            self._broken(exc)
        except Exception:
            self._failed("handling packets")

    def pause_writing(self) -> None:
        """The peer is not reading our replies: read nothing more from it until it does."""
        self.peer_full = True
        if self.transport is not None and not self.transport.is_closing():
            self.transport.pause_reading()

    def resume_writing(self) -> None:
        self.peer_full = False
        self._proceed()

    def _drain(self) -> None:
        """Handle queued packets until one needs a decision, the peer stops reading our
        replies, or the connection ends."""
        transport = self.transport
        while (self.pending and self.deciding is None and not self.peer_full and transport
               and not transport.is_closing()):
            step = self.session.receive(self.pending.popleft())
            if step.reply:
                transport.write(step.reply)
            if step.close:
                transport.close()
            elif step.message is not None:
                transport.pause_reading()  # nothing more until this one is answered
                self.work = self.server.submit(step.message)
                self.deciding = asyncio.get_running_loop().create_task(
                    self._decide(step.message, self.work))

    def _broken(self, exc: MilterProtocolError) -> None:
        log.warning("milter: closing connection: %s", exc)
        self._end()

    def _failed(self, doing: str) -> None:
        """An internal error (a bug, not the peer's): log it with its traceback and close the
        connection without a reply, as for a broken peer. Fail open: the MTA then applies its
        ``milter_default_action`` to the session at once (``accept``: the mail passes
        unchecked), where a connection left paused would make it wait for its milter timeout.
        Called from an ``except`` block."""
        log.exception("milter: internal error %s; closing the connection (the MTA applies its "
                      "milter_default_action)", doing)
        self._end()

    def _end(self) -> None:
        """Drop what is queued and close; a peer not reading our replies is aborted, since a
        close would wait for it to read them."""
        self.pending.clear()
        self.reader.buffer.clear()
        if self.transport is not None:
            if self.peer_full:
                self.transport.abort()
            else:
                self.transport.close()

    async def _decide(self, message: MilterMessage, work: Future[MilterActions]) -> None:
        actions = await self.server.decide(message, work, self._progress)
        self.deciding = self.work = None
        transport = self.transport
        if transport is None or transport.is_closing():
            return
        try:
            transport.write(self.session.finish(actions))
        except Exception:
            self._failed("answering a message")
            return
        self.last_active = time.monotonic()
        self._proceed()

    def _proceed(self) -> None:
        """Handle the packets queued meanwhile, then read again unless a decision is pending
        or the peer is not reading our replies. Runs from the transport's ``resume_writing``
        and at the end of a decision, where an exception would only reach asyncio's handler
        and leave the connection paused: every one closes the connection instead."""
        try:
            self._drain()
            transport = self.transport
            if (self.deciding is None and not self.peer_full and transport is not None
                    and not transport.is_closing()):
                transport.resume_reading()
        except MilterProtocolError as exc:
            self._broken(exc)
        except Exception:
            self._failed("handling queued packets")

    def shut(self) -> None:
        """End the connection now (idle, or the server stopping): abort it when the peer is
        not reading our replies or some are still unsent (a close would wait to send them, for
        ever if the peer never reads, and keep the connection in ``server.connections``, its
        ``max_connections`` slot taken), else close it."""
        transport = self.transport
        if transport is None:
            return
        if self.peer_full or transport.get_write_buffer_size():
            transport.abort()
        else:
            transport.close()

    def _progress(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(mc.encode(mc.R_PROGRESS))


class MilterServer:
    """The listening side; ``handler`` decides, this class only frames."""

    def __init__(self, handler: MilterHandler, *, max_message_bytes: int, timeout: float,
                 idle_timeout: float = 600.0, workers: int = 2, max_connections: int = 200,
                 watch: tuple[str, ...] = (), max_packet: int = mc.MAX_PACKET,
                 max_buffered_bytes: int = MAX_BUFFERED_BYTES) -> None:
        self.handler = handler
        self.max_message_bytes = max_message_bytes
        self.budget = MemoryBudget(max_buffered_bytes)
        self.limit = ConnectionLimit(max_connections)
        self.timeout = timeout
        self.idle_timeout = idle_timeout
        self.watch = watch
        self.max_packet = max_packet
        self.pool = ThreadPoolExecutor(workers, "mailwarden-milter")
        self.connections: set[MilterConnection] = set()
        self.server: asyncio.Server | None = None
        self._reaper: asyncio.Task[None] | None = None

    def submit(self, message: MilterMessage) -> Future[MilterActions]:
        """Hand ``message`` to a worker thread; its bytes go back to the memory budget when
        that work is over (decided, failed, or cancelled before it started)."""
        try:
            work = self.pool.submit(self.handler.decide, message)
        except RuntimeError as exc:  # the pool is shut down: the server is stopping
            work = Future()
            work.set_exception(exc)
        work.add_done_callback(lambda _: message.release())
        return work

    async def decide(self, message: MilterMessage, work: Future[MilterActions],
                     progress: Callable[[], None]) -> MilterActions:
        """The handler's actions (``work``, from :meth:`submit`), or its ``unchecked`` ones on
        timeout or error."""
        loop = asyncio.get_running_loop()
        future = asyncio.wrap_future(work, loop=loop)
        deadline = loop.time() + self.timeout
        why = "timeout"
        while True:
            remaining = deadline - loop.time()
            done, _ = await asyncio.wait({future}, timeout=min(PROGRESS_SECONDS,
                                                                max(remaining, 0)))
            if done:
                try:
                    return future.result()
                except Exception:
                    log.exception("milter handler failed for %s; the message passes",
                                  message.queue_id or "a message")
                    why = "error"
                    break
            if remaining <= PROGRESS_SECONDS:
                future.cancel()  # a running analysis finishes in its thread, unused
                log.warning("milter: no verdict for %s within %.0f s; the message passes",
                            message.queue_id or "a message", self.timeout)
                break
            progress()
        return self._unchecked(message, why)

    def _unchecked(self, message: MilterMessage, why: str) -> MilterActions:
        try:
            return self.handler.unchecked(message, why)
        except Exception:
            log.exception("milter handler's unchecked answer failed")
            return MilterActions()

    async def start(self, host: str, port: int) -> tuple[str, int]:
        loop = asyncio.get_running_loop()
        self.server = await loop.create_server(lambda: MilterConnection(self), host, port,
                                               reuse_address=True)
        self._reaper = asyncio.create_task(self._reap())
        sock = self.server.sockets[0].getsockname()
        return str(sock[0]), int(sock[1])

    async def _reap(self) -> None:
        while True:
            await asyncio.sleep(min(REAP_SECONDS, self.idle_timeout))
            self.close_idle()

    def close_idle(self) -> None:
        """Close connections idle longer than ``idle_timeout`` (not those being decided)."""
        horizon = time.monotonic() - self.idle_timeout
        for conn in list(self.connections):
            if conn.last_active < horizon and conn.deciding is None:
                conn.shut()

    async def stop(self) -> None:
        if self._reaper is not None:
            self._reaper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reaper
        if self.server is not None:
            self.server.close()
            for conn in list(self.connections):
                conn.shut()
            await self.server.wait_closed()
        self.pool.shutdown(wait=False, cancel_futures=True)
