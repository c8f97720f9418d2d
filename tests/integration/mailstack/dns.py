"""A DNS server on 127.0.0.1 (UDP and TCP, one free port) answering from records the test gives.

Built on dnslib's server: real DNS messages over real sockets, so the code under test uses its
real resolver. Names listed in ``timeouts`` get no answer at all (``type_timeouts`` holds
(name, TYPE) pairs: only that question goes unanswered), names in ``servfail`` get SERVFAIL;
CNAMEs inside the served data are followed; a name with records below it but none of its own
answers NODATA (an empty non-terminal), any other unknown name NXDOMAIN.
"""

from __future__ import annotations

import contextlib
import threading
from collections import defaultdict
from typing import Any

from dnslib import CNAME, QTYPE, RCODE, RR, DNSRecord
from dnslib.server import BaseResolver, DNSHandler, DNSLogger, DNSServer

from .common import LOOPBACK, free_port

MAX_CNAME_CHAIN = 16


class NoReply(Exception):
    """Raised by the resolver so that the server sends nothing (a timeout for the client)."""


class _Handler(DNSHandler):  # type: ignore[misc]
    """dnslib's handler, silent when the resolver decided not to answer."""

    def handle(self) -> None:
        with contextlib.suppress(NoReply):
            super().handle()


def _key(name: str) -> str:
    return name.lower().rstrip(".")


class ZoneServer(BaseResolver):  # type: ignore[misc]
    """Records by (name, type); start() serves them on a free loopback port."""

    def __init__(self) -> None:
        self.records: dict[tuple[str, str], list[RR]] = defaultdict(list)
        self.timeouts: set[str] = set()
        self.type_timeouts: set[tuple[str, str]] = set()
        self.servfail: set[str] = set()
        self.broken_nxdomain: set[str] = set()  # NXDOMAIN although names exist below
        self.queries: list[tuple[str, str]] = []
        self.lock = threading.Lock()
        self.port = 0
        self._servers: list[DNSServer] = []

    # -- data ----------------------------------------------------------------------------
    def add(self, name: str, rtype: str, *values: str, ttl: int = 300) -> ZoneServer:
        """Add records in zone-file presentation, e.g. add("example.com", "TXT",
        '"v=spf1 -all"'), add("example.com", "MX", "10 mx.example.com.")."""
        for value in values:
            for rr in RR.fromZone(f"{name.rstrip('.')}. {ttl} IN {rtype} {value}"):
                self.records[(_key(name), rtype.upper())].append(rr)
        return self

    def add_rr(self, rr: RR) -> ZoneServer:
        self.records[(_key(str(rr.rname)), QTYPE[rr.rtype])].append(rr)
        return self

    def zone(self, text: str) -> ZoneServer:
        """Add every record of a zone-file fragment (absolute names)."""
        for rr in RR.fromZone(text):
            self.add_rr(rr)
        return self

    def exists(self, name: str) -> bool:
        key = _key(name)
        return any(n == key or n.endswith("." + key) for n, _ in self.records)

    # -- serving -------------------------------------------------------------------------
    def resolve(self, request: DNSRecord, handler: DNSHandler) -> DNSRecord:
        qname = str(request.q.qname)
        qtype = QTYPE[request.q.qtype]
        key = _key(qname)
        with self.lock:
            self.queries.append((key, qtype))
        if key in self.timeouts or (key, qtype) in self.type_timeouts:
            raise NoReply(key)
        reply = request.reply()
        reply.header.ra = 1
        reply.header.ad = 0  # dnslib copies the query's AD; this server validates nothing
        if key in self.servfail:
            reply.header.rcode = RCODE.SERVFAIL
            return reply
        name = key
        for _ in range(MAX_CNAME_CHAIN):
            cnames = self.records.get((name, "CNAME"), [])
            if not cnames or qtype == "CNAME":
                break
            reply.add_answer(*cnames)
            name = _key(str(cnames[0].rdata.label))
            if name in self.timeouts or (name, qtype) in self.type_timeouts:
                raise NoReply(name)
        found = self.records.get((name, qtype), [])
        if qtype == "ANY":
            found = [rr for (n, _), rrs in self.records.items() if n == name for rr in rrs]
        reply.add_answer(*found)
        if not found and not reply.rr and (not self.exists(name)
                                            or name in self.broken_nxdomain):
            reply.header.rcode = RCODE.NXDOMAIN
        return reply

    def start(self) -> ZoneServer:
        self.port = free_port()
        logger = DNSLogger("-request,-reply,-truncated,-error,-recv,-send,-data", prefix=False)
        for tcp in (False, True):
            server = DNSServer(self, port=self.port, address=LOOPBACK, tcp=tcp, logger=logger,
                               handler=_Handler)
            server.start_thread()
            self._servers.append(server)
        return self

    def stop(self) -> None:
        for server in self._servers:
            server.stop()
            server.server.server_close()
        self._servers = []

    @property
    def address(self) -> str:
        """``127.0.0.1:PORT`` as `--nameserver` takes it."""
        return f"{LOOPBACK}:{self.port}"

    def __enter__(self) -> ZoneServer:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()


__all__ = ["CNAME", "NoReply", "ZoneServer"]
