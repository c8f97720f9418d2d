"""The SMTP probe (``--probe-smtp``) against real Postfix on loopback, found through a real DNS
server (ZoneServer) as the MX of probe.test, with certificates from a test CA made by the
openssl binary: STARTTLS with a valid certificate, no STARTTLS, self-signed / wrong-name /
expired certificates each reported on its own, TLS 1.0/1.1 accepted or refused, AUTH before
STARTTLS, an open relay found with --relay-test and not tried without it; and servers that
misbehave (silent, refusing, an endless banner line, endless lines, a slow drip) ending in
"could not check" within bounds of time and memory. Everything runs on 127.0.0.1, so the
probes here pass ``allow_private``; without it an MX on a non-public address is reported and
never connected to (nor relay-tested)."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import time
import tracemalloc
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from mailstack.common import free_port, make_root, remove_root, require_program
from mailstack.dns import ZoneServer
from mailstack.factories import DovecotFactory, PostfixFactory
from mailstack.postfix import PostfixInstance

from mailwarden.audit import smtp_probe
from mailwarden.audit.areas import enabled
from mailwarden.audit.dns import DnsClient
from mailwarden.audit.model import AreaResult, AuditContext, AuditOptions
from mailwarden.audit.smtp import audit_smtp
from mailwarden.audit.smtp_reply import MAX_LINE, MAX_LINES
from mailwarden.audit.smtp_tls import local_support

DOMAIN = "probe.test"
MX = "mx.probe.test"
USERS = {"alice@probe.test": "correct horse battery"}


# -- certificates, made by openssl -----------------------------------------------------------


@dataclass(frozen=True)
class Certs:
    """A test CA and server certificates for mx.probe.test (PEM files)."""

    folder: Path

    @property
    def ca(self) -> Path:
        return self.folder / "ca.pem"

    def pair(self, name: str) -> dict[str, str]:
        """main.cf parameters serving certificate ``name`` with STARTTLS."""
        return {"smtpd_tls_security_level": "may",
                "smtpd_tls_cert_file": str(self.folder / f"{name}.pem"),
                "smtpd_tls_key_file": str(self.folder / f"{name}.key")}


_CA_CNF = """\
[ca]
default_ca = test_ca
[test_ca]
database = {folder}/index.txt
new_certs_dir = {folder}
serial = {folder}/serial
default_md = sha256
policy = any_name
copy_extensions = copy
unique_subject = no
[any_name]
commonName = supplied
"""


def _openssl(*args: str, cwd: Path) -> None:
    done = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y%m%d%H%M%SZ")


def _key_and_request(folder: Path, name: str, san: str) -> None:
    _openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
             "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN={san}",
             "-addext", f"subjectAltName=DNS:{san}", cwd=folder)


def _signed(folder: Path, name: str, san: str, start: datetime, end: datetime) -> None:
    _key_and_request(folder, name, san)
    _openssl("ca", "-batch", "-notext", "-config", "ca.cnf", "-cert", "ca.pem", "-keyfile",
             "ca.key", "-in", f"{name}.csr", "-out", f"{name}.pem", "-startdate", _stamp(start),
             "-enddate", _stamp(end), cwd=folder)


@pytest.fixture(scope="module")
def certs() -> Iterator[Certs]:
    """ca.pem; good (mx.probe.test, valid), wrong_name (other.example), expired (2020),
    self_signed (mx.probe.test, its own issuer)."""
    require_program("openssl", "openssl")
    folder = make_root("certs")
    try:
        (folder / "ca.cnf").write_text(_CA_CNF.format(folder=folder), encoding="utf-8")
        (folder / "index.txt").write_text("", encoding="utf-8")
        (folder / "serial").write_text("01\n", encoding="utf-8")
        _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                 "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "30", "-subj",
                 "/CN=Mailwarden Test CA", cwd=folder)
        now = datetime.now(UTC)
        _signed(folder, "good", MX, now - timedelta(days=1), now + timedelta(days=60))
        _signed(folder, "wrong_name", "other.example", now - timedelta(days=1),
                now + timedelta(days=60))
        _signed(folder, "expired", MX, datetime(2020, 1, 1, tzinfo=UTC),
                datetime(2020, 2, 1, tzinfo=UTC))
        _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                 "-nodes", "-keyout", "self_signed.key", "-out", "self_signed.pem", "-days",
                 "60", "-subj", f"/CN={MX}", "-addext", f"subjectAltName=DNS:{MX}", cwd=folder)
        yield Certs(folder)
    finally:
        remove_root(folder)


# -- DNS and the probe -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def zone() -> Iterator[ZoneServer]:
    """probe.test MX 10 mx.probe.test, which is 127.0.0.1."""
    server = ZoneServer()
    server.add(DOMAIN, "MX", f"10 {MX}.")
    server.add(MX, "A", "127.0.0.1")
    server.add("private.test", "MX", "10 mx.private.test.", "20 mx2.private.test.")
    server.add("mx.private.test", "A", "127.0.0.1", "10.0.0.25")
    server.add("mx.private.test", "AAAA", "::1", "::ffff:7f00:1")
    server.add("mx2.private.test", "A", "198.18.0.25", "0.1.2.3", "240.0.0.25", "100.64.0.25")
    server.start()
    try:
        yield server
    finally:
        server.stop()


def probe(zone: ZoneServer, port: int, *, certs: Certs | None = None, relay_test: bool = False,
          timeout: float = 3.0) -> AreaResult:
    """The SMTP area of probe.test, its MX reached on ``port``."""
    client = DnsClient.from_option(zone.address, timeout=0.5, retries=1)
    options = AuditOptions(probe_smtp=True, relay_test=relay_test, smtp_port=port,
                           timeout=timeout, ca_file=str(certs.ca) if certs else "",
                           allow_private=True)
    return asyncio.run(audit_smtp(DOMAIN, AuditContext(client, options)))


def checks(result: AreaResult) -> dict[str, str]:
    """finding id -> status."""
    return {f.check: f.status for f in result.findings}


def evidence(result: AreaResult, check: str) -> dict[str, object]:
    found = [f for f in result.findings if f.check == check]
    assert found, f"{check} not in {checks(result)}"
    return found[0].evidence


def postfix_with(postfix_factory: PostfixFactory, certs: Certs | None, cert: str = "good",
                 dovecot_factory: DovecotFactory | None = None,
                 **params: str) -> PostfixInstance:
    """Postfix serving ``cert`` with STARTTLS (certs None: no TLS at all), SASL through a
    Dovecot when ``dovecot_factory`` is given, plus ``params``."""
    main_cf = certs.pair(cert) if certs is not None else {"smtpd_tls_security_level": "none"}
    main_cf.update(params)
    dovecot = dovecot_factory(USERS) if dovecot_factory is not None else None
    return postfix_factory(dovecot=dovecot, main_cf=main_cf)


# -- Postfix ---------------------------------------------------------------------------------


def test_area_runs_only_with_probe_smtp() -> None:
    """The registry adds the smtp area only when --probe-smtp is given."""
    assert "smtp" not in [a.name for a, _ in enabled(AuditOptions())]
    assert "smtp" in [a.name for a, _ in enabled(AuditOptions(probe_smtp=True))]


def test_valid_starttls_passes(zone: ZoneServer, certs: Certs, postfix_factory: PostfixFactory,
                               dovecot_factory: DovecotFactory) -> None:
    """A well-run MX: STARTTLS with a CA-signed certificate for its name, TLS 1.2 and 1.3 only,
    AUTH only inside TLS, no relaying: grade A, every part said."""
    postfix = postfix_with(postfix_factory, certs, dovecot_factory=dovecot_factory,
                           smtpd_tls_protocols=">=TLSv1.2", smtpd_tls_auth_only="yes")
    result = probe(zone, postfix.port, certs=certs, relay_test=True)
    found = checks(result)
    assert result.grade == "A", result.findings
    for check in ("smtp.starttls", "smtp.cert_trusted", "smtp.cert_name", "smtp.cert_dates",
                  "smtp.auth_tls_only", "smtp.relay_refused"):
        assert found[check] == "pass", check
    assert evidence(result, "smtp.auth_tls_only")["mechanisms"] == ["PLAIN", "LOGIN"]
    versions = evidence(result, "smtp.tls_versions")
    assert versions["accepted"] == ["TLS 1.2", "TLS 1.3"]
    assert versions["refused"] == ["TLS 1.0", "TLS 1.1"]
    assert "smtp.tls_legacy" not in found and "smtp.relay_not_tested" not in found
    assert evidence(result, "smtp.banner")["reply"] == "220 mx.mailwarden.test ESMTP"
    server = result.facts["servers"][0]
    assert server["tls"]["version"] == "TLS 1.3" and server["certificate"]["names"] == [MX]
    assert "Test CA" in str(evidence(result, "smtp.cert_trusted")["issuer"])


def test_without_starttls_fails(zone: ZoneServer, postfix_factory: PostfixFactory,
                                dovecot_factory: DovecotFactory) -> None:
    """No STARTTLS is a failure, and AUTH PLAIN/LOGIN on that port (plaintext passwords) is
    another; there is no certificate to judge."""
    postfix = postfix_with(postfix_factory, None, dovecot_factory=dovecot_factory)
    result = probe(zone, postfix.port)
    found = checks(result)
    assert found["smtp.starttls_missing"] == "fail"
    assert found["smtp.auth_without_tls"] == "fail"
    assert evidence(result, "smtp.auth_without_tls")["mechanisms"] == ["PLAIN", "LOGIN"]
    assert not any(c.startswith(("smtp.cert_", "smtp.tls_")) for c in found)
    assert result.grade == "F" and found["smtp.relay_not_tested"] == "info"


@pytest.mark.parametrize(("cert", "problem", "status", "passing"), [
    ("self_signed", "smtp.cert_self_signed", "warn", ("smtp.cert_name", "smtp.cert_dates")),
    ("wrong_name", "smtp.cert_name_mismatch", "warn", ("smtp.cert_trusted", "smtp.cert_dates")),
    ("expired", "smtp.cert_expired", "fail", ("smtp.cert_trusted", "smtp.cert_name")),
])
def test_certificate_problems_reported_separately(
        zone: ZoneServer, certs: Certs, postfix_factory: PostfixFactory, cert: str,
        problem: str, status: str, passing: tuple[str, ...]) -> None:
    """A bad certificate is its own finding: STARTTLS still passes, and the certificate's other
    properties are judged on their own (an expired one still chains, a foreign one still is
    in date)."""
    postfix = postfix_with(postfix_factory, certs, cert, smtpd_tls_protocols=">=TLSv1.2")
    result = probe(zone, postfix.port, certs=certs)
    found = checks(result)
    assert found["smtp.starttls"] == "pass" and found[problem] == status
    for check in passing:
        assert found[check] == "pass", (check, result.findings)
    others = {"smtp.cert_self_signed", "smtp.cert_untrusted", "smtp.cert_name_mismatch",
              "smtp.cert_expired", "smtp.cert_expiring"} - {problem}
    assert not others & set(found)
    if cert == "wrong_name":
        assert evidence(result, problem)["names"] == ["other.example"]
    if cert == "expired":
        assert str(evidence(result, problem)["not_after"]).startswith("2020-02-01")


def test_legacy_tls_versions_are_flagged(zone: ZoneServer, certs: Certs,
                                         postfix_factory: PostfixFactory) -> None:
    """A server that still allows TLS 1.0 and 1.1 (Postfix at OpenSSL security level 0) is
    warned about; the probe can ask because it lowers the level for itself only."""
    for version in ("TLSv1", "TLSv1.1"):
        assert local_support(version) == "", f"this OpenSSL cannot test {version}"
    postfix = postfix_with(postfix_factory, certs, smtpd_tls_protocols=">=TLSv1",
                           tls_medium_cipherlist="ALL:@SECLEVEL=0")
    result = probe(zone, postfix.port, certs=certs)
    assert evidence(result, "smtp.tls_versions")["accepted"] == [
        "TLS 1.0", "TLS 1.1", "TLS 1.2", "TLS 1.3"]
    assert checks(result)["smtp.tls_legacy"] == "warn"
    assert evidence(result, "smtp.tls_legacy")["versions"] == ["TLS 1.0", "TLS 1.1"]
    assert result.grade == "B"


def test_auth_before_starttls_fails(zone: ZoneServer, certs: Certs,
                                    postfix_factory: PostfixFactory,
                                    dovecot_factory: DovecotFactory) -> None:
    """AUTH PLAIN/LOGIN offered before STARTTLS (smtpd_tls_auth_only = no) is a failure even
    though STARTTLS works."""
    postfix = postfix_with(postfix_factory, certs, dovecot_factory=dovecot_factory,
                           smtpd_tls_auth_only="no", smtpd_tls_protocols=">=TLSv1.2")
    result = probe(zone, postfix.port, certs=certs)
    found = checks(result)
    assert found["smtp.starttls"] == "pass" and found["smtp.auth_before_tls"] == "fail"
    assert evidence(result, "smtp.auth_before_tls")["mechanisms"] == ["PLAIN", "LOGIN"]
    assert "smtp.auth_tls_only" not in found


def _commands_logged(postfix: PostfixInstance) -> list[str]:
    """Postfix's per-session command counts ("ehlo=1 mail=1 rcpt=1 ...")."""
    return [line for line in postfix.log_lines() if "disconnect from" in line]


