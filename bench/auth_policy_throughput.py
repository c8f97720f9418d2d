"""Dovecot auth policy requests per second and latency: Mailwarden against a bare uvicorn floor.

Starts each server on a loopback port (``mailwarden serve --auth-policy-listen``, and a bare
uvicorn ASGI app answering ``{"status": 0}``) and drives it from a separate process with what
Dovecot's auth policy client sends: HTTP/1.1 POSTs of JSON attributes on keep-alive connections,
one request in flight per connection, per login attempt an ``allow`` before and after the
password check and a ``report`` (Dovecot's defaults), from 20,000 accounts at Japanese addresses
and 300 guessing addresses abroad. Two measurements per server and round, each on a fresh
server: closed-loop saturation (every connection sends its next request when the answer
arrives), and open-loop pacing at a fixed offered rate (requests are scheduled on a clock and
latency includes the wait for a free connection, so a server that stalls shows its queueing).

    python bench/auth_policy_throughput.py                 # 3 rounds × 2 servers × 2 runs
    python bench/auth_policy_throughput.py --rounds 1 --duration 5 --no-write

The same file is also the floor server (``_floor``) and the load generator (``_load``), run as
separate processes by the main script.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import datetime as dt
import http.client
import json
import os
import random
import resource
import shlex
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

from _doc import DOC, write_section
from _policy_peers import ROOT, PeerError, Server, free_port, spawn
from policy_throughput import cpu_plan, machine_busy_seconds, machine_note, wait_for_quiet

SECTION = "auth_policy_throughput"
SEED = 20251006
API_KEY = "bench-auth-policy-key-0123456789"
DOMAIN = "city.example.jp"
MAX_ANSWER = 8192
GRACE_SECONDS = 10.0
SERVERS = ("floor", "mailwarden")
TITLES = {"floor": "floor (bare uvicorn app)", "mailwarden": "Mailwarden"}
Result = dict[str, Any]


# the workload ---------------------------------------------------------------------------------


def _address(rng: random.Random, prefixes: tuple[str, ...]) -> str:
    return f"{rng.choice(prefixes)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"


def make_requests(
    seed: int, attempts: int, accounts: int, attackers: int, port: int
) -> list[bytes]:
    """Whole HTTP requests for ``attempts`` login attempts: allow, allow, report each.

    85% are people logging in with their password from their usual address and device; 15% are
    guesses from abroad with a new (truncated, 12-bit) password hash each, failing.
    """
    rng = random.Random(seed)
    people = [
        (
            f"u{n:05d}@{DOMAIN}",
            _address(rng, ("133.242", "126.205", "153.156", "106.130")),
            f"{rng.getrandbits(12):03x}",
            f"dev-{rng.getrandbits(32):08x}",
        )
        for n in range(accounts)
    ]
    guessers = [
        _address(rng, ("185.220", "45.148", "141.98", "80.94", "218.92", "103.145"))
        for _ in range(attackers)
    ]
    head = (
        f"Host: 127.0.0.1:{port}\r\nUser-Agent: dovecot/auth-policy-client\r\n"
        f"Connection: Keep-Alive\r\nContent-Type: application/json\r\nX-API-Key: {API_KEY}\r\n"
    )
    requests: list[bytes] = []
    for _ in range(attempts):
        login, remote, pwhash, device = rng.choice(people)
        success = rng.random() < 0.85
        if not success:
            remote, pwhash, device = rng.choice(guessers), f"{rng.getrandbits(12):03x}", ""
        attrs = {
            "login": login,
            "pwhash": pwhash,
            "remote": remote,
            "device_id": device,
            "protocol": rng.choice(("imap", "imap", "imap", "pop3", "submission")),
            "session_id": f"{rng.getrandbits(96):024x}",
            "tls": success or rng.random() < 0.5,
        }
        report = {**attrs, "success": success, "policy_reject": False}
        for command, body in (("allow", attrs), ("allow", attrs), ("report", report)):
            data = json.dumps(body).encode()
            requests.append(
                f"POST /?command={command} HTTP/1.1\r\n{head}Content-Length: "
                f"{len(data)}\r\n\r\n".encode()
                + data
            )
    return requests


# the load generator (a separate process) --------------------------------------------------------


class Load:
    """Shared state of one run: the request pool, the clock, what came back."""

    def __init__(self, requests: list[bytes], start_ns: int, end_ns: int) -> None:
        self.requests = requests
        self.next = 0
        self.start_ns = start_ns
        self.end_ns = end_ns
        self.latencies: list[int] = []
        self.lags: list[int] = []  # paced: how late each request was handed out
        self.answers: collections.Counter[str] = collections.Counter()
        self.invalid: list[str] = []
        self.errors: list[str] = []
        self.backlog: collections.deque[tuple[int, int]] = collections.deque()
        self.free: list[Conn] = []
        self.max_backlog = 0
        self.unanswered = 0

    def take(self) -> tuple[int, bytes]:
        index = self.next
        self.next += 1
        return index, self.requests[index % len(self.requests)]

    def record(self, index: int, due_ns: int, done_ns: int, answer: bytes) -> None:
        """Check an answer; count it when its request was due inside the measured window."""
        status_line, _, rest = answer.partition(b"\r\n")
        body = rest.partition(b"\r\n\r\n")[2]
        at = body.find(b'"status":')
        if not status_line.startswith(b"HTTP/1.1 200") or at < 0:
            if len(self.invalid) < 3:
                self.invalid.append(answer[:200].decode("utf-8", "replace"))
            self.answers["invalid"] += 1
            return
        if not self.start_ns <= due_ns < self.end_ns:
            return
        self.latencies.append(done_ns - due_ns)
        value = body[at + 9 :].lstrip().split(b",", 1)[0].split(b"}", 1)[0].strip()
        command = "report" if index % 3 == 2 else "allow"
        word = {b"0": "allow", b"-1": "reject"}.get(value, "tarpit")
        self.answers[f"{command}:{word if command == 'allow' else 'ok'}"] += 1


class Conn(asyncio.Protocol):
    """One keep-alive connection, one request in flight, like Dovecot's HTTP client."""

    def __init__(self, load: Load, paced: bool) -> None:
        self.load = load
        self.paced = paced
        self.buffer = bytearray()
        self.index = 0
        self.due_ns = 0
        self.need = -1
        self.transport: asyncio.Transport | None = None
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)

    def send(self, index: int, data: bytes, due_ns: int) -> None:
        self.index, self.due_ns, self.need = index, due_ns, -1
        assert self.transport is not None
        self.transport.write(data)

    def send_next(self) -> None:
        index, data = self.load.take()
        self.send(index, data, time.perf_counter_ns())

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if self.need < 0:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(self.buffer) > MAX_ANSWER:
                    self._fail("answer headers too long")
                return
            self.need = end + 4 + _content_length(bytes(self.buffer[:end]))
        if len(self.buffer) < self.need:
            return
        now = time.perf_counter_ns()
        answer = bytes(self.buffer[: self.need])
        del self.buffer[: self.need]
        self.load.record(self.index, self.due_ns, now, answer)
        self.after_answer(now)

    def after_answer(self, now: int) -> None:
        load = self.load
        if self.paced:
            if load.backlog:
                index, due = load.backlog.popleft()
                self.send(index, load.requests[index % len(load.requests)], due)
            else:
                self.need = -1
                load.free.append(self)
        elif now < load.end_ns:
            self.send_next()
        else:
            self.need = -1

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closed:
            self._fail(f"connection lost: {exc or 'closed by server'}")

    def _fail(self, why: str) -> None:
        self.closed = True
        self.load.errors.append(why)
        if self.transport is not None:
            self.transport.close()


