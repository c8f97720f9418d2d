"""Every log parser against its sample lines (tests/data/logs/<parser>/*.log) and the corpora.

A sample file is a log with comments. ``# options: {"tz": ..., "year": ...}`` sets up the parser;
``# expect: JSON`` stands above each log line and gives the events that line produces, in order:
``null`` (none), one object or a list of objects. An object names the event ``type`` and the
fields to compare (others are not compared); ``time`` is an RFC 3339 string. A final
``# expect-flush: JSON`` gives what ``flush()`` returns at the end (none when absent). Other
comments and blank lines are free text.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from mailwarden.events import Login
from mailwarden.sources.logs import PARSERS, LogEvent, UnknownParserError, make_parser

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "tests" / "data" / "logs"
CORPORA = Path(os.environ.get("MAILWARDEN_CORPORA", ROOT.parent / "shared" / "corpora"))


@dataclasses.dataclass
class Sample:
    """One log line of a sample file and the events expected from it."""

    where: str
    line: str
    expected: list[dict[str, Any]]


@dataclasses.dataclass
class SampleFile:
    options: dict[str, Any]
    samples: list[Sample]
    flush: list[dict[str, Any]]


def _as_list(value: Any) -> list[dict[str, Any]]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def load_samples(path: Path) -> SampleFile:
    """Read a sample file; a log line without an expectation above it is an error."""
    options: dict[str, Any] = {}
    samples: list[Sample] = []
    flush: list[dict[str, Any]] = []
    expected: list[dict[str, Any]] | None = None
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        where = f"{path.relative_to(ROOT)}:{number}"
        if line.startswith("# options:"):
            options = json.loads(line.partition(":")[2])
        elif line.startswith("# expect-flush:"):
            flush = _as_list(json.loads(line.partition(":")[2]))
        elif line.startswith("# expect:"):
            assert expected is None, f"{where}: two expectations for one line"
            expected = _as_list(json.loads(line.partition(":")[2]))
        elif line.startswith("#") or not line.strip():
            continue
        else:
            assert expected is not None, f"{where}: log line without '# expect:' above it"
            samples.append(Sample(where, line, expected))
            expected = None
    assert expected is None, f"{path}: '# expect:' without a log line after it"
    return SampleFile(options, samples, flush)


def _epoch(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


def mismatch(event: LogEvent, expected: dict[str, Any]) -> str | None:
    """Why ``event`` does not match ``expected`` (None when it does)."""
    if type(event).__name__ != expected["type"]:
        return f"{type(event).__name__} is not {expected['type']}"
    for name, want in expected.items():
        if name == "type":
            continue
        got = getattr(event, name)
        if name == "time":
            want = _epoch(want)
            if abs(got - want) > 1e-6:
                return f"time {datetime.fromtimestamp(got).astimezone().isoformat()} != {want}"
            continue
        if isinstance(got, tuple):
            got = list(got)
        if got != want:
            return f"{name}: {got!r} != {want!r}"
    return None


def check_events(where: str, events: list[LogEvent], expected: list[dict[str, Any]]) -> None:
    assert len(events) == len(expected), f"{where}: {len(events)} events {events}, {expected}"
    for event, want in zip(events, expected, strict=True):
        problem = mismatch(event, want)
        assert problem is None, f"{where}: {problem}\n  event: {event}"


def sample_files() -> Iterator[tuple[str, Path]]:
    for folder in sorted(SAMPLES.iterdir()):
        for path in sorted(folder.glob("*.log")):
            yield folder.name, path


@pytest.mark.parametrize("parser", sorted(PARSERS))
def test_every_parser_has_samples(parser: str) -> None:
    """Each registered log parser has at least one sample file with expectations."""
    files = sorted((SAMPLES / parser).glob("*.log"))
    assert files, f"no samples for the {parser!r} log parser in {SAMPLES / parser}"
    assert all(load_samples(path).samples for path in files)


def test_every_sample_folder_is_a_parser() -> None:
    """Each folder of samples belongs to a registered parser (no samples tested by nobody)."""
    assert {path.name for path in SAMPLES.iterdir() if path.is_dir()} <= set(PARSERS)


def test_unknown_parser_names_the_known_ones() -> None:
    """Asking for a parser that is not registered names the ones that are."""
    with pytest.raises(UnknownParserError) as caught:
        make_parser("sendmail", ZoneInfo("UTC"))
    assert caught.value.name == "sendmail"
    assert "postfix" in caught.value.known
    assert "postfix" in str(caught.value)


@pytest.mark.parametrize(
    ("parser", "path"), list(sample_files()), ids=lambda value: getattr(value, "name", value)
)
def test_samples(parser: str, path: Path) -> None:
    """Each sample line gives exactly the events written above it, and flush the rest."""
    sample_file = load_samples(path)
    options = sample_file.options
    log = make_parser(parser, ZoneInfo(options.get("tz", "UTC")), options.get("year"))
    for sample in sample_file.samples:
        check_events(sample.where, list(log.feed(sample.line)), sample.expected)
    check_events(f"{path.name} (flush)", list(log.flush()), sample_file.flush)


# the fail2ban corpus --------------------------------------------------------------------------

_FAIL_JSON = re.compile(r"# failJSON: (\{.*\})\s*$")


def fail2ban_cases(path: Path) -> Iterator[tuple[dict[str, Any], str]]:
    """``(failJSON, line)`` pairs of a fail2ban test log."""
    pending: dict[str, Any] | None = None
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        found = _FAIL_JSON.match(line)
        if found:
            pending = json.loads(found.group(1))
        elif pending is not None and line and not line.startswith("#"):
            yield pending, line
            pending = None


def _fail2ban_time(text: str) -> float:
    """fail2ban writes ``2005-03-7T02:09:33`` (day not padded); read it as UTC."""
    date, _, clock = text.partition("T")
    year, month, day = (int(part) for part in date.split("-"))
    return datetime.fromisoformat(f"{year:04d}-{month:02d}-{day:02d}T{clock}+00:00").timestamp()


def test_postfix_corpus_sasl_failures() -> None:
    """fail2ban's Postfix lines: each SASL failure by a client is one failed Login, at its time
    and address; no other line makes a Login, and none raises."""
    path = CORPORA / "logs" / "postfix"
    if not path.is_file():
        pytest.skip(f"corpus not found: {path} (set MAILWARDEN_CORPORA)")
    checked = 0
    for info, line in fail2ban_cases(path):
        year = int(info["time"][:4]) if "time" in info else 2005
        events = list(make_parser("postfix", ZoneInfo("UTC"), year).feed(line))
        logins = [event for event in events if isinstance(event, Login)]
        client_fault = "authentication failed" in line and "authentication server" not in line
        if not client_fault:
            assert not logins, line
            continue
        assert len(logins) == 1, line
        if "host" in info:  # fail2ban omits it where its own filter does not match
            assert logins[0].address == info["host"]
            assert logins[0].time == _fail2ban_time(info["time"])
            checked += 1
    assert checked >= 10
