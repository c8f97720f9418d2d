"""The milter packet codec and session: any bytes from the MTA side end in packets, or in a
clear MilterProtocolError and a closed connection; never a crash, never unbounded memory."""

from __future__ import annotations

import asyncio
import contextlib
import struct

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.unit import milter_mta
from tests.unit.milter_mta import Accept, Mta, conversation, optneg

from mailwarden.sources import milter_codec as mc
from mailwarden.sources.milter_codec import MilterProtocolError, Packet, PacketReader, encode
from mailwarden.sources.milter_session import MilterActions, Session

SIMPLE = b"From: a@sender.example\r\nSubject: hello\r\n\r\nHello.\r\n"


def serve(scenario, **options):
    """Run ``scenario(port, server)`` against a real server that accepts everything, on a
    loopback port."""
    return milter_mta.serve(scenario, Accept(), timeout=5.0, within=20.0, **options)


packets = st.builds(lambda code, data: encode(code, data),
                    st.sampled_from([*sorted(mc.COMMANDS), b"x", b"\x00"]),
                    st.binary(max_size=200))


@settings(max_examples=300, deadline=None)
@given(st.lists(packets, max_size=10), st.lists(st.integers(1, 50), min_size=1, max_size=20))
def test_any_chunking_gives_the_same_packets(stream, cuts):
    """Packets split anywhere across reads come out whole and in order."""
    data = b"".join(stream)
    reader, got, start = PacketReader(), [], 0
    for cut in cuts * (len(data) // max(sum(cuts), 1) + 1):
        got += reader.feed(data[start:start + cut])
        start += cut
    got += reader.feed(data[start:])
    assert [encode(p.code, p.data) for p in got] == stream
    assert reader.pending == 0


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=3000))
def test_arbitrary_bytes_give_packets_or_a_clear_error(data):
    """Random bytes: packets, or MilterProtocolError naming the length; buffered bytes stay
    within one bounded packet."""
    reader = PacketReader(max_packet=1024)
    try:
        for packet in reader.feed(data):
            assert isinstance(packet, Packet) and len(packet.code) == 1
    except MilterProtocolError as exc:
        assert "packet" in str(exc)
        return
    assert reader.pending < 4 + 1024


def test_oversized_length_is_refused_before_reading_it():
    """A packet announcing 2 GiB is refused from its length alone."""
    reader = PacketReader()
    with pytest.raises(MilterProtocolError, match="more than"):
        reader.feed(struct.pack(">I", 2**31) + b"B")
    assert reader.pending == 5


def test_zero_length_is_refused():
    """A packet without a command byte breaks the protocol."""
    with pytest.raises(MilterProtocolError, match="length 0"):
        PacketReader().feed(b"\0\0\0\0")


def test_truncated_packet_waits_without_packets():
    """Half a packet yields nothing until the rest arrives."""
    reader = PacketReader()
    whole = encode(mc.HEADER, b"Subject\0hi\0")
    assert reader.feed(whole[:7]) == []
    assert reader.feed(whole[7:]) == [Packet(mc.HEADER, b"Subject\0hi\0")]


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=300))
def test_payload_parsers_never_crash(data):
    """Every payload parser returns or raises MilterProtocolError, whatever the bytes."""
    for parse in (mc.parse_optneg, mc.parse_connect, mc.parse_macros, mc.parse_header,
                  lambda d: mc.parse_args(d, "MAIL")):
        with contextlib.suppress(MilterProtocolError):
            parse(data)


def test_payloads_as_postfix_sends_them():
    """CONNECT, MACRO, MAIL and HEADER payloads in Postfix's layout parse as expected."""
    assert mc.parse_connect(b"[192.0.2.1]\0" + b"4" + struct.pack(">H", 4025) + b"192.0.2.1\0") \
        == mc.Connect("[192.0.2.1]", "4", 4025, "192.0.2.1")
    assert mc.parse_connect(b"localhost\0U") == mc.Connect("localhost", "U", 0, "")
    assert mc.parse_macros(b"M{auth_authen}\0ann\0i\0ABC\0") == \
        (b"M", {"auth_authen": "ann", "i": "ABC"})
    assert mc.parse_args(b"<a@b.example>\0SIZE=10\0", "MAIL") == ["<a@b.example>", "SIZE=10"]
    assert mc.address("<a@b.example>") == "a@b.example"
    assert mc.parse_header(b"Subject\0two\n\tlines\0") == (b"Subject", b"two\n\tlines")


def test_replies_frame_as_packets():
    """Each reply encoder makes one packet with NUL-terminated strings and no NUL inside."""
    data = (mc.add_header("X-A", "v\0x") + mc.insert_header(0, "X-B", "w")
            + mc.change_header(2, "X-C", "") + mc.quarantine("") + mc.reply_code("550 5.7.1 100%"))
    got = PacketReader().feed(data)
    assert [p.code for p in got] == [mc.R_ADDHEADER, mc.R_INSHEADER, mc.R_CHGHEADER,
                                     mc.R_QUARANTINE, mc.R_REPLYCODE]
    assert got[0].data == b"X-A\0v x\0"
    assert got[1].data == b"\0\0\0\0X-B\0w\0"
    assert got[2].data == b"\0\0\0\x02X-C\0\0"
    assert got[3].data == b"quarantined\0"
    assert got[4].data == b"550 5.7.1 100%%\0"


