"""One HTTPS GET the way an MTA-STS sender makes it (RFC 8461 §3.3): the host name resolved
through the audit's DNS client, the certificate verified for that name (system CAs plus an
optional extra CA file), redirects never followed, the body capped, everything bounded by a
timeout. Written on asyncio streams: no HTTP library, nothing cached. Unless
``allow_private``, only public addresses (:func:`mailwarden.audit.addresses.public`) are
connected to; the others are listed in ``skipped``.

:func:`fetch` never raises for network trouble; the :class:`Fetched` result says what
happened (``error`` is one of ``ERRORS``).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import ssl
from dataclasses import dataclass, field
from typing import Any

from mailwarden.audit.addresses import public

ERRORS = ("no_address", "dns_unchecked", "private_address", "connect", "timeout",
          "certificate", "tls", "http")
MAX_BODY = 64 * 1024
MAX_LINE = 8192
MAX_HEADERS = 100
MAX_ADDRESSES = 4


class HttpError(Exception):
    """The server's answer is not HTTP/1.x as we can read it."""


@dataclass
class Fetched:
    """What the GET found. ``status`` is 0 unless an HTTP answer came back."""

    url: str
    address: str = ""
    status: int = 0
    headers: dict[str, str] = field(default_factory=dict)  # lower-case names, first value
    body: bytes = b""
    too_large: bool = False  # the body is longer than the cap (only the cap was read)
    skipped: list[str] = field(default_factory=list)  # non-public addresses not connected to
    error: str = ""
    reason: str = ""

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")


async def fetch(dns: Any, host: str, path: str, port: int = 443, ca_file: str = "",
                timeout: float = 5.0, limit: int = MAX_BODY,
                allow_private: bool = False) -> Fetched:
    """GET ``https://host:port/path``; tries each (public) address of ``host``, IPv4 first."""
    url = f"https://{host}{'' if port == 443 else f':{port}'}{path}"
    addresses, problem = await _addresses(dns, host)
    if problem is not None:
        return Fetched(url, error=problem[0], reason=problem[1])
    skipped = [] if allow_private else [a for a in addresses if not public(a)]
    usable = [a for a in addresses if a not in skipped]
    skipped = skipped[:MAX_ADDRESSES]
    if not usable:
        return Fetched(url, address=skipped[0], skipped=skipped, error="private_address",
                       reason="only non-public addresses: " + ", ".join(skipped))
    context = _context(ca_file)
    result = Fetched(url, error="connect", reason="no address answered")
    for address in usable[:MAX_ADDRESSES]:
        result = await _one(url, address, host, path, port, context, timeout, limit)
        if result.error not in ("connect", "timeout"):
            break
    result.skipped = skipped
    return result


async def _addresses(dns: Any, host: str) -> tuple[list[str], tuple[str, str] | None]:
    a, aaaa = await asyncio.gather(dns.query(host, "A"), dns.query(host, "AAAA"))
    addresses = [rr.address for rr in (*a.rrs, *aaaa.rrs)]
    if addresses:
        return addresses, None
    unchecked = [x for x in (a, aaaa) if x.status in ("unchecked", "invalid")]
    if unchecked:
        return [], ("dns_unchecked", unchecked[0].reason or unchecked[0].status)
    return [], ("no_address", f"A: {a.status}, AAAA: {aaaa.status}")


@functools.lru_cache(maxsize=8)
def _context(ca_file: str) -> ssl.SSLContext:
    """The system's CAs (plus ``ca_file``), loaded once per run and shared by every fetch."""
    context = ssl.create_default_context()
    if ca_file:
        context.load_verify_locations(cafile=ca_file)
    return context


