"""Following plain-text log files live, across rotations and restarts (``serve --follow FILE``).

Each followed path is polled every ``poll_interval`` seconds: when nothing changes that costs a
``stat`` of the path and one of its folder, and no write. New complete lines are handed over in
order as ``(followed path, line)``; a last line without its newline waits until it is complete.
Lines are decoded as UTF-8 with replacement characters; a line longer than ``max_line`` bytes is
cut there, the rest is skipped (counted in :class:`FollowStats`).

**Rotation.** A path whose inode changes was rotated by rename (logrotate ``create``): the old
file is kept open and finished first, then the new one is read from its start. The old file stays
watched for ``rotate_wait`` seconds after it stops growing, since a daemon writes to it until it
reopens its log. A path that vanishes is waited for; lines still written to the renamed file are
read. A file that shrinks, or whose first bytes change, was truncated (``copytruncate`` or by
hand): it is read again from its start, and if a rotated sibling (``mail.log.1``, also gzip, bzip2
or xz) starts with the same bytes, that copy is first read from where reading had got. When the
folder changes (its modification time), the rotated siblings are looked at: one that appeared and
starts like no file seen before (several rotations between two polls, or while stopped) is read
too, oldest first. Siblings are the files in the same folder named ``<name>.*``, ``<name>-*`` or
``<name>_*``; a file is recognised by its first 256 bytes, so two different files of a log must
not start with the same 256 bytes (syslog lines start with their time, so they do not).

**Delivery: at least once, exactly once across a clean stop.** A line counts as handled when the
consumer asks for the next one; positions (:mod:`~mailwarden.sources.logs.positions`) record only
handled lines and are saved at most every ``save_interval`` seconds while busy, and whenever the
follower goes idle. Leaving ``async with FileFollower(...)`` without an exception (``break``
after handling a line) counts the last line as handled too; leaving with an exception (a
cancellation while handling it) does not, so that line comes again after a restart. After a
crash, at most ``save_interval`` seconds of lines come again. A restart finds its files again by
device, inode and fingerprint, also when they were renamed, copied or compressed meanwhile.

**The inherent limit of polling:** lines written to a file that is then truncated in place before
the next poll, without a copy being kept, are lost; so are lines in a rotated file that was deleted
or compressed with zstd before it was read to its end, or moved to another folder (logrotate
``olddir``), and lines written to a rotated file more than ``rotate_wait`` seconds after it last
grew. Following only reads; compressed rotated files are decompressed in the event loop, which a
restart after a long stop may feel for a moment.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import lzma
import os
import stat
import time
import zlib
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import NamedTuple

from mailwarden.sources.logs.positions import (
    FINGERPRINT_BYTES,
    FilePosition,
    Fingerprint,
    PathPosition,
    PositionStore,
    open_binary,
    read_head,
)

__all__ = ["MAX_LINE_BYTES", "FileFollower", "FollowStats"]

MAX_LINE_BYTES = 65536
_MAX_SIBLINGS = 1000  # rotated files looked at in one folder
_SIBLING_MARKS = (".", "-", "_")
_SETTLED_NS = 100_000_000  # a folder unchanged for this long has no change hidden in its tick
_READ_ERRORS = (OSError, EOFError, ValueError, zlib.error, lzma.LZMAError)

log = logging.getLogger("mailwarden.sources.logs.follow")


@dataclass(slots=True)
class FollowStats:
    """What following met: lines handed over, over-long lines cut, rotations and losses."""

    lines: int = 0
    overlong: int = 0
    rotations: int = 0
    truncations: int = 0
    missing_files: int = 0  # saved files that could not be found again after a restart


class _Line(NamedTuple):
    text: str
    offset: int  # where the file is done once this line is handled
    skipping: bool


class _Candidate(NamedTuple):
    """A file at the followed path or a rotated sibling, as found now."""

    path: Path
    status: os.stat_result
    head: bytes  # its first bytes, uncompressed
    compressed: bool


_START = (0, False)  # (offset, skipping) of a file read from its start


class _Reader:
    """One open file of a followed path: where reading got and the incomplete last line."""

    def __init__(self, path: Path, offset: int, skipping: bool, max_line: int) -> None:
        self.path = path
        self.stream = open_binary(path)
        try:
            self.compressed = not isinstance(self.stream, io.BufferedReader)
            status = os.fstat(self.stream.fileno())
            self.identity = (status.st_dev, status.st_ino)
            self.fingerprint = Fingerprint.of(self._head())
            if self.compressed:
                _skip(self.stream, offset)
        except BaseException:
            self.stream.close()
            raise
        self.offset = self.position = offset  # consumed (lines and skipped bytes); read
        self.skipping = skipping
        self.handled = (offset, skipping)
        self.buffer = b""
        self.max_line = max_line
        self.overlong = 0
        self.last_growth = time.monotonic()
        self.status = (-1, -1)  # size and modification time last looked at

    def _head(self) -> bytes:
        if self.compressed:
            head = self.stream.read(FINGERPRINT_BYTES)
            self.stream.seek(0)
            return head
        return os.pread(self.stream.fileno(), FINGERPRINT_BYTES, 0)

    def read(self, chunk: int) -> tuple[list[_Line], bool]:
        """The lines completed by the next ``chunk`` bytes, and whether more may be waiting."""
        if self.compressed:
            data = self.stream.read(chunk)
        else:
            data = os.pread(self.stream.fileno(), chunk, self.position)
        if not data:
            return [], False
        self.position += len(data)
        self.last_growth = time.monotonic()
        self.refresh()
        return self._split(data), len(data) == chunk

    def refresh(self) -> None:
        """Take in more of the file's first bytes while it is shorter than a fingerprint."""
        if self.fingerprint.size < FINGERPRINT_BYTES and not self.compressed:
            with contextlib.suppress(OSError):
                self.fingerprint = Fingerprint.of(self._head())

    def _split(self, data: bytes) -> list[_Line]:
        if self.skipping:
            end = data.find(b"\n")
            if end < 0:
                self.offset += len(data)
                return []
            self.offset += end + 1
            self.skipping, data = False, data[end + 1 :]
        pending, start, lines = self.buffer + data, 0, []
        while (end := pending.find(b"\n", start)) >= 0:
            lines.append(_Line(self._text(pending[start:end]), self.offset + end + 1, False))
            start = end + 1
        self.buffer = pending[start:]
        self.offset += start
        if len(self.buffer) > self.max_line:
            self.offset, self.skipping = self.position, True
            lines.append(_Line(self._text(self.buffer), self.offset, True))
            self.buffer = b""
        return lines

    def _text(self, raw: bytes) -> str:
        if len(raw) > self.max_line:
            self.overlong += 1
            raw = raw[: self.max_line]
        return raw.removesuffix(b"\r").decode("utf-8", errors="replace")

    def finish(self) -> _Line | None:
        """The incomplete last line of a file that will not grow any more (if still there)."""
        if not self.buffer:
            return None
        buffer, self.buffer = self.buffer, b""
        if not self.compressed and self._size() < self.position:
            return None  # truncated meanwhile: the line is gone
        self.offset = self.position
        return _Line(self._text(buffer), self.position, False)

    def _size(self) -> int:
        try:
            return os.fstat(self.stream.fileno()).st_size
        except OSError:
            return 0

    def restart(self) -> None:
        """Read the (truncated) file again from its start."""
        self.offset = self.position = 0
        self.skipping, self.handled, self.buffer = False, (0, False), b""
        self.fingerprint = Fingerprint.of(b"")
        self.refresh()

    def saved(self) -> FilePosition:
        """The position of the lines handled so far."""
        offset, skipping = self.handled
        return FilePosition(*self.identity, offset, self.fingerprint, skipping)

    def starts_like(self, head: bytes) -> bool:
        """Whether a file starting with ``head`` is this file (renamed, copied or compressed)."""
        return self.fingerprint.matches(head)

    def unlinked(self) -> bool:
        """Whether the file was deleted (not merely renamed)."""
        try:
            return os.fstat(self.stream.fileno()).st_nlink == 0
        except OSError:
            return True

    def close(self) -> None:
        self.stream.close()


