"""What bounds the milter's memory besides the budget of mail, against a real server on
loopback: ``[milter] max_connections`` (a connection over it is closed before any packet, the
others go on, a freed slot is used again; refusals are logged at most once a minute with their
count), a peer that does not read its replies is not read from either (and loses nothing),
yet is aborted once idle, or when the server stops, so it cannot hold a slot for ever, an
internal error closes the connection instead of leaving it paused (fail open), and MACRO
packets cannot grow a connection."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, cast

import pytest
import uvloop
from tests.unit.milter_mta import Accept, Mta, conversation, negotiated, optneg, serve

from mailwarden.config import ConfigError, load
from mailwarden.sources import milter_budget
from mailwarden.sources import milter_codec as mc
from mailwarden.sources.milter import MilterConnection, MilterServer
from mailwarden.sources.milter_budget import ConnectionLimit
from mailwarden.sources.milter_codec import Packet, PacketReader, encode
from mailwarden.sources.milter_session import Session

SIMPLE = b"From: a@sender.example\r\nSubject: hello\r\n\r\nHello.\r\n"


def run(scenario: Callable[[int, MilterServer], Awaitable[Any]], loop: str = "asyncio",
        **options: Any) -> Any:
    """``scenario`` against a server that accepts everything, on asyncio's event loop or on
    uvloop's (as ``mailwarden serve`` runs)."""
    factory = uvloop.new_event_loop if loop == "uvloop" else None  # a dependency
    return serve(scenario, Accept(), timeout=5.0, within=30.0, loop_factory=factory, **options)


LOOPS = pytest.mark.parametrize("loop", ["asyncio", "uvloop"])


async def works(mta: Mta) -> bool:
    """One message through ``mta``: decided and answered."""
    replies = await mta.deliver(conversation(SIMPLE))
    return [p.code for p in replies] == [mc.R_ADDHEADER, mc.R_CONTINUE]


async def everything_sent_back(mta: Mta) -> bytes:
    """All the server sends until it closes the connection (a reset counts as closed)."""
    got = b""
    with contextlib.suppress(ConnectionError):
        await mta.send(optneg())
        while data := await asyncio.wait_for(mta.reader.read(65536), 5):
            got += data
    return got


async def until(condition: Callable[[], bool], seconds: float = 5.0) -> None:
    for _ in range(int(seconds / 0.01)):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition not reached")


STALL = 60_000  # empty BODY packets, each answered with CONTINUE (5 bytes)


