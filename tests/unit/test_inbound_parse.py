"""The inbound analyser's readers on hostile input: bounded time and memory, never a crash.

Hypothesis feeds every parser (MIME, header blocks, addresses, encoded words, parameters,
HTML, URLs, charsets, Authentication-Results, zip and OLE directories) with arbitrary
input; the named cases are the issue's: malformed MIME, 1,000-deep nesting, 10 MB headers,
zip bombs, invalid charsets.
"""

from __future__ import annotations

import base64
import io
import struct
import time
import tracemalloc
import zipfile
import zlib

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mailwarden.config import Config
from mailwarden.inbound import (
    addresses,
    authresults,
    cfb,
    charset,
    headers,
    html,
    mime,
    urls,
    zipread,
)
from mailwarden.inbound.analyze import InboundContext, analyze_message

CTX = InboundContext.create(Config())
FAST = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

MIME_PIECES = st.sampled_from([
    b"Content-Type: multipart/mixed; boundary=b\r\n", b"Content-Type: text/html\r\n",
    b"Content-Type: message/rfc822\r\n", b"Content-Transfer-Encoding: base64\r\n",
    b"Content-Transfer-Encoding: quoted-printable\r\n", b"--b\r\n", b"--b--\r\n", b"\r\n",
    b"Content-Disposition: attachment; filename*=utf-8''%E8%AB%8B.exe\r\n",
    b"From: =?iso-2022-jp?B?GyRCOzNFRBsoQg==?= <a@b.jp>\r\n", b"Subject: =?utf-8?Q?=E3?=\r\n",
    b"<a href='http://x@1.2.3.4/'>paypal.com</a>", b"PK\x03\x04", b"\xd0\xcf\x11\xe0",
    b"=?x?B?=?=", b"\x1b$B", b"\xff\xfe", b"<form><input type=password>", b"\n\n",
])


def test_parse_simple_message() -> None:
    """A plain message gives its headers and one text part."""
    parsed = mime.parse(b"From: a@b.example\r\nSubject: hi\r\n\r\nhello\r\n")
    assert parsed.headers.get("subject") == "hi"
    assert [p.content_type for p in parsed.parts] == ["text/plain"]
    assert parsed.parts[0].body == b"hello\r\n"
    assert parsed.defects == []


def test_parse_multipart_with_attachment() -> None:
    """Multipart parts are split at their boundaries and transfer encodings undone."""
    raw = (b"Content-Type: multipart/mixed; boundary=\"XX\"\n\npreamble\n--XX\n"
           b"Content-Type: text/plain; charset=iso-2022-jp\n\n\x1b$B$3$s$K$A$O\x1b(B\n--XX\n"
           b"Content-Type: application/octet-stream; name=\"a.bin\"\n"
           b"Content-Transfer-Encoding: base64\n\naGVsbG8=\n--XX--\nepilogue\n")
    parsed = mime.parse(raw)
    assert [p.content_type for p in parsed.parts] == ["text/plain", "application/octet-stream"]
    assert charset.decode(parsed.parts[0].body, parsed.parts[0].charset) == "こんにちは"
    assert parsed.parts[1].filename == "a.bin" and parsed.parts[1].body == b"hello"


@FAST
@given(st.binary(max_size=4000))
def test_parse_never_raises_on_bytes(raw: bytes) -> None:
    """Arbitrary bytes parse without an exception."""
    parsed = mime.parse(raw)
    assert len(parsed.parts) <= 500


@FAST
@given(st.lists(MIME_PIECES | st.binary(max_size=40), max_size=60))
def test_parse_never_raises_on_mime_like_input(pieces: list[bytes]) -> None:
    """Shuffled MIME fragments parse, and the whole analysis gives a verdict."""
    raw = b"".join(pieces)
    mime.parse(raw)
    verdict = analyze_message(raw, CTX)
    assert verdict.verdict in ("clean", "suspicious", "phishing", "bec", "malware")
    assert verdict.error == ""


def test_thousand_deep_nesting_is_cut() -> None:
    """1,000 nested multiparts stop at the depth limit, quickly, with a defect."""
    raw = b"".join(b"Content-Type: multipart/mixed; boundary=b%d\n\n--b%d\n" % (i, i)
                   for i in range(1000)) + b"Content-Type: text/plain\n\nend\n"
    started = time.perf_counter()
    verdict = analyze_message(raw, CTX)
    assert time.perf_counter() - started < 2
    assert "mime_anomaly" in [r.signal for r in verdict.reasons]
    assert "nesting_too_deep" in mime.parse(raw).defects


def test_thousand_deep_attached_messages_are_cut() -> None:
    """1,000 nested message/rfc822 parts stop at the depth limit."""
    raw = b"Content-Type: message/rfc822\n\n" * 1000 + b"Subject: x\n\nbody\n"
    parsed = mime.parse(raw)
    assert "nesting_too_deep" in parsed.defects
    assert len(parsed.attached) <= mime.Limits().max_depth


