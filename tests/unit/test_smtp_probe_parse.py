"""What the SMTP probe reads from a server, which is untrusted: replies (RFC 5321 §4.2), the EHLO
extension list, certificates (X.509, DER) and host name matching; and how the certificate's
dates are judged. Hypothesis throws arbitrary bytes at every parser: it answers or raises its
own error, never anything else, and never keeps more than its bounds."""

from __future__ import annotations

import contextlib
import ssl
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailwarden.audit.der import DerError
from mailwarden.audit.model import AreaResult
from mailwarden.audit.smtp_judge import EXPIRY_WARNING_DAYS, judge
from mailwarden.audit.smtp_probe import Observation, Outcome, outside
from mailwarden.audit.smtp_reply import (
    MAX_EXTENSIONS,
    MAX_LINE,
    MAX_LINES,
    MAX_TEXT,
    Reply,
    ReplyError,
    ReplyReader,
    auth_mechanisms,
    cleartext,
    extensions,
    parse_line,
    parse_reply,
)
from mailwarden.audit.smtp_session import TlsInfo
from mailwarden.audit.x509 import name_matches, parse_certificate

# Made with openssl by a test CA: CN and SAN mx.probe.test, SAN *.mail.probe.test and
# IP 127.0.0.1; 2025-01-01 to 2026-01-01 (UTCTime) and, the second, to 2060 (GeneralizedTime).
LEAF_PEM = """-----BEGIN CERTIFICATE-----
MIIBjzCCATWgAwIBAgICEAAwCgYIKoZIzj0EAwIwEjEQMA4GA1UEAwwHVGVzdCBD
QTAeFw0yNTAxMDEwMDAwMDBaFw0yNjAxMDEwMDAwMDBaMBgxFjAUBgNVBAMMDW14
LnByb2JlLnRlc3QwWTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAATAEagZSkChecoM
K4mIgxf62ouda1xzu22rNgVOu0HFGnD485yHByqX3s/UNyDbsKxqmp+mXO6ApLZO
zu2/d8+ro3UwczAxBgNVHREEKjAogg1teC5wcm9iZS50ZXN0ghEqLm1haWwucHJv
YmUudGVzdIcEfwAAATAdBgNVHQ4EFgQUN/DguK/tNh6jA8K9jKDDM1Fxfm0wHwYD
VR0jBBgwFoAUPgW/oBXmketfQnqmJUkfgNO2pj8wCgYIKoZIzj0EAwIDSAAwRQIg
NbcLB0CEUdspstcz9yNzjhFwTRkq/XDDu22dME30I8sCIQCCE1BC8TxFbTc2KuKl
zynsjNHpChTe2VkkuqXk4dcTrg==
-----END CERTIFICATE-----
"""
LEAF_2060_PEM = """-----BEGIN CERTIFICATE-----
MIIBkTCCATegAwIBAgICEAEwCgYIKoZIzj0EAwIwEjEQMA4GA1UEAwwHVGVzdCBD
QTAgFw0yNTAxMDEwMDAwMDBaGA8yMDYwMDEwMTAwMDAwMFowGDEWMBQGA1UEAwwN
bXgucHJvYmUudGVzdDBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABMARqBlKQKF5
ygwriYiDF/rai51rXHO7bas2BU67QcUacPjznIcHKpfez9Q3INuwrGqan6Zc7oCk
tk7O7b93z6ujdTBzMDEGA1UdEQQqMCiCDW14LnByb2JlLnRlc3SCESoubWFpbC5w
cm9iZS50ZXN0hwR/AAABMB0GA1UdDgQWBBQ38OC4r+02HqMDwr2MoMMzUXF+bTAf
BgNVHSMEGDAWgBQ+Bb+gFeaR619CeqYlSR+A07amPzAKBggqhkjOPQQDAgNIADBF
AiEA1ia3SJlIa/2xIu7VmYwXc+FpbY3HDUAOjdtDEUMQ+bMCIAgg8dH+BYc2xxXv
2Qd+o+7f87pkr5a2/46dW3tQoFek
-----END CERTIFICATE-----
"""
CA_PEM = """-----BEGIN CERTIFICATE-----
MIIBeTCCAR+gAwIBAgIUfoecuc5oFwMYNZ8rdPQkSI3eAmkwCgYIKoZIzj0EAwIw
EjEQMA4GA1UEAwwHVGVzdCBDQTAeFw0yNjExMjgxNDE0MjlaFw0yNjEyMDgxNDE0
MjlaMBIxEDAOBgNVBAMMB1Rlc3QgQ0EwWTATBgcqhkjOPQIBBggqhkjOPQMBBwNC
AATRTikh+VU5Tca1FVrOHDMM1boDd4h+Kc2v1DuFNk+WR5p2mi2EZVW8BJjcY/89
YloaKm4Jlw0Dz1HoyBVcLeDfo1MwUTAdBgNVHQ4EFgQUPgW/oBXmketfQnqmJUkf
gNO2pj8wHwYDVR0jBBgwFoAUPgW/oBXmketfQnqmJUkfgNO2pj8wDwYDVR0TAQH/
BAUwAwEB/zAKBggqhkjOPQQDAgNIADBFAiEAxlhBSdUDpIr+5/UGyt9+18rLbG1w
M35hTgrSECYPUvYCIDKAByR2A26CJRX/JiR8vQX/lnH5gqsrgoyABc+Fv5AG
-----END CERTIFICATE-----
"""
LEAF = ssl.PEM_cert_to_DER_cert(LEAF_PEM)

