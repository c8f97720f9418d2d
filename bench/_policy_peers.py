"""The policy servers that ``policy_throughput.py`` compares, and how each is started and stopped.

Every server runs on a loopback TCP port in its own fresh temporary folder, optionally pinned to
one CPU (set before ``exec``, so the children of a forking server inherit it).
"""

from __future__ import annotations

import contextlib
import grp
import importlib.metadata
import importlib.util
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import time
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
PROBE = (
    b"request=smtpd_access_policy\nprotocol_state=RCPT\nprotocol_name=ESMTP\n"
    b"helo_name=probe.city.example.jp\nqueue_id=\nsender=probe@city.example.jp\n"
    b"recipient=someone@example.com\nrecipient_count=0\nclient_address=133.242.20.20\n"
    b"client_name=unknown\nreverse_client_name=unknown\ninstance=1.2.3.4\n"
    b"sasl_method=PLAIN\nsasl_username=probe@city.example.jp\nsasl_sender=\nsize=1000\n\n"
)
RATE_LIMIT = (100, 3600)


class PeerError(RuntimeError):
    """A server could not be started or did not answer; the message says which and why."""


@dataclass
class Server:
    """A started policy server."""

    name: str
    port: int
    log: Path
    popen: subprocess.Popen[bytes] | None
    main_pid: Callable[[], int | None]
    extra_pids: list[int] = field(default_factory=list)

    def pids(self) -> set[int]:
        """The server's process and all its descendants."""
        root = self.main_pid()
        found = descendants(root) if root else set()
        return found | {pid for pid in self.extra_pids if Path(f"/proc/{pid}").exists()}

    def cpu_seconds(self) -> float:
        """CPU time used so far by the server's processes (and their reaped children)."""
        ticks = 0
        for pid in self.pids():
            with contextlib.suppress(OSError, IndexError, ValueError):
                fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
                ticks += sum(int(value) for value in fields[11:15])
        return ticks / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        """SIGTERM every process of the server, then SIGKILL what is left after 5 s."""
        pids = self.pids()
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and any(_alive(pid) for pid in pids):
            if self.popen is not None:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self.popen.wait(0.1)
            time.sleep(0.05)
        for pid in pids:
            if _alive(pid):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and any(_alive(pid) for pid in pids):
            time.sleep(0.05)
        if self.popen is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.popen.wait(5)

    def log_tail(self, lines: int = 15) -> str:
        """The end of the server's output, for error messages."""
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def descendants(root: int) -> set[int]:
    """``root`` and every process below it, from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, IndexError, ValueError):
            ppid = int((entry / "stat").read_text().rpartition(")")[2].split()[1])
            children.setdefault(ppid, []).append(int(entry.name))
    found, todo = set(), [root]
    while todo:
        pid = todo.pop()
        if pid not in found:
            found.add(pid)
            todo.extend(children.get(pid, []))
    return found


def free_port() -> int:
    """A loopback TCP port that is free right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _pin(cpu: int | None) -> Callable[[], None] | None:
    if cpu is None:
        return None
    return lambda: os.sched_setaffinity(0, {cpu})


def spawn(
    cmd: list[str], log: Path, cpu: int | None, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """Start ``cmd`` with its output in ``log``, pinned to ``cpu``."""
    with log.open("ab") as out:
        return subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            preexec_fn=_pin(cpu),
            cwd=log.parent,
        )


