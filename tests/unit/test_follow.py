"""Following log files live: appends, partial lines, rotations, truncation, restarts, positions."""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import json
import os
import shutil
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from mailwarden.sources.logs.follow import FileFollower
from mailwarden.sources.logs.positions import (
    FilePosition,
    Fingerprint,
    PathPosition,
    PositionStore,
)

POLL = 0.005
FAST: dict[str, Any] = {"poll_interval": POLL, "rotate_wait": 0.05, "save_interval": 0.05}


def append(path: Path, *lines: str, end: str = "\n") -> None:
    """Append lines the way a logging daemon does (one write, file kept closed in between)."""
    with path.open("a", encoding="utf-8") as stream:
        stream.write("".join(line + end for line in lines))


class Tail:
    """A FileFollower running in its own task, recording the lines it hands over."""

    def __init__(self, paths: Sequence[Path], store: PositionStore | None, **options: Any):
        self.follower = FileFollower(paths, store, **{**FAST, **options})
        self.got: list[tuple[str, str]] = []
        self.task: asyncio.Task[None] | None = None

    async def run(self) -> None:
        async with self.follower as follower:
            async for path, line in follower.lines():
                self.got.append((path, line))

    async def __aenter__(self) -> Tail:
        self.task = asyncio.create_task(self.run())
        await asyncio.sleep(POLL * 4)  # let it take its starting positions
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def stop(self) -> None:
        """Stop as ``serve`` does on shutdown: cancel the task (the follower saves)."""
        if self.task is not None and not self.task.done():
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
        if self.task is not None and not self.task.cancelled() and self.task.exception():
            raise self.task.exception()  # type: ignore[misc]

    @property
    def lines(self) -> list[str]:
        return [line for _path, line in self.got]

    async def until(self, count: int, timeout: float = 5.0) -> list[str]:
        """The lines once ``count`` have arrived (fails after ``timeout`` seconds)."""
        deadline = time.monotonic() + timeout
        while len(self.got) < count:
            if self.task is not None and self.task.done():
                await self.stop()
                raise AssertionError(f"follower ended after {self.lines}")
            if time.monotonic() > deadline:
                raise AssertionError(f"waited for {count} lines, got {self.lines}")
            await asyncio.sleep(POLL)
        return self.lines

    async def quiet(self, seconds: float = 0.1) -> list[str]:
        """The lines after nothing more was expected for ``seconds``."""
        await asyncio.sleep(seconds)
        return self.lines