def _skip(stream: io.BufferedIOBase, count: int) -> None:
    while count > 0:
        data = stream.read(min(count, 1 << 20))
        if not data:
            return
        count -= len(data)


@dataclass(slots=True)
class _Batch:
    """Lines of one reader to hand over; ``done``: close the reader once they are handled."""

    reader: _Reader
    lines: list[_Line]
    more: bool
    done: bool = False


class _Followed:
    """One followed path: the file at it now (``current``) and rotated ones still being read."""

    def __init__(self, name: str, follower: FileFollower) -> None:
        self.name = name
        self.path = Path(name)
        self.follower = follower
        self.current: _Reader | None = None
        self.older: list[_Reader] = []
        self.seen: tuple[Fingerprint, ...] = ()
        self.folder_stamp: int | None = None  # the folder's modification time at the last look

    # starting ----------------------------------------------------------------------------

    def start(self, saved: PathPosition | None) -> None:
        """Open the files of the path, resuming at ``saved`` (None: a never-seen path)."""
        siblings = self._siblings()
        if saved is None:
            self.seen = _prints(siblings)
            self.current = self._open(self.path, None)
            return
        here = _candidate(self.path)
        pool = [*siblings, here] if here is not None else list(siblings)
        for number, position in enumerate(saved.files):
            if position.offset == 0 and position.fingerprint.size == 0:
                continue  # empty when saved, nothing read: found again as new (see _locate)
            last = number == len(saved.files) - 1
            found = _locate(position, [c for c in pool if last or c is not here])
            if found is None:
                self.follower.stats.missing_files += 1
                log.warning(
                    "%s: the file read up to byte %d before the restart is gone",
                    self.name,
                    position.offset,
                )
                continue
            pool.remove(found)
            reader = self._open(found.path, (position.offset, position.skipping))
            if reader is not None and found is here:
                self.current = reader
            elif reader is not None:
                self.older.append(reader)
        self.seen = saved.seen
        self._add_unseen(siblings)
        if self.current is None and here is not None and here in pool:
            self.current = self._open(self.path, _START)

    def _open(self, path: Path, at: tuple[int, bool] | None) -> _Reader | None:
        """A reader at ``(offset, skipping)``; None: at the end (``from_start``: the start)."""
        follower = self.follower
        try:
            if at is None:
                at = _START if follower.from_start else _line_end(path, follower.max_line)
            return _Reader(path, *at, follower.max_line)
        except _READ_ERRORS as error:
            if not isinstance(error, FileNotFoundError):
                log.warning("%s: cannot read %s: %s", self.name, path, error)
            return None

    def _siblings(self) -> list[_Candidate]:
        """The rotated files next to the path, oldest modification first."""
        base = self.path.name
        self.folder_stamp = self._folder_stamp()
        if self.folder_stamp is not None and time.time_ns() - self.folder_stamp < _SETTLED_NS:
            self.folder_stamp = None  # may change again within the clock's tick: look again
        try:
            names = sorted(os.listdir(self.path.parent))
        except OSError:
            return []
        found: list[_Candidate] = []
        for name in names:
            if len(found) >= _MAX_SIBLINGS:
                break
            if name != base and name.startswith(base) and name[len(base)] in _SIBLING_MARKS:
                candidate = _candidate(self.path.parent / name)
                if candidate is not None:
                    found.append(candidate)
        return sorted(found, key=lambda c: c.status.st_mtime_ns)

    def _add_unseen(self, siblings: list[_Candidate]) -> None:
        """Read rotated files that appeared since the last look and are not being read."""
        readers = [*self.older, *([self.current] if self.current else [])]
        for reader in readers:
            reader.refresh()  # a file's bytes not read yet are its own, not a new file's
        for candidate in siblings:
            if candidate.head and not _tracked(candidate, readers) and not any(
                seen.matches(candidate.head) for seen in self.seen
            ):
                unseen = self._open(candidate.path, _START)
                if unseen is not None:
                    self.older.append(unseen)
                    readers.append(unseen)
        self.seen = _prints(siblings)

    # polling -----------------------------------------------------------------------------

    def _folder_stamp(self) -> int | None:
        try:
            return os.stat(self.path.parent).st_mtime_ns
        except OSError:
            return None

    def step(self, chunk: int) -> _Batch | None:
        """The next lines to hand over (rotated files first), or None when there are none."""
        read_current = self._check_path()
        if self.folder_stamp is None or self._folder_stamp() != self.folder_stamp:
            self._folder_changed()
        for reader in self.older:
            batch = self._read(reader, chunk)
            if batch is None:  # unreadable: let it go
                return _Batch(reader, [], True, done=True)
            if batch.lines or batch.more:
                return batch
            if time.monotonic() - reader.last_growth >= self.follower.rotate_wait:
                last = reader.finish()
                return _Batch(reader, [last] if last else [], True, done=True)
        if self.current is not None and read_current:
            batch = self._read(self.current, chunk)
            if batch is not None and (batch.lines or batch.more):
                return batch
        return None

    def _read(self, reader: _Reader, chunk: int) -> _Batch | None:
        try:
            lines, more = reader.read(chunk)
        except _READ_ERRORS as error:
            log.warning("%s: cannot read %s: %s", self.name, reader.path, error)
            return None
        return _Batch(reader, lines, more)

    def _check_path(self) -> bool:
        """Notice rotations and truncations; whether the current file may have grown."""
        try:
            status: os.stat_result | None = os.stat(self.path)
        except OSError:
            status = None
        current = self.current
        if current is None:
            if status is not None:
                self.current = self._open(self.path, _START)
            return True
        moved = status is None or (status.st_dev, status.st_ino) != current.identity
        if not current.compressed and self._was_truncated(current, None if moved else status):
            self._truncated(current)  # also when it was then renamed: copytruncate, rename
        if status is None:
            self._path_missing()
            return True
        if moved:
            self._rotated()
            return True
        return status.st_size != current.position

    def _was_truncated(self, current: _Reader, status: os.stat_result | None) -> bool:
        """Whether the file shrank or its first bytes changed (``status``: of its path now)."""
        if status is None:
            try:
                status = os.fstat(current.stream.fileno())
            except OSError:
                return False
        changed = (status.st_size, status.st_mtime_ns) != current.status
        current.status = (status.st_size, status.st_mtime_ns)
        return status.st_size < current.position or (changed and not self._same_start(current))

    def _folder_changed(self) -> None:
        """A file appeared, went or was renamed next to the path: a rotation not seen otherwise
        (copytruncate of a file whose size did not change); read unseen rotated files."""
        siblings = self._siblings()
        current = self.current
        if current is not None and not current.compressed and not self._same_start(current):
            self._truncated(current, siblings)
        else:
            self._add_unseen(siblings)

    def _same_start(self, reader: _Reader) -> bool:
        """Whether the file still starts with the bytes it started with (trivially, if empty)."""
        if reader.fingerprint.size == 0:
            return True
        try:
            return reader.starts_like(os.pread(reader.stream.fileno(), FINGERPRINT_BYTES, 0))
        except OSError:
            return False

    def _path_missing(self) -> None:
        """A renamed file is still read; a deleted one is let go once it has been finished."""
        current = self.current
        if current is not None and current.unlinked():
            self.older.append(current)
            self.current = None

    def _rotated(self) -> None:
        assert self.current is not None
        self.follower.stats.rotations += 1
        self.older.append(self.current)
        self.current = None
        self._add_unseen(self._siblings())
        self.current = self._open(self.path, _START)

    def _truncated(self, current: _Reader, siblings: list[_Candidate] | None = None) -> None:
        """Finish a copy of the file if one was kept, then read the file from its start."""
        self.follower.stats.truncations += 1
        if siblings is None:
            siblings = self._siblings()
        for candidate in reversed(siblings):
            if _identity(candidate) != current.identity and current.starts_like(candidate.head):
                copy = self._open(candidate.path, current.handled)
                if copy is not None:
                    self.older.append(copy)
                break
        else:
            log.warning("%s: truncated; lines written since the last look are lost", self.name)
        current.restart()
        self._add_unseen(siblings)

    def saved(self) -> PathPosition:
        """The position to resume at after a restart."""
        readers = [*self.older, *([self.current] if self.current else [])]
        return PathPosition(tuple(reader.saved() for reader in readers), self.seen)

    def discard(self, reader: _Reader) -> None:
        """Forget a finished rotated file."""
        self.older.remove(reader)
        reader.close()

    def close(self) -> None:
        for reader in [*self.older, *([self.current] if self.current else [])]:
            reader.close()
        self.older, self.current = [], None


