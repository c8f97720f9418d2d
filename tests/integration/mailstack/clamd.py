"""A private ClamAV clamd (Debian's clamav-daemon) with a signature database of its own.

No signature download can happen here (freshclam needs the internet), so the database is one
file written by the test: an MD5 signature (``.hdb``: md5:size:name) of the EICAR test file.
clamd loads it like any database and reports ``Mailwarden-Test-EICAR.UNOFFICIAL FOUND`` for
the file itself and for mail carrying it as a MIME attachment.
"""

from __future__ import annotations

import base64
import hashlib
import socket
import subprocess
from pathlib import Path

from .common import LOOPBACK, cleanup_on_error, free_port, require_program, stop_at_exit, wait_for

# The EICAR anti-virus test file, built from two halves so that this source file itself is not
# the test file (scanners on a developer's machine flag the whole string).
EICAR = (b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$" + b"EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*")
SIGNATURE = "Mailwarden-Test-EICAR"


def eicar_mail() -> bytes:
    """A mail with the EICAR file as a base64 attachment."""
    return (b"From: a@sender.example\r\nTo: b@city.example.jp\r\nSubject: invoice\r\n"
            b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=XX\r\n\r\n"
            b"--XX\r\nContent-Type: text/plain\r\n\r\nSee the attachment.\r\n--XX\r\n"
            b"Content-Type: application/octet-stream; name=invoice.com\r\n"
            b"Content-Transfer-Encoding: base64\r\n"
            b"Content-Disposition: attachment; filename=invoice.com\r\n\r\n"
            + base64.b64encode(EICAR) + b"\r\n--XX--\r\n")


class ClamdInstance:
    """clamd in the foreground from its own folder: a unix socket and a loopback TCP port."""

    def __init__(self, root: Path) -> None:
        self.clamd = require_program("clamd", "clamav-daemon")
        self.root = root
        self.socket_path = root / "clamd.sock"
        self.port = free_port()
        self.log_path = root / "clamd.log"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def unix_address(self) -> str:
        return f"unix:{self.socket_path}"

    @property
    def tcp_address(self) -> str:
        return f"tcp:{LOOPBACK}:{self.port}"

    def start(self) -> ClamdInstance:
        db = self.root / "db"
        db.mkdir()
        (db / "mailwarden-test.hdb").write_text(
            f"{hashlib.md5(EICAR).hexdigest()}:{len(EICAR)}:{SIGNATURE}\n", encoding="ascii")
        config = self.root / "clamd.conf"
        config.write_text(
            f"DatabaseDirectory {db}\nLocalSocket {self.socket_path}\nTCPSocket {self.port}\n"
            f"TCPAddr {LOOPBACK}\nForeground yes\nLogFile {self.log_path}\n"
            f"PidFile {self.root / 'clamd.pid'}\nStreamMaxLength 2M\n", encoding="ascii")
        with cleanup_on_error(self.stop):
            self.proc = subprocess.Popen([self.clamd, "-c", str(config)],
                                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            stop_at_exit(self.stop)
            wait_for(self.ping, 60, 0.2, what="clamd to answer PING")
        return self

    def ping(self) -> bool:
        if self.proc is not None and self.proc.poll() is not None:
            raise RuntimeError("clamd exited:\n" + "\n".join(self.log_lines()[-20:]))
        try:
            with socket.socket(socket.AF_UNIX) as sock:
                sock.settimeout(2)
                sock.connect(str(self.socket_path))
                sock.sendall(b"zPING\0")
                return sock.recv(64).startswith(b"PONG")
        except OSError:
            return False

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)

    def log_lines(self) -> list[str]:
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            return []