async def stalled(port: int, server: MilterServer) -> tuple[Mta, MilterConnection]:
    """A negotiated peer that sends STALL packets and reads none of the replies (not even
    into its stream's buffer), on small socket buffers at both ends: returned once the server
    holds replies it cannot send (``peer_full``). ``reading(mta, True)`` ends the stall."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", port))
    mta = Mta(*await asyncio.open_connection(sock=sock))
    await mta.send(optneg())
    assert (await mta.reply()).code == mc.OPTNEG
    [conn] = server.connections
    assert conn.transport is not None
    conn.transport.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF,
                                                       4096)
    reading(mta, False)
    mta.writer.write(encode(mc.BODY) * STALL)
    await until(lambda: conn.peer_full)
    return mta, conn


def reading(mta: Mta, on: bool) -> None:
    """Let ``mta``'s transport read from its socket again, or stop it (uvloop's transports
    are no asyncio.Transport subclasses, but behave as one)."""
    transport = cast(asyncio.Transport, mta.writer.transport)
    if on:
        transport.resume_reading()
    else:
        transport.pause_reading()


# --- max_connections -------------------------------------------------------------------------

def test_a_connection_over_the_limit_is_closed_unanswered_and_a_freed_slot_is_used(
        caplog: pytest.LogCaptureFixture) -> None:
    """max_connections = 2: a third connection is closed without a byte of reply while the
    first two still carry mail; once one of them closes, a new connection is served."""

    async def scenario(port: int, server: MilterServer) -> None:
        first, second = await negotiated(port), await negotiated(port)
        third = await Mta.open(port)
        assert await everything_sent_back(third) == b""
        assert len(server.connections) == 2 and server.limit.refused == 1
        assert await works(first) and await works(second)
        first.close()
        await until(lambda: len(server.connections) == 1)
        fourth = await negotiated(port)
        assert await works(fourth) and await works(second)
        second.close()
        fourth.close()

    with caplog.at_level(logging.WARNING, logger="mailwarden.milter"):
        run(scenario, max_connections=2)
    [line] = [r.getMessage() for r in caplog.records if "max_connections" in r.getMessage()]
    assert "2 connections open (max_connections = 2): 1 new connection(s) closed" in line
    assert "milter_default_action" in line


def test_refusals_are_logged_at_most_once_a_minute_with_their_count(
        caplog: pytest.LogCaptureFixture) -> None:
    """The first refusal is logged at once; those within LOG_SECONDS are counted into the
    next line; connections under the limit are neither counted nor logged."""
    now = [1000.0]
    limit = ConnectionLimit(3, clock=lambda: now[0])
    with caplog.at_level(logging.WARNING, logger="mailwarden.milter"):
        assert limit.admits(0) and limit.admits(2)
        assert not limit.admits(3)
        now[0] += 10
        assert not limit.admits(3) and not limit.admits(4)
        assert len(caplog.records) == 1
        now[0] += milter_budget.LOG_SECONDS
        assert not limit.admits(3)
    lines = [r.getMessage() for r in caplog.records]
    assert limit.refused == 4 and len(lines) == 2
    assert "1 new connection(s)" in lines[0] and "3 new connection(s)" in lines[1]


def test_max_connections_is_a_positive_whole_number(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """200 by default; 0, a negative number, a fraction, a string or a boolean is a
    ConfigError naming the setting."""
    monkeypatch.delenv("MAILWARDEN_CONFIG", raising=False)
    path = tmp_path / "mailwarden.toml"
    path.write_text("[milter]\nmax_connections = 1\n")
    assert load(path).milter.max_connections == 1
    path.write_text("")
    assert load(path).milter.max_connections == 200
    for value, says in (("0", "must be at least 1"), ("-5", "must be at least 1"),
                        ("2.5", "expected int"), ('"200"', "expected int"),
                        ("true", "got a boolean")):
        path.write_text(f"[milter]\nmax_connections = {value}\n")
        with pytest.raises(ConfigError, match=f"milter.max_connections.*{says}"):
            load(path)


# --- a peer that does not read ---------------------------------------------------------------

@LOOPS
def test_a_peer_that_does_not_read_its_replies_is_not_read_from_and_loses_nothing(
        loop: str) -> None:
    """Replies pile up only to the transport's high-water mark: then the server stops reading
    that peer (its write buffer stays bounded); once the peer reads, every reply comes."""

    async def scenario(port: int, server: MilterServer) -> None:
        mta, conn = await stalled(port, server)
        await asyncio.sleep(0.2)
        assert conn.transport is not None
        assert conn.peer_full and conn.pending
        high = conn.transport.get_write_buffer_limits()[1]
        assert conn.transport.get_write_buffer_size() <= high + 5
        reading(mta, True)
        replies = [await mta.reply() for _ in range(STALL)]
        assert {p.code for p in replies} == {mc.R_CONTINUE}
        assert await works(mta) and not conn.peer_full
        mta.close()

    run(scenario, loop)


@LOOPS
def test_a_peer_that_never_reads_is_aborted_when_idle_and_its_slot_is_used_again(
        loop: str) -> None:
    """max_connections = 1, held by a peer that never reads its replies: once idle longer
    than idle_timeout it is aborted (a close would wait for it to read them, for ever), it
    leaves the server's connections at once, and a new connection gets the slot."""

    async def scenario(port: int, server: MilterServer) -> None:
        mta, conn = await stalled(port, server)
        assert conn.transport is not None and conn.transport.get_write_buffer_size()
        refused = await Mta.open(port)  # the slot is taken
        assert await everything_sent_back(refused) == b""
        await asyncio.sleep(server.idle_timeout + 0.1)
        server.close_idle()
        await until(lambda: not server.connections, seconds=2.0)
        fresh = await negotiated(port)
        assert await works(fresh)
        assert server.limit.refused == 1
        fresh.close()
        mta.close()

    run(scenario, loop, max_connections=1, idle_timeout=0.3)


@LOOPS
def test_stopping_the_server_aborts_a_peer_that_never_reads(loop: str) -> None:
    """stop() ends a connection whose replies cannot be sent, instead of waiting on it."""

    async def scenario(port: int, server: MilterServer) -> None:
        mta, _ = await stalled(port, server)
        await server.stop()
        await until(lambda: not server.connections, seconds=2.0)
        mta.close()

    run(scenario, loop)


