"""Where following a log got to, saved in the data folder so a restart resumes there.

A followed path (``/var/log/mail.log``) is followed through the files that were at that path in
turn: after a rotation the renamed old file is finished while the new one is read. Its saved
position is therefore a short list of :class:`FilePosition` (oldest first; the last one is, or
was, the file at the path), each naming its file by device, inode and a :class:`Fingerprint` of
its first bytes — an inode alone may be reused by a new file, and a file that was copied
(``copytruncate``) or compressed (``mail.log.1.gz``) keeps its first bytes but not its inode.
``seen`` lists the fingerprints of the rotated files that were already there at the last look,
so that a rotated file that appeared while Mailwarden was stopped can be told from them.

The positions of all followed paths are one small JSON file, written atomically (temporary file,
fsync, ``os.replace``). A damaged or unreadable file is reported and treated as empty: every
path then starts like a never-seen one (at its end, unless the follower reads from the start).
"""

from __future__ import annotations

import asyncio
import bz2
import contextlib
import gzip
import hashlib
import io
import json
import logging
import lzma
import os
import tempfile
import threading
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "FINGERPRINT_BYTES",
    "POSITIONS_FILE",
    "FilePosition",
    "Fingerprint",
    "LatestWriter",
    "PathPosition",
    "PositionStore",
    "PositionsError",
    "open_binary",
    "read_head",
    "write_atomic",
]

FINGERPRINT_BYTES = 256
POSITIONS_FILE = "follow-positions.json"
_MAX_FILE = 4 * 1024 * 1024  # a positions file larger than this is damaged
_FORMAT = 1
_READ_ERRORS = (OSError, EOFError, zlib.error, lzma.LZMAError)

log = logging.getLogger("mailwarden.sources.logs.positions")


class PositionsError(ValueError):
    """A positions file that cannot be used: its ``path`` and what is wrong with it."""

    def __init__(self, path: Path, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"{path}: {reason}")


@dataclass(frozen=True, slots=True)
class Fingerprint:
    """SHA-256 of a file's first ``size`` bytes (at most :data:`FINGERPRINT_BYTES`)."""

    size: int
    digest: str

    @classmethod
    def of(cls, head: bytes) -> Fingerprint:
        """The fingerprint of a file starting with ``head``."""
        head = head[:FINGERPRINT_BYTES]
        return cls(len(head), hashlib.sha256(head).hexdigest())

    def matches(self, head: bytes) -> bool:
        """Whether a file starting with ``head`` starts like this one (never for an empty print)."""
        if self.size == 0 or len(head) < self.size:
            return False
        return hashlib.sha256(head[: self.size]).hexdigest() == self.digest


@dataclass(frozen=True, slots=True)
class FilePosition:
    """How far one file was handed over: bytes up to ``offset`` are done.

    ``skipping`` says the offset lies inside an over-long line whose rest is being skipped.
    """

    device: int
    inode: int
    offset: int
    fingerprint: Fingerprint
    skipping: bool = False


@dataclass(frozen=True, slots=True)
class PathPosition:
    """The files of one followed path being read (oldest first) and the rotated files seen."""

    files: tuple[FilePosition, ...] = ()
    seen: tuple[Fingerprint, ...] = field(default=())


class PositionStore:
    """The positions of all followed paths in one JSON file (keyed by the followed path)."""

    def __init__(self, file: str | os.PathLike[str]) -> None:
        self.file = Path(file)
        self.problem: PositionsError | None = None  # why the last load found nothing usable
        self.writer = LatestWriter(self.file)

    @classmethod
    def in_folder(cls, data_dir: str | os.PathLike[str]) -> PositionStore:
        """The store kept in Mailwarden's data folder."""
        return cls(Path(data_dir) / POSITIONS_FILE)

    def load(self) -> dict[str, PathPosition]:
        """The saved positions; empty when there is no file or it is damaged (see ``problem``)."""
        self.problem = None
        try:
            with self.file.open("rb") as stream:
                raw = stream.read(_MAX_FILE + 1)
        except FileNotFoundError:
            return {}
        except OSError as error:
            return self._damaged(error.strerror or str(error))
        if len(raw) > _MAX_FILE:
            return self._damaged(f"larger than {_MAX_FILE} bytes")
        try:
            return _decode(json.loads(raw))
        except (ValueError, TypeError, KeyError, AttributeError) as error:
            return self._damaged(str(error) or type(error).__name__)

    def _damaged(self, reason: str) -> dict[str, PathPosition]:
        self.problem = PositionsError(self.file, f"{reason}; following starts afresh")
        log.warning("%s", self.problem)
        return {}

    def encode(self, positions: Mapping[str, PathPosition]) -> bytes:
        """The file's content for ``positions`` (cheap; write it with :meth:`write`)."""
        paths = {name: _encode_path(position) for name, position in sorted(positions.items())}
        return json.dumps({"format": _FORMAT, "paths": paths}, separators=(",", ":")).encode()

    async def save(self, positions: Mapping[str, PathPosition]) -> None:
        """Write ``positions`` in a worker thread, unless the file already says exactly that."""
        await self.writer.write(self.encode(positions))


