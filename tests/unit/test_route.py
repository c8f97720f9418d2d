"""Routing lines to parsers never withholds a line from the parser it belongs to."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailwarden.sources.logs.route import ALL, route

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