def _candidate(path: Path) -> _Candidate | None:
    try:
        status = os.stat(path)
    except OSError:
        return None
    if not stat.S_ISREG(status.st_mode):
        return None
    head = read_head(path)
    if head is None:
        return None
    try:
        with open(path, "rb") as raw:
            magic = raw.read(6)
    except OSError:
        return None
    compressed = magic[:2] == b"\x1f\x8b" or magic[:3] == b"BZh" or magic == b"\xfd7zXZ\x00"
    return _Candidate(path, status, head, compressed)


def _identity(candidate: _Candidate) -> tuple[int, int]:
    return candidate.status.st_dev, candidate.status.st_ino


def _prints(candidates: Iterable[_Candidate]) -> tuple[Fingerprint, ...]:
    return tuple(Fingerprint.of(c.head) for c in candidates if c.head)


def _tracked(candidate: _Candidate, readers: Iterable[_Reader]) -> bool:
    return any(
        _identity(candidate) == reader.identity or reader.starts_like(candidate.head)
        for reader in readers
    )


def _locate(position: FilePosition, pool: list[_Candidate]) -> _Candidate | None:
    """The file a saved position was in: same inode and first bytes, else same first bytes.

    The first bytes must match even when the inode does: once a file is deleted while stopped
    (a rotated file compressed or removed), the file system gives its inode to the next new
    file, such as the copy ``copytruncate`` makes. A file that was empty when saved (an empty
    fingerprint) is therefore never found again by inode alone; nothing of it had been read,
    and if it has lines now it is read from its start like any other file not seen before.
    """
    fingerprint = position.fingerprint
    for candidate in pool:
        if (
            _identity(candidate) == (position.device, position.inode)
            and fingerprint.matches(candidate.head)
            and candidate.status.st_size >= position.offset
        ):
            return candidate
    for candidate in pool:
        if position.fingerprint.matches(candidate.head) and (
            candidate.status.st_size >= position.offset or candidate.compressed
        ):
            return candidate
    return None


