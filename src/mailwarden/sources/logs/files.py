"""Log files on disk: plain or compressed, read as text lines, several of them in time order.

The compression is told by the file's first bytes, not its name (``mail.log.2.gz`` may have been
unpacked, ``mail.log.1`` may be compressed). Lines are untrusted: they are decoded as UTF-8 with
replacement characters and cut at :data:`MAX_LINE` characters. Rotated files named in any order
(``mail.log mail.log.2.gz mail.log.1``) are read oldest first, ordered by their first timestamp.
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import os
import zlib
from collections.abc import Generator, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from pathlib import Path
from typing import TextIO

from mailwarden.sources.logs.timestamps import SyslogClock

__all__ = [
    "MAX_LINE",
    "LogFile",
    "LogFileError",
    "first_year",
    "open_log",
    "order_files",
    "read_blocks",
    "read_blocks_in_order",
    "read_in_order",
    "read_lines",
]

MAX_LINE = 65536  # characters; the rest of a longer line is skipped
BLOCK = 1 << 20  # characters decoded at a time by :func:`read_blocks`
_PROBE_LINES = 1000  # lines looked at for a file's first timestamp
_READ_ERRORS = (OSError, EOFError, zlib.error, lzma.LZMAError, UnicodeError)


class LogFileError(Exception):
    """A log file that cannot be read: ``path``, what went wrong, and how far reading got."""

    def __init__(self, path: Path, reason: str, line: int = 0) -> None:
        self.path = path
        self.reason = reason
        self.line = line
        where = f" (after line {line})" if line else ""
        super().__init__(f"{path}: {reason}{where}")


@dataclass(frozen=True, slots=True)
class LogFile:
    """A log file and the epoch of its first timestamped line (None: it has none)."""

    path: Path
    first_time: float | None


def open_log(path: str | os.PathLike[str]) -> TextIO:
    """Open a plain, gzip, bzip2 or xz log file as UTF-8 text (bad bytes become U+FFFD)."""
    where = Path(path)
    name = os.fspath(where)
    try:
        with where.open("rb") as raw:
            head = raw.read(6)
        if head.startswith(b"\x1f\x8b"):
            return _text(gzip.GzipFile(name, "rb"))
        if head.startswith(b"BZh"):
            return _text(bz2.BZ2File(name, "rb"))
        if head.startswith(b"\xfd7zXZ\x00"):
            return _text(lzma.LZMAFile(name, "rb"))
        if head.startswith(b"\x28\xb5\x2f\xfd"):
            raise LogFileError(where, "zstd-compressed; unpack it first (zstd -d)")
        return open(name, encoding="utf-8", errors="replace", newline="\n")
    except _READ_ERRORS as error:
        raise LogFileError(where, _reason(error)) from error


def _text(binary: gzip.GzipFile | bz2.BZ2File | lzma.LZMAFile) -> TextIO:
    return io.TextIOWrapper(binary, encoding="utf-8", errors="replace", newline="\n")


def _reason(error: BaseException) -> str:
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    return str(error) or type(error).__name__


def read_lines(path: str | os.PathLike[str]) -> Generator[str, None, None]:
    """The lines of a log file without their line ends; over-long lines are cut.

    Raises :class:`LogFileError` for a missing, unreadable or corrupt file (also mid-way).
    """
    where = Path(path)
    count = 0
    with open_log(where) as text:
        try:
            readline = text.readline
            while line := readline(MAX_LINE):
                count += 1
                if line[-1:] == "\n":
                    yield line[:-1].removesuffix("\r")
                    continue
                yield line
                _skip_rest(text, line)
        except _READ_ERRORS as error:
            raise LogFileError(where, _reason(error), count) from error


def _skip_rest(text: TextIO, line: str) -> None:
    """Skip the remainder of an over-long line (``line`` did not end the line)."""
    while len(line) == MAX_LINE and line[-1:] != "\n":
        line = text.readline(MAX_LINE)


def read_blocks(
    path: str | os.PathLike[str], *, block: int = BLOCK, max_line: int = MAX_LINE
) -> Generator[list[str], None, None]:
    """The lines of a log file exactly as :func:`read_lines` gives them, many at a time.

    For reading whole files fast: the text is decoded and split a block at a time instead of
    line by line. Raises :class:`LogFileError` like :func:`read_lines`.
    """
    where = Path(path)
    count = 0
    with open_log(where) as text:
        try:
            read = text.read
            carry = ""  # the start of a line the block did not end
            skipping = False  # in the rest of an over-long line
            while chunk := read(block):
                if skipping:
                    end = chunk.find("\n")
                    if end < 0:
                        continue
                    chunk, skipping = chunk[end + 1 :], False
                whole = carry + chunk if carry else chunk
                lines = whole.split("\n")
                carry = lines.pop()
                if len(carry) >= max_line:
                    lines.append(carry[:max_line])
                    carry, skipping = "", True
                if "\r" in whole or max(map(len, lines), default=0) >= max_line:
                    lines = [_trimmed(line, max_line) for line in lines]
                count += len(lines)
                if lines:
                    yield lines
            if carry:  # the last line, without a line end
                yield [carry]
        except _READ_ERRORS as error:
            raise LogFileError(where, _reason(error), count) from error


def _trimmed(line: str, max_line: int) -> str:
    """A line as :func:`read_lines` gives it: ending ``\\r\\n`` without ``\\r``, cut at
    ``max_line``."""
    return line.removesuffix("\r") if len(line) < max_line else line[:max_line]


def read_blocks_in_order(files: Iterable[LogFile | str | os.PathLike[str]]) -> Iterator[list[str]]:
    """The lines of ``files`` in blocks, one file after the other (see :func:`read_in_order`)."""
    for file in files:
        yield from read_blocks(file.path if isinstance(file, LogFile) else file)


def order_files(paths: Iterable[str | os.PathLike[str]], tz: tzinfo) -> list[LogFile]:
    """The files oldest first, by their first timestamp; files without one come last.

    The year of a traditional timestamp is guessed from the file's modification time (a line is
    not written after its file was). Files starting at the same moment keep their given order.
    """
    files = [LogFile(Path(path), _first_time(Path(path), tz)) for path in paths]
    order = sorted(
        range(len(files)),
        key=lambda i: (files[i].first_time is None, files[i].first_time or 0.0, i),
    )
    return [files[i] for i in order]


def _first_time(path: Path, tz: tzinfo) -> float | None:
    try:
        modified = path.stat().st_mtime
    except OSError as error:
        raise LogFileError(path, _reason(error)) from error
    clock = SyslogClock(tz, not_after=modified)
    lines = read_lines(path)
    try:
        for _number, line in zip(range(_PROBE_LINES), lines, strict=False):
            parsed = clock.parse(line)
            if parsed is not None:
                return parsed[0]
    finally:
        lines.close()
    return None


def first_year(files: Sequence[LogFile], tz: tzinfo) -> int | None:
    """The year of the earliest timestamp of ``files`` in ``tz`` (the year to read them in)."""
    times = [file.first_time for file in files if file.first_time is not None]
    return datetime.fromtimestamp(min(times), tz).year if times else None


def read_in_order(files: Iterable[LogFile | str | os.PathLike[str]]) -> Iterator[str]:
    """The lines of ``files`` one file after the other (order them with :func:`order_files`)."""
    for file in files:
        yield from read_lines(file.path if isinstance(file, LogFile) else file)
