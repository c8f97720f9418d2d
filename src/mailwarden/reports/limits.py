"""The bounds every report file is read within; tests pass smaller ones."""

from __future__ import annotations

from dataclasses import dataclass

MIB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class Limits:
    """Caps on size and shape; going over one is a clear error for that file, never a crash."""

    max_file: int = 32 * MIB
    """Bytes read from one file (a mail with its attachment, an archive, an XML)."""
    max_unpacked: int = 64 * MIB
    """Bytes one gzip stream or zip member may decompress to (a decompression bomb stops here)."""
    max_members: int = 16
    """Files in one zip archive."""
    max_parts: int = 200
    """MIME parts in one mail."""
    max_depth: int = 32
    """Nesting of XML elements or JSON arrays and objects."""
    max_elements: int = 4_000_000
    """XML elements in one report (records are read one at a time, so this bounds time, and
    memory only for what is not a record)."""
    max_records: int = 200_000
    """Records in one aggregate report; policies and failure details in one TLS report."""
    max_field: int = 4096
    """Characters in one field (a domain, a report id, a comment)."""


DEFAULT = Limits()