def _content_length(headers: bytes) -> int:
    for line in headers.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value.strip() or b"0")
    return 0


async def pace(load: Load, rate: float) -> None:
    """Schedule requests at ``rate`` per second from now until the end of the window.

    The generator wakes up every millisecond or so and hands out the requests due by then (about
    three at 3,000/s), so it stays light and leaves its CPU to others. Latency runs from that
    hand-out (to a free connection, or to the queue when none is free): the generator's own
    lateness (``lags``) is not charged to the server, queueing behind a slow answer is.
    """
    interval = 1e9 / rate
    begin = time.perf_counter_ns()
    number = 0
    while True:
        due = begin + int(number * interval)
        if due >= load.end_ns:
            return
        now = time.perf_counter_ns()
        if due > now:  # sleep at least a millisecond: shorter sleeps spin in uvloop
            await asyncio.sleep(max(0.001, (due - now) / 1e9))
            continue
        number += 1
        load.lags.append(now - due)
        index, data = load.take()
        if load.free:
            load.free.pop().send(index, data, now)
        else:
            load.backlog.append((index, now))
            load.max_backlog = max(load.max_backlog, len(load.backlog))


async def run_load(args: argparse.Namespace) -> Result:
    """Open the connections, run the warm-up and the window, summarise."""
    requests = make_requests(args.seed, args.attempts, args.accounts, args.attackers, args.port)
    far = time.perf_counter_ns() + 3600 * 10**9
    load = Load(requests, far, far)
    paced = args.rate > 0
    loop = asyncio.get_running_loop()
    conns = []
    for _ in range(args.connections):
        conn = Conn(load, paced)
        await loop.create_connection(_factory(conn), "127.0.0.1", args.port)
        conns.append(conn)
    load.free = list(conns)
    load.start_ns = time.perf_counter_ns() + int(args.warmup * 1e9)
    load.end_ns = load.start_ns + int(args.duration * 1e9)
    cpu_before, wall_before = _cpu_seconds(), time.perf_counter()
    if paced:
        await pace(load, args.rate)
    else:
        for conn in conns:
            conn.send_next()
        await asyncio.sleep((load.end_ns - time.perf_counter_ns()) / 1e9)
    deadline = time.monotonic() + GRACE_SECONDS
    while time.monotonic() < deadline and (
        load.backlog or any(c.need >= 0 and not c.closed for c in conns)
    ):
        await asyncio.sleep(0.01)
    cpu = (_cpu_seconds() - cpu_before) / (time.perf_counter() - wall_before)
    load.unanswered = len(load.backlog) + sum(1 for c in conns if c.need >= 0)
    for conn in conns:
        conn.closed = True
        if conn.transport is not None:
            conn.transport.close()
    return summarise(load, args, cpu)