def _session_packets():
    code = st.sampled_from(sorted(mc.COMMANDS - {mc.OPTNEG}))
    return st.lists(st.builds(Packet, code, st.binary(max_size=300)), max_size=30)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_session_packets())
def test_session_never_crashes_and_stays_bounded(stream):
    """After a proper negotiation, any packets give steps or MilterProtocolError; the message
    kept never exceeds its bound."""
    session = Session(max_message_bytes=500, watch=("x-mailwarden-",))
    session.receive(PacketReader().feed(optneg())[0])
    for packet in stream:
        try:
            step = session.receive(packet)
        except MilterProtocolError:
            return
        assert session.kept <= 500
        if step.message is not None:
            assert len(step.message.raw) <= 502
            assert step.message.size >= len(step.message.raw) - 2
            step.message.release()  # as the server does when the analysis is over
            session.finish(MilterActions([("X-T", "v")], [("X-Mailwarden-Verdict", 2)]))
        assert session.budget.used == session.kept


def test_command_before_negotiation_is_refused():
    """Anything but OPTNEG first breaks the protocol."""
    with pytest.raises(MilterProtocolError, match="before option negotiation"):
        Session(1000).receive(Packet(mc.MAIL, b"<a@b>\0"))


def test_negotiation_asks_only_for_what_is_offered():
    """The reply's actions and protocol steps are a subset of the offer, at version 6 or
    below."""
    session = Session(1000)
    reply = PacketReader().feed(session.receive(Packet(mc.OPTNEG, struct.pack(
        ">III", 6, mc.F_ADDHDRS, mc.P_NOHELO | mc.P_NR_HDR))).reply)[0]
    assert mc.parse_optneg(reply.data) == mc.OptNeg(6, mc.F_ADDHDRS, mc.P_NOHELO | mc.P_NR_HDR)
    session = Session(1000)
    reply = PacketReader().feed(session.receive(Packet(mc.OPTNEG, struct.pack(
        ">III", 9, 0x1FF, 0x1FFFFF))).reply)[0]
    assert mc.parse_optneg(reply.data).version == 6
    with pytest.raises(MilterProtocolError, match="too old"):
        Session(1000).receive(Packet(mc.OPTNEG, struct.pack(">III", 1, 0, 0)))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.binary(min_size=1, max_size=400), min_size=1, max_size=6))
def test_server_survives_garbage_and_serves_the_next_connection(chunks):
    """Garbage on one connection never stops the server: a fresh connection still gets its
    message decided."""

    async def scenario(port, server):
        bad = await Mta.open(port)
        await bad.send(*chunks)
        bad.close()
        good = await Mta.open(port)
        await good.send(optneg())
        assert (await good.reply()).code == mc.OPTNEG
        replies = await good.deliver(conversation(SIMPLE))
        good.close()
        return replies

    replies = serve(scenario)
    assert replies[-1].code == mc.R_CONTINUE
    assert replies[0].code == mc.R_ADDHEADER


def test_oversized_packet_closes_the_connection():
    """A packet announcing more than the bound closes the connection at once."""

    async def scenario(port, server):
        mta = await Mta.open(port)
        await mta.send(optneg())
        assert (await mta.reply()).code == mc.OPTNEG
        await mta.send(struct.pack(">I", 50_000_000) + b"B" + b"x" * 1000)
        return await mta.closed()

    assert serve(scenario)


def test_unknown_command_closes_the_connection():
    """An unknown command byte is a protocol error: the connection is closed."""

    async def scenario(port, server):
        mta = await Mta.open(port)
        await mta.send(optneg())
        await mta.reply()
        await mta.send(encode(b"Z", b"what"))
        return await mta.closed()

    assert serve(scenario)


def test_truncated_packet_then_silence_is_closed_when_idle():
    """A peer that stops mid-packet is disconnected after the idle timeout."""

    async def scenario(port, server):
        mta = await Mta.open(port)
        await mta.send(optneg())
        await mta.reply()
        await mta.send(encode(mc.HEADER, b"Subject\0x\0")[:6])
        await asyncio.sleep(0.3)
        server.close_idle()
        return await mta.closed(), len(server.connections)

    assert serve(scenario, idle_timeout=0.1) == (True, 0)


def test_connections_beyond_the_limit_are_closed():
    """More connections than max_connections: the extra one is closed at once."""

    async def scenario(port, server):
        first = await Mta.open(port)
        await first.send(optneg())
        await first.reply()
        second = await Mta.open(port)
        return await second.closed()

    assert serve(scenario, max_connections=1)
