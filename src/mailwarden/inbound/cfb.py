"""The directory of an OLE2 compound file ([MS-CFB]): the storage and stream names of legacy
Office documents (.doc, .xls, .ppt), encrypted Office files and Outlook .msg files.

Only names are needed to see macros (``VBA``, ``_VBA_PROJECT``, ``Macros``), encryption
(``EncryptedPackage``) and embedded files (``\\x01Ole10Native``), so only the allocation
table and the directory stream are followed, each sector at most once, at most
``MAX_SECTORS`` of them: loops and absurd sizes end the walk instead of the process.
"""

from __future__ import annotations

import struct

SIGNATURE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
MAX_SECTORS = 20000
MAX_ENTRIES = 5000
END = 0xFFFFFFFE
FREE = 0xFFFFFFFF


def names(data: bytes) -> list[str]:
    """The names of the file's storages and streams ([] if it is not a readable one)."""
    if not data.startswith(SIGNATURE) or len(data) < 512:
        return []
    shift = struct.unpack_from("<H", data, 30)[0]
    if shift not in (9, 12):
        return []
    size = 1 << shift
    fat = _fat(data, size)
    first_dir = struct.unpack_from("<I", data, 48)[0]
    out: list[str] = []
    for sector in _chain(fat, first_dir):
        base = 512 + sector * size
        for off in range(base, min(base + size, len(data)) - 127, 128):
            length = struct.unpack_from("<H", data, off + 64)[0]
            kind = data[off + 66]
            if kind in (1, 2, 5) and 2 <= length <= 64:
                out.append(data[off:off + length - 2].decode("utf-16-le", "replace"))
            if len(out) >= MAX_ENTRIES:
                return out
    return out


def _fat(data: bytes, size: int) -> list[int]:
    """The file allocation table, from the header's DIFAT and the DIFAT chain."""
    fat_sectors = list(struct.unpack_from("<109I", data, 76))
    next_difat, _count = struct.unpack_from("<II", data, 68)
    seen: set[int] = set()
    while next_difat not in (END, FREE) and next_difat not in seen and len(seen) < 1000:
        seen.add(next_difat)
        base = 512 + next_difat * size
        if base + size > len(data):
            break
        entries = struct.unpack_from(f"<{size // 4}I", data, base)
        fat_sectors.extend(entries[:-1])
        next_difat = entries[-1]
    table: list[int] = []
    for sector in fat_sectors[: max(0, min(len(fat_sectors), MAX_SECTORS))]:
        if sector in (END, FREE):
            continue
        base = 512 + sector * size
        if base + size > len(data):
            continue
        table.extend(struct.unpack_from(f"<{size // 4}I", data, base))
        if len(table) > MAX_SECTORS * 128:
            break
    return table


def _chain(fat: list[int], start: int) -> list[int]:
    chain: list[int] = []
    seen: set[int] = set()
    sector = start
    while 0 <= sector < len(fat) and sector not in seen and len(chain) < MAX_SECTORS:
        seen.add(sector)
        chain.append(sector)
        sector = fat[sector]
    return chain