EHLO_LINES = [b"250-mx.example.jp Hello [192.0.2.1]\r\n", b"250-PIPELINING\r\n",
              b"250-SIZE 10240000\r\n", b"250-AUTH PLAIN LOGIN\r\n",
              b"250-AUTH=LOGIN CRAM-MD5\r\n", b"250-STARTTLS\r\n", b"250 8BITMIME\r\n"]


# -- replies ---------------------------------------------------------------------------------


def test_single_and_multi_line_replies() -> None:
    """A one-line reply, a bare code, and a multi-line reply whose lines share the code."""
    assert parse_reply([b"220 mx.example.jp ESMTP Postfix\r\n"]) == Reply(
        220, ("mx.example.jp ESMTP Postfix",))
    assert parse_reply([b"250\r\n"]) == Reply(250, ("",))
    reply = parse_reply(EHLO_LINES)
    assert reply.code == 250 and reply.ok and len(reply.lines) == 7
    assert str(parse_reply([b"554 5.7.1 no\n"])) == "554 5.7.1 no"  # a bare LF is tolerated


@pytest.mark.parametrize(("lines", "says"), [
    ([b"250-first\r\n", b"251 second\r\n"], "code 251 inside a reply that began with 250"),
    ([b"250 done\r\n", b"250 again\r\n"], "after the last line"),
    ([b"250-more to come\r\n"], "ends without its last line"),
    ([b"600 six hundred\r\n"], "code 200-599"),
    ([b"199 too low\r\n"], "code 200-599"),
    ([b"25\r\n"], "code 200-599"),
    ([b"250x\r\n"], "space or '-'"),
    ([b"hello\r\n"], "code 200-599"),
    ([], "empty reply"),
])
def test_broken_replies_say_why(lines: list[bytes], says: str) -> None:
    """A reply that breaks the grammar raises ReplyError saying what is wrong."""
    with pytest.raises(ReplyError, match=says):
        parse_reply(lines)


def test_reply_bounds() -> None:
    """A line over MAX_LINE bytes and a reply of more than MAX_LINES lines are refused."""
    with pytest.raises(ReplyError, match=f"longer than {MAX_LINE}"):
        parse_line(b"220 " + b"x" * MAX_LINE + b"\r\n")
    reader = ReplyReader()
    with pytest.raises(ReplyError, match=f"more than {MAX_LINES} lines"):
        for _ in range(MAX_LINES + 1):
            reader.feed(b"250-again\r\n")
    assert len(reader.lines) == MAX_LINES


def test_text_is_cleaned_and_shortened() -> None:
    """Control characters and bad UTF-8 from the server never reach the report."""
    code, more, text = parse_line(b"220-h\x1b[31mi\xff\x00 " + b"y" * 1000 + b"\r\n")
    assert (code, more) == (220, True)
    assert "\x1b" not in text and "\x00" not in text and "\ufffd" in text
    assert len(text) == MAX_TEXT


