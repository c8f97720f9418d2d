"""Signed zones and a validating resolver on loopback, from Debian's packages: Knot DNS
(``knot``: ``knotd`` serves the zones and signs them itself, ``keymgr`` makes the keys first so
that the DS records are known before the parent zone is written) and Unbound (``unbound``:
validates, with the parent zone's DS as its only trust anchor, and reaches every zone through
stub zones on Knot's port).

The parent zone (``example.`` by default) delegates to each child; a child can be signed with
its DS in the parent (validated), signed with no DS (an island: insecure), signed with a DS
that matches no key (bogus: Unbound answers SERVFAIL, and the data with CD), or unsigned.
"""

from __future__ import annotations

import contextlib
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dns.exception
import dns.flags
import dns.message
import dns.query
import dns.rcode

from .common import (
    LOOPBACK,
    cleanup_on_error,
    free_port,
    make_root,
    remove_root,
    require_program,
    stop_at_exit,
    wait_for,
)

DS_MODES = ("match", "none", "wrong")
_SOA = "@ SOA ns.{parent} hostmaster.{parent} 1 3600 600 86400 300\n@ NS ns.{parent}\n"


@dataclass
class Child:
    """A zone below the parent: its records (zone-file lines, names relative to the zone),
    whether Knot signs it, and what DS the parent publishes for it."""

    records: list[str] = field(default_factory=list)
    signed: bool = True
    ds: str = "match"  # one of DS_MODES


def _run(*args: str, cwd: Path) -> str:
    done = subprocess.run(list(args), cwd=cwd, capture_output=True, text=True, timeout=60)
    if done.returncode != 0:
        raise RuntimeError(f"{args[0]} failed: {done.stderr.strip() or done.stdout.strip()}")
    return done.stdout