def _factory(conn: Conn) -> Callable[[], Conn]:
    return lambda: conn


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def percentile(values: list[int], fraction: float) -> float:
    """Nearest-rank percentile of sorted nanoseconds, in milliseconds."""
    if not values:
        return float("nan")
    rank = max(0, min(len(values) - 1, int(fraction * len(values) + 0.5) - 1))
    return values[rank] / 1e6


def summarise(load: Load, args: argparse.Namespace, cpu: float) -> Result:
    """The JSON result of one run."""
    values = sorted(load.latencies)
    lags = sorted(load.lags)
    allows = sum(n for k, n in load.answers.items() if k.startswith("allow:"))
    return {
        "answered": len(values),
        "rate": len(values) / args.duration,
        "allow_rate": allows / args.duration,
        "p50_ms": percentile(values, 0.50),
        "p99_ms": percentile(values, 0.99),
        "max_ms": values[-1] / 1e6 if values else float("nan"),
        "lag_p99_ms": percentile(lags, 0.99),
        "lag_max_ms": lags[-1] / 1e6 if lags else float("nan"),
        "max_backlog": load.max_backlog,
        "unanswered": load.unanswered,
        "answers": dict(load.answers),
        "invalid": load.invalid,
        "errors": load.errors[:5],
        "error_count": len(load.errors),
        "generator_cpu": cpu,
    }


def load_main(argv: list[str]) -> int:
    """``_load``: one run against a port; prints its JSON result."""
    parser = argparse.ArgumentParser(prog="auth_policy_throughput.py _load")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--rate", type=float, default=0.0, help="paced requests/s; 0: closed")
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--attempts", type=int, default=30000)
    parser.add_argument("--accounts", type=int, default=20000)
    parser.add_argument("--attackers", type=int, default=300)
    parser.add_argument("--cpu", type=int, default=-1)
    args = parser.parse_args(argv)
    if args.cpu >= 0:
        os.sched_setaffinity(0, {args.cpu})
    loop = "asyncio"
    try:
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
        loop = "uvloop"
    except ImportError:
        pass
    result = asyncio.run(run_load(args))
    result["loop"] = loop
    print(json.dumps(result))
    return 0


# the floor server (a separate process) ---------------------------------------------------------