async def _one(url: str, address: str, host: str, path: str, port: int,
               context: ssl.SSLContext, timeout: float, limit: int) -> Fetched:
    result = Fetched(url, address)
    writer: asyncio.StreamWriter | None = None
    try:
        async with asyncio.timeout(timeout):
            reader, writer = await asyncio.open_connection(
                address, port, ssl=context, server_hostname=host,
                ssl_handshake_timeout=timeout)
            writer.write(_request(host, path, port))
            await writer.drain()
            await read_response(reader, result, limit)
    except TimeoutError:
        _fail(result, "timeout", f"no complete answer within {timeout:g} s")
    except ssl.SSLCertVerificationError as exc:
        _fail(result, "certificate", exc.verify_message or str(exc))
    except ssl.SSLError as exc:
        _fail(result, "tls", exc.reason or str(exc))
    except HttpError as exc:
        _fail(result, "http", str(exc))
    except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError) as exc:
        kind = "http" if result.status else "connect"
        _fail(result, kind, f"{type(exc).__name__}: {exc}"[:200])
    finally:
        if writer is not None:
            writer.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(writer.wait_closed(), 1.0)
    return result


def _fail(result: Fetched, error: str, reason: str) -> None:
    result.error, result.reason = error, reason[:300]


def _request(host: str, path: str, port: int) -> bytes:
    authority = host if port == 443 else f"{host}:{port}"
    return (f"GET {path} HTTP/1.1\r\nHost: {authority}\r\nUser-Agent: mailwarden-audit\r\n"
            "Accept: text/plain\r\nCache-Control: no-cache\r\nConnection: close\r\n\r\n"
            ).encode("ascii")


async def _line(reader: asyncio.StreamReader) -> bytes:
    try:
        line = await reader.readuntil(b"\n")
    except asyncio.LimitOverrunError:
        raise HttpError("a line longer than the read limit") from None
    except asyncio.IncompleteReadError:
        raise HttpError("the connection closed in the middle of a line") from None
    if len(line) > MAX_LINE:
        raise HttpError("a line longer than 8 KiB")
    return line.rstrip(b"\r\n")


async def read_response(reader: asyncio.StreamReader, result: Fetched, limit: int) -> None:
    """Read an HTTP/1.x answer into ``result``: status, headers, and (for 200 only) the body
    (Content-Length, chunked, or up to the end), at most ``limit`` bytes of it. Raises
    :class:`HttpError` (or ``IncompleteReadError`` for a body cut short) on what is not HTTP."""
    status_line = (await _line(reader)).decode("latin-1")
    parts = status_line.split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit() \
            or len(parts[1]) != 3:
        raise HttpError(f"not an HTTP/1.x status line: {status_line[:80]!r}")
    result.status = int(parts[1])
    for _ in range(MAX_HEADERS + 1):
        line = (await _line(reader)).decode("latin-1")
        if not line:
            break
        name, colon, value = line.partition(":")
        if not colon or not name or name != name.strip():
            raise HttpError(f"a malformed header line: {line[:80]!r}")
        result.headers.setdefault(name.lower(), value.strip())
    else:
        raise HttpError(f"more than {MAX_HEADERS} header lines")
    if result.status != 200:
        return  # only a 200 answer is a policy; a redirect is never followed
    result.body, result.too_large = await _body(reader, result.headers, limit)


async def _body(reader: asyncio.StreamReader, headers: dict[str, str],
                limit: int) -> tuple[bytes, bool]:
    if "chunked" in headers.get("transfer-encoding", "").lower():
        return await _chunked(reader, limit)
    length = headers.get("content-length", "")
    if length:
        if not length.isdigit():
            raise HttpError(f"Content-Length {length[:40]!r} is not a number")
        wanted = int(length)
        data = await reader.readexactly(min(wanted, limit + 1))
        return data[:limit], wanted > limit
    data = await reader.read(limit + 1)
    while len(data) <= limit:
        more = await reader.read(limit + 1 - len(data))
        if not more:
            break
        data += more
    return data[:limit], len(data) > limit


async def _chunked(reader: asyncio.StreamReader, limit: int) -> tuple[bytes, bool]:
    data = b""
    while True:
        size_text = (await _line(reader)).split(b";", 1)[0].strip()
        try:
            size = int(size_text, 16)
        except ValueError:
            raise HttpError(f"a bad chunk size {size_text[:20]!r}") from None
        if size < 0:
            raise HttpError(f"a negative chunk size {size_text[:20]!r}")
        if size == 0:
            return data, False
        if len(data) + size > limit:
            data += await reader.readexactly(limit - len(data))
            return data, True
        data += await reader.readexactly(size)
        await reader.readexactly(2)  # the CRLF after the chunk