def _encode_print(fingerprint: Fingerprint) -> list[Any]:
    return [fingerprint.size, fingerprint.digest]


def _encode_path(position: PathPosition) -> dict[str, Any]:
    files = [
        {
            "dev": file.device,
            "ino": file.inode,
            "offset": file.offset,
            "print": _encode_print(file.fingerprint),
            "skipping": file.skipping,
        }
        for file in position.files
    ]
    return {"files": files, "seen": [_encode_print(seen) for seen in position.seen]}


def _decode(document: Any) -> dict[str, PathPosition]:
    if not isinstance(document, dict) or document.get("format") != _FORMAT:
        raise ValueError(f"not a positions file of format {_FORMAT}")
    paths = document["paths"]
    if not isinstance(paths, dict):
        raise TypeError("'paths' is not an object")
    return {str(name): _decode_path(entry) for name, entry in paths.items()}


def _decode_path(entry: dict[str, Any]) -> PathPosition:
    files = tuple(
        FilePosition(
            device=_count(item["dev"]),
            inode=_count(item["ino"]),
            offset=_count(item["offset"]),
            fingerprint=_decode_print(item["print"]),
            skipping=bool(item.get("skipping", False)),
        )
        for item in entry["files"]
    )
    return PathPosition(files, tuple(_decode_print(item) for item in entry["seen"]))


def _decode_print(item: Any) -> Fingerprint:
    size, digest = item
    if not isinstance(digest, str) or len(digest) != 64:
        raise ValueError(f"bad fingerprint digest {digest!r}")
    size = _count(size)
    if size > FINGERPRINT_BYTES:
        raise ValueError(f"fingerprint of {size} bytes")
    return Fingerprint(size, digest)


def _count(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError(f"{value!r} is not a non-negative integer")
    return value


def write_atomic(path: Path, content: bytes) -> None:
    """Replace ``path`` with ``content`` so that a crash leaves the old or the new file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(content)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def open_binary(path: str | os.PathLike[str]) -> io.BufferedIOBase:
    """Open a plain, gzip, bzip2 or xz file as its uncompressed bytes (told by magic bytes).

    Raises OSError for a missing or unreadable file and ValueError for a zstd one.
    """
    name = os.fspath(path)
    with open(name, "rb") as raw:
        magic = raw.read(6)
    if magic.startswith(b"\x1f\x8b"):
        return gzip.GzipFile(name, "rb")
    if magic.startswith(b"BZh"):
        return bz2.BZ2File(name, "rb")
    if magic.startswith(b"\xfd7zXZ\x00"):
        return lzma.LZMAFile(name, "rb")
    if magic.startswith(b"\x28\xb5\x2f\xfd"):
        raise ValueError(f"{name}: zstd-compressed, cannot be read")
    return open(name, "rb")


def read_head(path: str | os.PathLike[str]) -> bytes | None:
    """The first :data:`FINGERPRINT_BYTES` uncompressed bytes of a file; None if unreadable."""
    try:
        with open_binary(path) as stream:
            return stream.read(FINGERPRINT_BYTES)
    except (*_READ_ERRORS, ValueError):
        return None


class LatestWriter:
    """Writes a small file atomically from worker threads, so the event loop never waits on disk.

    Writes are numbered: when an earlier write was abandoned (its caller was cancelled) and is
    still running, a later one waits for it, and an earlier one never lands after a later one.
    Content equal to what was last written is not written again. A failed write is logged with
    the file and the reason, and the next write tries again.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._issued = 0
        self._landed = 0
        self._content: bytes | None = None  # what the file holds after the last landed write

    async def write(self, content: bytes) -> None:
        """Replace the file with ``content`` (skipped when it already holds exactly that)."""
        if content == self._content:
            return
        self._issued += 1
        await asyncio.to_thread(self._write, self._issued, content)

    def write_now(self, content: bytes) -> None:
        """:meth:`write`, blocking the calling thread."""
        if content != self._content:
            self._issued += 1
            self._write(self._issued, content)

    def _write(self, number: int, content: bytes) -> None:
        with self._lock:
            if number <= self._landed:
                return
            try:
                write_atomic(self.path, content)
            except OSError as error:
                log.warning("cannot save %s: %s", self.path, error.strerror or error)
                return
            self._landed, self._content = number, content
