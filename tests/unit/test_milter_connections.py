"""What bounds the milter's memory besides the budget of mail, against a real server on
loopback: ``[milter] max_connections`` (a connection over it is closed before any packet, the
others go on, a freed slot is used again; refusals are logged at most once a minute with their
count), a peer that does not read its replies is not read from either (and loses nothing), and
MACRO packets cannot grow a connection."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from tests.unit.milter_mta import Mta, conversation, optneg

from mailwarden.config import ConfigError, load
from mailwarden.sources import milter_budget
from mailwarden.sources import milter_codec as mc
from mailwarden.sources.milter import MilterConnection, MilterServer
from mailwarden.sources.milter_budget import ConnectionLimit
from mailwarden.sources.milter_codec import Packet, PacketReader, encode
from mailwarden.sources.milter_session import MilterActions, MilterMessage, Session

SIMPLE = b"From: a@sender.example\r\nSubject: hello\r\n\r\nHello.\r\n"


class Accept:
    """Accepts everything, with a field saying how much it read."""

    def decide(self, message: MilterMessage) -> MilterActions:
        return MilterActions([("X-Test", str(len(message.raw)))])

    def unchecked(self, message: MilterMessage, why: str) -> MilterActions:
        return MilterActions()


def serve(scenario: Callable[[int, MilterServer], Awaitable[Any]], **options: Any) -> Any:
    """Run ``scenario(port, server)`` against a real server on a loopback port."""

    async def main() -> Any:
        server = MilterServer(Accept(), max_message_bytes=4096, timeout=5.0, **options)
        _, port = await server.start("127.0.0.1", 0)
        try:
            return await asyncio.wait_for(scenario(port, server), 30)
        finally:
            await server.stop()

    return asyncio.run(main())


async def negotiated(port: int) -> Mta:
    mta = await Mta.open(port)
    await mta.send(optneg())
    assert (await mta.reply()).code == mc.OPTNEG
    return mta


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
        serve(scenario, max_connections=2)
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

def test_a_peer_that_does_not_read_its_replies_is_not_read_from_and_loses_nothing() -> None:
    """Replies pile up only to the transport's high-water mark: then the server stops reading
    that peer (its write buffer stays bounded); once the peer reads, every reply comes."""
    count = 60_000  # empty BODY packets, each answered with CONTINUE (5 bytes)

    async def scenario(port: int, server: MilterServer) -> None:
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
        mta.writer.write(encode(mc.BODY) * count)  # and read nothing for now
        await until(lambda: conn.peer_full)
        await asyncio.sleep(0.2)
        assert conn.peer_full and conn.pending
        high = conn.transport.get_write_buffer_limits()[1]
        assert conn.transport.get_write_buffer_size() <= high + 5
        replies = [await mta.reply() for _ in range(count)]
        assert {p.code for p in replies} == {mc.R_CONTINUE}
        assert await works(mta) and not conn.peer_full
        mta.close()

    serve(scenario)


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