texts = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=60)


@given(st.integers(200, 599), st.lists(texts, min_size=1, max_size=20))
def test_replies_round_trip(code: int, lines: list[str]) -> None:
    """Any well-formed reply parses back to its code and its lines' text."""
    raw = [f"{code}{'-' if i < len(lines) - 1 else ' '}{t}\r\n".encode()
           for i, t in enumerate(lines)]
    reader = ReplyReader()
    for line in raw:
        assert not reader.done
        reader.feed(line)
    assert reader.done
    reply = reader.reply()
    assert reply.code == code and reply.lines == tuple(t[:MAX_TEXT] for t in lines)


@given(st.lists(st.binary(max_size=MAX_LINE + 50), max_size=MAX_LINES + 5))
def test_any_bytes_give_a_reply_or_reply_error(lines: list[bytes]) -> None:
    """Arbitrary lines never raise anything but ReplyError, and a reply obeys the bounds."""
    try:
        reply = parse_reply(lines)
    except ReplyError:
        return
    assert 200 <= reply.code <= 599 and len(reply.lines) <= MAX_LINES
    assert all(len(text) <= MAX_TEXT for text in reply.lines)


# -- EHLO ------------------------------------------------------------------------------------


def test_ehlo_extensions_and_auth() -> None:
    """Keywords upper-cased; the old AUTH=... form joins AUTH; the greeting is no extension."""
    found = extensions(parse_reply(EHLO_LINES))
    assert set(found) == {"PIPELINING", "SIZE", "AUTH", "STARTTLS", "8BITMIME"}
    assert found["SIZE"] == ("10240000",)
    assert auth_mechanisms(found) == ("PLAIN", "LOGIN", "CRAM-MD5")
    assert cleartext(auth_mechanisms(found)) == ["PLAIN", "LOGIN"]
    assert cleartext(["CRAM-MD5", "SCRAM-SHA-256"]) == []


@given(st.lists(texts, min_size=1, max_size=MAX_LINES))
def test_extensions_of_any_reply_are_bounded(lines: list[str]) -> None:
    """Whatever an EHLO reply holds, the extensions are upper-case keywords, at most
    MAX_EXTENSIONS of them."""
    found = extensions(Reply(250, tuple(lines)))
    assert len(found) <= MAX_EXTENSIONS
    assert all(k == k.upper() and k[0].isalnum() for k in found)


# -- certificates ----------------------------------------------------------------------------


def test_certificate_fields() -> None:
    """Subject, issuer, dates (UTCTime and GeneralizedTime) and DNS names of real
    certificates made by openssl; only dNSName entries count, not the IP address."""
    cert = parse_certificate(LEAF)
    assert (cert.subject, cert.issuer, cert.self_issued) == ("mx.probe.test", "Test CA", False)
    assert cert.not_before == datetime(2025, 1, 1, tzinfo=UTC)
    assert cert.not_after == datetime(2026, 1, 1, tzinfo=UTC)
    assert cert.dns_names == ("mx.probe.test", "*.mail.probe.test")
    later = parse_certificate(ssl.PEM_cert_to_DER_cert(LEAF_2060_PEM))
    assert later.not_after == datetime(2060, 1, 1, tzinfo=UTC)
    ca = parse_certificate(ssl.PEM_cert_to_DER_cert(CA_PEM))
    assert ca.self_issued and ca.dns_names == ()


@given(st.binary(max_size=600))
def test_any_bytes_give_a_certificate_or_der_error(data: bytes) -> None:
    """Arbitrary bytes never raise anything but DerError."""
    with contextlib.suppress(DerError):
        parse_certificate(data)


@given(st.integers(0, len(LEAF) - 1), st.integers(0, 255))
def test_damaged_certificates_give_der_error_or_a_reading(offset: int, value: int) -> None:
    """A real certificate with any one byte changed is still read or refused with DerError."""
    damaged = bytearray(LEAF)
    damaged[offset] = value
    try:
        cert = parse_certificate(bytes(damaged))
    except DerError:
        return
    assert len(cert.dns_names) <= 2 and len(cert.subject) <= 255