async def floor_app(
    scope: dict[str, Any], receive: Callable[[], Any], send: Callable[[dict[str, Any]], Any]
) -> None:
    """Read the whole body, answer ``{"status": 0, "msg": ""}``: the least a policy server does."""
    if scope["type"] != "http":
        return
    more = True
    while more:
        message = await receive()
        more = message.get("more_body", False)
    body = b'{"status": 0, "msg": ""}'
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def floor_main(argv: list[str]) -> int:
    """``_floor --port N``: uvicorn as Mailwarden embeds it (httptools, plain asyncio loop)."""
    import uvicorn

    parser = argparse.ArgumentParser(prog="auth_policy_throughput.py _floor")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    config = uvicorn.Config(
        floor_app,
        host="127.0.0.1",
        port=args.port,
        log_level="warning",
        access_log=False,
        lifespan="off",
        http="httptools",
        timeout_keep_alive=30,
    )
    asyncio.run(uvicorn.Server(config).serve())
    return 0


# the servers ------------------------------------------------------------------------------------


def mailwarden_command() -> list[str]:
    """The installed ``mailwarden`` script next to this Python, else ``python -m mailwarden``."""
    exe = Path(sys.executable).parent / "mailwarden"
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "mailwarden"]


def start_server(name: str, workdir: Path, port: int, cpu: int | None) -> Server:
    """Start ``floor`` or ``mailwarden`` (fresh data folder) on ``port``, pinned to ``cpu``."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT / "src"), env.get("PYTHONPATH")]))
    if name == "floor":
        cmd = [sys.executable, str(Path(__file__).resolve()), "_floor", "--port", str(port)]
    else:
        config = workdir / "mailwarden.toml"
        config.write_text(
            f'[organization]\ndomains = ["{DOMAIN}"]\nhome_countries = ["JP"]\n\n'
            f'[login]\napi_key = "{API_KEY}"\n'
        )
        (workdir / "data").mkdir()
        cmd = [
            *mailwarden_command(),
            "serve",
            "--data-dir",
            str(workdir / "data"),
            "--config",
            str(config),
            "--policy-listen",
            "off",
            "--auth-policy-listen",
            f"127.0.0.1:{port}",
        ]
    popen = spawn(cmd, workdir / "server.log", cpu, env)
    return Server(name, port, workdir / "server.log", popen, lambda: popen.pid)


def probe(port: int) -> str:
    """One ``allow`` request; its JSON answer (OSError when there is none)."""
    body = json.dumps(
        {
            "login": f"probe@{DOMAIN}",
            "pwhash": "abc",
            "remote": "133.242.20.20",
            "device_id": "",
            "protocol": "imap",
            "session_id": "probe",
            "tls": True,
        }
    )
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        connection.request(
            "POST",
            "/?command=allow",
            body,
            {"Content-Type": "application/json", "X-API-Key": API_KEY},
        )
        answer = connection.getresponse()
        text = answer.read().decode()
    except (http.client.HTTPException, ValueError) as exc:
        raise OSError(str(exc)) from exc
    finally:
        connection.close()
    if answer.status != 200 or '"status"' not in text:
        raise OSError(f"HTTP {answer.status}: {text[:200]}")
    return text


def wait_ready(server: Server, timeout: float = 60.0) -> str:
    """Poll until the server answers a probe."""
    deadline = time.monotonic() + timeout
    error: Exception | None = None
    while time.monotonic() < deadline:
        if server.popen is not None and server.popen.poll() is not None:
            break
        try:
            return probe(server.port)
        except OSError as exc:
            error = exc
            time.sleep(0.1)
    raise PeerError(f"{server.name} did not answer on {server.port}: {error}\n{server.log_tail()}")


def run_one(name: str, mode: str, args: argparse.Namespace) -> Result:
    """A fresh server, one run of the generator in ``mode`` (saturation or paced), stopped."""
    gen_cpu, server_cpu = cpu_plan(args.no_pin)
    with tempfile.TemporaryDirectory(prefix=f"bench-auth-{name}-") as tmp:
        port = free_port()
        server = start_server(name, Path(tmp), port, server_cpu)
        try:
            wait_ready(server)
            cmd = [
                sys.executable,
                str(Path(__file__).resolve()),
                "_load",
                "--port",
                str(port),
                "--connections",
                str(args.connections),
                "--warmup",
                str(args.warmup),
                "--duration",
                str(args.duration),
                "--cpu",
                str(-1 if gen_cpu is None else gen_cpu),
                "--rate",
                str(args.rate if mode == "paced" else 0),
            ]
            cpu_before, busy_before = server.cpu_seconds(), machine_busy_seconds()
            wall_before = time.perf_counter()
            done = subprocess.run(
                cmd, capture_output=True, check=False, timeout=args.warmup + args.duration + 90
            )
            wall = time.perf_counter() - wall_before
            if done.returncode != 0:
                raise PeerError(f"load generator failed: {done.stderr.decode()[-1500:]}")
            result: Result = json.loads(done.stdout)
            result["server_cpu"] = (server.cpu_seconds() - cpu_before) / wall
            busy = (machine_busy_seconds() - busy_before) / wall
            result["other_cpu"] = max(0.0, busy - result["server_cpu"] - result["generator_cpu"])
            return result
        finally:
            server.stop()


def run_quiet(name: str, mode: str, args: argparse.Namespace, number: int) -> Result:
    """One run, repeated (up to --retries times) while other processes disturbed it."""
    best: Result | None = None
    for _ in range(args.retries + 1):
        wait_for_quiet(args.max_other)
        try:
            result = run_one(name, mode, args)
        except (PeerError, subprocess.TimeoutExpired, json.JSONDecodeError) as exc:
            result = {"failed": str(exc)}
        print(f"round {number} {name} {mode}: {_brief(result)}", file=sys.stderr)
        if "failed" in result:
            return result
        if best is None or result["other_cpu"] < best["other_cpu"]:
            best = result
        if result["other_cpu"] <= args.max_other:
            break
    assert best is not None
    return best


def _brief(result: Result) -> str:
    if "failed" in result:
        return "FAILED " + str(result["failed"])[:800]
    return (
        f"{result['rate']:.0f}/s (allow {result['allow_rate']:.0f}/s) p50 "
        f"{result['p50_ms']:.2f} p99 {result['p99_ms']:.2f} max {result['max_ms']:.1f} ms, "
        f"lag p99 {result['lag_p99_ms']:.2f} ms, backlog {result['max_backlog']}, server "
        f"cpu {result['server_cpu']:.0%}, generator cpu {result['generator_cpu']:.0%}, "
        f"other {result['other_cpu']:.0%}, answers {result['answers']}, errors "
        f"{result['error_count']}, unanswered {result['unanswered']}"
    )


def run_rounds(args: argparse.Namespace) -> dict[tuple[str, str], list[Result]]:
    """Every (server, mode) once a round; the servers' order rotates each round."""
    runs: dict[tuple[str, str], list[Result]] = {}
    for number in range(args.rounds):
        shift = number % len(SERVERS)
        for name in SERVERS[shift:] + SERVERS[:shift]:
            for mode in ("saturation", "paced"):
                runs.setdefault((name, mode), []).append(run_quiet(name, mode, args, number + 1))
    return runs


