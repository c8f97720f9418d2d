"""Log files: compression by magic bytes, untrusted text, rotated files in time order."""

from __future__ import annotations

import bz2
import gzip
import lzma
import os
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailwarden.events import Submission
from mailwarden.sources.logs import files, read_events
from mailwarden.sources.logs.files import (
    MAX_LINE,
    LogFileError,
    first_year,
    order_files,
    read_blocks,
    read_blocks_in_order,
    read_in_order,
    read_lines,
)

TOKYO = ZoneInfo("Asia/Tokyo")
LINES = ["Oct  6 04:45:12 mx postfix/smtpd[1]: one", "Oct  6 04:45:13 mx postfix/smtpd[1]: two"]


@pytest.fixture
def write(tmp_path: Path) -> Callable[..., Path]:
    """Write lines to a file under tmp_path, compressed with ``packer`` and dated ``mtime``."""

    def write(
        name: str,
        lines: list[str],
        packer: Callable[[bytes], bytes] = lambda data: data,
        mtime: datetime | None = None,
    ) -> Path:
        path = tmp_path / name
        path.write_bytes(packer("".join(line + "\n" for line in lines).encode()))
        if mtime is not None:
            os.utime(path, (mtime.timestamp(), mtime.timestamp()))
        return path

    return write


@pytest.mark.parametrize(
    "packer", [gzip.compress, bz2.compress, lzma.compress, lambda data: data], ids=str
)
def test_compression_is_told_by_content_not_name(
    write: Callable[..., Path], packer: Callable[[bytes], bytes]
) -> None:
    """Plain, gzip, bzip2 and xz files read the same, whatever their names say."""
    assert list(read_lines(write("mail.log.2.gz", LINES, packer))) == LINES
    assert list(read_lines(write("mail.log", LINES, packer))) == LINES


def test_bad_utf8_is_replaced(tmp_path: Path) -> None:
    """Bytes that are not UTF-8 become U+FFFD; line ends (LF, CRLF, none at the end) are cut."""
    path = tmp_path / "mail.log"
    path.write_bytes(b"caf\xc3\xa9 \xff\xfe ok\r\nnext\n\xe3\x81\x82 last")
    assert list(read_lines(path)) == ["café \ufffd\ufffd ok", "next", "あ last"]


def test_a_carriage_return_inside_a_line_does_not_split_it(tmp_path: Path) -> None:
    """Only LF ends a line; a lone CR inside an attacker's HELO stays in its line."""
    path = tmp_path / "mail.log"
    path.write_bytes(b"helo=<a\rb>\nsecond\n")
    assert list(read_lines(path)) == ["helo=<a\rb>", "second"]


def test_overlong_lines_are_cut(tmp_path: Path) -> None:
    """A line longer than MAX_LINE is cut to MAX_LINE characters and the next line is intact."""
    path = tmp_path / "mail.log"
    path.write_text("x" * (3 * MAX_LINE + 5) + "\nnext\n")
    lines = list(read_lines(path))
    assert lines == ["x" * MAX_LINE, "next"]


def test_missing_file_names_its_path(tmp_path: Path) -> None:
    """A missing file raises LogFileError carrying the path."""
    with pytest.raises(LogFileError) as caught:
        list(read_lines(tmp_path / "absent.log"))
    assert caught.value.path == tmp_path / "absent.log"
    assert "absent.log" in str(caught.value)
    with pytest.raises(LogFileError):
        order_files([tmp_path / "absent.log"], TOKYO)


def test_a_directory_is_an_error(tmp_path: Path) -> None:
    """A directory given as a log file raises LogFileError."""
    with pytest.raises(LogFileError) as caught:
        list(read_lines(tmp_path))
    assert caught.value.path == tmp_path