def test_ten_megabyte_headers_are_bounded() -> None:
    """A 10 MB header block is read up to the limit, in bounded time and memory."""
    raw = b"From: a@b.example\r\nX-Junk: " + b"A" * (10 * 1024 * 1024) + b"\r\n\r\nbody\r\n"
    tracemalloc.start()
    started = time.perf_counter()
    verdict = analyze_message(raw, CTX)
    elapsed = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert elapsed < 3
    assert peak < 100 * 1024 * 1024
    assert "mime_anomaly" in [r.signal for r in verdict.reasons]


def test_many_header_lines_are_bounded() -> None:
    """A million tiny header lines are cut at the field limit."""
    raw = b"X: y\n" * 1_000_000 + b"\nbody"
    started = time.perf_counter()
    parsed = mime.parse(raw)
    assert time.perf_counter() - started < 3
    assert len(parsed.headers.fields) <= headers.MAX_FIELDS


def test_too_many_parts_are_cut() -> None:
    """A multipart with 100,000 parts is read up to the part limit."""
    raw = (b"Content-Type: multipart/mixed; boundary=b\n\n"
           + b"--b\nContent-Type: text/plain\n\nx\n" * 100_000 + b"--b--\n")
    started = time.perf_counter()
    parsed = mime.parse(raw)
    assert time.perf_counter() - started < 3
    assert len(parsed.parts) <= 500 and "too_many_parts" in parsed.defects


def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buf.getvalue()


def _attach(name: str, data: bytes, ctype: str = "application/octet-stream") -> bytes:
    body = base64.encodebytes(data)
    return (b"From: x@sender.example\nTo: y@example.jp\nSubject: files\n"
            b"Content-Type: multipart/mixed; boundary=zz\n\n--zz\nContent-Type: text/plain\n\n"
            b"see attached\n--zz\nContent-Type: " + ctype.encode() + b"; name=\"" + name.encode()
            + b"\"\nContent-Transfer-Encoding: base64\n\n" + body + b"\n--zz--\n")


def test_zip_bomb_stops_at_the_budget() -> None:
    """A member inflating to 256 MiB (claiming 1 GiB) is decompressed only up to the
    message's budget, in bounded time and memory."""
    deflate = zlib.compressobj(1, zlib.DEFLATED, -15)
    zeros = b"\0" * (1024 * 1024)
    stream = b"".join(deflate.compress(zeros) for _ in range(256)) + deflate.flush()
    name = b"bomb.bin"
    local = struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0, 0, len(stream),
                        1 << 30, len(name), 0) + name
    central = struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 8, 0, 0, 0,
                          len(stream), 1 << 30, len(name), 0, 0, 0, 0, 0, 0) + name
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 1, 1, len(central),
                      len(local) + len(stream), 0)
    archive = local + stream + central + end
    tracemalloc.start()
    started = time.perf_counter()
    verdict = analyze_message(_attach("bomb.zip", archive, "application/zip"), CTX)
    elapsed = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert len(stream) < 2 * 1024 * 1024
    assert elapsed < 5
    assert peak < 200 * 1024 * 1024
    assert verdict.error == ""
    anomaly = [r for r in verdict.reasons if r.signal == "mime_anomaly"]
    assert anomaly and "inflate_budget" in anomaly[0].evidence["defects"]


def test_nested_zip_quine_like_depth_is_bounded() -> None:
    """Zips nested 50 deep are followed only a few levels and reported as nested archives."""
    data = b"payload"
    for i in range(50):
        data = _zip({f"level{i}.zip": data})
    verdict = analyze_message(_attach("deep.zip", data, "application/zip"), CTX)
    assert "nested_archive" in [r.signal for r in verdict.reasons]


def test_zip_with_many_members_is_listed_up_to_the_limit() -> None:
    """A zip with 5,000 members lists at most the configured number."""
    data = _zip({f"f{i}.txt": b"x" for i in range(5000)})
    found, more = zipread.members(data, 1000)
    assert len(found) == 1000 and more


@FAST
@given(st.binary(max_size=3000))
def test_zip_and_ole_readers_never_raise(data: bytes) -> None:
    """The zip and OLE directory readers accept any bytes."""
    for blob in (data, b"PK\x03\x04" + data, b"PK\x05\x06" + data,
                 cfb.SIGNATURE + data, data + b"PK\x05\x06" + b"\0" * 18):
        entries, _ = zipread.members(blob, 100)
        for entry in entries:
            zipread.read(blob, entry, zipread.Budget(1 << 20), 1 << 20)
        cfb.names(blob)


@FAST
@given(st.binary(max_size=500), st.sampled_from([
    "", "utf-8", "iso-2022-jp", "shift_jis", "euc-jp", "x-unknown", "unicode_escape",
    "rot13", "zlib", "base64", "utf-16", "idna", "iso-8859-1*sv", "\0", "gb2312", "big5",
    "ks_c_5601-1987", "windows-31j", "cp932", "utf-7", "hz", "undefined", "a" * 200]))
def test_charset_decoding_never_raises(data: bytes, declared: str) -> None:
    """Any bytes under any declared charset (real, unknown or hostile) give text."""
    assert isinstance(charset.decode(data, declared), str)