def probe(port: int, timeout: float = 5.0) -> str:
    """Send one RCPT request and return the answer's action text; raise OSError on failure."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(PROBE)
        answer = b""
        while not answer.endswith(b"\n\n"):
            chunk = sock.recv(4096)
            if not chunk:
                raise OSError(f"connection closed after {answer!r}")
            answer += chunk
    if not answer.startswith(b"action=") or answer.count(b"\n") != 2:
        raise OSError(f"not a policy answer: {answer[:200]!r}")
    return answer[7:-2].decode()


def wait_ready(server: Server, timeout: float) -> str:
    """Poll until the server answers a probe; return its answer or raise PeerError."""
    deadline = time.monotonic() + timeout
    error: Exception | None = None
    while time.monotonic() < deadline:
        if server.popen is not None and server.popen.poll() not in (None, 0):
            break
        try:
            return probe(server.port)
        except OSError as exc:
            error = exc
            time.sleep(0.1)
    raise PeerError(
        f"{server.name} did not answer on port {server.port}: {error}\n{server.log_tail()}"
    )


def _user_group() -> tuple[str, str]:
    return pwd.getpwuid(os.getuid()).pw_name, grp.getgrgid(os.getgid()).gr_name


def _find(name: str) -> str | None:
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    return shutil.which(name, path=path)


def _dist_version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "?"


class Peer:
    """A policy server in the comparison."""

    name = ""
    title = ""
    ready_timeout = 20.0
    # before the measured run, send one ordinary message of every account (unmeasured)
    prepass = False

    def missing(self) -> str | None:
        """Why this peer cannot run here, or None."""
        return None

    def version(self) -> str:
        """Version of the peer's software."""
        return ""

    def notes(self) -> str:
        """How the peer is configured, for docs/benchmarks.md."""
        return ""

    def start(self, workdir: Path, port: int, cpu: int | None, connections: int) -> Server:
        """Start the server in ``workdir`` on ``port``."""
        raise NotImplementedError


class Floor(Peer):
    """The bare asyncio server in bench/_policy_floor.py."""

    name = "floor"
    title = "floor (bare asyncio, DUNNO)"

    def version(self) -> str:
        return f"Python {sys.version.split()[0]}"

    def notes(self) -> str:
        return (
            "`bench/_policy_floor.py`: standard asyncio event loop, one `Protocol`, parses every "
            "request into a dict (16 KiB bound) and answers `action=DUNNO`; no decision, no state."
        )

    loop = "asyncio"

    def start(self, workdir: Path, port: int, cpu: int | None, connections: int) -> Server:
        cmd = [sys.executable, str(BENCH / "_policy_floor.py"), "--listen", f"127.0.0.1:{port}"]
        cmd += ["--loop", self.loop]
        popen = spawn(cmd, workdir / "server.log", cpu)
        return Server(self.name, port, workdir / "server.log", popen, lambda: popen.pid)


class FloorUvloop(Floor):
    """The same bare server on uvloop: the floor for a server that runs on uvloop."""

    name = "floor-uvloop"
    title = "floor (bare uvloop, DUNNO)"
    loop = "uvloop"

    def missing(self) -> str | None:
        if importlib.util.find_spec("uvloop") is None:
            return "uvloop is not installed (pip install -e .)"
        return None

    def version(self) -> str:
        return f"uvloop {_dist_version('uvloop')}"

    def notes(self) -> str:
        return (
            "the same `bench/_policy_floor.py` started with `--loop uvloop`: the same Python "
            "`Protocol` on uvloop's event loop (libuv; sockets, buffers and callbacks in C), the "
            "loop `mailwarden serve` runs on."
        )


MAILWARDEN_CONFIG = """\
[organization]
domains = ["city.example.jp"]
home_countries = ["JP"]
"""


