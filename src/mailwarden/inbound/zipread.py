"""A bounded zip reader: the central directory's names, flags and sizes, and members
decompressed under a shared byte budget.

Zip bombs (members claiming little and inflating to gigabytes, overlapping members, quines)
are harmless here: every decompression asks zlib for at most what the budget has left, the
number of members listed is capped, and sizes claimed by the archive are never trusted for
allocation. Only "stored" and "deflate" members are decompressed; encrypted ones are listed
(names are not encrypted in zip) but never read.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

EOCD = b"PK\x05\x06"
CENTRAL = b"PK\x01\x02"
LOCAL = b"PK\x03\x04"


class Budget:
    """Bytes that may still be decompressed for one message; ``exhausted`` tells that a
    limit (this budget or a member's own) cut a decompression short."""

    def __init__(self, limit: int) -> None:
        self.left = max(0, limit)
        self.exhausted = False

    def take(self, wanted: int) -> int:
        granted = min(wanted, self.left)
        if granted < wanted:
            self.exhausted = True
        return granted

    def spend(self, used: int) -> None:
        self.left = max(0, self.left - used)


@dataclass(frozen=True, slots=True)
class Member:
    """One entry of the central directory."""

    name: str
    method: int
    flags: int
    compressed: int
    size: int
    offset: int

    @property
    def encrypted(self) -> bool:
        return bool(self.flags & 0x1)

    @property
    def is_dir(self) -> bool:
        return self.name.endswith("/")


def members(data: bytes, limit: int) -> tuple[list[Member], bool]:
    """Up to ``limit`` members from the central directory, and whether there were more."""
    end = data.rfind(EOCD, max(0, len(data) - 65557))
    if end < 0 or len(data) < end + 22:
        return [], False
    _, _, _, _, total, _size, start = struct.unpack_from("<IHHHHII", data, end)
    out: list[Member] = []
    pos = start
    if not data.startswith(CENTRAL, pos) and data.startswith(CENTRAL, max(0, end - _size)):
        pos = end - _size  # data in front of the archive (self-extracting, glued files)
    while len(out) < limit and data.startswith(CENTRAL, pos) and pos + 46 <= len(data):
        (flags, method, csize, usize, nlen, xlen, clen, offset) = _central(data, pos)
        raw = data[pos + 46:pos + 46 + nlen]
        name = raw.decode("utf-8" if flags & 0x800 else "cp437", "replace")
        if 0xFFFFFFFF in (csize, usize, offset):
            csize, usize, offset = _zip64(data[pos + 46 + nlen:pos + 46 + nlen + xlen],
                                          csize, usize, offset)
        out.append(Member(name[:1000], method, flags, csize, usize, offset))
        pos += 46 + nlen + xlen + clen
    more = total > len(out) or data.startswith(CENTRAL, pos)
    return out, more


def _central(data: bytes, pos: int) -> tuple[int, int, int, int, int, int, int, int]:
    fields = struct.unpack_from("<IHHHHHHIIIHHHHHII", data, pos)
    flags, method = fields[3], fields[4]
    csize, usize, nlen, xlen, clen = fields[8], fields[9], fields[10], fields[11], fields[12]
    return flags, method, csize, usize, nlen, xlen, clen, fields[16]


def _zip64(extra: bytes, csize: int, usize: int, offset: int) -> tuple[int, int, int]:
    pos = 0
    while pos + 4 <= len(extra):
        tag, size = struct.unpack_from("<HH", extra, pos)
        body = extra[pos + 4:pos + 4 + size]
        if tag == 0x0001:
            values = [struct.unpack_from("<Q", body, i)[0] for i in range(0, len(body) - 7, 8)]
            if usize == 0xFFFFFFFF and values:
                usize = values.pop(0)
            if csize == 0xFFFFFFFF and values:
                csize = values.pop(0)
            if offset == 0xFFFFFFFF and values:
                offset = values.pop(0)
        pos += 4 + size
    return csize, usize, offset


def read(data: bytes, member: Member, budget: Budget, limit: int) -> bytes | None:
    """Up to ``limit`` bytes of a member (never more than the budget allows); None when it
    cannot be read (encrypted, unknown method, damaged)."""
    if member.encrypted or member.method not in (0, 8) or member.is_dir:
        return None
    pos = member.offset
    if not data.startswith(LOCAL, pos) or pos + 30 > len(data):
        return None
    nlen, xlen = struct.unpack_from("<HH", data, pos + 26)
    start = pos + 30 + nlen + xlen
    if member.compressed <= 0:
        return b""
    stored = data[start:start + member.compressed]
    allowed = budget.take(limit)
    if member.method == 0:
        out = stored[:allowed]
        cut = len(stored) > allowed
    else:
        inflater = zlib.decompressobj(-15)
        try:
            out = inflater.decompress(stored, allowed)
        except zlib.error:
            return None
        cut = bool(inflater.unconsumed_tail) and len(out) >= allowed
    budget.spend(len(out))
    budget.exhausted = budget.exhausted or cut
    return out
