"""``mailwarden audit`` end to end: the real command in a process, asking a real DNS server on
loopback; the table, --json, --html, --lang ja, --file with many domains, usage errors (exit 2)
and hostile DNS text escaped in the HTML report; a domain pointing at a loopback address is
not connected to without --allow-private, and is with it."""

from __future__ import annotations

import asyncio
import json
import os
import re
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from mailstack.common import missing_component
from mailstack.dns import ZoneServer

from mailwarden.audit.dns import DnsClient
from mailwarden.audit.messages import MESSAGES
from mailwarden.audit.model import AreaResult, AuditContext
from mailwarden.audit.runner import audit_all

ROOT = Path(__file__).resolve().parents[2]
MANY = 30
INTERNAL = "127.42.0.25"  # a loopback address of its own: nothing else listens there


def txt(value: str) -> str:
    return f'"{value}"'


@pytest.fixture(scope="module")
def zone() -> Iterator[ZoneServer]:
    """Domains: good.example (grade A everywhere it can be), weak.example (p=none, no MX),
    hostile.example (markup in its record), sf.example (SERVFAIL), d0..d29.many.example."""
    server = ZoneServer()
    server.add("good.example", "MX", "10 mx.good.example.")
    server.add("mx.good.example", "A", "192.0.2.10")
    server.add("10.2.0.192.in-addr.arpa", "PTR", "mx.good.example.")
    server.add("_dmarc.good.example", "TXT", txt("v=DMARC1; p=reject; rua=mailto:d@good.example"))
    server.add("weak.example", "A", "192.0.2.11")
    server.add("_dmarc.weak.example", "TXT", txt("v=DMARC1; p=none"))
    server.add("_dmarc.hostile.example", "TXT",
               txt("v=DMARC1; p=reject; x=<script>alert(1)</script>"))
    server.servfail.update({"sf.example", "_dmarc.sf.example"})
    server.add("internal.example", "MX", "10 mx.internal.example.")
    server.add("mx.internal.example", "A", INTERNAL)
    server.add("_mta-sts.internal.example", "TXT", txt("v=STSv1; id=1"))
    server.add("mta-sts.internal.example", "A", INTERNAL)
    for n in range(MANY):
        server.add(f"_dmarc.d{n}.many.example", "TXT", txt("v=DMARC1; p=quarantine"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def psl_env(tmp_path: Path) -> dict[str, str]:
    psl = tmp_path / "psl.dat"
    psl.write_text("example\n", encoding="utf-8")
    return {**os.environ, "MAILWARDEN_PSL": str(psl)}


def audit(zone: ZoneServer, env: dict[str, str], *args: str,
          stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mailwarden", "audit", "--nameserver", zone.address,
         "--timeout", "0.5", *args], capture_output=True, text=True, env=env, cwd=ROOT,
        input=stdin, timeout=120)


def as_json(result: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    assert result.returncode == 0, result.stderr
    document: dict[str, Any] = json.loads(result.stdout)
    return document


def test_table_shows_grades_reasons_and_records(zone: ZoneServer,
                                                psl_env: dict[str, str]) -> None:
    """The terminal report: a grade per area per domain, the reasons, the records to publish."""
    result = audit(zone, psl_env, "good.example", "weak.example", "missing.example")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    header = lines[0].split()
    assert header[0] == "domain" and {"dmarc", "dkim", "mx"} <= set(header)
    rows = {line.split()[0]: dict(zip(header[1:], line.split()[1:], strict=True))
            for line in lines[1:4]}
    assert rows["good.example"]["dmarc"] == "A" and rows["good.example"]["mx"] == "A"
    assert rows["weak.example"]["dmarc"] == "B" and rows["missing.example"]["dmarc"] == "F"
    assert "[dmarc.policy_none]" in result.stdout and "[dmarc.missing]" in result.stdout
    assert '_dmarc.missing.example. IN TXT "v=DMARC1; p=none; rua=mailto:dmarc-reports@' \
        'missing.example"' in result.stdout
    assert "stage 2, quarantine" in result.stdout


def test_json_output(zone: ZoneServer, psl_env: dict[str, str]) -> None:
    """--json carries every area's grade, findings in both languages and the records."""
    document = as_json(audit(zone, psl_env, "--json", "weak.example", "sf.example"))
    weak, sf = document["domains"]
    assert weak["domain"] == "weak.example" and weak["grades"]["dmarc"] == "B"
    finding = next(f for f in weak["areas"]["dmarc"]["findings"]
                   if f["check"] == "dmarc.policy_none")
    assert finding["status"] == "warn" and finding["en"] and "p=none" in finding["ja"]
    plan = weak["areas"]["dmarc"]["publish"]  # no rua: first the same policy with reports
    assert [r["value"].split("; ")[1] for r in plan] == ["p=none", "p=quarantine", "p=reject"]
    assert all("rua=mailto:dmarc-reports@weak.example" in r["value"] for r in plan)
    assert sf["grades"]["dmarc"] == "C" and sf["grades"]["mx"] == "C"
    assert not any(f["check"] == "dmarc.missing" for f in sf["areas"]["dmarc"]["findings"])


def test_html_report_in_japanese_escapes_dns_text(zone: ZoneServer, psl_env: dict[str, str],
                                                  tmp_path: Path) -> None:
    """--html writes one self-contained page in the --lang language; DNS text is escaped."""
    page = tmp_path / "report.html"
    result = audit(zone, psl_env, "--html", str(page), "--lang", "ja", "hostile.example",
                   "weak.example")
    assert result.returncode == 0, result.stderr
    html = page.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>") and '<html lang="ja">' in html
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "公開するレコード" in html and "監視のみ" in html
    assert not re.search(r'(src|href)="(https?:)?//', html)  # nothing loaded from outside
    assert "ドメイン" in result.stdout.splitlines()[0]  # the table is in Japanese too


def test_file_with_many_domains(zone: ZoneServer, psl_env: dict[str, str],
                                tmp_path: Path) -> None:
    """--file: comments and blanks skipped, duplicates once, order kept (--concurrency 5)."""
    names = [f"d{n}.many.example" for n in range(MANY)]
    listing = tmp_path / "domains.txt"
    listing.write_text("# prefecture\n\n" + "\n".join(names) + f"\n{names[0]}  # again\n",
                       encoding="utf-8")
    document = as_json(audit(zone, psl_env, "--json", "--file", str(listing),
                             "--concurrency", "5"))
    assert [d["domain"] for d in document["domains"]] == names
    assert {d["grades"]["dmarc"] for d in document["domains"]} == {"B"}  # no rua: warning
    stdin = as_json(audit(zone, psl_env, "--json", "--file", "-", stdin="good.example\n"))
    assert [d["domain"] for d in stdin["domains"]] == ["good.example"]


def test_invalid_and_japanese_domains(zone: ZoneServer,
                                              psl_env: dict[str, str]) -> None:
    """A name that cannot be asked is reported and the others audited; a Japanese name is
    audited as its A-label; --probe-smtp is accepted and --dkim-selector is tried first."""
    document = as_json(audit(zone, psl_env, "--json", "bad..name", "good.example",
                             "--probe-smtp", "--dkim-selector", "s2026", "テスト.example"))
    bad, good, idn = document["domains"]
    assert bad["error"] and bad["areas"] == {}
    assert idn["domain"] == "xn--zckzah.example" and idn["grades"]["dmarc"] == "F"
    assert good["grades"]["dmarc"] == "A"
    assert "s2026" in good["areas"]["dkim"]["facts"]["selectors_tried"]


class Counter:
    """Listeners on INTERNAL ports 25 and 443 counting the connections they accept."""

    def __init__(self) -> None:
        self.counts = {25: 0, 443: 0}
        self.sockets: list[socket.socket] = []
        self.threads: list[threading.Thread] = []

    def start(self) -> Counter:
        for port in self.counts:
            listener = socket.socket()
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                listener.bind((INTERNAL, port))
            except OSError as exc:
                listener.close()
                self.stop()
                missing_component(f"cannot listen on {INTERNAL}:{port} ({exc}): needs root")
            listener.listen(16)
            listener.settimeout(0.1)
            self.sockets.append(listener)
            thread = threading.Thread(target=self._accept, args=(listener, port), daemon=True)
            thread.start()
            self.threads.append(thread)
        return self

    def _accept(self, listener: socket.socket, port: int) -> None:
        while True:
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.counts[port] += 1
            connection.close()

    def stop(self) -> None:
        for listener in self.sockets:
            listener.close()
        for thread in self.threads:
            thread.join(5)


@pytest.fixture
def counter() -> Iterator[Counter]:
    listeners = Counter().start()
    try:
        yield listeners
    finally:
        listeners.stop()


def _findings(document: dict[str, Any]) -> dict[str, str]:
    [domain] = document["domains"]
    return {f["check"]: f["status"] for area in domain["areas"].values()
            for f in area["findings"]}


def test_internal_addresses_need_allow_private(zone: ZoneServer, psl_env: dict[str, str],
                                               counter: Counter) -> None:
    """A domain whose MX and MTA-STS host are a loopback address: without --allow-private
    nothing connects there (both are reported instead, and the MX area says the address is
    not public); with it, the policy fetch and the SMTP probe connect as before."""
    args = ("--json", "--probe-smtp", "--relay-test", "internal.example")
    found = _findings(as_json(audit(zone, psl_env, *args)))
    assert counter.counts == {25: 0, 443: 0}
    assert found["smtp.private_address"] == "warn"
    assert found["mta_sts.private_address"] == "warn"
    assert found["mx.address_not_public"] == "warn"
    assert not any(c.startswith("smtp.relay") for c in found)
    allowed = _findings(as_json(audit(zone, psl_env, *args, "--allow-private")))
    assert counter.counts[25] >= 1 and counter.counts[443] >= 1
    assert "smtp.private_address" not in allowed and "mta_sts.private_address" not in allowed


@pytest.mark.parametrize("args", [
    (), ("--lang", "fr", "good.example"), ("--concurrency", "0", "good.example"),
    ("--file", "/nonexistent/domains.txt"), ("--relay-test", "good.example"),
    ("--timeout", "0", "good.example"), ("--html", "/nonexistent/dir/r.html", "good.example"),
])
def test_usage_errors_exit_2(zone: ZoneServer, psl_env: dict[str, str],
                             args: tuple[str, ...]) -> None:
    """Usage errors exit with 2 and say what is wrong."""
    result = audit(zone, psl_env, *args)
    assert result.returncode == 2 and result.stderr.strip()


def test_bad_nameserver_exits_2(psl_env: dict[str, str]) -> None:
    """A --nameserver that is not IP[:PORT] is a usage error."""
    result = subprocess.run([sys.executable, "-m", "mailwarden", "audit", "--nameserver",
                             "dns.example:99999", "good.example"], capture_output=True,
                            text=True, env=psl_env, cwd=ROOT, timeout=60)
    assert result.returncode == 2 and "--nameserver" in result.stderr


def test_every_finding_id_is_documented() -> None:
    """docs/audit.md documents every finding id the DMARC, DKIM and MX checks can report."""
    docs = (ROOT / "docs" / "audit.md").read_text(encoding="utf-8")
    missing = [check for check in MESSAGES if f"`{check}`" not in docs]
    assert missing == []


def test_runner_bounds_concurrency_and_contains_area_failures(zone: ZoneServer) -> None:
    """At most --concurrency domains run at once; an area that raises or overruns becomes an
    unchecked finding of that area and the other areas still report."""
    running: list[int] = [0, 0]  # now, highest

    async def slow(domain: str, ctx: AuditContext) -> AreaResult:
        running[0] += 1
        running[1] = max(running)
        await asyncio.sleep(0.02)
        running[0] -= 1
        return AreaResult("slow")

    async def broken(domain: str, ctx: AuditContext) -> AreaResult:
        raise KeyError("boom")

    async def stuck(domain: str, ctx: AuditContext) -> AreaResult:
        await asyncio.sleep(30)
        return AreaResult("stuck")

    ctx = AuditContext(DnsClient.from_option(zone.address, timeout=0.5))
    names = [f"d{n}.many.example" for n in range(12)]
    reports = asyncio.run(audit_all(names, ctx, concurrency=3, timeout=1.0, areas=[
        ("slow", slow), ("broken", broken), ("stuck", stuck)]))
    assert running[1] == 3 and [r.domain for r in reports] == names
    first = reports[0].areas
    assert first["slow"].grade == "A"
    assert [f.check for f in first["broken"].findings] == ["audit.area_error"]
    assert "KeyError" in first["broken"].findings[0].en
    assert [f.check for f in first["stuck"].findings] == ["audit.area_timeout"]
    assert first["stuck"].grade == "C"
