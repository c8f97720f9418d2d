"""The MTA side of the milter protocol, as Postfix 3.7 speaks it, for the unit tests: command
packets, an asyncio client that reads the filter's replies, and a real server on loopback to
run it against (the end-to-end test runs real Postfix instead)."""

from __future__ import annotations

import asyncio
import struct
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from mailwarden.sources import milter_codec as mc
from mailwarden.sources.milter import MilterHandler, MilterServer
from mailwarden.sources.milter_codec import Packet, PacketReader, encode
from mailwarden.sources.milter_session import MilterActions, MilterMessage

# What Postfix 3.7 offers with milter_protocol = 6 (milter8.c): every action, and every
# protocol step of version 6 (the NO*, NR_*, SKIP, RCPT_REJ and HDR_LEADSPC flags).
POSTFIX_ACTIONS = 0x1FF
POSTFIX_PROTOCOL = 0x1FFFFF


def optneg(version: int = 6, actions: int = POSTFIX_ACTIONS,
           protocol: int = POSTFIX_PROTOCOL) -> bytes:
    return encode(mc.OPTNEG, struct.pack(">III", version, actions, protocol))


def macro(stage: bytes, **values: str) -> bytes:
    data = b"".join(k.encode() + b"\0" + v.encode() + b"\0" for k, v in values.items())
    return encode(mc.MACRO, stage + data)


def connect(host: str = "mx.sender.example", address: str = "192.0.2.10") -> bytes:
    return encode(mc.CONNECT, host.encode() + b"\0" + b"4" + struct.pack(">H", 25000)
                  + address.encode() + b"\0")


def mail(sender: str) -> bytes:
    return encode(mc.MAIL, f"<{sender}>".encode() + b"\0" + b"BODY=8BITMIME\0")


def rcpt(recipient: str) -> bytes:
    return encode(mc.RCPT, f"<{recipient}>".encode() + b"\0")


def header(name: bytes, value: bytes) -> bytes:
    return encode(mc.HEADER, name + b"\0" + value + b"\0")


def message_packets(raw: bytes, chunk: int = mc.CHUNK) -> list[bytes]:
    """A message as Postfix sends it to this filter: each header field (the space after the
    colon eaten, folded lines joined by LF), the body in chunks, end of body (no end of
    headers: the filter asked for none)."""
    head, _, body = raw.replace(b"\r\n", b"\n").partition(b"\n\n")
    fields: list[tuple[bytes, bytes]] = []
    for line in head.split(b"\n"):
        if line[:1] in (b" ", b"\t") and fields:
            fields[-1] = (fields[-1][0], fields[-1][1] + b"\n" + line)
        elif b":" in line:
            name, _, value = line.partition(b":")
            fields.append((name, value[1:] if value.startswith(b" ") else value))
    out = [header(n, v) for n, v in fields]
    body = body.replace(b"\n", b"\r\n")
    out += [encode(mc.BODY, body[i:i + chunk]) for i in range(0, len(body), chunk)]
    return [*out, encode(mc.BODYEOB)]


def conversation(raw: bytes, sender: str = "sender@sender.example",
                 recipients: Iterable[str] = ("staff@city.example.jp",),
                 queue_id: str = "4ABCDE1234", auth: str = "") -> list[bytes]:
    """Everything Postfix sends for one message after the negotiation."""
    mail_macros = {"i": queue_id, **({"auth_authen": auth} if auth else {})}
    return [macro(mc.CONNECT, j="mx.city.example.jp"), connect(),
            macro(mc.MAIL, **mail_macros), mail(sender),
            *[p for r in recipients for p in (macro(mc.RCPT, i=queue_id), rcpt(r))],
            *message_packets(raw)]


class Mta:
    """A connection to a milter server: send packets, read reply packets."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.packets = PacketReader()
        self.queue: list[Packet] = []

    @classmethod
    async def open(cls, port: int) -> Mta:
        return cls(*await asyncio.open_connection("127.0.0.1", port))

    async def send(self, *packets: bytes) -> None:
        self.writer.write(b"".join(packets))
        await self.writer.drain()

    async def reply(self, timeout: float = 10.0) -> Packet:
        while not self.queue:
            data = await asyncio.wait_for(self.reader.read(65536), timeout)
            if not data:
                raise EOFError("the milter closed the connection")
            self.queue += self.packets.feed(data)
        return self.queue.pop(0)

    async def deliver(self, packets: list[bytes], timeout: float = 10.0) -> list[Packet]:
        """Send a conversation as Postfix does (waiting for the reply to each body chunk;
        after SKIP no more chunks) and return the end-of-message replies."""
        skipping = False
        for packet in packets:
            code = packet[4:5]
            if code == mc.BODY and skipping:
                continue
            await self.send(packet)
            if code == mc.BODY:
                skipping = (await self.reply(timeout)).code == mc.R_SKIP
        return await self.until_final(timeout)

    async def until_final(self, timeout: float = 10.0) -> list[Packet]:
        """Replies up to and including a final one (continue, accept, reject, ...)."""
        out: list[Packet] = []
        while not out or out[-1].code not in (mc.R_CONTINUE, mc.R_ACCEPT, mc.R_REJECT,
                                              mc.R_TEMPFAIL, mc.R_REPLYCODE, mc.R_DISCARD):
            out.append(await self.reply(timeout))
        return out

    async def closed(self, timeout: float = 5.0) -> bool:
        """True when the server closes the connection (whatever it sent before)."""
        try:
            while await asyncio.wait_for(self.reader.read(65536), timeout):
                pass
        except ConnectionResetError:
            return True
        except TimeoutError:
            return False
        return True

    def close(self) -> None:
        self.writer.close()


def fields(replies: list[Packet]) -> list[tuple[str, str]]:
    """The header fields added by ADDHEADER replies."""
    out = []
    for packet in replies:
        if packet.code == mc.R_ADDHEADER:
            name, value = packet.data[:-1].split(b"\0")
            out.append((name.decode(), value.decode()))
    return out


class Accept:
    """A handler that accepts everything, with a field saying how much it read (for the tests
    about framing and connections)."""

    def decide(self, message: MilterMessage) -> MilterActions:
        return MilterActions([("X-Test", str(len(message.raw)))])

    def unchecked(self, message: MilterMessage, why: str) -> MilterActions:
        return MilterActions()


def serve(scenario: Callable[[int, MilterServer], Awaitable[Any]], handler: MilterHandler, *,
          max_message_bytes: int = 4096, timeout: float = 10.0, within: float = 60.0,
          loop_factory: Callable[[], asyncio.AbstractEventLoop] | None = None,
          **options: Any) -> Any:
    """Run ``scenario(port, server)`` (at most ``within`` seconds) against a real
    ``MilterServer(handler, ...)`` on a loopback port, on a new event loop (``loop_factory``:
    asyncio's by default, ``uvloop.new_event_loop`` as ``mailwarden serve`` uses); stopped
    after."""

    async def main() -> Any:
        server = MilterServer(handler, max_message_bytes=max_message_bytes, timeout=timeout,
                              **options)
        _, port = await server.start("127.0.0.1", 0)
        try:
            return await asyncio.wait_for(scenario(port, server), within)
        finally:
            await server.stop()

    with asyncio.Runner(loop_factory=loop_factory) as runner:
        return runner.run(main())


async def negotiated(port: int) -> Mta:
    """A connection to the server on ``port`` that has negotiated as Postfix does."""
    mta = await Mta.open(port)
    await mta.send(optneg())
    assert (await mta.reply()).code == mc.OPTNEG
    return mta