# the report -------------------------------------------------------------------------------------


def summarise_runs(results: list[Result]) -> Result | None:
    """Medians over the successful rounds, sums of the checks."""
    good = [r for r in results if "failed" not in r and r["answered"] > 0]
    if not good:
        return None
    answers: collections.Counter[str] = collections.Counter()
    for result in good:
        answers.update(result["answers"])
    keys = ("rate", "allow_rate", "p50_ms", "p99_ms", "max_ms", "lag_p99_ms", "server_cpu")
    summary: Result = {key: statistics.median(r[key] for r in good) for key in keys}
    summary.update(
        {
            "rates": [r["rate"] for r in good],
            "p99s": [r["p99_ms"] for r in good],
            "answers": dict(answers),
            "generator_cpu": max(r["generator_cpu"] for r in good),
            "lag_max_ms": max((r["lag_max_ms"] for r in good if r["lag_max_ms"] >= 0), default=0.0),
            "other_cpu": max(r["other_cpu"] for r in good),
            "loop": good[0]["loop"],
            "max_backlog": max(r["max_backlog"] for r in good),
            "problems": sum(len(r["invalid"]) + r["error_count"] + r["unanswered"] for r in good)
            + len(results)
            - len(good),
        }
    )
    return summary


def _verdicts(answers: dict[str, int]) -> str:
    allows = {k[6:]: n for k, n in answers.items() if k.startswith("allow:")}
    total = sum(allows.values()) or 1
    return ", ".join(
        f"{word} {n / total:.1%}" for word, n in sorted(allows.items(), key=lambda item: -item[1])
    )


