"""Where Mailwarden's policy time goes: the benchmark's workload replayed in-process.

Builds the same requests as ``_policy_load.py`` (50 interleaved smtpd-like connections, RCPT and
END-OF-MESSAGE, 20,000 accounts), feeds them to ``PolicyProtocol.data_received`` of a real
``Runtime`` with a transport that only counts bytes, and reports microseconds per request: the
whole path, and parsing, the guard and the engine alone. ``--cprofile`` prints the top functions.

    python bench/_policy_profile.py [--requests 300000] [--cprofile]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import pstats
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _policy_workload import POOL_MESSAGES, instance_id, make_messages, queue_id

SEED = 20251006


class NullTransport(asyncio.Transport):
    """Swallows answers; counts them."""

    def __init__(self) -> None:
        super().__init__()
        self.answers = 0
        self.words: dict[bytes, int] = {}

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.answers += 1
        word = bytes(data[7:]).split(None, 1)[0]
        self.words[word] = self.words.get(word, 0) + 1

    def close(self) -> None:
        raise RuntimeError("the server closed the connection")


def requests(total: int, connections: int, accounts: int, recipients: int) -> list[bytes]:
    """The byte stream of the benchmark, connection by connection interleaved round-robin."""
    shapes = make_messages(SEED, accounts, recipients, POOL_MESSAGES, True)
    out: list[bytes] = []
    state = [[0, 0, 0] for _ in range(connections)]  # serial, step, shape index
    while len(out) < total:
        for index in range(connections):
            serial, step, shape = state[index]
            if serial == 0 or step >= len(shapes[shape].requests):
                serial += 1
                shape = (index + serial * connections) % len(shapes)
                step = 0
            pid = 20000 + index * 13
            fields = {b"queue_id": queue_id(pid, serial), b"instance": instance_id(pid, serial),
                      b"client_port": b"%d" % (32768 + (serial * 7 + index) % 28000)}
            out.append(shapes[shape].requests[step] % fields)
            state[index] = [serial, step + 1, shape]
    return out[:total]


FULL = False


def runtime(data_dir: Path) -> Any:
    """A ``Runtime`` configured as the benchmark configures ``mailwarden serve``."""
    from mailwarden.config import Config
    from mailwarden.service import Runtime

    cfg = Config()
    cfg.organization.domains = ["city.example.jp"]
    cfg.organization.home_countries = ["JP"]
    cfg.data_dir = data_dir
    rt = Runtime(cfg)
    if FULL:
        rt.engine.quiets = None
    return rt


def guard_only(parsed: list[dict[str, str]], warm: int, step: float) -> float:
    """CPU µs per request of the guard alone, on already parsed requests."""
    with tempfile.TemporaryDirectory() as tmp:
        rt = runtime(Path(tmp))
        clock = [1_760_000_000.0]
        rt.guard.clock = lambda: clock[0]
        for attrs in parsed[:warm]:
            rt.guard(attrs)
            clock[0] += step
        t0 = time.process_time()
        for attrs in parsed[warm:]:
            rt.guard(attrs)
            clock[0] += step
        return (time.process_time() - t0) / (len(parsed) - warm) * 1e6


def main(argv: list[str] | None = None) -> int:
    """Replay and report."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--requests", type=int, default=300_000)
    ap.add_argument("--accounts", type=int, default=20000)
    ap.add_argument("--recipients", type=int, default=4000)
    ap.add_argument("--cprofile", action="store_true")
    ap.add_argument("--full", action="store_true", help="turn the engine's fast path off")
    ap.add_argument("--repeat", type=int, default=3, help="guard-only runs (the fastest kept)")
    ap.add_argument("--rate", type=float, default=40000.0,
                    help="simulated requests per second (the guard's clock advances by 1/rate)")
    args = ap.parse_args(argv)
    global FULL
    FULL = args.full
    from mailwarden.sources.postfix_policy import PolicyProtocol, PolicyServer, parse_request

    data = requests(args.requests, 50, args.accounts, args.recipients)
    blocks = [b[:-2] for b in data]
    parse = 1e9
    for _ in range(args.repeat):
        t0 = time.process_time()
        parsed = [parse_request(block, 128) for block in blocks]
        parse = min(parse, (time.process_time() - t0) / len(blocks) * 1e6)
    warm = len(data) // 5
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 50, 1000)  # as ``mailwarden serve`` sets it (service._tune_gc)
    step = 1.0 / args.rate
    guard = min(guard_only(parsed, warm, step) for _ in range(args.repeat))
    with tempfile.TemporaryDirectory() as tmp:
        rt = runtime(Path(tmp))
        clock = [1_760_000_000.0]
        rt.guard.clock = lambda: clock[0]
        proto = PolicyProtocol(PolicyServer(rt.guard))
        transport = NullTransport()
        proto.connection_made(transport)
        for block in data[:warm]:
            proto.data_received(block)
            clock[0] += step
        profiler = cProfile.Profile() if args.cprofile else None
        if profiler:
            profiler.enable()
        t0 = time.process_time()
        for block in data[warm:]:
            proto.data_received(block)
            clock[0] += step
        whole = (time.process_time() - t0) / (len(data) - warm) * 1e6
        if profiler:
            profiler.disable()
        print(f"whole path {whole:.2f} µs/request: parsing {parse:.2f}, guard and engine "
              f"{guard:.2f} ({len(data) - warm:,} requests measured, answers {transport.words})")
        print(f"accounts in memory {len(rt.states):,}; counters {rt.guard.counters}")
        if profiler:
            stats: Any = pstats.Stats(profiler).sort_stats("tottime")
            stats.print_stats(30)
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    sys.exit(main())
