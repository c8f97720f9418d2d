"""Asking the audit's resolver directly and reading the reply ourselves, for the two questions
the DNS client cannot answer: a query with CD (checking disabled) set, which tells a bogus
zone from a broken one, and records dnspython refuses to parse (a TLSA record whose digest
has the wrong length makes the whole reply a FormError, which would read as a timeout).

:func:`parse_reply` reads the header and the answer section of a DNS message (RFC 1035 §4.1)
and raises only :class:`WireError`. :func:`ask` sends one question over UDP (TCP when the
reply is truncated) to the client's nameservers and never raises for network trouble.
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
from dataclasses import dataclass, field
from typing import Any

import dns.exception
import dns.flags
import dns.message
import dns.rdatatype

MAX_RECORDS = 64
MAX_POINTERS = 64


class WireError(ValueError):
    """The bytes are not a DNS message we can read."""


@dataclass(frozen=True)
class WireRecord:
    rtype: int
    rdata: bytes


@dataclass
class Reply:
    """The header flags that matter and the answer section's records (any owner)."""

    rcode: int
    ad: bool = False
    tc: bool = False
    answers: list[WireRecord] = field(default_factory=list)

    def of_type(self, rtype: str) -> list[bytes]:
        code = int(dns.rdatatype.from_text(rtype))
        return [r.rdata for r in self.answers if r.rtype == code]


def _skip_name(wire: bytes, at: int) -> int:
    """The offset after the (possibly compressed) name at ``at``."""
    for _ in range(MAX_POINTERS + 128):
        if at >= len(wire):
            raise WireError("a name runs past the end of the message")
        length = wire[at]
        if length == 0:
            return at + 1
        if length & 0xC0 == 0xC0:
            if at + 2 > len(wire):
                raise WireError("a compression pointer runs past the end")
            return at + 2
        if length & 0xC0:
            raise WireError(f"label type {length >> 6} is not supported")
        at += 1 + length
    raise WireError("a name with too many labels")


def parse_reply(wire: bytes) -> Reply:
    """Read the header and the answer section of ``wire``."""
    if len(wire) < 12:
        raise WireError("shorter than a DNS header")
    _id, flags, questions, answers = struct.unpack("!HHHH", wire[:8])
    if not flags & 0x8000:
        raise WireError("not a response")
    reply = Reply(flags & 0x000F, bool(flags & 0x0020), bool(flags & 0x0200))
    at = 12
    for _ in range(questions):
        at = _skip_name(wire, at) + 4
    for _ in range(min(answers, MAX_RECORDS)):
        at = _skip_name(wire, at)
        if at + 10 > len(wire):
            raise WireError("a record header runs past the end")
        rtype, _class, _ttl, size = struct.unpack("!HHIH", wire[at:at + 10])
        at += 10
        if at + size > len(wire):
            raise WireError("record data runs past the end")
        reply.answers.append(WireRecord(rtype, wire[at:at + size]))
        at += size
    return reply


async def ask(client: Any, name: str, rtype: str, cd: bool = False) -> Reply | None:
    """Ask the client's resolver (its nameservers and port) ``name``/``rtype`` with RD, AD
    and DO set (and CD when asked); None when no server gave a readable reply."""
    resolver = client.resolver
    try:
        query = dns.message.make_query(name, rtype, want_dnssec=True, payload=1232)
    except (dns.exception.DNSException, ValueError):
        return None
    query.flags |= dns.flags.RD | dns.flags.AD | (dns.flags.CD if cd else 0)
    wire = query.to_wire()
    for server in list(resolver.nameservers)[:3]:
        with contextlib.suppress(OSError, TimeoutError, WireError, ValueError,
                                 asyncio.IncompleteReadError):
            data = await _udp(str(server), int(resolver.port), wire, float(resolver.timeout))
            reply = parse_reply(data)
            if reply.tc:
                reply = parse_reply(await _tcp(str(server), int(resolver.port), wire,
                                               float(resolver.timeout)))
            return reply
    return None


class _Datagram(asyncio.DatagramProtocol):
    def __init__(self, query_id: bytes, done: asyncio.Future[bytes]) -> None:
        self.query_id, self.done = query_id, done

    def datagram_received(self, data: bytes, addr: Any) -> None:
        if data[:2] == self.query_id and not self.done.done():
            self.done.set_result(data)

    def error_received(self, exc: Exception) -> None:
        if not self.done.done():
            self.done.set_exception(exc)


async def _udp(server: str, port: int, wire: bytes, timeout: float) -> bytes:
    loop = asyncio.get_running_loop()
    done: asyncio.Future[bytes] = loop.create_future()
    transport, _ = await loop.create_datagram_endpoint(
        lambda: _Datagram(wire[:2], done), remote_addr=(server, port))
    try:
        transport.sendto(wire)
        return await asyncio.wait_for(done, timeout)
    finally:
        transport.close()


async def _tcp(server: str, port: int, wire: bytes, timeout: float) -> bytes:
    async with asyncio.timeout(timeout):
        reader, writer = await asyncio.open_connection(server, port)
        try:
            writer.write(struct.pack("!H", len(wire)) + wire)
            await writer.drain()
            size = struct.unpack("!H", await reader.readexactly(2))[0]
            return await reader.readexactly(size)
        finally:
            writer.close()