def test_invalid_and_hostile_charsets_fall_back() -> None:
    """Codecs that are not charsets are refused; mislabelled Japanese is recognised."""
    assert charset.codec_for("unicode_escape") == ""
    assert charset.codec_for("rot13") == ""
    assert charset.codec_for("zlib") == ""
    euc = "こんにちは、世界".encode("euc_jp")
    assert charset.decode(euc, "iso-2022-jp") == "こんにちは、世界"
    sjis = "請求書のご送付".encode("cp932")
    assert charset.decode(sjis, "no-such-charset") == "請求書のご送付"
    assert charset.decode("①髙".encode("cp932"), "shift_jis") == "①髙"


@FAST
@given(st.text(max_size=300))
def test_header_values_never_raise(value: str) -> None:
    """Encoded words, parameters and address lists accept any text."""
    headers.decode_words(value)
    headers.params(value)
    headers.content_type(value)
    addresses.parse(value)
    authresults.parse(value)


def test_encoded_words_decode() -> None:
    """RFC 2047 words in ISO-2022-JP, UTF-8 and Q encoding are decoded; junk is kept."""
    word = base64.b64encode("依頼します".encode("iso2022_jp")).decode()
    assert headers.decode_words(f"=?ISO-2022-JP?B?{word}?=") == "依頼します"
    assert headers.decode_words("=?utf-8?q?caf=C3=A9?= =?utf-8?q?_ok?=") == "café ok"
    assert headers.decode_words("=?bogus?x?abc?=") == "=?bogus?x?abc?="


def test_rfc2231_parameters() -> None:
    """Continued and charset-encoded parameters (RFC 2231) are joined and decoded."""
    found = headers.params("attachment; filename*0*=utf-8''%E8%AB%8B%E6%B1%82; "
                           "filename*1*=%E6%9B%B8.pdf")
    assert found["filename"] == "請求書.pdf"


@FAST
@given(st.text(max_size=2000))
def test_html_never_raises(source: str) -> None:
    """Any text parses as HTML into text, links and forms."""
    doc = html.parse(source)
    assert len(doc.anchors) <= html.MAX_LINKS


def test_html_pathological_markup_is_linear() -> None:
    """Unclosed tags, quotes and comments do not make the scan quadratic."""
    for source in ("<a " * 200_000, "<!--" * 200_000, "<a href='" * 100_000,
                   "<script>" + "x" * 1_000_000, "<" * 500_000):
        started = time.perf_counter()
        html.parse(source)
        assert time.perf_counter() - started < 2, source[:20]


def test_html_links_forms_and_text() -> None:
    """Visible text, each link's shown text and target, and password forms are found."""
    doc = html.parse("<p>Dear user</p><a href='https://evil.example/x'>https://bank.example"
                     "</a><form action='https://evil.example/p'><input type=password "
                     "name=pw></form><script>var s = 1</script>")
    assert doc.anchors[0].href == "https://evil.example/x"
    assert doc.anchors[0].text == "https://bank.example"
    assert doc.forms[0].password and "Dear user" in doc.text and "var s" not in doc.text


@FAST
@given(st.text(max_size=300))
def test_urls_never_raise(text: str) -> None:
    """Any text yields URLs that split without an exception."""
    for found in urls.find(text):
        urls.split(found)
    urls.split(text)
    urls.domains_in(text)


def test_url_tricks_are_seen_through() -> None:
    """Userinfo, numeric IPs and punycode hosts are taken apart as a browser would."""
    url = urls.split("https://paypal.com@3232235777/login")
    assert url is not None and url.userinfo == "paypal.com" and url.ip == "192.168.1.1"
    assert urls.ip_of("0x7f.1") == "127.0.0.1"
    idn = urls.split("https://xn--robnhood-e2a.com/")
    assert idn is not None and idn.host == "robínhood.com"


def test_authentication_results_parse() -> None:
    """Methods, results and properties are read; comments and quoted reasons are skipped."""
    parsed = authresults.parse('mx.example.jp 1; spf=fail reason (BAH) = "a (b; c" '
                               "smtp.mailfrom=x.example; dkim=pass (good) header.d=y.example; "
                               "dmarc=fail header.from=y.example")
    assert parsed is not None and parsed.authserv_id == "mx.example.jp"
    assert [(r.method, r.result) for r in parsed.results] == [
        ("spf", "fail"), ("dkim", "pass"), ("dmarc", "fail")]
    assert parsed.results[2].domain() == "y.example"


def test_truncated_and_unclosed_multipart() -> None:
    """A multipart cut short still yields its parts and says so."""
    raw = (b"Content-Type: multipart/alternative; boundary=q\n\n--q\nContent-Type: text/plain"
           b"\n\nfirst\n--q\nContent-Type: text/html\n\n<p>second")
    parsed = mime.parse(raw)
    assert len(parsed.parts) == 2 and "multipart_not_closed" in parsed.defects


def test_message_size_limit() -> None:
    """A message larger than the limit is read up to it, with a defect."""
    parsed = mime.parse(b"Subject: x\n\n" + b"y" * 5000, mime.Limits(max_bytes=1024))
    assert "message_truncated" in parsed.defects and parsed.parts[0].body.count(b"y") < 1024
