"""The floor of the policy benchmark: a bare asyncio Postfix policy server.

It frames and parses each request exactly as a real policy server must (``name=value`` lines,
an empty line ends the request, bounded size, persistent connections) and answers
``action=DUNNO`` without deciding anything. It uses the standard asyncio event loop and a
``Protocol`` (no streams), so it is about the fastest a pure-Python asyncio server can answer;
``--loop uvloop`` runs the same code on uvloop, the event loop ``mailwarden serve`` uses when it
is installed, for the second floor of the table.

    python bench/_policy_floor.py --listen 127.0.0.1:10040 [--loop uvloop]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
from typing import cast

MAX_REQUEST = 16384
ANSWER = b"action=DUNNO\n\n"


def parse_request(block: bytes) -> dict[str, str]:
    """The attributes of one request (without its final empty line)."""
    attrs: dict[str, str] = {}
    for line in block.decode("utf-8", "replace").split("\n"):
        name, sep, value = line.partition("=")
        if sep:
            attrs[name] = value
    return attrs


class FloorProtocol(asyncio.Protocol):
    """Frames requests and answers DUNNO to each."""

    def __init__(self) -> None:
        self.buffer = bytearray()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement asyncio.Transport without subclassing it
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        assert self.transport is not None
        self.buffer += data
        while True:
            end = self.buffer.find(b"\n\n")
            if end < 0:
                if len(self.buffer) > MAX_REQUEST:
                    self.transport.close()
                return
            block = bytes(self.buffer[:end])
            del self.buffer[: end + 2]
            parse_request(block)
            self.transport.write(ANSWER)


async def serve(host: str, port: int) -> None:
    """Listen until SIGTERM or SIGINT."""
    loop = asyncio.get_running_loop()
    stop = loop.create_future()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set_result, None)
    server = await loop.create_server(FloorProtocol, host, port, backlog=1024)
    async with server:
        await stop


def main(argv: list[str] | None = None) -> int:
    """Parse ``--listen HOST:PORT`` and serve."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--listen", default="127.0.0.1:10040")
    parser.add_argument("--cpu", type=int, default=-1, help="pin this process to one CPU")
    parser.add_argument("--loop", choices=("asyncio", "uvloop"), default="asyncio")
    args = parser.parse_args(argv)
    if args.cpu >= 0:
        os.sched_setaffinity(0, {args.cpu})
    host, _, port = args.listen.rpartition(":")
    factory = None
    if args.loop == "uvloop":
        import uvloop

        factory = uvloop.new_event_loop
    with asyncio.Runner(loop_factory=factory) as runner:
        runner.run(serve(host, int(port)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