def test_open_relay_only_with_relay_test(zone: ZoneServer, certs: Certs,
                                         postfix_factory: PostfixFactory) -> None:
    """An open relay (every client in mynetworks may relay) is found with --relay-test: MAIL
    FROM and RCPT TO outside addresses accepted, then RSET and QUIT, never DATA (nothing
    queued). Without --relay-test no MAIL or RCPT is ever sent."""
    postfix = postfix_with(postfix_factory, certs, smtpd_tls_protocols=">=TLSv1.2",
                           smtpd_relay_restrictions="permit_mynetworks, reject_unauth_destination",
                           smtpd_recipient_restrictions="permit_mynetworks, reject")
    quiet = probe(zone, postfix.port, certs=certs)
    assert checks(quiet)["smtp.relay_not_tested"] == "info"
    assert not any(c.startswith("smtp.relay_open") for c in checks(quiet))
    # the fixture's port check, then the probe's main, chain and four version sessions
    postfix.wait_for(lambda: len(_commands_logged(postfix)) >= 7, what="7 sessions logged")
    assert not any("mail=" in line or "rcpt=" in line for line in _commands_logged(postfix))

    result = probe(zone, postfix.port, certs=certs, relay_test=True)
    assert checks(result)["smtp.relay_open"] == "fail" and result.grade == "F"
    found = evidence(result, "smtp.relay_open")
    assert found["sender"] == "mailwarden-relay-test@example.com"
    assert found["recipient"] == "mailwarden-relay-test@example.net"
    assert str(found["reply"]).startswith("250")
    line = postfix.wait_for_log("rcpt=1")
    assert "mail=1" in line and "rset=1" in line and "data" not in line
    assert postfix.postqueue_json() == []