def table(runs: dict[tuple[str, str], list[Result]], rate: float) -> tuple[str, dict[str, Any]]:
    """The markdown table and the per-server summaries."""
    rows = [
        "| server | saturation: requests/s (median) | of which allow/s | p50 ms | p99 ms "
        f"| paced {rate:,.0f}/s: answered/s | p50 ms | p99 ms | max ms | server CPU at "
        "saturation | allow answers |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    sums: dict[str, Any] = {}
    for name in SERVERS:
        sat = summarise_runs(runs.get((name, "saturation"), []))
        paced = summarise_runs(runs.get((name, "paced"), []))
        sums[name] = (sat, paced)
        cells = [TITLES[name]]
        if sat:
            cells += [
                f"{sat['rate']:,.0f} ({', '.join(f'{r:,.0f}' for r in sat['rates'])})",
                f"{sat['allow_rate']:,.0f}",
                f"{sat['p50_ms']:.2f}",
                f"{sat['p99_ms']:.2f}",
            ]
        else:
            cells += ["failed", "", "", ""]
        if paced:
            cells += [
                f"{paced['rate']:,.0f}",
                f"{paced['p50_ms']:.2f}",
                f"{paced['p99_ms']:.2f} ({', '.join(f'{p:.2f}' for p in paced['p99s'])})",
                f"{paced['max_ms']:.1f}",
            ]
        else:
            cells += ["failed", "", "", ""]
        cells += [
            f"{sat['server_cpu']:.0%}" if sat else "",
            _verdicts(sat["answers"]) if sat and name == "mailwarden" else "all allow (status 0)",
        ]
        rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(rows), sums


def _fill(text: str, indent: str = "") -> str:
    return textwrap.fill(
        text, 100, subsequent_indent=indent, break_long_words=False, break_on_hyphens=False
    )


def goals(sums: dict[str, Any], rate: float) -> str:
    """Whether Mailwarden meets the stated goals."""
    sat, paced = sums.get("mailwarden", (None, None))
    if not sat or not paced:
        return "Goals: not judged (Mailwarden failed)."
    floor_sat = sums.get("floor", (None, None))[0]
    share = (
        f" ({sat['rate'] / floor_sat['rate']:.0%} of the floor's requests/s)" if floor_sat else ""
    )
    allow_ok = "met" if sat["allow_rate"] >= 3000 else "NOT met"
    p99_ok = "met" if paced["p99_ms"] < 5 and paced["rate"] >= 0.98 * rate else "NOT met"
    return _fill(
        f"Goals: ≥ 3,000 `allow` requests/s — {allow_ok}: {sat['allow_rate']:,.0f} allow/s "
        f"within {sat['rate']:,.0f} requests/s at saturation{share}. p99 under 5 ms at "
        f"{rate:,.0f} requests/s offered — {p99_ok}: p99 {paced['p99_ms']:.2f} ms, p50 "
        f"{paced['p50_ms']:.2f} ms, {paced['rate']:,.0f} answered/s."
    )


def section(
    args: argparse.Namespace, runs: dict[tuple[str, str], list[Result]]
) -> tuple[str, bool]:
    """The whole markdown section; whether there were problems."""
    result_table, sums = table(runs, args.rate)
    all_sums = [s for pair in sums.values() for s in pair if s]
    problems = sum(s["problems"] for s in all_sums) + sum(
        1 for pair in sums.values() for s in pair if s is None
    )
    generator = max((s["generator_cpu"] for s in all_sums), default=0.0)
    paced = [s for name in SERVERS for s in [sums[name][1]] if s]
    lag = max((s["lag_p99_ms"] for s in paced), default=0.0)
    lag_max = max((s["lag_max_ms"] for s in paced), default=0.0)
    other = max((s["other_cpu"] for s in all_sums), default=0.0)
    loop = next((s["loop"] for s in all_sums), "?")
    command = shlex.join(["python", "bench/auth_policy_throughput.py", *sys.argv[1:]])
    checks = (
        f"Checks: {problems} invalid answers, lost connections, unanswered requests or failed runs."
        if problems
        else "Checks: every answer of every run (warm-up included) was HTTP 200 with a JSON "
        "`status`; no connection was lost; every request due in the window was answered."
    )
    parts = [
        "## Dovecot auth policy throughput (`bench/auth_policy_throughput.py`)",
        f"Measured {dt.date.today().isoformat()} with\n\n    {command}",
        _fill(
            f"Machine: {machine_note(args)}. Other processes used up to {other:.0%} of a core "
            f"during the kept runs (a run disturbed by more than {args.max_other:.0%} is "
            f"repeated up to {args.retries} time(s), the quietest kept). The load generator "
            f"(this script's `_load` mode, {loop} event loop) used at most {generator:.0%} of "
            "its core; in paced runs it handed requests out at most "
            f"{lag:.2f} ms after their scheduled moment (p99 of the kept runs; worst "
            f"{lag_max:.1f} ms)."
        ),
        _fill(
            f"Load: {args.connections} keep-alive HTTP/1.1 connections (Dovecot's client keeps "
            "up to 100), one request in flight each. Per login attempt Dovecot's default "
            "sequence: `POST /?command=allow` before and after the password check and "
            "`POST /?command=report` with `success` and `policy_reject`, each with the JSON "
            "attributes of the default `auth_policy_request_attributes` (`login`, `pwhash`, "
            "`remote`, `device_id`, `protocol`, `session_id`) plus `tls`, and an `X-API-Key` "
            "header: 85% of attempts are 20,000 accounts logging in from their usual Japanese "
            "address and device, 15% guesses from 300 addresses abroad on the same accounts "
            "with a new password hash each (the generator does not react to answers). "
            "Saturation: closed loop, each connection sends its next request when the answer "
            f"arrives. Paced: requests are scheduled at {args.rate:,.0f} per second (allow and "
            "report together) on a clock and handed to a free connection, or queued until one "
            "is free; latency runs from the hand-out to the end of the answer, so queueing "
            "behind a slow answer counts (the generator's own lateness does not). Each run has "
            "a fresh server, warmed up for "
            f"{args.warmup:g} s and measured for {args.duration:g} s; {args.rounds} round(s), "
            "the servers interleaved; medians (each round's value in parentheses)."
        ),
        result_table,
        goals(sums, args.rate),
        _fill(
            "The floor is a bare ASGI app under the same uvicorn settings Mailwarden embeds "
            "(httptools, lifespan off, no access log, the standard asyncio loop inside "
            '`asyncio.run`): it reads the body and answers `{"status": 0}` without parsing '
            "it. Mailwarden: `mailwarden serve --data-dir DIR --config FILE --policy-listen off "
            "--auth-policy-listen 127.0.0.1:PORT` with a fresh data folder, `[organization] "
            'domains = ["city.example.jp"]`, `home_countries = ["JP"]` and `[login] api_key`; '
            "every other setting is the shipped default (tarpit after 5 distinct wrong "
            "passwords from an address, reject after 10, within 60 minutes)."
        ),
        checks,
    ]
    return "\n\n".join(parts) + "\n", problems > 0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command line of the benchmark."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=float, default=10.0, help="measured seconds per run")
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--rate", type=float, default=3000.0, help="paced requests per second")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-pin", action="store_true", help="do not pin processes to CPUs")
    parser.add_argument("--max-other", type=float, default=0.25)
    parser.add_argument("--retries", type=int, default=2)
    parser.add_argument("--no-write", action="store_true", help="leave docs/benchmarks.md alone")
    parser.add_argument("--json", type=Path, help="also write every run's raw result here")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark (or, as ``_floor``/``_load``, one of its processes)."""
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["_floor"]:
        return floor_main(argv[1:])
    if argv[:1] == ["_load"]:
        return load_main(argv[1:])
    args = parse_args(argv)
    runs = run_rounds(args)
    text, problems = section(args, runs)
    print(text)
    if args.json:
        args.json.write_text(json.dumps({f"{n} {m}": r for (n, m), r in runs.items()}, indent=1))
    if not args.no_write:
        write_section(SECTION, text)
        print(f"wrote {DOC.relative_to(ROOT)}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
