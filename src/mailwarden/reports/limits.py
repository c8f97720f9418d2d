"""The bounds every report file is read within; tests pass smaller ones.

Two kinds: caps on one report or one archive member (``max_unpacked``, ``max_records``), and
one shared budget per input file (``max_file_unpacked``, ``max_file_records``) that all its mail
parts and archive members draw from. A mail may carry up to ``max_parts`` attachments; without
the shared budget each of them could unpack and parse up to the per-report caps.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from mailwarden.reports.errors import ReportError

MIB = 1024 * 1024


class BudgetExceeded(ReportError):
    """The file as a whole went over its budget: the rest of it is not read (never a part's
    own error, which would let the next part go on)."""


@dataclass(frozen=True, slots=True)
class Limits:
    """Caps on size and shape; going over one is a clear error for that file, never a crash."""

    max_file: int = 32 * MIB
    """Bytes read from one file (a mail with its attachment, an archive, an XML)."""
    max_unpacked: int = 64 * MIB
    """Bytes one gzip stream, or all members of one zip archive together, may decompress to (a
    decompression bomb stops here)."""
    max_file_unpacked: int = 64 * MIB
    """Bytes all gzip streams and zip members of one file decompress to together (every
    attachment of a mail and every member of its archives draws from this one budget)."""
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
    max_file_records: int = 200_000
    """Records of all reports in one file together (aggregate records, TLS policies and
    failure details), whatever number of attachments and members they come in."""
    max_field: int = 4096
    """Characters in one field (a domain, a report id, a comment)."""


DEFAULT = Limits()


class Budget:
    """What one input file may still unpack and parse; shared by all its parts and members."""

    def __init__(self, limits: Limits = DEFAULT) -> None:
        self.limits = limits
        self.unpacked = limits.max_file_unpacked
        self.records = limits.max_file_records

    def room(self, cap: int) -> int:
        """Bytes the next stream may decompress to: its own cap, or what is left if less."""
        return min(cap, self.unpacked)

    def binds(self, cap: int) -> bool:
        """True when what is left of the file's budget, not ``cap``, is the tighter bound."""
        return self.unpacked < cap

    def binds_records(self) -> bool:
        """True when what is left of the file's records, not ``max_records``, bounds the next
        report."""
        return self.records < self.limits.max_records

    def over_unpacked(self) -> BudgetExceeded:
        """The error that ends the file (and nothing more is unpacked from it)."""
        self.unpacked = 0
        return BudgetExceeded("file.unpacked_budget", limit=self.limits.max_file_unpacked)

    def over_records(self) -> BudgetExceeded:
        self.records = 0
        return BudgetExceeded("file.records_budget", limit=self.limits.max_file_records)

    def take_unpacked(self, count: int) -> None:
        """Charge ``count`` decompressed bytes; going over ends the file."""
        if count > self.unpacked:
            raise self.over_unpacked()
        self.unpacked -= count

    def take_records(self, count: int) -> None:
        """Charge ``count`` records; going over ends the file."""
        if count > self.records:
            raise self.over_records()
        self.records -= count

    def record_limits(self) -> Limits:
        """The limits for the next report: at most the records left in the file's budget."""
        return replace(self.limits, max_records=min(self.limits.max_records, self.records))