# -- servers that do not behave --------------------------------------------------------------


def test_silent_port_is_unchecked(zone: ZoneServer) -> None:
    """A port that accepts connections and never speaks: "could not check" after the step
    timeout, never "STARTTLS missing"."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)  # connections complete in the kernel; nobody ever answers
        started = time.monotonic()
        result = probe(zone, listener.getsockname()[1], timeout=0.5)
    assert time.monotonic() - started < 5
    assert checks(result) == {"smtp.no_banner": "unchecked", "smtp.relay_not_tested": "info"}
    assert result.grade == "C"


def test_closed_port_is_unchecked(zone: ZoneServer) -> None:
    """Nothing listening: the connection is refused, reported as "could not check"."""
    result = probe(zone, free_port(), timeout=0.5)
    assert checks(result)["smtp.connect_failed"] == "unchecked" and result.grade == "C"


async def _hostile(kind: str, writer: asyncio.StreamWriter, sent: list[int]) -> None:
    """What a hostile server sends until the client goes away."""
    chunks = {"endless_line": b"220 " + b"A" * 8192, "endless_lines": b"220-mx.probe.test\r\n",
              "drip": b"2"}
    if kind == "endless_line":
        writer.write(b"220 ")
    try:
        while True:
            chunk = chunks[kind] if kind != "endless_line" else b"A" * 8192
            writer.write(chunk)
            await writer.drain()
            sent[0] += len(chunk)
            if kind == "drip":
                await asyncio.sleep(0.05)
    except (ConnectionError, OSError):
        pass
    finally:
        writer.close()


@pytest.mark.parametrize(("kind", "check"), [
    ("endless_line", "smtp.bad_reply"), ("endless_lines", "smtp.bad_reply"),
    ("drip", "smtp.no_banner")])
def test_hostile_server_is_bounded(zone: ZoneServer, kind: str, check: str) -> None:
    """A server sending one endless banner line, endless continuation lines, or a byte now and
    then ends in "could not check" soon, with little memory used however much it sends."""
    sent = [0]

    async def run() -> tuple[AreaResult, int]:
        async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await _hostile(kind, writer, sent)

        server = await asyncio.start_server(serve, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        client = DnsClient.from_option(zone.address, timeout=0.5, retries=1)
        options = AuditOptions(probe_smtp=True, smtp_port=port, timeout=1.0,
                               allow_private=True)
        tracemalloc.start()
        try:
            result = await audit_smtp(DOMAIN, AuditContext(client, options))
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
            server.close()
        return result, peak

    started = time.monotonic()
    result, peak = asyncio.run(run())
    assert time.monotonic() - started < 5
    assert checks(result)[check] == "unchecked" and result.grade == "C"
    assert peak < 1_000_000, f"{peak} bytes at the peak"
    reason = str(evidence(result, check)["reason"])
    if kind == "endless_line":
        assert str(MAX_LINE) in reason
    elif kind == "endless_lines":
        assert str(MAX_LINES) in reason and sent[0] > MAX_LINES * 10


def test_probe_budget_keeps_what_was_learnt(zone: ZoneServer,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """A server slow at every step (each reply just inside the timeout) cannot hold the probe
    beyond its budget: the probe stops, says so (unchecked) and keeps what it learnt."""
    monkeypatch.setattr(smtp_probe, "BUDGET_STEPS", 3)

    async def slow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        replies = {b"EHLO": b"250-mx.probe.test\r\n250 STARTTLS\r\n", b"STARTTLS": b"220 go\r\n"}
        try:
            await asyncio.sleep(0.25)
            writer.write(b"220 mx.probe.test ESMTP slow\r\n")
            while line := await reader.readline():
                await asyncio.sleep(0.25)
                writer.write(replies.get(line.split()[0].upper(), b"250 ok\r\n"))
            await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            writer.close()

    async def run() -> AreaResult:
        server = await asyncio.start_server(slow, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        client = DnsClient.from_option(zone.address, timeout=0.5, retries=1)
        options = AuditOptions(probe_smtp=True, smtp_port=port, timeout=0.3,
                               allow_private=True)
        try:
            return await audit_smtp(DOMAIN, AuditContext(client, options))
        finally:
            server.close()

    started = time.monotonic()
    result = asyncio.run(run())
    assert time.monotonic() - started < 5
    found = checks(result)
    assert found["smtp.probe_budget"] == "unchecked" and found["smtp.banner"] == "info"
    assert "smtp.starttls_missing" not in found and result.grade == "C"


# -- non-public addresses --------------------------------------------------------------------


def _probe_counting(zone: ZoneServer, domain: str, *, allow: bool,
                    relay_test: bool = False) -> tuple[AreaResult, int]:
    """The SMTP area of ``domain`` against a 127.0.0.1 listener that greets, accepts every
    command (an open relay) and counts its connections."""
    connections = [0]

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections[0] += 1
        try:
            writer.write(b"220 internal.lan ESMTP secret-banner\r\n")
            while (line := await reader.readline()) and not line.upper().startswith(b"QUIT"):
                writer.write(b"250 ok\r\n")
            writer.write(b"221 bye\r\n")
            await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            writer.close()

    async def run() -> AreaResult:
        server = await asyncio.start_server(serve, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        client = DnsClient.from_option(zone.address, timeout=0.5, retries=1)
        options = AuditOptions(probe_smtp=True, relay_test=relay_test, smtp_port=port,
                               timeout=1.0, allow_private=allow)
        try:
            return await audit_smtp(domain, AuditContext(client, options))
        finally:
            server.close()
            await server.wait_closed()

    result = asyncio.run(run())
    return result, connections[0]


def test_private_mx_is_not_probed(zone: ZoneServer) -> None:
    """By default an MX on loopback, RFC 1918, IPv4-mapped loopback, benchmarking, "this
    network", reserved or shared addresses is reported per host (warn, every address named)
    and never connected to: no banner in the report, no open relay found with --relay-test."""
    result, connections = _probe_counting(zone, "private.test", allow=False, relay_test=True)
    assert connections == 0
    found = [f for f in result.findings if f.check == "smtp.private_address"]
    assert {f.evidence["host"]: sorted(f.evidence["addresses"]) for f in found} == {
        "mx.private.test": ["10.0.0.25", "127.0.0.1", "::1", "::ffff:127.0.0.1"],
        "mx2.private.test": ["0.1.2.3", "100.64.0.25", "198.18.0.25", "240.0.0.25"]}
    assert all(f.status == "warn" and "--allow-private" in f.en and "--allow-private" in f.ja
               for f in found)
    assert {f.check for f in result.findings} == {"smtp.private_address"}
    assert result.facts["servers"] == [] and "secret-banner" not in str(result.to_dict())


def test_allow_private_probes_a_loopback_mx(zone: ZoneServer) -> None:
    """With allow_private the same MX is probed as before: the banner is read and the relay
    test finds the (loopback) server open."""
    result, connections = _probe_counting(zone, DOMAIN, allow=True, relay_test=True)
    assert connections >= 2  # the main session and the relay test
    found = checks(result)
    assert "smtp.private_address" not in found and found["smtp.relay_open"] == "fail"
    assert "secret-banner" in str(evidence(result, "smtp.banner")["reply"])