def _line_end(path: Path, max_line: int) -> tuple[int, bool]:
    """Where a never-seen file is joined: after its last complete line."""
    with open(path, "rb") as stream:
        size = os.fstat(stream.fileno()).st_size
        start = max(0, size - max_line)
        tail = os.pread(stream.fileno(), size - start, start)
    end = tail.rfind(b"\n")
    if end >= 0:
        return start + end + 1, False
    return (size, True) if start > 0 else _START


class FileFollower:
    """Follows log files and hands over their new lines as ``(followed path, line)``.

    ``store`` keeps the positions across restarts (None: every start is a fresh one). A path
    never seen before is joined at its end, or at its start with ``from_start``; a path that
    does not exist yet is waited for and read from its start once it appears. Use it as::

        async with FileFollower(paths, PositionStore.in_folder(data_dir)) as follower:
            async for path, line in follower.lines():
                handle(path, line)
    """

    def __init__(
        self,
        paths: Iterable[str | os.PathLike[str]],
        store: PositionStore | None = None,
        *,
        poll_interval: float = 0.5,
        rotate_wait: float = 5.0,
        save_interval: float = 1.0,
        max_line: int = MAX_LINE_BYTES,
        from_start: bool = False,
        chunk: int = 65536,
    ) -> None:
        names = list(dict.fromkeys(os.fspath(path) for path in paths))
        if not names:
            raise ValueError("no log file to follow")
        if poll_interval <= 0 or max_line <= 0 or chunk <= 0:
            raise ValueError("poll_interval, max_line and chunk must be positive")
        self.store = store
        self.poll_interval = poll_interval
        self.rotate_wait = rotate_wait
        self.save_interval = save_interval
        self.max_line = max_line
        self.from_start = from_start
        self.chunk = chunk
        self.stats = FollowStats()
        self._followed = [_Followed(name, self) for name in names]
        self._others: dict[str, PathPosition] = {}  # saved positions of paths not followed here
        self._state = "new"  # new → running → closed
        self._in_flight: tuple[_Reader, _Line] | None = None
        self._saved_at = 0.0

    async def __aenter__(self) -> FileFollower:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close(last_line_handled=kind is None)

    async def lines(self) -> AsyncIterator[tuple[str, str]]:
        """New lines as ``(followed path, line)``, for ever (until :meth:`close`)."""
        if self._state != "new":
            raise RuntimeError("FileFollower.lines() can be iterated only once")
        self._state = "running"
        self._start()
        while self._state == "running":
            busy = False
            for followed in self._followed:
                batch = followed.step(self.chunk)
                if batch is None:
                    continue
                busy = True
                self._count_overlong(batch.reader)
                for line in batch.lines:
                    self._in_flight = (batch.reader, line)
                    yield followed.name, line.text
                    self._handled()
                    if time.monotonic() - self._saved_at >= self.save_interval:
                        await self._save()
                    if self._state != "running":
                        return
                if batch.done and self._state == "running":
                    followed.discard(batch.reader)
            if self._state != "running":
                break
            if busy:
                await asyncio.sleep(0)
            else:
                await self._save()
                await asyncio.sleep(self.poll_interval)

    def _start(self) -> None:
        saved = self.store.load() if self.store is not None else {}
        for followed in self._followed:
            followed.start(saved.pop(followed.name, None))
        self._others = saved

    def _handled(self) -> None:
        if self._in_flight is not None:
            reader, line = self._in_flight
            reader.handled = (line.offset, line.skipping)
            self.stats.lines += 1
            self._in_flight = None

    def _count_overlong(self, reader: _Reader) -> None:
        self.stats.overlong += reader.overlong
        reader.overlong = 0

    def positions(self) -> dict[str, PathPosition]:
        """Where following got to (of the lines handled), by followed path."""
        current = {followed.name: followed.saved() for followed in self._followed}
        return {**self._others, **current}

    async def _save(self) -> None:
        self._saved_at = time.monotonic()
        if self.store is not None and self._state != "new":
            await self.store.save(self.positions())

    async def close(self, *, last_line_handled: bool = False) -> None:
        """Save the positions and close the files; ``last_line_handled``: count the last line."""
        if self._state == "closed":
            return
        if last_line_handled:
            self._handled()
        self._in_flight = None
        try:
            await self._save()
        finally:
            self._state = "closed"
            for followed in self._followed:
                followed.close()
