"""Load generator for Postfix policy servers; runs as its own process and prints one JSON object.

Each of ``--connections`` persistent connections behaves like one Postfix ``smtpd`` process:
it sends one request, waits for the answer, then sends the next (never pipelines). Latency is
measured per request with ``time.perf_counter_ns`` from the write of the request to the arrival
of the empty line that ends the answer. Only requests sent after the warm-up and answered before
the end of the measured window count. Every answer (warm-up included) is checked to be exactly
one ``action=...`` line followed by the empty line.

    python bench/_policy_load.py --port 10040 --connections 50 --warmup 2 --duration 10

With ``--prepass`` it instead sends one ordinary message of every account (each connection its
share, then it stops), all answers counted and checked, and exits: the unmeasured pre-pass of
the steady-state measurement.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import os
import resource
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, cast

from _policy_workload import (
    POOL_MESSAGES,
    MessageShape,
    account_messages,
    instance_id,
    make_messages,
    queue_id,
)

MAX_ANSWER = 4096
GRACE_SECONDS = 10.0


@dataclass
class Run:
    """Shared state of one measured run."""

    shapes: list[MessageShape]
    connections: int
    start_ns: int = 0
    end_ns: int = 0
    latencies: list[int] = field(default_factory=list)
    actions: dict[str, int] = field(default_factory=dict)
    samples: dict[str, str] = field(default_factory=dict)
    answered: int = 0
    invalid: int = 0
    invalid_samples: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    finished: int = 0
    done: asyncio.Future[None] | None = None

    def record(self, sent_ns: int, done_ns: int, answer: bytes) -> None:
        """Check one answer and count it when it falls inside the measured window."""
        self.answered += 1
        valid = answer.startswith(b"action=") and answer.count(b"\n") == 2 and len(answer) > 9
        if not valid:
            self.invalid += 1
            if len(self.invalid_samples) < 3:
                self.invalid_samples.append(answer[:200].decode("utf-8", "replace"))
            return
        if sent_ns < self.start_ns or done_ns > self.end_ns:
            return
        self.latencies.append(done_ns - sent_ns)
        text = answer[7:-2].decode("utf-8", "replace")
        word = (text.split(None, 1) or ["?"])[0].upper()
        self.actions[word] = self.actions.get(word, 0) + 1
        self.samples.setdefault(word, text[:120])

    def finish_one(self) -> None:
        """A connection has stopped; resolve ``done`` when all have."""
        self.finished += 1
        if self.finished >= self.connections and self.done and not self.done.done():
            self.done.set_result(None)


class Connection(asyncio.Protocol):
    """One smtpd-like client: one request in flight at a time."""

    def __init__(self, run: Run, index: int, queue: list[MessageShape] | None = None) -> None:
        self.run = run
        self.index = index
        self.pid = (40000 if queue is not None else 20000) + index * 13
        self.queue = queue  # pre-pass: these messages, then stop
        self.serial = 0
        self.shape = run.shapes[index % len(run.shapes)]
        self.step = 0
        self.fields: dict[bytes, bytes] = {}
        self.buffer = bytearray()
        self.sent_ns = 0
        self.transport: asyncio.Transport | None = None
        self.stopped = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        self._new_message()

    def _new_message(self) -> None:
        self.serial += 1
        if self.queue is not None:
            self.shape = self.queue.pop() if self.queue else MessageShape(())
        else:
            position = self.index + self.serial * self.run.connections
            self.shape = self.run.shapes[position % len(self.run.shapes)]
        self.step = 0
        self.fields = {
            b"queue_id": queue_id(self.pid, self.serial),
            b"instance": instance_id(self.pid, self.serial),
            b"client_port": b"%d" % (32768 + (self.serial * 7 + self.index) % 28000),
        }

    def send_next(self) -> None:
        """Write the next request of the current message (or of a new one)."""
        if self.step >= len(self.shape.requests):
            self._new_message()
        data = self.shape.requests[self.step] % self.fields
        self.step += 1
        self.sent_ns = time.perf_counter_ns()
        assert self.transport is not None
        self.transport.write(data)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if not self.buffer.endswith(b"\n\n"):
            if len(self.buffer) > MAX_ANSWER:
                self._stop(f"answer longer than {MAX_ANSWER} bytes")
            return
        now = time.perf_counter_ns()
        answer = bytes(self.buffer)
        self.buffer.clear()
        self.run.record(self.sent_ns, now, answer)
        finished = self.queue is not None and not self.queue and self.step >= len(
            self.shape.requests
        )
        if now >= self.run.end_ns or finished:
            self._stop(None)
        else:
            self.send_next()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.stopped:
            self._stop(f"connection {self.index} lost: {exc or 'closed by server'}")

    def _stop(self, error: str | None) -> None:
        if self.stopped:
            return
        self.stopped = True
        if error:
            self.run.errors.append(error)
        if self.transport is not None:
            self.transport.close()
        self.run.finish_one()


def percentile(sorted_values: list[int], fraction: float) -> float:
    """Nearest-rank percentile of nanosecond values, in milliseconds."""
    if not sorted_values:
        return float("nan")
    rank = max(0, min(len(sorted_values) - 1, int(fraction * len(sorted_values) + 0.5) - 1))
    return sorted_values[rank] / 1e6


def _factory(conn: Connection) -> Callable[[], Connection]:
    return lambda: conn


async def _connect(run: Run, host: str, port: int) -> list[Connection]:
    loop = asyncio.get_running_loop()
    conns: list[Connection] = []
    for index in range(run.connections):
        conn = Connection(run, index)
        await asyncio.wait_for(loop.create_connection(_factory(conn), host, port), 10.0)
        conns.append(conn)
    return conns


async def measure(args: argparse.Namespace) -> dict[str, Any]:
    """Open the connections, run warm-up and the measured window, and summarise."""
    shapes = make_messages(
        args.seed, args.accounts, args.recipients, POOL_MESSAGES, not args.no_eom
    )
    run = Run(shapes=shapes, connections=args.connections)
    run.done = asyncio.get_running_loop().create_future()
    run.start_ns = run.end_ns = time.perf_counter_ns() + 3600 * 10**9
    conns = await _connect(run, args.host, args.port)
    run.start_ns = time.perf_counter_ns() + int(args.warmup * 1e9)
    run.end_ns = run.start_ns + int(args.duration * 1e9)
    cpu_before, wall_before = _cpu_seconds(), time.perf_counter()
    for conn in conns:
        conn.send_next()
    try:
        await asyncio.wait_for(run.done, args.warmup + args.duration + GRACE_SECONDS)
    except TimeoutError:
        run.errors.append(f"{run.connections - run.finished} connections still waiting at end")
    for conn in conns:
        conn._stop(None)
    result = summarise(run, args.duration)
    result["generator_cpu"] = (_cpu_seconds() - cpu_before) / (time.perf_counter() - wall_before)
    return result


async def prepass(args: argparse.Namespace) -> dict[str, Any]:
    """Send one message of every account, spread over the connections; count every answer."""
    shapes = account_messages(args.seed, args.accounts, args.recipients, not args.no_eom)
    run = Run(shapes=shapes, connections=args.connections)
    run.done = asyncio.get_running_loop().create_future()
    run.start_ns, run.end_ns = 0, 1 << 62
    loop = asyncio.get_running_loop()
    conns = []
    for index in range(args.connections):
        queue = shapes[index :: args.connections]
        queue.reverse()  # popped from the end
        conn = Connection(run, index, queue)
        await asyncio.wait_for(loop.create_connection(_factory(conn), args.host, args.port), 10)
        conns.append(conn)
    started = time.perf_counter()
    for conn in conns:
        if conn.shape.requests:
            conn.send_next()
        else:
            conn._stop(None)
    await asyncio.wait_for(run.done, 600)
    seconds = time.perf_counter() - started
    return {
        "prepass_messages": len(shapes),
        "prepass_requests": run.answered,
        "prepass_seconds": seconds,
        "actions": run.actions,
        "invalid": run.invalid,
        "invalid_samples": run.invalid_samples,
        "errors": run.errors[:5],
        "error_count": len(run.errors),
    }


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def summarise(run: Run, duration: float) -> dict[str, Any]:
    """The JSON result of one run."""
    values = sorted(run.latencies)
    return {
        "decisions": len(values),
        "rate": len(values) / duration,
        "p50_ms": percentile(values, 0.50),
        "p90_ms": percentile(values, 0.90),
        "p99_ms": percentile(values, 0.99),
        "max_ms": values[-1] / 1e6 if values else float("nan"),
        "answered_total": run.answered,
        "actions": run.actions,
        "action_samples": run.samples,
        "invalid": run.invalid,
        "invalid_samples": run.invalid_samples,
        "errors": run.errors[:5],
        "error_count": len(run.errors),
    }


def install_loop(name: str) -> str:
    """Use uvloop when asked for (or with ``auto`` when installed); return the loop's name."""
    if name == "asyncio":
        return "asyncio"
    try:
        uvloop = importlib.import_module("uvloop")
    except ImportError:
        if name == "uvloop":
            raise
        return "asyncio"
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    return "uvloop"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command line of the generator."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--seed", type=int, default=20251006)
    parser.add_argument("--accounts", type=int, default=20000)
    parser.add_argument("--recipients", type=int, default=4000)
    parser.add_argument("--no-eom", action="store_true", help="RCPT requests only")
    parser.add_argument("--prepass", action="store_true", help="one message of every account")
    parser.add_argument("--loop", choices=("auto", "asyncio", "uvloop"), default="auto")
    parser.add_argument("--cpu", type=int, default=-1, help="pin this process to one CPU")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run one measurement and print its JSON summary on stdout."""
    args = parse_args(argv)
    if args.cpu >= 0:
        os.sched_setaffinity(0, {args.cpu})
    loop_name = install_loop(args.loop)
    result = asyncio.run(prepass(args) if args.prepass else measure(args))
    result["loop"] = loop_name
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
