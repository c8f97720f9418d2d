"""``mailwarden spf check`` evaluates an address against a real DNS server on loopback."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from mailstack.dns import ZoneServer
from typer.testing import CliRunner

from mailwarden.cli.main import app


@pytest.fixture(scope="module")
def zone() -> Iterator[ZoneServer]:
    """A zone with a record, an include and an exp= explanation."""
    with ZoneServer() as server:
        server.add("example.com", "TXT",
                   '"v=spf1 ip4:192.0.2.0/24 include:_spf.example.net -all exp=why.example.com"')
        server.add("_spf.example.net", "TXT", '"v=spf1 a:out.example.net ?all"')
        server.add("out.example.net", "A", "198.51.100.7")
        server.add("why.example.com", "TXT", '"%{i} may not send for %{d}"')
        yield server


def spf(zone: ZoneServer, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["spf", "check", *args, "--nameserver", zone.address])
    return result.exit_code, result.output


def test_fail_with_explanation(zone: ZoneServer) -> None:
    """An unlisted address fails, with the domain's own explanation and the steps."""
    code, out = spf(zone, "203.0.113.5", "example.com")
    assert code == 0
    assert "SPF result: fail" in out
    assert "explanation: 203.0.113.5 may not send for example.com" in out
    assert "DNS lookups: 2/10" in out  # the include and its a:


def test_pass_through_include_in_japanese(zone: ZoneServer) -> None:
    """An address listed by an included record passes; --lang ja prints Japanese labels."""
    code, out = spf(zone, "198.51.100.7", "example.com", "--lang", "ja")
    assert code == 0 and "SPF の結果: pass" in out and "決め手: include:_spf.example.net" in out


def test_json_and_ipv4_mapped(zone: ZoneServer) -> None:
    """--json prints the result; an IPv4-mapped IPv6 address is treated as IPv4."""
    code, out = spf(zone, "::ffff:192.0.2.9", "example.com", "--json", "--sender", "")
    assert code == 0
    found = json.loads(out)
    assert found["result"] == "pass" and found["mechanism"] == "ip4:192.0.2.0/24"


def test_bad_address(zone: ZoneServer) -> None:
    """Something that is not an IP address is a usage error (exit code 2)."""
    code, out = spf(zone, "nonsense", "example.com")
    assert code == 2 and "not an IP address" in out