def test_truncated_gzip_says_how_far_it_got(tmp_path: Path) -> None:
    """A gzip file cut short raises LogFileError after the lines it could read."""
    path = tmp_path / "mail.log.1.gz"
    data = gzip.compress("".join(f"line {n}\n" for n in range(50000)).encode())
    path.write_bytes(data[: len(data) // 2])
    seen: list[str] = []
    with pytest.raises(LogFileError) as caught:
        seen.extend(read_lines(path))
    assert seen
    assert caught.value.path == path
    assert caught.value.line == len(seen)


def test_zstd_is_refused_clearly(tmp_path: Path) -> None:
    """A zstd-compressed file is an error that says so (it is not read as garbage text)."""
    path = tmp_path / "mail.log.2.zst"
    path.write_bytes(b"\x28\xb5\x2f\xfd\x00\x00")
    with pytest.raises(LogFileError, match="zstd"):
        list(read_lines(path))


def test_rotated_files_are_read_oldest_first(write: Callable[..., Path]) -> None:
    """mail.log, mail.log.2.gz and mail.log.1 in any order are read .2.gz, .1, then mail.log."""
    current = write("mail.log", ["Oct 20 00:00:01 mx p: c"], mtime=datetime(2025, 10, 21))
    first = write("mail.log.1", ["Oct 13 00:00:01 mx p: b"], mtime=datetime(2025, 10, 20))
    oldest = write(
        "mail.log.2.gz", ["Oct  6 00:00:01 mx p: a"], gzip.compress, datetime(2025, 10, 13)
    )
    files = order_files([current, oldest, first], TOKYO)
    assert [file.path for file in files] == [oldest, first, current]
    assert list(read_in_order(files)) == [
        "Oct  6 00:00:01 mx p: a",
        "Oct 13 00:00:01 mx p: b",
        "Oct 20 00:00:01 mx p: c",
    ]
    assert first_year(files, TOKYO) == 2025


def test_rotation_across_new_year_uses_modification_times(write: Callable[..., Path]) -> None:
    """December's file comes before January's: the year of each is guessed from its mtime."""
    january = write("mail.log", ["Jan  3 09:00:00 mx p: b"], mtime=datetime(2025, 1, 4))
    december = write("mail.log.1", ["Dec 27 09:00:00 mx p: a"], mtime=datetime(2025, 1, 3))
    files = order_files([january, december], TOKYO)
    assert [file.path for file in files] == [december, january]
    assert first_year(files, TOKYO) == 2024


def test_files_without_timestamps_come_last(write: Callable[..., Path]) -> None:
    """A file with no timestamped line (empty, or garbage) is read after the others."""
    empty = write("empty.log", [])
    garbage = write("garbage.log", ["no timestamp here"])
    real = write("mail.log", LINES, mtime=datetime(2025, 10, 7))
    files = order_files([empty, real, garbage], TOKYO)
    assert [file.path for file in files] == [real, empty, garbage]
    assert files[1].first_time is None


def test_a_message_spanning_a_rotation_is_one_submission(write: Callable[..., Path]) -> None:
    """read_events assembles a message begun in mail.log.1.gz and removed in mail.log."""
    older = write(
        "mail.log.1.gz",
        [
            "Dec 31 23:59:59 mx postfix/smtpd[7]: 4YPQ3Zk2tJz2wKp: client=unknown[198.51.100.61],"
            " sasl_method=LOGIN, sasl_username=kohara",
            "Dec 31 23:59:59 mx postfix/qmgr[2]: 4YPQ3Zk2tJz2wKp: from=<k@example.jp>, size=9,"
            " nrcpt=2 (queue active)",
        ],
        gzip.compress,
        datetime(2025, 1, 1, 0, 0, 0),
    )
    newer = write(
        "mail.log",
        [
            "Jan  1 00:00:02 mx postfix/smtp[8]: 4YPQ3Zk2tJz2wKp: to=<a@example.org>, relay=mx"
            ".example.org[192.0.2.1]:25, delay=3, delays=1/0/1/1, dsn=2.0.0, status=sent (250 ok)",
            "Jan  1 00:00:02 mx postfix/qmgr[2]: 4YPQ3Zk2tJz2wKp: removed",
        ],
        mtime=datetime(2025, 1, 2),
    )
    events = list(read_events([newer, older], "postfix", TOKYO))
    submissions = [event for event in events if isinstance(event, Submission)]
    assert submissions == [
        Submission(
            time=datetime(2024, 12, 31, 23, 59, 59, tzinfo=TOKYO).timestamp(),
            account="kohara",
            sender="k@example.jp",
            recipients=("a@example.org",),
            recipient_count=2,
            client_address="198.51.100.61",
            queue_id="4YPQ3Zk2tJz2wKp",
            source="log",
        )
    ]
    assert len(events) == 2


_PIECES = st.sampled_from(["a", "é", "\n", "\r", "\r\n", "\xff", "xxxxxxx", " ", ""])


@settings(max_examples=300, deadline=None)
@given(pieces=st.lists(_PIECES, max_size=40), tail=st.binary(max_size=3),
       block=st.integers(1, 12), max_line=st.integers(1, 12))
def test_read_blocks_gives_exactly_the_lines_of_read_lines(
    tmp_path_factory: pytest.TempPathFactory, pieces: list[str], tail: bytes, block: int,
    max_line: int,
) -> None:
    """Read a block at a time, any text (bad UTF-8, CR LF, over-long lines) gives the same
    lines as line by line."""
    path = tmp_path_factory.mktemp("blocks") / "mail.log"
    raw = b"L" + "".join(pieces).encode().replace(b"\xc3\xbf", b"\xff") + tail  # never magic
    path.write_bytes(raw)
    saved, files.MAX_LINE = files.MAX_LINE, max_line  # read_lines reads the module's limit
    try:
        expected = list(read_lines(path))
    finally:
        files.MAX_LINE = saved
    got = [line for lines in read_blocks(path, block=block, max_line=max_line) for line in lines]
    assert got == expected


def test_read_blocks_in_order_reads_files_one_after_the_other(tmp_path: Path) -> None:
    """Blocks of rotated files come oldest file first, like read_in_order."""
    old, new = tmp_path / "mail.log.1", tmp_path / "mail.log"
    old.write_text(LINES[0] + "\n")
    new.write_text(LINES[1] + "\n")
    ordered = order_files([new, old], TOKYO)
    blocks = list(read_blocks_in_order(ordered))
    assert [line for lines in blocks for line in lines] == list(read_in_order(ordered))
