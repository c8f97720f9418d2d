"""A test PKI made by the openssl binary, and an HTTPS server on 127.0.0.1 that picks its
certificate by SNI and its answer by the Host header (the MTA-STS policy hosts of the tests).

The server is Python's own HTTP server over real TLS sockets: each connection is wrapped and
handshaken in its own thread, so a client that refuses the certificate disturbs nothing else.
Every request is recorded (host, path), so a test can prove that a redirect was not followed.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import subprocess
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from socketserver import ThreadingMixIn
from typing import Any

from .common import LOOPBACK, free_port

_CA_CONFIG = """\
[ca]
default_ca = mw_test
[mw_test]
database = {folder}/index.txt
new_certs_dir = {folder}
serial = {folder}/serial
default_md = sha256
policy = names
copy_extensions = copy
unique_subject = no
[names]
commonName = supplied
"""
_EC = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes")


def _openssl(folder: Path, *args: str) -> None:
    done = subprocess.run(["openssl", *args], cwd=folder, capture_output=True, text=True,
                          timeout=60)
    if done.returncode != 0:
        raise RuntimeError(f"openssl {args[0]} failed: {done.stderr.strip()}")


@dataclass(frozen=True)
class PolicyCa:
    """A CA in ``folder`` (ca.pem, ca.key) that issues server certificates."""

    folder: Path

    @property
    def ca_file(self) -> Path:
        return self.folder / "ca.pem"

    @classmethod
    def create(cls, folder: Path) -> PolicyCa:
        (folder / "ca.cnf").write_text(_CA_CONFIG.format(folder=folder), encoding="utf-8")
        (folder / "index.txt").write_text("", encoding="utf-8")
        (folder / "serial").write_text("1000\n", encoding="utf-8")
        _openssl(folder, "req", "-x509", *_EC, "-keyout", "ca.key", "-out", "ca.pem",
                 "-days", "30", "-subj", "/CN=Mailwarden policy test CA")
        return cls(folder)

    def issue(self, name: str, host: str, start: datetime | None = None,
              end: datetime | None = None) -> tuple[Path, Path]:
        """A certificate for ``host`` (valid from ``start`` to ``end``, by default from
        yesterday for 60 days) and its key: (cert, key) paths."""
        now = datetime.now(UTC)
        start = start or now - timedelta(days=1)
        end = end or now + timedelta(days=60)
        _openssl(self.folder, "req", "-new", *_EC, "-keyout", f"{name}.key", "-out",
                 f"{name}.csr", "-subj", f"/CN={host}", "-addext", f"subjectAltName=DNS:{host}")
        _openssl(self.folder, "ca", "-batch", "-notext", "-config", "ca.cnf", "-cert", "ca.pem",
                 "-keyfile", "ca.key", "-in", f"{name}.csr", "-out", f"{name}.pem",
                 "-startdate", start.strftime("%Y%m%d%H%M%SZ"),
                 "-enddate", end.strftime("%Y%m%d%H%M%SZ"))
        return self.folder / f"{name}.pem", self.folder / f"{name}.key"

    def self_signed(self, name: str, host: str) -> tuple[Path, Path]:
        """A certificate for ``host`` that no CA issued."""
        _openssl(self.folder, "req", "-x509", *_EC, "-keyout", f"{name}.key", "-out",
                 f"{name}.pem", "-days", "60", "-subj", f"/CN={host}", "-addext",
                 f"subjectAltName=DNS:{host}")
        return self.folder / f"{name}.pem", self.folder / f"{name}.key"


@dataclass
class Route:
    """What the server answers for one host name."""

    body: bytes = b""
    status: int = 200
    content_type: str = "text/plain; charset=utf-8"
    headers: tuple[tuple[str, str], ...] = ()
    chunked: bool = False
    delay: float = 0.0  # seconds to wait before answering


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def do_GET(self) -> None:
        host = (self.headers.get("Host") or "").split(":", 1)[0].lower()
        self.server.owner.requests.append((host, self.path))
        route = self.server.owner.routes.get(host)
        if route is None or self.path != "/.well-known/mta-sts.txt":
            route = Route(b"not found\n", 404)
        if route.delay:
            time.sleep(route.delay)
        self.send_response(route.status)
        if route.content_type:
            self.send_header("Content-Type", route.content_type)
        for name, value in route.headers:
            self.send_header(name, value)
        self.send_header("Connection", "close")
        if route.chunked:
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for i in range(0, len(route.body), 100):
                part = route.body[i:i + 100]
                self.wfile.write(b"%x\r\n" % len(part) + part + b"\r\n")
            self.wfile.write(b"0\r\n\r\n")
            return
        self.send_header("Content-Length", str(len(route.body)))
        self.end_headers()
        self.wfile.write(route.body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _Server(ThreadingMixIn, HTTPServer):
    daemon_threads = True
    owner: HttpsServer

    def finish_request(self, request: Any, client_address: Any) -> None:
        """Wrap the connection in TLS here, in the connection's own thread."""
        try:
            wrapped = self.owner.context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            return  # the client refused the certificate: its business, not the server's
        with contextlib.closing(wrapped):
            super().finish_request(wrapped, client_address)

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass


class HttpsServer:
    """HTTPS on 127.0.0.1 (a free port): ``certificates`` maps SNI names to (cert, key);
    ``routes`` maps Host names to answers."""

    def __init__(self, default: tuple[Path, Path]) -> None:
        self.context = self._context(default)
        self.contexts: dict[str, ssl.SSLContext] = {}
        self.routes: dict[str, Route] = {}
        self.requests: list[tuple[str, str]] = []
        self.context.sni_callback = self._pick
        self.port = 0
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @staticmethod
    def _context(pair: tuple[Path, Path]) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(str(pair[0]), str(pair[1]))
        return context

    def certificate(self, host: str, pair: tuple[Path, Path]) -> None:
        self.contexts[host.lower()] = self._context(pair)

    def _pick(self, sock: ssl.SSLObject, name: str | None, _: ssl.SSLContext) -> None:
        chosen = self.contexts.get((name or "").lower())
        if chosen is not None:
            sock.context = chosen

    def start(self) -> HttpsServer:
        self.port = free_port()
        server = _Server((LOOPBACK, self.port), _Handler)
        server.owner = self
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, name="https-policy",
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> HttpsServer:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()


def closed_port() -> int:
    """A loopback port nothing listens on (connections are refused)."""
    port = free_port()
    with socket.socket() as probe:
        assert probe.connect_ex((LOOPBACK, port)) != 0
    return port
