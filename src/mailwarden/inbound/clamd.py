"""A ClamAV scan of a whole message through clamd's INSTREAM command.

clamd reads the message as mail: it decodes the MIME parts and scans every attachment,
archives included. The protocol (clamd(8)): ``zINSTREAM\\0``, then chunks, each a 4-byte
big-endian length and the bytes, then a zero length; the answer is ``stream: OK``,
``stream: NAME FOUND`` or ``... ERROR``, NUL-terminated. :meth:`Clamd.scan` never raises: an
unreachable, slow or failing clamd is an error in the result, and the caller lets the
message pass.
"""

from __future__ import annotations

import socket
import struct
import time
from dataclasses import dataclass

CHUNK = 65536
MAX_REPLY = 4096


@dataclass(frozen=True, slots=True)
class ClamdResult:
    """``found`` names the signature clamd found; ``error`` says why there is no answer."""

    found: str = ""
    error: str = ""


def parse_address(value: str) -> tuple[int, str | tuple[str, int]]:
    """``unix:/run/clamav/clamd.ctl``, ``tcp:HOST:PORT`` or ``HOST:PORT`` -> (family, address);
    ValueError names what is wrong."""
    if value.startswith("unix:"):
        path = value.removeprefix("unix:")
        if not path.startswith("/"):
            raise ValueError(f"clamd: expected unix:/absolute/path, got {value!r}")
        return socket.AF_UNIX, path
    host, sep, port = value.removeprefix("tcp:").rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"clamd: expected unix:/path, tcp:HOST:PORT or HOST:PORT, got {value!r}")
    return socket.AF_INET6 if ":" in host.strip("[]") else socket.AF_INET, (host.strip("[]"),
                                                                           int(port))


def parse_reply(reply: bytes) -> ClamdResult:
    """clamd's answer to INSTREAM (any bytes: never raises)."""
    text = reply.split(b"\0", 1)[0].decode("utf-8", "replace").strip()[:300]
    _, sep, rest = text.partition(": ")
    body = rest if sep else text
    if body == "OK":
        return ClamdResult()
    if body.endswith(" FOUND") and len(body) > len(" FOUND"):
        return ClamdResult(found=body.removesuffix(" FOUND").strip())
    return ClamdResult(error=f"clamd answered {text!r}" if text else "clamd gave no answer")


class Clamd:
    """A clamd at ``address`` (see :func:`parse_address`); each scan opens a connection."""

    def __init__(self, address: str, timeout: float) -> None:
        self.family, self.address = parse_address(address)
        self.where = address
        self.timeout = timeout

    def scan(self, data: bytes) -> ClamdResult:
        """The scan result of ``data`` (never raises)."""
        deadline = time.monotonic() + self.timeout
        try:
            with socket.socket(self.family, socket.SOCK_STREAM) as sock:
                sock.settimeout(self.timeout)
                sock.connect(self.address)
                sent = self._send(sock, data, deadline)
                reply = self._receive(sock, deadline)
        except OSError as exc:  # refused, missing socket, timeout
            return ClamdResult(error=f"clamd {self.where}: {exc.strerror or exc}")
        result = parse_reply(reply)
        if result.error and not sent:
            return ClamdResult(error=f"{result.error} (it stopped reading the message)")
        return result

    @staticmethod
    def _send(sock: socket.socket, data: bytes, deadline: float) -> bool:
        """Stream ``data``; False when clamd closed early (a size limit: its answer says)."""
        try:
            sock.sendall(b"zINSTREAM\0")
            for start in range(0, len(data), CHUNK):
                if time.monotonic() > deadline:
                    raise TimeoutError("timed out")
                chunk = data[start:start + CHUNK]
                sock.sendall(struct.pack(">I", len(chunk)) + chunk)
            sock.sendall(struct.pack(">I", 0))
        except (BrokenPipeError, ConnectionResetError):
            return False
        return True

    @staticmethod
    def _receive(sock: socket.socket, deadline: float) -> bytes:
        reply = b""
        while b"\0" not in reply and len(reply) < MAX_REPLY:
            sock.settimeout(max(deadline - time.monotonic(), 0.01))
            try:
                chunk = sock.recv(MAX_REPLY)
            except ConnectionResetError:
                break
            if not chunk:
                break
            reply += chunk
        return reply