class ValidatingDns:
    """Knot serving ``parent`` and ``children``, Unbound validating in front of it."""

    def __init__(self, parent: str, children: dict[str, Child],
                 parent_records: list[str] | None = None) -> None:
        self.parent = parent.rstrip(".") + "."
        self.children = {name.rstrip(".") + ".": child for name, child in children.items()}
        self.parent_records = parent_records or []
        self.knotd = require_program("knotd", "knot")
        self.keymgr = require_program("keymgr", "knot")
        self.unbound = require_program("unbound", "unbound")
        self.root = Path()
        self.knot_port = 0
        self.port = 0
        self.ds: dict[str, list[str]] = {}
        self._processes: list[subprocess.Popen[bytes]] = []

    # -- the pieces ----------------------------------------------------------------------
    def _knot_config(self) -> str:
        zones = [(self.parent, True), *((n, c.signed) for n, c in self.children.items())]
        lines = [
            "server:", f"    rundir: {self.root}/run", f"    listen: {LOOPBACK}@{self.knot_port}",
            "    udp-workers: 1", "    tcp-workers: 1", "    background-workers: 1",
            "database:", f"    storage: {self.root}/db",
            "log:", "  - target: stderr", "    any: info",
            "policy:", "  - id: manual", "    manual: on", "    algorithm: ecdsap256sha256",
            "template:", "  - id: default", f"    storage: {self.root}/zones",
            "    zonefile-sync: -1", "    zonefile-load: whole", "    journal-content: none",
            "zone:",
        ]
        for name, signed in zones:
            lines.append(f"  - domain: {name}")
            if signed:
                lines += ["    dnssec-signing: on", "    dnssec-policy: manual"]
        return "\n".join(lines) + "\n"

    def _make_keys(self, config: Path) -> None:
        signed = [self.parent, *(n for n, c in self.children.items() if c.signed)]
        for name in signed:
            _run(self.keymgr, "-c", str(config), name, "generate", "algorithm=13", "ksk=yes",
                 "zsk=yes", cwd=self.root)
            output = _run(self.keymgr, "-c", str(config), name, "ds", cwd=self.root)
            self.ds[name] = [line.strip() for line in output.splitlines() if " DS " in line]

    def _zone_files(self) -> None:
        zones = self.root / "zones"
        head = _SOA.format(parent=self.parent)
        parent = [f"$ORIGIN {self.parent}", "$TTL 300", head, f"ns A {LOOPBACK}",
                  *self.parent_records]
        for name, child in self.children.items():
            parent.append(f"{name} NS ns.{self.parent}")
            parent += [self._ds_line(name, line, child.ds) for line in self.ds.get(name, [])
                       if child.ds != "none"]
            body = [f"$ORIGIN {name}", "$TTL 300", head, *child.records]
            (zones / f"{name}zone").write_text("\n".join(body) + "\n", encoding="utf-8")
        (zones / f"{self.parent}zone").write_text("\n".join(parent) + "\n", encoding="utf-8")

    @staticmethod
    def _ds_line(name: str, line: str, mode: str) -> str:
        if mode != "wrong":
            return line
        digest = line[-1]
        return line[:-1] + ("0" if digest != "0" else "1")  # a digest of no key

    def _unbound_config(self) -> str:
        anchors = "\n".join(f'    trust-anchor: "{line}"' for line in self.ds[self.parent])
        stubs = "".join(f'stub-zone:\n    name: "{name}"\n    stub-addr: '
                        f"{LOOPBACK}@{self.knot_port}\n"
                        for name in (self.parent, *self.children))
        return (
            "server:\n"
            f"    interface: {LOOPBACK}\n    port: {self.port}\n    do-ip6: no\n"
            f'    username: ""\n    chroot: ""\n    directory: "{self.root}"\n'
            '    pidfile: ""\n    use-syslog: no\n    logfile: ""\n    verbosity: 1\n'
            "    num-threads: 1\n    do-not-query-localhost: no\n"
            '    module-config: "validator iterator"\n    qname-minimisation: no\n'
            f'    local-zone: "{self.parent}" nodefault\n    val-log-level: 2\n'
            f"{anchors}\n"
            "remote-control:\n    control-enable: no\n"
            f"{stubs}"
        )

    # -- running -------------------------------------------------------------------------
    def start(self) -> ValidatingDns:
        self.root = make_root("dnssec")
        stop_at_exit(self.stop)
        with cleanup_on_error(self.stop):
            for folder in ("run", "db", "zones"):
                (self.root / folder).mkdir()
            self.knot_port, self.port = free_port(), free_port()
            knot_config = self.root / "knot.conf"
            knot_config.write_text(self._knot_config(), encoding="utf-8")
            self._make_keys(knot_config)
            self._zone_files()
            self._spawn([self.knotd, "-c", str(knot_config)], "knot.log")
            for name in (self.parent, *self.children):
                wait_for(lambda n=name: self._answers(self.knot_port, n, "SOA"), 20.0,
                         what=f"knotd serving {name}")
            unbound_config = self.root / "unbound.conf"
            unbound_config.write_text(self._unbound_config(), encoding="utf-8")
            self._spawn([self.unbound, "-d", "-p", "-c", str(unbound_config)], "unbound.log")
            wait_for(lambda: self._answers(self.port, self.parent, "SOA"), 20.0,
                     what="unbound answering")
        return self

    def _spawn(self, command: list[str], log: str) -> None:
        handle = (self.root / log).open("wb")
        self._processes.append(subprocess.Popen(command, stdout=handle, stderr=handle,
                                                cwd=self.root))
        handle.close()

    @staticmethod
    def _answers(port: int, name: str, rtype: str) -> bool:
        query = dns.message.make_query(name, rtype)
        query.flags |= dns.flags.CD
        try:
            reply = dns.query.udp(query, LOOPBACK, timeout=0.5, port=port)
        except (OSError, dns.exception.DNSException):
            return False
        return bool(reply.rcode() == dns.rcode.NOERROR and reply.answer)

    def stop(self) -> None:
        for process in reversed(self._processes):
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(5)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(5)
        self._processes = []
        if self.root != Path() and self.root.exists():
            remove_root(self.root)

    def logs(self) -> str:
        texts = []
        for name in ("knot.log", "unbound.log"):
            with contextlib.suppress(OSError):
                texts.append((self.root / name).read_text("utf-8", "replace"))
        return "\n".join(texts)

    @property
    def address(self) -> str:
        """The validating resolver, ``127.0.0.1:PORT``."""
        return f"{LOOPBACK}:{self.port}"

    @property
    def knot_address(self) -> str:
        """The authoritative server itself (answers without validating)."""
        return f"{LOOPBACK}:{self.knot_port}"

    def __enter__(self) -> ValidatingDns:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()
