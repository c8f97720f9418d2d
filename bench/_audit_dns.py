"""The audit benchmark's DNS: Knot DNS (Debian's ``knot``) serving the generated zones on
127.0.0.1:53 inside a private network namespace, questions to drop (timeouts) as nftables
rules, and a flood to measure a server's answers per second on its own.

Everything runs in a network namespace of its own (``unshare --net``): only its loopback
exists, so port 53 is free for the server (checkdmarc's ``--nameserver`` takes an address,
not a port), and nothing either tool tries, such as checkdmarc resolving an MTA-STS or BIMI
host with the system's resolver, can leave the machine: it fails at once (no route).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import dns.message
import dns.rcode
import dns.rdatatype

import _audit_zones

NETNS_ENV = "MAILWARDEN_BENCH_NETNS"
ADDRESS = "127.0.0.1"
PORT = 53


def enter_netns(argv: list[str]) -> None:
    """Run this script again in a new network namespace with only loopback (needs root);
    returns only inside it."""
    if os.environ.get(NETNS_ENV) == "1":
        return
    unshare = shutil.which("unshare")
    if unshare is None:
        sys.exit("unshare (util-linux) is needed: the benchmark runs in its own network "
                 "namespace")
    inner = "ip link set lo up && exec \"$@\""
    env = dict(os.environ, **{NETNS_ENV: "1"})
    command = [unshare, "--net", "sh", "-c", inner, "sh", sys.executable, *argv]
    done = subprocess.run(command, env=env, check=False)
    sys.exit(done.returncode)


def pinner(cpu: int | None) -> Callable[[], None] | None:
    return None if cpu is None else (lambda: os.sched_setaffinity(0, {cpu}))


class Knot:
    """knotd serving every zone of a corpus from ``root``; zones listed as failing are
    configured without a zone file, so Knot answers SERVFAIL for every name in them."""

    def __init__(self, corpus: _audit_zones.Corpus, root: Path, cpu: int | None,
                 workers: int = 1) -> None:
        self.corpus, self.root, self.cpu, self.workers = corpus, root, cpu, workers
        self.proc: subprocess.Popen[bytes] | None = None
        self.knotd = shutil.which("knotd") or "/usr/sbin/knotd"
        self.knotc = shutil.which("knotc") or "/usr/sbin/knotc"

    def write(self) -> Path:
        zones = self.root / "zones"
        for sub in ("zones", "run", "db"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        (zones / "test.zone").write_text(_audit_zones.parent_zone(self.corpus))
        for origin in self.corpus.zones:
            (zones / f"{origin}.zone").write_text(self.corpus.zone_text(origin))
        names = ["test", *self.corpus.zones, *self.corpus.servfail_zones]
        config = [
            "server:", f"    rundir: {self.root}/run", f"    listen: {ADDRESS}@{PORT}",
            f"    udp-workers: {self.workers}", "    tcp-workers: 1",
            "    background-workers: 1",
            "log:", "  - target: stderr", "    any: error",
            "database:", f"    storage: {self.root}/db",
            "mod-stats:", "  - id: default", "    request-protocol: on",
            "    response-code: on", "    query-type: on",
            "template:", "  - id: default", f"    storage: {zones}", '    file: "%s.zone"',
            "    zonefile-sync: -1", "    zonefile-load: whole", "    journal-content: none",
            "    global-module: mod-stats/default",
            "zone:", *(f"  - domain: {n}." for n in names),
        ]
        path = self.root / "knot.conf"
        path.write_text("\n".join(config) + "\n")
        return path

    def start(self, timeout: float = 60.0) -> Knot:
        config = self.write()
        log = (self.root / "knotd.log").open("wb")
        self.proc = subprocess.Popen([self.knotd, "-c", str(config)], stdout=log, stderr=log,
                                     stdin=subprocess.DEVNULL, preexec_fn=pinner(self.cpu))
        deadline = time.monotonic() + timeout
        probe = self.corpus.domains[-1]
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("knotd exited: "
                                   + (self.root / "knotd.log").read_text()[-800:])
            if self._loaded(probe):
                return self
            time.sleep(0.2)
        raise RuntimeError(f"knotd did not answer within {timeout:g} s")

    def _loaded(self, name: str) -> bool:
        """Every zone is loaded once the control socket says so."""
        done = subprocess.run([self.knotc, "-c", str(self.root / "knot.conf"), "zone-status"],
                              capture_output=True, text=True, check=False)
        if done.returncode != 0:
            return False
        lines = [x for x in done.stdout.splitlines() if x.startswith("[")]
        expected = 1 + len(self.corpus.zones) + len(self.corpus.servfail_zones)
        ready = [x for x in lines if "serial: none" not in x or self._failing(x)]
        return len(lines) == expected and len(ready) == expected and ask(name, "SOA") != ""

    def _failing(self, line: str) -> bool:
        return any(f"[{z}.]" in line for z in self.corpus.servfail_zones)

    def stats(self) -> dict[str, int]:
        """Knot's counters (mod-stats): requests, response codes, query types."""
        done = subprocess.run([self.knotc, "-c", str(self.root / "knot.conf"), "stats"],
                              capture_output=True, text=True, check=False)
        counters: dict[str, int] = {}
        for line in done.stdout.splitlines():
            key, _, value = line.partition(" = ")
            if value.strip().isdigit():
                counters[key.strip()] = int(value)
        return counters

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None


def answered(stats: dict[str, int]) -> int:
    """Questions Knot answered over UDP and TCP (IPv4)."""
    return sum(v for k, v in stats.items() if k.startswith("mod-stats.request-protocol"))


