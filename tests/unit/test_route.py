"""Routing lines to parsers never withholds a line from the parser it belongs to."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailwarden.sources.logs.route import ALL, DOVECOT_TAGS, route, router

ROOT = Path(__file__).resolve().parents[2]
CORPORA = Path(os.environ.get("MAILWARDEN_CORPORA", ROOT.parent / "shared" / "corpora"))


def log_lines(path: Path) -> list[str]:
    text = path.read_text(encoding="utf-8", errors="replace")
    return [line for line in text.splitlines() if line.strip() and not line.startswith("#")]


def expected_lines(path: Path) -> list[str]:
    """Sample lines whose `# expect:` names an event (noise lines expect null)."""
    out, expect = [], "null"
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        if line.startswith("# expect:"):
            expect = line.removeprefix("# expect:").strip()
        elif line.strip() and not line.startswith("#"):
            if expect not in ("null", "[]"):
                out.append(line)
            expect = "null"
    return out


@pytest.mark.parametrize("parser", ALL)
def test_every_sample_line_reaches_its_parser(parser):
    """Each sample line of tests/data/logs/<parser>/ with an expected event is routed there."""
    files = sorted((ROOT / "tests" / "data" / "logs" / parser).glob("*.log"))
    assert files
    lines = [(path.name, line) for path in files for line in expected_lines(path)]
    assert len(lines) > 10
    for name, line in lines:
        assert parser in route(line), f"{name}: {line[:100]}"


@pytest.mark.parametrize("parser", ALL)
def test_every_corpus_line_reaches_its_parser(parser):
    """Each line of the shared real-log corpus is routed to its parser."""
    path = CORPORA / "logs" / parser
    if not path.exists():
        if os.environ.get("MAILWARDEN_STRICT") == "1":
            pytest.fail(f"corpus missing: {path}")
        pytest.skip(f"corpus missing: {path}")
    for line in log_lines(path):
        assert parser in route(line), line[:100]


@given(st.text(max_size=200))
def test_any_line_gets_at_least_one_parser(line):
    """No line is dropped by routing."""
    assert set(route(line)) <= set(ALL) and route(line)


def _reference_route(line: str) -> tuple[str, ...]:
    """Routing as first written: plain substring tests of the head, one by one."""
    head = line[:96]
    names: list[str] = []
    if "postfix" in head:
        names.append("postfix")
    if any(tag in head for tag in DOVECOT_TAGS):
        names.append("dovecot")
    if "exim" in head or (head[:4].isdigit() and head[10:11] == " "):
        names.append("exim")
    return tuple(names) or ALL


_FRAGMENTS = st.sampled_from(
    ["postfix", "dovecot", "exim", "imap-login", "pop3-login", "submission-login",
     "managesieve-login", "foo-login", "lmtp(", "auth:", "auth-worker", "auth(", "auth-", "auth",
     "imap(", "pop3(", "-login", "2025-10-06", " ", "12:00:00", "x" * 30, "é", "[1]: "]
)


@given(st.lists(_FRAGMENTS, max_size=12).map("".join))
def test_route_is_the_plain_substring_rule(line: str) -> None:
    """The fast routing gives what testing each tag in turn gives, up to the head's end."""
    assert route(line) == _reference_route(line)


@given(st.text(max_size=120))
def test_route_is_the_plain_substring_rule_on_any_text(line: str) -> None:
    """The same on arbitrary text."""
    assert route(line) == _reference_route(line)


def test_router_gives_the_targets_of_the_names() -> None:
    """router() maps each routed name to its target, in route()'s order."""
    targets_of = router({name: name.upper() for name in ALL})
    line = "Oct  6 00:00:00 mail postfix/smtpd[1]: connect from exim.example[192.0.2.1]"
    assert targets_of(line) == tuple(name.upper() for name in route(line))
