"""The Sendmail milter protocol, version 6 as Postfix speaks it: packets and their payloads.

A packet is a 4-byte big-endian length, then that many bytes: a one-byte command (MTA to
filter) or reply (filter to MTA), then its data. Strings are NUL-terminated. Nothing here
does I/O; :class:`PacketReader` frames bytes as they arrive and refuses a packet longer than
its bound before reading it, so a peer cannot make it hold more than one bounded packet.
Constants are those of Sendmail's ``mfdef.h`` (and Postfix's ``milter8.c``, which uses the
same values).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

# Commands, MTA -> filter.
ABORT, BODY, CONNECT, MACRO, BODYEOB = b"A", b"B", b"C", b"D", b"E"
HELO, QUIT_NC, HEADER, MAIL, EOH = b"H", b"K", b"L", b"M", b"N"
OPTNEG, QUIT, RCPT, DATA, UNKNOWN = b"O", b"Q", b"R", b"T", b"U"
COMMANDS = frozenset({ABORT, BODY, CONNECT, MACRO, BODYEOB, HELO, QUIT_NC, HEADER, MAIL, EOH,
                      OPTNEG, QUIT, RCPT, DATA, UNKNOWN})

# Replies, filter -> MTA.
R_ACCEPT, R_CONTINUE, R_DISCARD, R_REJECT, R_TEMPFAIL = b"a", b"c", b"d", b"r", b"t"
R_SKIP, R_PROGRESS, R_REPLYCODE, R_QUARANTINE = b"s", b"p", b"y", b"q"
R_ADDHEADER, R_INSHEADER, R_CHGHEADER = b"h", b"i", b"m"

# Actions the filter may take (SMFIF_*), negotiated in OPTNEG.
F_ADDHDRS, F_CHGBODY, F_ADDRCPT, F_DELRCPT = 0x01, 0x02, 0x04, 0x08
F_CHGHDRS, F_QUARANTINE, F_CHGFROM, F_ADDRCPT_PAR, F_SETSYMLIST = 0x10, 0x20, 0x40, 0x80, 0x100

# Protocol steps (SMFIP_*): events the filter does not want, and replies it will not send.
P_NOCONNECT, P_NOHELO, P_NOMAIL, P_NORCPT = 0x01, 0x02, 0x04, 0x08
P_NOBODY, P_NOHDRS, P_NOEOH, P_NR_HDR = 0x10, 0x20, 0x40, 0x80
P_NOUNKNOWN, P_NODATA, P_SKIP, P_RCPT_REJ = 0x100, 0x200, 0x400, 0x800
P_NR_CONN, P_NR_HELO, P_NR_MAIL, P_NR_RCPT = 0x1000, 0x2000, 0x4000, 0x8000
P_NR_DATA, P_NR_UNKN, P_NR_EOH, P_NR_BODY = 0x10000, 0x20000, 0x40000, 0x80000
P_HDR_LEADSPC = 0x100000

# Which negotiated "no reply" flag silences the reply to which command.
NO_REPLY = {CONNECT: P_NR_CONN, HELO: P_NR_HELO, MAIL: P_NR_MAIL, RCPT: P_NR_RCPT,
            DATA: P_NR_DATA, UNKNOWN: P_NR_UNKN, HEADER: P_NR_HDR, EOH: P_NR_EOH,
            BODY: P_NR_BODY}

VERSION = 6
CHUNK = 65535  # Postfix sends body chunks of at most this many bytes
MAX_PACKET = (1 << 20) + 1024  # a header of Postfix's header_size_limit (100 KiB) fits
MAX_MACROS = 64  # macros in one MACRO packet, and kept per stage
MAX_MACRO_VALUE = 320  # bytes of a macro's value kept (an address, as {auth_authen}, fits)
_U32 = struct.Struct(">I")


class MilterProtocolError(ValueError):
    """A packet that breaks the protocol; the message names the command and what was wrong.
    The connection it came on is closed (Postfix then applies milter_default_action)."""


@dataclass(frozen=True, slots=True)
class Packet:
    """One packet: its command (or reply) byte and its data."""

    code: bytes
    data: bytes


class PacketReader:
    """Frames a byte stream into packets; bounded by ``max_packet``."""

    def __init__(self, max_packet: int = MAX_PACKET) -> None:
        self.max_packet = max_packet
        self.buffer = bytearray()

    def feed(self, data: bytes) -> list[Packet]:
        """Add received bytes; return the packets now complete (raises on a bad length)."""
        self.buffer += data
        packets: list[Packet] = []
        while len(self.buffer) >= 4:
            (length,) = _U32.unpack_from(self.buffer)
            if length < 1:
                raise MilterProtocolError("packet of length 0 (no command byte)")
            if length > self.max_packet:
                raise MilterProtocolError(f"packet of {length} bytes, more than the "
                                          f"{self.max_packet} allowed")
            if len(self.buffer) < 4 + length:
                break
            packets.append(Packet(bytes(self.buffer[4:5]), bytes(self.buffer[5:4 + length])))
            del self.buffer[:4 + length]
        return packets

    @property
    def pending(self) -> int:
        """Bytes received that are not yet a whole packet."""
        return len(self.buffer)


def encode(code: bytes, data: bytes = b"") -> bytes:
    """One packet."""
    return _U32.pack(len(data) + 1) + code + data


# --- command payloads (MTA -> filter) -------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OptNeg:
    """Option negotiation: protocol version, actions (SMFIF_*) and protocol steps (SMFIP_*)."""

    version: int
    actions: int
    protocol: int


@dataclass(frozen=True, slots=True)
class Connect:
    """SMFIC_CONNECT: the SMTP client's name, address family ('4', '6', 'L', 'U'), port and
    address."""

    hostname: str
    family: str
    port: int
    address: str


def parse_optneg(data: bytes) -> OptNeg:
    """Three 32-bit numbers; anything after them (macro lists, from a filter) is ignored."""
    if len(data) < 12:
        raise MilterProtocolError(f"OPTNEG: {len(data)} bytes, expected at least 12")
    version, actions, protocol = struct.unpack_from(">III", data)
    return OptNeg(version, actions, protocol)


def strings(data: bytes, what: str, count: int | None = None) -> list[bytes]:
    """NUL-terminated strings; ``count`` of them when given (raises when the data differs)."""
    if data and not data.endswith(b"\0"):
        raise MilterProtocolError(f"{what}: data does not end with NUL")
    parts = data[:-1].split(b"\0") if data else []
    if count is not None and len(parts) != count:
        raise MilterProtocolError(f"{what}: {len(parts)} strings, expected {count}")
    return parts


def text(value: bytes, limit: int = 1024) -> str:
    """Bytes from the wire as text for people and envelopes (never raises)."""
    return value[:limit].decode("utf-8", "replace")


def parse_connect(data: bytes) -> Connect:
    """Host name NUL, family byte, then (except for 'U') port (16 bits) and address NUL."""
    end = data.find(b"\0")
    if end < 0 or end + 1 >= len(data):
        raise MilterProtocolError("CONNECT: no host name and family")
    hostname, family, rest = data[:end], chr(data[end + 1]), data[end + 2:]
    if family == "U":
        return Connect(text(hostname), family, 0, "")
    if family not in "46L" or len(rest) < 3:
        raise MilterProtocolError(f"CONNECT: bad family {family!r} or no address")
    (port,) = struct.unpack_from(">H", rest)
    (address,) = strings(rest[2:], "CONNECT address", 1)
    return Connect(text(hostname), family, port, text(address))


def parse_macros(data: bytes) -> tuple[bytes, dict[str, str]]:
    """SMFIC_MACRO: the command the macros belong to, then name NUL value NUL pairs."""
    if not data:
        raise MilterProtocolError("MACRO: no command byte")
    parts = strings(data[1:], "MACRO")
    if len(parts) % 2:
        raise MilterProtocolError(f"MACRO: {len(parts)} strings, not name/value pairs")
    if len(parts) > 2 * MAX_MACROS:
        raise MilterProtocolError(f"MACRO: {len(parts) // 2} macros, more than {MAX_MACROS}")
    names = (text(n, 64).strip("{}") for n in parts[0::2])
    values = (text(v, MAX_MACRO_VALUE) for v in parts[1::2])
    return data[:1], dict(zip(names, values, strict=True))


def parse_header(data: bytes) -> tuple[bytes, bytes]:
    """SMFIC_HEADER: name NUL value NUL (the value's folded lines joined by LF)."""
    name, value = strings(data, "HEADER", 2)
    if not name:
        raise MilterProtocolError("HEADER: empty name")
    return name, value


def parse_args(data: bytes, what: str) -> list[str]:
    """SMFIC_MAIL / SMFIC_RCPT: the address in angle brackets, then ESMTP arguments."""
    parts = strings(data, what)
    if not parts:
        raise MilterProtocolError(f"{what}: no address")
    return [text(p) for p in parts]


def address(arg: str) -> str:
    """``<user@example.jp>`` -> ``user@example.jp``."""
    return arg.strip().removeprefix("<").removesuffix(">").strip()


# --- replies (filter -> MTA) ---------------------------------------------------------------


def _cstring(value: str) -> bytes:
    """A string for the wire: UTF-8, no NUL inside, NUL-terminated."""
    return value.replace("\0", " ").encode("utf-8", "replace") + b"\0"


def optneg_reply(version: int, actions: int, protocol: int) -> bytes:
    return encode(OPTNEG, struct.pack(">III", version, actions, protocol))


def add_header(name: str, value: str) -> bytes:
    """Append a header field (Postfix adds the space after the colon)."""
    return encode(R_ADDHEADER, _cstring(name) + _cstring(value))


def insert_header(index: int, name: str, value: str) -> bytes:
    """Insert a header field at ``index`` (0: on top)."""
    return encode(R_INSHEADER, _U32.pack(index) + _cstring(name) + _cstring(value))


def change_header(index: int, name: str, value: str) -> bytes:
    """Replace the ``index``-th (from 1) field called ``name``; an empty value deletes it."""
    return encode(R_CHGHEADER, _U32.pack(index) + _cstring(name) + _cstring(value))


def quarantine(reason: str) -> bytes:
    """Quarantine the message (Postfix: the hold queue); the reason must not be empty."""
    return encode(R_QUARANTINE, _cstring(reason or "quarantined"))


def reply_code(reply: str) -> bytes:
    """A final SMTP reply such as ``550 5.7.1 text`` (4xx or 5xx); '%' doubled, as
    Sendmail reads the text as a format string and Postfix undoes the doubling."""
    return encode(R_REPLYCODE, _cstring(reply.replace("%", "%%")))
