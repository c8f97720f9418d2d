"""One SMTP client connection of the probe: connect, read replies, send commands, STARTTLS,
close. Every step has a time limit and every read a size limit, so a server that never speaks,
speaks forever or sends one endless line ends the session with :class:`ProbeError` instead of
a hang or a full memory.

The stream's buffer limit is :data:`~mailwarden.audit.smtp_reply.MAX_LINE`: asyncio stops
reading from the socket while that much is waiting, and ``readuntil`` refuses a longer line.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import ssl
from dataclasses import dataclass

from mailwarden.audit.smtp_reply import MAX_LINE, Reply, ReplyError, ReplyReader

KINDS = ("connect", "timeout", "closed", "protocol", "tls", "verify")
CLOSE_TIMEOUT = 2.0


class ProbeError(Exception):
    """A step of the session that did not work: ``kind`` (one of :data:`KINDS`), the step
    (``connect``, ``banner``, ``ehlo``, ...), a reason, and for ``verify`` the OpenSSL
    verification code."""

    def __init__(self, kind: str, step: str, reason: str, *, errno: int = 0,
                 verify_code: int = 0) -> None:
        self.kind = kind
        self.step = step
        self.reason = reason[:300]
        self.errno = errno
        self.verify_code = verify_code
        super().__init__(f"{step}: {self.reason}")


@dataclass(frozen=True)
class TlsInfo:
    """What a finished handshake tells: version, cipher and the server's certificate (DER)."""

    version: str
    cipher: str
    certificate: bytes


class Session:
    """An open connection to one SMTP server; ``timeout`` bounds every step."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                 timeout: float) -> None:
        self.reader = reader
        self.writer = writer
        self.timeout = timeout

    @classmethod
    async def connect(cls, address: str, port: int, timeout: float) -> Session:
        try:
            async with asyncio.timeout(timeout):
                reader, writer = await asyncio.open_connection(address, port, limit=MAX_LINE)
        except TimeoutError:
            raise ProbeError("timeout", "connect", f"no connection within {timeout:g} s") \
                from None
        except OSError as exc:
            raise ProbeError("connect", "connect", exc.strerror or str(exc) or type(exc).__name__,
                             errno=exc.errno or 0) from None
        return cls(reader, writer, timeout)

    def helo_name(self) -> str:
        """Our own address as an address literal (RFC 5321 §4.1.3): always valid in EHLO."""
        sockname = self.writer.get_extra_info("sockname")
        try:
            ip = ipaddress.ip_address(sockname[0].split("%")[0])
        except (TypeError, ValueError, IndexError):
            return "[127.0.0.1]"
        return f"[IPv6:{ip}]" if ip.version == 6 else f"[{ip}]"

    async def read_reply(self, step: str) -> Reply:
        """The next whole reply, within the time limit and the size limits."""
        collected = ReplyReader()
        try:
            async with asyncio.timeout(self.timeout):
                while not collected.done:
                    collected.feed(await self.reader.readuntil(b"\n"))
        except TimeoutError:
            raise ProbeError("timeout", step, f"no complete reply within {self.timeout:g} s") \
                from None
        except asyncio.LimitOverrunError:
            raise ProbeError("protocol", step, f"a reply line longer than {MAX_LINE} bytes") \
                from None
        except asyncio.IncompleteReadError:
            raise ProbeError("closed", step, "the server closed the connection") from None
        except ReplyError as exc:
            raise ProbeError("protocol", step, str(exc)) from None
        except (OSError, ssl.SSLError) as exc:
            raise ProbeError("closed", step, str(exc) or type(exc).__name__) from None
        return collected.reply()

    async def command(self, line: str, step: str) -> Reply:
        """Send one command line and read its reply."""
        try:
            self.writer.write(line.encode("ascii") + b"\r\n")
            async with asyncio.timeout(self.timeout):
                await self.writer.drain()
        except TimeoutError:
            raise ProbeError("timeout", step, f"could not send within {self.timeout:g} s") \
                from None
        except (OSError, ssl.SSLError) as exc:
            raise ProbeError("closed", step, str(exc) or type(exc).__name__) from None
        return await self.read_reply(step)

    async def starttls(self, context: ssl.SSLContext, server_name: str) -> TlsInfo:
        """The TLS handshake after a 220 to STARTTLS. A refused certificate is ``verify``, any
        other failure of the handshake ``tls``, a handshake that does not end ``timeout``."""
        try:
            async with asyncio.timeout(self.timeout):
                await self.writer.start_tls(context, server_hostname=server_name,
                                            ssl_handshake_timeout=self.timeout)
        except TimeoutError:
            raise ProbeError("timeout", "tls", f"no handshake within {self.timeout:g} s") \
                from None
        except ssl.SSLCertVerificationError as exc:
            raise ProbeError("verify", "tls", exc.verify_message or str(exc),
                             verify_code=exc.verify_code or 0) from None
        except (ssl.SSLError, OSError) as exc:  # alerts, resets and EOF in the handshake
            raise ProbeError("tls", "tls", _tls_reason(exc)) from None
        tls = self.writer.get_extra_info("ssl_object")
        if not isinstance(tls, ssl.SSLObject):
            raise ProbeError("tls", "tls", "no TLS session after the handshake")
        cipher = tls.cipher()
        return TlsInfo(tls.version() or "", cipher[0] if cipher else "",
                       tls.getpeercert(binary_form=True) or b"")

    async def close(self, polite: bool = True) -> None:
        """QUIT (briefly) and close when ``polite``; otherwise, and when the server does not
        let go, cut the connection at once."""
        transport = self.writer.transport
        if not polite:
            transport.abort()
            return
        with contextlib.suppress(ProbeError):
            self.timeout = min(self.timeout, CLOSE_TIMEOUT)
            await self.command("QUIT", "quit")
        try:
            self.writer.close()
            async with asyncio.timeout(CLOSE_TIMEOUT):
                await self.writer.wait_closed()
        except (TimeoutError, OSError, ssl.SSLError):
            transport.abort()


def _tls_reason(exc: BaseException) -> str:
    reason = getattr(exc, "reason", None)
    text = str(exc) or type(exc).__name__
    return f"{reason}: {text}" if reason and reason not in text else text