def ask(name: str, rtype: str, port: int = PORT, timeout: float = 1.0) -> str:
    """The rcode of one question to the server ("" without an answer)."""
    query = dns.message.make_query(name, rtype)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(timeout)
        sock.sendto(query.to_wire(), (ADDRESS, port))
        try:
            wire, _ = sock.recvfrom(65535)
        except OSError:
            return ""
    return dns.rcode.to_text(dns.message.from_wire(wire).rcode())


# -- timeouts: questions the server never sees ------------------------------------------------

TABLE = "mwbench"


def _wire_name(name: str) -> bytes:
    return b"".join(bytes([len(x)]) + x.encode() for x in name.rstrip(".").split(".")) + b"\0"


def drop_rules(names: list[str], port: int = PORT) -> None:
    """An nftables rule per name: UDP and TCP questions whose name is exactly it are dropped
    (matched on the question's bytes, case as the tools send it: lower), with a counter."""
    nft = shutil.which("nft")
    if nft is None:
        raise RuntimeError("nft (Debian's nftables) is needed for the timeouts")
    script = [f"table inet {TABLE} {{", "  chain input {",
              "    type filter hook input priority 0; policy accept;"]
    for name in names:
        wire = _wire_name(name.lower())
        matches = []
        for offset in range(0, len(wire), 16):  # one payload expression matches ≤ 128 bits
            chunk = wire[offset:offset + 16]
            bit = 160 + offset * 8  # UDP header (8) + DNS header (12) bytes
            matches.append(f"@th,{bit},{len(chunk) * 8} 0x{chunk.hex()}")
        script.append(f"    udp dport {port} {' '.join(matches)} counter drop")
    script += ["  }", "}"]
    subprocess.run([nft, "-f", "-"], input="\n".join(script), text=True, check=True)


def dropped() -> int:
    """Packets dropped so far by the rules."""
    done = subprocess.run(["nft", "list", "table", "inet", TABLE], capture_output=True,
                          text=True, check=False)
    total = 0
    for line in done.stdout.splitlines():
        if "counter packets" in line:
            total += int(line.split("counter packets", 1)[1].split()[0])
    return total


# -- flooding a server -------------------------------------------------------------------------

def flood(port: int, questions: list[tuple[str, str]], seconds: float, window: int = 64,
          cpu: int | None = None) -> dict[str, float]:
    """Send ``questions`` over and over, ``window`` in flight, for ``seconds``: answers per
    second and the share of questions unanswered when the time was up. Runs in a child
    process pinned to ``cpu`` (the server gets the other one)."""
    here = str(Path(__file__).parent)
    code = (f"import sys, json; sys.path.insert(0, {here!r}); import _audit_dns as d; "
            f"print(json.dumps(d._flood({port}, json.loads(sys.stdin.read()), {seconds!r}, "
            f"{window})))")
    done = subprocess.run([sys.executable, "-c", code], input=json.dumps(questions),
                          capture_output=True, text=True, check=True,
                          preexec_fn=pinner(cpu))
    result: dict[str, float] = json.loads(done.stdout)
    return result


def _flood(port: int, questions: list[list[str]], seconds: float,
           window: int) -> dict[str, float]:
    wires = []
    for i, (name, rtype) in enumerate(questions):
        query = dns.message.make_query(name, dns.rdatatype.from_text(rtype))
        query.id = i % 65536
        wires.append(bytearray(query.to_wire()))
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
    sock.connect((ADDRESS, port))
    sock.settimeout(0.2)
    sent = got = lost = 0
    start = time.perf_counter()
    end = start + seconds
    inflight = 0
    while time.perf_counter() < end:
        while inflight < window:
            sock.send(wires[sent % len(wires)])
            sent += 1
            inflight += 1
        try:
            reply = sock.recv(65535)
        except TimeoutError:
            lost += inflight  # whatever is in flight after 0.2 s of silence is lost
            inflight = 0
            continue
        dns.message.from_wire(reply)
        got += 1
        inflight -= 1
    elapsed = time.perf_counter() - start
    with contextlib.suppress(OSError):
        sock.close()
    return {"qps": got / elapsed, "sent": sent, "answered": got, "lost": lost}


# -- the tests' dnslib server, for comparison ----------------------------------------------------

_ZONESERVER = """
import json, sys
sys.path.insert(0, ROOT)
from tests.integration.mailstack.dns import ZoneServer
data = json.loads(sys.stdin.readline())
server = ZoneServer()
for text in data["zones"]:
    server.zone(text)
server.servfail.update(data["servfail"])
server.start()
print(server.port, flush=True)
sys.stdin.readline()
server.stop()
"""


def zoneserver(corpus: _audit_zones.Corpus, cpu: int | None) -> tuple[subprocess.Popen[str], int]:
    """``tests/integration/mailstack/dns.py``'s ZoneServer (dnslib, a thread per question)
    serving the same records in a child process; its port."""
    root = str(Path(__file__).resolve().parents[1])
    texts = [corpus.zone_text(origin) for origin in corpus.zones]
    texts.append(_audit_zones.parent_zone(corpus))
    code = _ZONESERVER.replace("ROOT", repr(root))
    proc = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                            preexec_fn=pinner(cpu))
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(json.dumps({"zones": texts, "servfail": corpus.servfail_zones}) + "\n")
    proc.stdin.flush()
    port = int(proc.stdout.readline())
    return proc, port


def cpu_seconds(pid: int) -> float:
    """User and system CPU seconds a process (all its threads) used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