@pytest.mark.parametrize(("pattern", "host", "expected"), [
    ("mx.probe.test", "MX.Probe.Test.", True),
    ("*.probe.test", "mx.probe.test", True),
    ("*.probe.test", "a.mx.probe.test", False),  # one label only
    ("*.probe.test", "probe.test", False),
    ("m*.probe.test", "mx.probe.test", False),  # no partial-label wildcards
    ("*.test", "probe.test", False),  # no wildcard right below a top-level domain
    ("*.*.test", "a.b.test", False),
    ("", "mx.probe.test", False),
    ("other.example", "mx.probe.test", False),
])
def test_host_name_matching(pattern: str, host: str, expected: bool) -> None:
    """RFC 6125 §6.4 / RFC 8461 §4.2 matching of a certificate name against the MX host."""
    assert name_matches(pattern, host) is expected


# -- judging the dates -----------------------------------------------------------------------


def _tls_server() -> Observation:
    """What a probe of a server with STARTTLS and the LEAF certificate observed."""
    seen = Observation("mx.probe.test", "127.0.0.1", 25)
    seen.banner = Reply(220, ("mx.probe.test ESMTP",))
    seen.greeting, seen.esmtp = Reply(250, ("mx.probe.test", "STARTTLS")), True
    seen.plain = extensions(seen.greeting)
    seen.starttls = Reply(220, ("ready",))
    seen.tls = TlsInfo("TLSv1.3", "TLS_AES_128_GCM_SHA256", LEAF)
    return seen


def _dates_finding(now: datetime) -> tuple[str, str]:
    seen = _tls_server()
    result = AreaResult("smtp")
    judge(result, seen, now)
    found = [(f.check, f.status) for f in result.findings if f.check.startswith("smtp.cert_")
             and f.check not in ("smtp.cert_name",)]
    assert len(found) == 1, found
    return found[0]


@pytest.mark.parametrize(("now", "expected"), [
    (datetime(2025, 6, 1, tzinfo=UTC), ("smtp.cert_dates", "pass")),
    (datetime(2025, 12, 31 - EXPIRY_WARNING_DAYS + 2, tzinfo=UTC),
     ("smtp.cert_expiring", "warn")),
    (datetime(2026, 1, 2, tzinfo=UTC), ("smtp.cert_expired", "fail")),
    (datetime(2024, 12, 31, tzinfo=UTC), ("smtp.cert_not_yet_valid", "fail")),
])
def test_certificate_dates(now: datetime, expected: tuple[str, str]) -> None:
    """Valid, expiring within EXPIRY_WARNING_DAYS, expired, not yet valid: one finding each."""
    assert _dates_finding(now) == expected


def test_versions_not_tested_are_never_refused() -> None:
    """A version the local OpenSSL cannot speak is "not tested" (info) and one whose probe
    timed out "could not check"; neither counts as refused by the server."""
    seen = _tls_server()
    seen.versions = {"TLSv1": Outcome("untestable", "this OpenSSL cannot use TLS 1.0"),
                     "TLSv1.1": Outcome("refused", "alert protocol version"),
                     "TLSv1.2": Outcome("ok", version="TLSv1.2"),
                     "TLSv1.3": Outcome("unchecked", "tls: no handshake within 5 s")}
    result = AreaResult("smtp")
    judge(result, seen, datetime(2025, 6, 1, tzinfo=UTC))
    found = {f.check: f for f in result.findings}
    assert found["smtp.tls_version_untestable"].status == "info"
    assert found["smtp.tls_version_untestable"].evidence["version"] == "TLS 1.0"
    assert found["smtp.tls_version_unchecked"].status == "unchecked"
    assert found["smtp.tls_versions"].evidence["accepted"] == ["TLS 1.2"]
    assert found["smtp.tls_versions"].evidence["refused"] == ["TLS 1.1"]
    assert not {"smtp.tls_legacy", "smtp.tls13_missing", "smtp.tls_modern_missing"} & set(found)


def test_relay_test_addresses_are_outside_the_domain() -> None:
    """The relay test never uses an address at (or above, or below) the audited domain."""
    assert outside("probe.test", ("example.net", "example.org")) == "example.net"
    assert outside("mail.example.net", ("example.net", "example.org")) == "example.org"
    assert outside("net", ("example.net", "example.org")) == "example.org"
