"""The Postfix policy server: framing per SMTPD_POLICY_README, bounds, fail-safe answers."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mailwarden.sources.postfix_policy import (
    MalformedRequest,
    PolicyServer,
    format_reply,
    parse_request,
)

REQUEST = (
    b"request=smtpd_access_policy\nprotocol_state=RCPT\nprotocol_name=ESMTP\n"
    b"client_address=192.0.2.1\nsender=a@city.example.jp\nrecipient=b@example.com\n"
    b"instance=12.3.4\nsasl_username=a@city.example.jp\nfuture_attribute=whatever\n\n"
)


def run(handler: Callable[[dict[str, str]], str], scenario, **limits):
    """Start a server on a free loopback port, run ``scenario(reader, writer, server)``."""

    async def main():
        server = PolicyServer(handler, **limits)
        host, port = await server.start("127.0.0.1", 0)
        reader, writer = await asyncio.open_connection(host, port)
        try:
            return await asyncio.wait_for(scenario(reader, writer, server), 10)
        finally:
            writer.close()
            await server.stop()

    return asyncio.run(main())


async def ask(reader, writer, payload: bytes) -> bytes:
    writer.write(payload)
    await writer.drain()
    return await reader.readuntil(b"\n\n")


def test_parse_keeps_unknown_attributes_and_last_duplicate():
    """Unknown attributes pass through to the handler; a repeated name keeps its last value."""
    attrs = parse_request(b"a=1\nunknown_thing=x\na=2\nempty=", 10)
    assert attrs == {"a": "2", "unknown_thing": "x", "empty": ""}


def test_parse_rejects_line_without_equals():
    """A line that is not name=value is a malformed request."""
    with pytest.raises(MalformedRequest, match="line 2"):
        parse_request(b"a=1\ngarbage", 10)


def test_parse_bounds_attribute_count():
    """More attributes than the limit is malformed."""
    with pytest.raises(MalformedRequest, match="attributes"):
        parse_request(b"\n".join(b"a%d=1" % i for i in range(20)), 10)


def test_reply_cannot_break_framing():
    """Newlines inside a reason are flattened so the reply stays one line."""
    assert format_reply("HOLD bad\n\naction=OK") == b"action=HOLD bad action=OK\n\n"


def test_persistent_connection_many_requests():
    """One connection carries many requests, each answered in order."""
    seen: list[dict[str, str]] = []

    def handler(attrs):
        seen.append(attrs)
        return f"DUNNO {len(seen)}"

    async def scenario(reader, writer, _):
        return [await ask(reader, writer, REQUEST) for _ in range(5)]

    answers = run(handler, scenario)
    assert answers == [f"action=DUNNO {i}\n\n".encode() for i in range(1, 6)]
    assert seen[0]["future_attribute"] == "whatever"
    assert seen[0]["recipient"] == "b@example.com"


def test_pipelined_requests_in_one_packet():
    """Two requests arriving in one write get two answers."""

    async def scenario(reader, writer, _):
        writer.write(REQUEST + REQUEST)
        await writer.drain()
        return await reader.readuntil(b"\n\n") + await reader.readuntil(b"\n\n")

    assert run(lambda a: "DUNNO", scenario) == b"action=DUNNO\n\n" * 2


def test_request_split_across_packets():
    """A request sent byte by byte is answered once complete."""

    async def scenario(reader, writer, _):
        for i in range(len(REQUEST)):
            writer.write(REQUEST[i : i + 1])
            await writer.drain()
        return await reader.readuntil(b"\n\n")

    assert run(lambda a: "OK", scenario) == b"action=OK\n\n"


def test_handler_error_answers_dunno():
    """Any internal error answers DUNNO and the connection stays usable."""

    def handler(attrs):
        raise RuntimeError("boom")

    async def scenario(reader, writer, _):
        return [await ask(reader, writer, REQUEST) for _ in range(2)]

    assert run(handler, scenario) == [b"action=DUNNO\n\n"] * 2


@pytest.mark.parametrize("payload", [
    b"no equals sign here\n\n",
    b"\n\n",
    b"=value\n\n",
])
def test_malformed_request_closes_without_reply(payload):
    """A malformed request closes the connection and gets no answer."""

    async def scenario(reader, writer, _):
        writer.write(payload)
        await writer.drain()
        return await reader.read()

    assert run(lambda a: "OK", scenario) == b""


def test_oversized_request_closes_without_reply():
    """A request over the size limit, even without its end, closes the connection."""

    async def scenario(reader, writer, _):
        writer.write(b"a=" + b"x" * 5000)
        await writer.drain()
        return await reader.read()

    assert run(lambda a: "OK", scenario, max_request_bytes=1024) == b""


def test_too_many_attributes_closes_without_reply():
    """A request with more attributes than allowed is malformed."""
    payload = b"".join(b"a%d=1\n" % i for i in range(50)) + b"\n"

    async def scenario(reader, writer, _):
        writer.write(payload)
        await writer.drain()
        return await reader.read()

    assert run(lambda a: "OK", scenario, max_attributes=10) == b""


def test_half_sent_request_is_closed_when_idle():
    """A client that stops mid-request is disconnected after the idle timeout."""

    async def scenario(reader, writer, server):
        writer.write(b"request=smtpd_access_policy\nsender=")
        await writer.drain()
        await asyncio.sleep(0.2)
        server.close_idle()
        data = await reader.read()
        return data, len(server.connections)

    data, remaining = run(lambda a: "OK", scenario, idle_timeout=0.1)
    assert data == b"" and remaining == 0


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2000))
def test_parser_never_crashes_on_garbage(block):
    """Arbitrary bytes either parse or raise MalformedRequest, nothing else."""
    try:
        attrs = parse_request(block, 128)
    except MalformedRequest:
        return
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in attrs.items())


@settings(max_examples=30, deadline=None)
@given(st.lists(st.binary(min_size=1, max_size=300), min_size=1, max_size=8))
def test_server_survives_garbage_streams(chunks):
    """Garbage never kills the server: a fresh connection still gets an answer after it."""

    async def main():
        server = PolicyServer(lambda a: "DUNNO", max_request_bytes=1024)
        host, port = await server.start("127.0.0.1", 0)
        try:
            _, writer = await asyncio.open_connection(host, port)
            for chunk in chunks:
                writer.write(chunk)
            await writer.drain()
            writer.close()
            reader, writer = await asyncio.open_connection(host, port)
            answer = await asyncio.wait_for(ask(reader, writer, REQUEST), 5)
            writer.close()
            return answer
        finally:
            await server.stop()

    assert asyncio.run(main()) == b"action=DUNNO\n\n"