class Mailwarden(Peer):
    """``mailwarden serve`` with a fresh data folder."""

    name = "mailwarden"
    title = "Mailwarden, cold (fresh server)"
    ready_timeout = 60.0
    event_loop = "auto"

    def command(self) -> list[str]:
        """The installed ``mailwarden`` script, else ``python -m mailwarden`` from src/."""
        exe = _find("mailwarden")
        return [exe] if exe else [sys.executable, "-m", "mailwarden"]

    def env(self) -> dict[str, str]:
        """The environment, with the work tree's src/ on PYTHONPATH."""
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(
            filter(None, [str(ROOT / "src"), env.get("PYTHONPATH")])
        )
        return env

    def missing(self) -> str | None:
        try:
            done = subprocess.run(
                [*self.command(), "serve", "--help"],
                capture_output=True,
                timeout=60,
                env=self.env(),
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            return f"`mailwarden serve --help` failed: {exc}"
        if done.returncode != 0 or b"--policy-listen" not in done.stdout:
            return "`mailwarden serve` with `--policy-listen` is not available yet"
        return None

    def version(self) -> str:
        installed = _dist_version("mailwarden")
        if installed != "?":
            return installed
        with (ROOT / "pyproject.toml").open("rb") as file:
            return f"{tomllib.load(file)['project']['version']} (work tree)"

    def notes(self) -> str:
        return (
            "`mailwarden serve --data-dir DIR --config FILE --policy-listen 127.0.0.1:PORT` with a "
            "fresh data folder every round and only `[organization] domains = "
            '["city.example.jp"]`, `home_countries = ["JP"]` in the config: every other setting '
            "(cold-start limits, hold mode, quarantine, SQLite store) is the shipped default; "
            "it runs on uvloop (installed with it; `mailwarden: event loop uvloop` in its log). "
            "The measured window is the first 12 s of the server's life, so most accounts are "
            "seen for the first time in it."
        )

    def start(self, workdir: Path, port: int, cpu: int | None, connections: int) -> Server:
        config = workdir / "mailwarden.toml"
        config.write_text(MAILWARDEN_CONFIG)
        data = workdir / "data"
        data.mkdir()
        cmd = [
            *self.command(),
            "serve",
            "--data-dir",
            str(data),
            "--config",
            str(config),
            "--policy-listen",
            f"127.0.0.1:{port}",
            "--event-loop",
            self.event_loop,
        ]
        popen = spawn(cmd, workdir / "server.log", cpu, self.env())
        return Server(self.name, port, workdir / "server.log", popen, lambda: popen.pid)


class MailwardenSteady(Mailwarden):
    """The same server, measured once every account has been seen (as in a running daemon)."""

    name = "mailwarden-steady"
    title = "Mailwarden, steady (every account seen)"
    prepass = True

    def notes(self) -> str:
        return (
            "the same command and configuration, a fresh data folder every round; before the "
            "warm-up, an unmeasured pre-pass through the same server sends one ordinary message "
            "of every account (from its usual address and sender to its usual correspondents, "
            "RCPT and END-OF-MESSAGE requests over 50 other connections), so that the measured "
            "window sees known accounts, as a daemon that has run for a while does (their state "
            "in memory, their address looked up once). Their baselines are still cold: learning "
            "settles after 24 hours."
        )


class MailwardenAsyncio(Mailwarden):
    """The cold run on the standard asyncio loop: what uvloop contributes."""

    name = "mailwarden-asyncio"
    title = "Mailwarden, cold, standard asyncio loop"
    event_loop = "asyncio"

    def notes(self) -> str:
        return (
            "the cold run with `--event-loop asyncio`: the same server on Python's own event "
            "loop, to show what uvloop contributes (compare with the asyncio floor)."
        )


class PolicydRateLimit(Peer):
    """policyd-rate-limit (PyPI) with its SQLite backend."""

    name = "policyd-rate-limit"
    title = "policyd-rate-limit"

    def missing(self) -> str | None:
        if _find("policyd-rate-limit") is None:
            return "policyd-rate-limit is not installed (pip install -e '.[bench]')"
        return None

    def version(self) -> str:
        return _dist_version("policyd-rate-limit")

    def notes(self) -> str:
        count, seconds = RATE_LIMIT
        return (
            f"YAML config (`policyd-rate-limit -f FILE`): SQLite backend (`backend: 0`) in a fresh "
            f"folder every round, `limits: [[{count}, {seconds}]]` per `sasl_username` "
            "(`limit_by_sasl: true`, sender and IP limits off), `count_mode: 0` (counts at "
            "RCPT, the stage this load sends; its preferred mode 1 counts only DATA requests), "
            "`fail_action: HOLD rate limit reached`, `debug: false`, TCP socket "
            '`["127.0.0.1", PORT]`, `sql_limits_by_id: ""` (1.2.0 fails without it). It is one '
            "process with a `select()` loop; every request runs SELECT SUM + INSERT on an "
            "unindexed table and commits (one fsync) on the same disk as the other servers' data, "
            "so it waits on the disk more than on the CPU."
        )

    def start(self, workdir: Path, port: int, cpu: int | None, connections: int) -> Server:
        exe = _find("policyd-rate-limit")
        assert exe is not None
        user, group = _user_group()
        count, seconds = RATE_LIMIT
        config = {
            "debug": False,
            "user": user,
            "group": group,
            "pidfile": str(workdir / "policyd-rate-limit.pid"),
            "backend": 0,
            "sqlite_config": {"database": str(workdir / "db" / "rate.sqlite3")},
            "SOCKET": ["127.0.0.1", port],
            "limits": [[count, seconds]],
            "limits_by_id": {},
            "sql_limits_by_id": "",
            "limit_by_sasl": True,
            "limit_by_sender": False,
            "limit_by_ip": False,
            "limited_networks": [],
            "success_action": "dunno",
            "fail_action": "HOLD rate limit reached",
            "db_error_action": "dunno",
            "report": False,
            "delay_to_close": 300,
            "count_mode": 0,
        }
        path = workdir / "policyd-rate-limit.yaml"
        path.write_text(json.dumps(config, indent=1))  # JSON is YAML
        popen = spawn([exe, "-f", str(path)], workdir / "server.log", cpu)
        return Server(self.name, port, workdir / "server.log", popen, lambda: popen.pid)


class Postfwd(Peer):
    """postfwd2 (Debian package postfwd), pre-forking, with a rate() rule per SASL user."""

    name = "postfwd"
    title = "postfwd2"

    def exe(self) -> str | None:
        """postfwd2 if installed (Debian's default alternative), else postfwd."""
        return shutil.which("postfwd2") or shutil.which("postfwd", path="/usr/sbin:/usr/bin")

    def missing(self) -> str | None:
        if self.exe() is None:
            return "postfwd is not installed (apt-get install postfwd)"
        return None

    def version(self) -> str:
        exe = self.exe()
        if exe is None:
            return "?"
        done = subprocess.run([exe, "-V"], capture_output=True, check=False, timeout=30)
        return done.stdout.decode(errors="replace").split(" (")[0].split()[-1]

    def rules(self) -> str:
        """The ruleset: HOLD a SASL user's request past 100 RCPT requests an hour."""
        count, seconds = RATE_LIMIT
        return (
            f"id=RATE01; protocol_state==RCPT; sasl_username=~.+; "
            f"action=rate(sasl_username/{count}/{seconds}/HOLD rate limit reached)\n"
        )

    def notes(self) -> str:
        return (
            "postfwd2 from Debian, ruleset `" + self.rules().strip() + "`; started with "
            "`--interface 127.0.0.1 --port PORT --perfmon` (no logging), its own pid file and "
            "cache socket, `--min_servers CONNECTIONS+5 --max_servers CONNECTIONS+30` (a child "
            "serves one connection at a time, so 50 persistent connections need 50 children). "
            "postfwd2 always daemonizes (its `--nodaemon` mode reads stdin and has no rate "
            "counters); the script stops it by the pids of its process tree. Being pre-forked, "
            "postfwd2 would spread over every core of a bigger machine; here it gets one core like "
            "the others (`--no-pin` lets it share both with the generator)."
        )

    def start(self, workdir: Path, port: int, cpu: int | None, connections: int) -> Server:
        exe = self.exe()
        assert exe is not None
        user, group = _user_group()
        rules = workdir / "postfwd.cf"
        rules.write_text(self.rules())
        pidfile = workdir / "postfwd.pid"
        cmd = [
            exe,
            "--file",
            str(rules),
            "--interface",
            "127.0.0.1",
            "--port",
            str(port),
            "--user",
            user,
            "--group",
            group,
            "--pidfile",
            str(pidfile),
            "--cache_proto",
            "unix",
            "--cache_port",
            str(workdir / "cache.sock"),
            "--perfmon",
            "--min_servers",
            str(connections + 5),
            "--max_servers",
            str(connections + 30),
            "--min_spare_servers",
            "5",
            "--max_spare_servers",
            "30",
        ]
        popen = spawn(cmd, workdir / "server.log", cpu)
        return Server(
            self.name,
            port,
            workdir / "server.log",
            None,
            lambda: _read_pid(pidfile),
            extra_pids=[popen.pid],
        )


def _read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


PEERS: list[Peer] = [
    Floor(),
    FloorUvloop(),
    Mailwarden(),
    MailwardenSteady(),
    MailwardenAsyncio(),
    PolicydRateLimit(),
    Postfwd(),
]