# --- internal errors fail open ---------------------------------------------------------------

def crash(*_: Any) -> Any:
    raise RuntimeError("a bug")


@LOOPS
def test_an_error_when_the_peer_reads_again_closes_the_connection(
        loop: str, caplog: pytest.LogCaptureFixture) -> None:
    """The packets queued while the peer was not reading are handled when it reads again
    (resume_writing, called by the transport): an error there closes the connection, logged
    with its traceback, rather than leaving it paused for the MTA's milter timeout."""

    async def scenario(port: int, server: MilterServer) -> None:
        mta, conn = await stalled(port, server)
        conn.session.receive = crash  # type: ignore[method-assign]
        reading(mta, True)
        assert await mta.closed(timeout=5.0)  # after the replies sent so far
        await until(lambda: not server.connections)

    with caplog.at_level(logging.ERROR, logger="mailwarden.milter"):
        run(scenario, loop)
    [record] = [r for r in caplog.records if "internal error" in r.getMessage()]
    assert record.exc_info is not None and "a bug" in str(record.exc_info[1])
    assert "milter_default_action" in record.getMessage()


@LOOPS
def test_an_error_answering_a_decision_closes_the_connection(
        loop: str, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    """An error while the decided actions are turned into replies closes the connection at
    once (the MTA applies milter_default_action) and is logged with its traceback; the server
    goes on serving others."""
    monkeypatch.setattr(Session, "finish", crash)

    async def scenario(port: int, server: MilterServer) -> None:
        mta = await negotiated(port)
        await mta.send(*conversation(SIMPLE))
        assert await mta.closed(timeout=5.0)
        await until(lambda: not server.connections)
        monkeypatch.undo()
        other = await negotiated(port)
        assert await works(other)
        other.close()

    with caplog.at_level(logging.ERROR, logger="mailwarden.milter"):
        run(scenario, loop)
    [record] = [r for r in caplog.records if "internal error" in r.getMessage()]
    assert record.exc_info is not None and "a bug" in str(record.exc_info[1])


def test_peer_full_and_a_decision_resume_reading_only_when_both_are_over() -> None:
    """A decision that ends while the peer is not reading does not resume reading; the peer
    reading again does, and handles what was queued."""
    paused: list[bool] = []

    class Transport:
        def is_closing(self) -> bool:
            return False

        def pause_reading(self) -> None:
            paused.append(True)

        def resume_reading(self) -> None:
            paused.append(False)

        def write(self, data: bytes) -> None:
            pass

    conn = MilterConnection(MilterServer(Accept(), max_message_bytes=4096, timeout=5.0))
    conn.transport = Transport()  # type: ignore[assignment]
    conn.pause_writing()
    conn._proceed()  # as after a decision
    assert paused == [True]
    conn.pending.append(Packet(mc.OPTNEG, PacketReader().feed(optneg())[0].data))
    conn.resume_writing()
    assert paused == [True, False] and not conn.pending
    conn.server.pool.shutdown()


# --- MACRO -----------------------------------------------------------------------------------

def test_macros_are_bounded_per_stage_and_unknown_stages_are_not_kept() -> None:
    """MACRO after MACRO with new names keeps at most MAX_MACROS per stage (known names are
    still updated), nothing for a byte that is no command, values cut to MAX_MACRO_VALUE."""
    session = Session(1000)
    session.receive(PacketReader().feed(optneg())[0])
    for round_ in range(20):
        data = b"".join(f"{{m{round_}_{i}}}".encode() + b"\0v\0" for i in range(mc.MAX_MACROS))
        session.receive(Packet(mc.MACRO, mc.CONNECT + data))
        session.receive(Packet(mc.MACRO, b"\x01" + data))
    session.receive(Packet(mc.MACRO, mc.CONNECT + b"m0_1\0new\0"))
    session.receive(Packet(mc.MACRO, mc.MAIL + b"i\0" + b"Q" * 5000 + b"\0"))
    assert list(session.macros) == [mc.CONNECT, mc.MAIL]
    assert len(session.macros[mc.CONNECT]) == mc.MAX_MACROS
    assert session.macros[mc.CONNECT]["m0_1"] == "new"
    assert session.macros[mc.MAIL]["i"] == "Q" * mc.MAX_MACRO_VALUE