def run(test: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(asyncio.wait_for(test(), 30))


@pytest.fixture
def log(tmp_path: Path) -> Path:
    """A mail log that already holds two lines written before following started."""
    path = tmp_path / "mail.log"
    append(path, "old 1", "old 2")
    return path


@pytest.fixture
def store(tmp_path: Path) -> PositionStore:
    """Positions kept in a data folder."""
    return PositionStore.in_folder(tmp_path / "data")


def test_appended_lines_are_handed_over_and_old_ones_are_not(log: Path) -> None:
    """A never-seen file is joined at its end; lines appended after that come, in order."""

    async def main() -> None:
        async with Tail([log], None) as tail:
            append(log, "new 1", "new 2")
            assert await tail.until(2) == ["new 1", "new 2"]
            append(log, "new 3")
            assert await tail.until(3) == ["new 1", "new 2", "new 3"]
            assert tail.got[0][0] == str(log)

    run(main)


def test_from_start_reads_what_is_already_there(log: Path) -> None:
    """With from_start a never-seen file is read from its first line."""

    async def main() -> None:
        async with Tail([log], None, from_start=True) as tail:
            assert await tail.until(2) == ["old 1", "old 2"]

    run(main)


def test_partial_line_waits_for_its_newline(log: Path) -> None:
    """A line without its newline yet is not handed over until the newline is written."""

    async def main() -> None:
        async with Tail([log], None) as tail:
            append(log, "complete")
            append(log, "half", end="")
            assert await tail.until(1) == ["complete"]
            assert await tail.quiet() == ["complete"]
            append(log, " of a line\r")
            assert await tail.until(2) == ["complete", "half of a line"]

    run(main)


def test_rename_rotation_finishes_the_old_file_first(log: Path) -> None:
    """logrotate ``create``: lines written to the renamed file before the new one exists,
    and late ones written just after, are read; then the new file from its start."""

    async def main() -> None:
        async with Tail([log], None, rotate_wait=2.0) as tail:
            append(log, "a")
            await tail.until(1)
            log.rename(log.with_name("mail.log.1"))
            append(log.with_name("mail.log.1"), "b")  # the daemon still writes to the old file
            await tail.until(2)
            append(log.with_name("mail.log.1"), "c")
            append(log, "d")  # the new file appears
            assert await tail.until(4) == ["a", "b", "c", "d"]
            append(log.with_name("mail.log.1"), "e")  # before the daemon reopens its log
            append(log, "f")
            got = await tail.until(6)
            assert sorted(got[4:]) == ["e", "f"]
            assert tail.follower.stats.rotations == 1

    run(main)


def test_copytruncate_reads_the_rest_from_the_copy(log: Path) -> None:
    """logrotate ``copytruncate``: lines not read yet are read from the copy, then the new ones."""

    async def main() -> None:
        async with Tail([log], None) as tail:
            append(log, "a")
            await tail.until(1)
            append(log, "b", "c")  # not polled yet when the copy is made
            shutil.copyfile(log, log.with_name("mail.log.1"))
            os.truncate(log, 0)
            append(log, "d")
            assert await tail.until(4) == ["a", "b", "c", "d"]
            assert await tail.quiet() == ["a", "b", "c", "d"]
            assert tail.follower.stats.truncations == 1

    run(main)


def test_truncation_starts_again_from_the_beginning(log: Path) -> None:
    """A file emptied in place (no copy) is read again from its start."""

    async def main() -> None:
        async with Tail([log], None) as tail:
            append(log, "a", "b")
            await tail.until(2)
            os.truncate(log, 0)
            await asyncio.sleep(POLL * 4)
            append(log, "c")
            assert await tail.until(3) == ["a", "b", "c"]

    run(main)


def test_replaced_in_place_is_noticed_by_the_first_bytes(log: Path) -> None:
    """A file truncated and rewritten past the old offset between two polls is read anew."""

    async def main() -> None:
        async with Tail([log], None) as tail:
            append(log, "a")
            await tail.until(1)
            log.write_text("rewritten from the start, longer than before\n")
            assert await tail.until(2) == ["a", "rewritten from the start, longer than before"]

    run(main)


def test_a_file_that_does_not_exist_yet_is_waited_for(tmp_path: Path) -> None:
    """A missing path is waited for, then read from its first line."""

    async def main() -> None:
        path = tmp_path / "later.log"
        async with Tail([path], None) as tail:
            await asyncio.sleep(POLL * 4)
            append(path, "first", "second")
            assert await tail.until(2) == ["first", "second"]

    run(main)


def test_deleted_file_is_let_go_and_its_successor_read(log: Path) -> None:
    """A log deleted (not renamed) is finished and closed; a new file at the path is read."""

    async def main() -> None:
        async with Tail([log], None) as tail:
            append(log, "a")
            await tail.until(1)
            log.unlink()
            await asyncio.sleep(0.1)  # longer than rotate_wait: the deleted file is let go
            assert all(reader.path != log for reader in _readers(tail.follower))
            append(log, "b")
            assert await tail.until(2) == ["a", "b"]

    run(main)


def _readers(follower: FileFollower) -> list[Any]:
    followed = follower._followed[0]
    return [*followed.older, *([followed.current] if followed.current else [])]


def test_idle_follower_writes_nothing(log: Path, store: PositionStore) -> None:
    """Once caught up, an idle follower leaves the positions file alone."""

    async def main() -> None:
        async with Tail([log], store) as tail:
            append(log, "a")
            await tail.until(1)
            await asyncio.sleep(0.2)
            before = store.file.stat().st_mtime_ns
            await asyncio.sleep(0.3)
            assert store.file.stat().st_mtime_ns == before

    run(main)


def test_corrupt_compressed_rotation_is_skipped(log: Path, store: PositionStore) -> None:
    """A rotated file that is damaged gzip is reported and skipped; following goes on."""

    async def main() -> None:
        async with Tail([log], store) as tail:
            append(log, "a")
            await tail.until(1)
        append(log, "b")
        packed = gzip.compress(log.read_bytes())
        log.with_name("mail.log.1.gz").write_bytes(packed[: len(packed) // 2])
        log.unlink()
        append(log, "c")
        async with Tail([log], store) as tail:
            assert await tail.until(1) == ["c"]
            assert await tail.quiet() == ["c"]

    run(main)


def test_restart_resumes_exactly(log: Path, store: PositionStore) -> None:
    """Lines handled before a stop are not handed over again; lines written meanwhile are."""

    async def main() -> None:
        async with Tail([log], store) as tail:
            append(log, "a", "b")
            await tail.until(2)
        append(log, "c", "d")
        async with Tail([log], store) as tail:
            append(log, "e")
            assert await tail.until(3) == ["c", "d", "e"]
            assert await tail.quiet() == ["c", "d", "e"]

    run(main)


def test_leaving_the_loop_counts_the_last_line(log: Path, store: PositionStore) -> None:
    """``break`` after handling a line counts it; an exception while handling it does not."""

    async def consume(count: int, fail: bool = False) -> list[str]:
        got: list[str] = []
        with contextlib.suppress(RuntimeError):
            async with FileFollower([log], store, from_start=True, **FAST) as follower:
                async for _path, line in follower.lines():
                    if fail and len(got) == count - 1:
                        raise RuntimeError("handling failed")
                    got.append(line)
                    if len(got) == count:
                        break
        return got

    async def main() -> None:
        append(log, "a")
        assert await consume(1) == ["old 1"]
        assert await consume(2, fail=True) == ["old 2"]  # "a" failed: it comes again
        append(log, "b")
        assert await consume(2) == ["a", "b"]

    run(main)


def test_restart_after_rotation_reads_the_rest_of_the_renamed_file(
    log: Path, store: PositionStore
) -> None:
    """Rotated while stopped: the rest of mail.log.1 first (found by inode), then the new file."""

    async def main() -> None:
        async with Tail([log], store) as tail:
            append(log, "a")
            await tail.until(1)
        append(log, "b")
        log.rename(log.with_name("mail.log.1"))
        append(log, "c")
        async with Tail([log], store) as tail:
            assert await tail.until(2) == ["b", "c"]
            assert await tail.quiet() == ["b", "c"]

    run(main)


def test_restart_after_rotation_and_compression(log: Path, store: PositionStore) -> None:
    """Rotated and gzipped while stopped: the rest is read from mail.log.1.gz (by fingerprint)."""

    async def main() -> None:
        async with Tail([log], store) as tail:
            append(log, "a")
            await tail.until(1)
        append(log, "b")
        rotated = log.with_name("mail.log.1.gz")
        rotated.write_bytes(gzip.compress(log.read_bytes()))
        log.unlink()
        append(log, "c")
        async with Tail([log], store) as tail:
            assert await tail.until(2) == ["b", "c"]
            assert await tail.quiet() == ["b", "c"]

    run(main)


def test_restart_after_two_rotations_reads_the_file_in_between(
    log: Path, store: PositionStore
) -> None:
    """Rotated twice while stopped: the rest of .2, all of the never-seen .1, then the new file."""

    async def main() -> None:
        async with Tail([log], store) as tail:
            append(log, "a")
            await tail.until(1)
        append(log, "b")
        log.rename(log.with_name("mail.log.1"))
        append(log, "c")
        log.with_name("mail.log.1").rename(log.with_name("mail.log.2"))
        log.rename(log.with_name("mail.log.1"))
        append(log, "d")
        async with Tail([log], store) as tail:
            assert await tail.until(3) == ["b", "c", "d"]
            assert await tail.quiet() == ["b", "c", "d"]

    run(main)


def test_restart_after_copytruncate(log: Path, store: PositionStore) -> None:
    """copytruncate while stopped: the rest from the copy, then the emptied file from its start."""

    async def main() -> None:
        async with Tail([log], store) as tail:
            append(log, "a")
            await tail.until(1)
        append(log, "b")
        shutil.copyfile(log, log.with_name("mail.log.1"))
        os.truncate(log, 0)
        append(log, "c")
        async with Tail([log], store) as tail:
            assert await tail.until(2) == ["b", "c"]
            assert await tail.quiet() == ["b", "c"]

    run(main)


def test_reused_inode_is_told_apart_by_fingerprint(log: Path, store: PositionStore) -> None:
    """A saved inode now holding another file (its first bytes differ) is read from its start."""
    status = log.stat()
    other = Fingerprint.of(b"a file that was deleted long ago\n")
    saved = FilePosition(status.st_dev, status.st_ino, status.st_size, other)
    asyncio.run(store.save({str(log): PathPosition((saved,))}))

    async def main() -> None:
        async with Tail([log], store) as tail:
            assert await tail.until(2) == ["old 1", "old 2"]

    run(main)


def test_reused_inode_of_an_empty_file_is_not_taken_for_it(log: Path, store: PositionStore) -> None:
    """A file saved while empty, deleted while stopped, whose inode the copy of copytruncate got,
    is not taken for that copy: the copy's handled lines do not come again."""
    copy = log.with_name("mail.log.1")
    shutil.copyfile(log, copy)  # the copy gets the inode of the deleted empty rotated file
    handled = log.read_bytes()
    os.truncate(log, 0)
    deleted = FilePosition(copy.stat().st_dev, copy.stat().st_ino, 0, Fingerprint.of(b""))
    current = FilePosition(
        log.stat().st_dev, log.stat().st_ino, len(handled), Fingerprint.of(handled)
    )
    asyncio.run(store.save({str(log): PathPosition((deleted, current))}))

    async def main() -> None:
        async with Tail([log], store) as tail:
            append(log, "c")
            assert await tail.until(1) == ["c"]
            assert await tail.quiet() == ["c"]
            assert tail.follower.stats.missing_files == 0

    run(main)


def test_damaged_positions_file_starts_afresh(log: Path, store: PositionStore) -> None:
    """An unreadable positions file is reported; files are joined at their end, like new ones."""
    store.file.parent.mkdir(parents=True)
    store.file.write_bytes(b'{"format": 1, "paths": {"x": ')

    async def main() -> None:
        async with Tail([log], store) as tail:
            append(log, "new")
            assert await tail.until(1) == ["new"]
        assert store.problem is not None and store.problem.path == store.file
        assert json.loads(store.file.read_bytes())["paths"][str(log)]["files"]

    run(main)


@given(st.binary(max_size=300))
@settings(max_examples=200, deadline=None)
def test_positions_file_of_any_content_never_crashes(content: bytes) -> None:
    """Whatever bytes the positions file holds, loading gives positions or a reported problem."""
    folder = Path(os.environ.get("TMPDIR", "/tmp")) / f"mw-positions-{os.getpid()}"
    folder.mkdir(exist_ok=True)
    store = PositionStore(folder / "positions.json")
    store.file.write_bytes(content)
    loaded = store.load()
    assert isinstance(loaded, dict)
    assert loaded == {} or store.problem is None


def test_positions_round_trip(store: PositionStore) -> None:
    """Saved positions load back unchanged; other followed paths' entries are kept."""
    position = PathPosition(
        (FilePosition(1, 2, 3, Fingerprint.of(b"x"), True),), (Fingerprint.of(b"y"),)
    )
    asyncio.run(store.save({"/var/log/mail.log": position}))
    assert store.load() == {"/var/log/mail.log": position}


def test_overlong_lines_are_cut_and_counted(log: Path) -> None:
    """A line over max_line bytes is cut there and its rest skipped, also across reads."""

    async def main() -> None:
        async with Tail([log], None, max_line=10, chunk=4) as tail:
            append(log, "0123456789abcdef", "short", "x" * 25, "end")
            assert await tail.until(4) == ["0123456789", "short", "x" * 10, "end"]
            assert tail.follower.stats.overlong == 2

    run(main)


def test_restart_inside_an_overlong_line_skips_its_rest(log: Path, store: PositionStore) -> None:
    """Stopped while skipping the rest of an over-long line: its rest is not a line of its own."""

    async def main() -> None:
        async with Tail([log], store, max_line=10) as tail:
            append(log, "0123456789abc", end="")
            assert await tail.until(1) == ["0123456789"]
        append(log, "def", "next")
        async with Tail([log], store, max_line=10) as tail:
            assert await tail.until(1) == ["next"]
            assert await tail.quiet() == ["next"]

    run(main)


def test_many_files_at_once(tmp_path: Path, store: PositionStore) -> None:
    """Fifty files followed together each deliver their own lines, tagged with their path."""
    paths = [tmp_path / f"log{number}.log" for number in range(50)]

    async def main() -> None:
        async with Tail(paths, store) as tail:
            for number, path in enumerate(paths):
                append(path, f"{number} a", f"{number} b")
            await tail.until(100)
            for number, path in enumerate(paths):
                assert [line for p, line in tail.got if p == str(path)] == [
                    f"{number} a",
                    f"{number} b",
                ]

    run(main)


def test_invalid_utf8_is_replaced(log: Path) -> None:
    """Bytes that are not UTF-8 become replacement characters instead of stopping the follower."""

    async def main() -> None:
        async with Tail([log], None) as tail:
            with log.open("ab") as stream:
                stream.write(b"caf\xe9 \xff ok\n")
            assert await tail.until(1) == ["caf\ufffd \ufffd ok"]

    run(main)


# The property ----------------------------------------------------------------------------------
#
# A log is written, rotated (rename with logrotate's numbering, or copytruncate, sometimes gzip
# of the rotated file) and truncated in any order, while the follower runs or while it is stopped
# ("toggle" stops or starts it); written lines are unique. Every line comes exactly once. The one
# thing polling cannot see is excluded: a plain truncation is only done once everything written so
# far was handed over ("sync"), since lines written to a file that is emptied before the next
# poll are gone without a trace.

OPERATIONS = st.lists(
    st.tuples(
        st.sampled_from(
            ["append", "append", "append", "partial", "rename", "rename_late", "copytruncate",
             "gzip", "truncate", "toggle", "toggle", "sync"]
        ),
        st.sampled_from([0.0, POLL / 2, POLL * 3]),  # the pause after it
    ),
    max_size=16,
)


class Logrotate:
    """The rotations logrotate does, on a log whose lines are numbered."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.written: list[str] = []
        self.pending = ""  # a partial last line, completed by the next append

    def append(self) -> None:
        rest = f"line {len(self.written):05d} " + "x" * (len(self.written) % 7)
        append(self.path, rest)
        self.written.append(self.pending + rest)
        self.pending = ""

    def partial(self) -> None:
        if not self.pending:
            self.pending = f"half {len(self.written):05d}"
            append(self.path, self.pending, end="")

    def _shift(self) -> None:
        rotated = sorted(
            (p for p in self.path.parent.glob(self.path.name + ".*")),
            key=lambda p: -int(p.name.split(".")[2]),
        )
        for old in rotated:
            number = int(old.name.split(".")[2])
            old.rename(old.with_name(old.name.replace(f".{number}", f".{number + 1}", 1)))

    def rename(self) -> None:
        self.finish_partial()
        self._shift()
        self.path.rename(self.path.with_name(self.path.name + ".1"))
        self.path.touch()

    def rename_late(self) -> None:
        """A rename after which the daemon writes to the old file, before and after the new
        file appears, until it reopens its log (well within rotate_wait)."""
        self.finish_partial()
        self._shift()
        old = self.path.with_name(self.path.name + ".1")
        self.path.rename(old)
        for when in ("before", "after"):
            line = f"late {len(self.written):05d} {when}"
            append(old, line)
            self.written.append(line)
            self.path.touch()

    def copytruncate(self) -> None:
        self.finish_partial()
        self._shift()
        shutil.copyfile(self.path, self.path.with_name(self.path.name + ".1"))
        os.truncate(self.path, 0)

    def gzip(self) -> None:
        second = self.path.with_name(self.path.name + ".2")  # logrotate's delaycompress
        if second.exists():
            second.with_name(second.name + ".gz").write_bytes(gzip.compress(second.read_bytes()))
            second.unlink()

    def truncate(self) -> None:
        os.truncate(self.path, 0)
        self.pending = ""

    def finish_partial(self) -> None:
        if self.pending:  # a daemon ends its line before the log is rotated
            append(self.path, "")
            self.written.append(self.pending)
            self.pending = ""


class Run:
    """The follower of the property, started and stopped; what all its runs handed over."""

    def __init__(self, path: Path, store: PositionStore) -> None:
        self.path, self.store = path, store
        self.tail: Tail | None = None
        self.got: list[str] = []

    async def start(self) -> Tail:
        if self.tail is None:
            self.tail = Tail([self.path], self.store, from_start=True)
            await self.tail.__aenter__()
        return self.tail

    async def stop(self) -> None:
        if self.tail is not None:
            await self.tail.stop()
            self.got += self.tail.lines
            self.tail = None

    async def sync(self, written: int) -> None:
        """Wait until every line written so far was handed over."""
        tail = await self.start()
        await tail.until(written - len(self.got))


@given(OPERATIONS)
@example(  # an empty rotated file, deleted by gzip while stopped, lent its inode to the copy
    [
        ("rename", 0.0),
        ("rename", 0.0),
        ("append", 0.0),
        ("gzip", POLL / 2),
        ("toggle", 0.0),
        ("copytruncate", POLL / 2),
    ]
)
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_no_line_is_lost_or_doubled(
    tmp_path: Path, operations: list[tuple[str, float]]
) -> None:
    """Any mix of appends, rotations, compression, truncation, stops and starts: each line once."""
    folder = tmp_path / f"case{time.monotonic_ns()}"
    folder.mkdir()
    rotate = Logrotate(folder / "mail.log")
    rotate.path.touch()
    follower = Run(rotate.path, PositionStore(folder / "positions.json"))

    async def main() -> None:
        await follower.start()
        for operation, pause in operations:
            if operation == "toggle":
                await (follower.stop() if follower.tail else follower.start())
            elif operation in ("sync", "truncate"):
                await follower.sync(len(rotate.written))
                if operation == "truncate":
                    rotate.truncate()
            else:
                getattr(rotate, operation)()
            await asyncio.sleep(pause)
        rotate.finish_partial()
        await follower.sync(len(rotate.written))
        await asyncio.sleep(0.05)
        await follower.stop()
        got = follower.got
        doubled = [line for line, count in Counter(got).items() if count > 1]
        assert not doubled, f"doubled: {doubled}"
        assert sorted(got) == sorted(rotate.written), f"lost: {set(rotate.written) - set(got)}"

    run(main)
