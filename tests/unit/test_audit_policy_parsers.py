"""The MTA-STS record and policy, MX pattern, TLS-RPT, BIMI, TLSA and HTTP answer parsers:
properties over generated input (Hypothesis) and the precise problems they report."""

from __future__ import annotations

import asyncio
import time

import dns.flags
import dns.message
import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rrset
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from mailwarden.audit.bimi import is_bimi_text, parse_bimi
from mailwarden.audit.dane import DIGEST_SIZE, UNUSABLE, tlsa_problems
from mailwarden.audit.dns_wire import WireError, parse_reply
from mailwarden.audit.https_fetch import Fetched, HttpError, read_response
from mailwarden.audit.mta_sts_record import (
    MAX_AGE_LIMIT,
    MODES,
    is_sts_text,
    mx_matches,
    parse_policy,
    parse_sts_record,
    valid_pattern,
)
from mailwarden.audit.tls_rpt import is_tlsrpt_text, parse_tlsrpt

STS_CODES = {"version", "syntax", "id_syntax", "id_missing", "duplicate_field",
             "unknown_field"}
POLICY_CODES = {"line_syntax", "too_many_lines", "field_case", "unknown_field",
                "duplicate_field", "bad_version", "bad_mode", "bad_max_age", "bad_mx",
                "missing_field"}
TLSRPT_CODES = {"version", "syntax", "rua_missing", "bad_uri", "duplicate_field",
                "unknown_field"}
BIMI_CODES = {"version", "tag_syntax", "duplicate_tag", "unknown_tag", "bad_value",
              "not_https", "not_svg"}

# -- strategies ------------------------------------------------------------------------------

ws = st.sampled_from(["", " ", "\t", "  "])
labels = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?", fullmatch=True)
domains = st.lists(labels, min_size=2, max_size=4).map(".".join)
ids = st.from_regex(r"[A-Za-z0-9]{1,32}", fullmatch=True)
ext_names = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,10}", fullmatch=True)
ext_values = st.from_regex(r"[\x21-\x3a\x3c\x3e-\x7e]{1,20}", fullmatch=True)
patterns = st.one_of(domains, domains.map(lambda d: "*." + d))
mail_uris = st.tuples(st.from_regex(r"[a-z0-9][a-z0-9.+-]{0,10}", fullmatch=True),
                      domains).map(lambda t: f"mailto:{t[0]}@{t[1]}")
https_uris = st.tuples(domains, st.from_regex(r"(/[a-z0-9]{1,8}){0,3}", fullmatch=True)).map(
    lambda t: f"https://{t[0]}{t[1]}")


@st.composite
def sts_records(draw: st.DrawFn) -> tuple[str, str]:
    """A valid _mta-sts record with extensions in any place, and its id."""
    record_id = draw(ids)
    fields = [f"id={record_id}"]
    for name, value in draw(st.lists(st.tuples(ext_names, ext_values), max_size=3)):
        assume(name != "id")
        fields.insert(draw(st.integers(0, len(fields))), f"{name}={value}")
    names = [f.split("=", 1)[0] for f in fields]
    assume(len(set(names)) == len(names))
    delimiter = draw(ws) + ";" + draw(ws)
    trailer = draw(st.sampled_from(["", ";", " ;", "; "]))
    return "v=STSv1" + delimiter + delimiter.join(fields) + trailer, record_id


@st.composite
def policies(draw: st.DrawFn) -> tuple[str, dict[str, object]]:
    """A valid policy, fields in any order, CRLF or LF, and its values."""
    mode = draw(st.sampled_from(MODES))
    max_age = draw(st.integers(0, MAX_AGE_LIMIT))
    mx = draw(st.lists(patterns, min_size=1, max_size=4))
    lines = [f"version:{draw(ws)}STSv1", f"mode:{draw(ws)}{mode}",
             f"max_age:{draw(ws)}{max_age}", *(f"mx:{draw(ws)}{p}" for p in mx)]
    order = draw(st.permutations(lines))
    ending = draw(st.sampled_from(["\r\n", "\n"]))
    text = ending.join(order) + draw(st.sampled_from(["", ending]))
    return text, {"mode": mode, "max_age": max_age, "mx": mx}


# -- MTA-STS record ---------------------------------------------------------------------------


@given(st.text(max_size=200))
@settings(max_examples=400)
def test_sts_record_parser_never_raises(text: str) -> None:
    """Any text parses without an exception; problems carry known codes and offsets."""
    record = parse_sts_record(text)
    assert {p.code for p in record.problems} <= STS_CODES
    assert record.is_sts == is_sts_text(text)
    assert all(-1 <= p.offset <= len(text) for p in record.problems)
    assert record.id is None or (1 <= len(record.id) <= 32 and record.id.isalnum())
    assert not record.valid or record.id is not None


@given(sts_records())
@settings(max_examples=300)
def test_valid_sts_records_round_trip(case: tuple[str, str]) -> None:
    """Every valid record parses with its id; extensions are only 'unknown_field' notes."""
    text, record_id = case
    record = parse_sts_record(text)
    assert record.valid, record.problems
    assert record.id == record_id
    assert {p.code for p in record.problems} <= {"unknown_field"}


@given(sts_records(), st.from_regex(r"[A-Za-z0-9]{0,10}[^A-Za-z0-9;= \t][A-Za-z0-9]{0,5}",
                                    fullmatch=True))
def test_a_bad_id_is_reported_where_it_is(case: tuple[str, str], bad: str) -> None:
    """An id with a character outside letters and digits makes the record invalid, and the
    problem's offset points at that id (or the break in the grammar)."""
    text, record_id = case
    broken = text.replace(f"id={record_id}", f"id={bad}", 1)
    record = parse_sts_record(broken)
    assert not record.valid
    problem = next(p for p in record.problems if p.code in ("id_syntax", "syntax"))
    assert broken[problem.offset:].startswith(problem.value[:1] or "")


@given(sts_records())
def test_an_sts_record_needs_an_id(case: tuple[str, str]) -> None:
    """Without id= the record is invalid ('id_missing')."""
    text, record_id = case
    stripped = text.replace(f"id={record_id}", f"xid={record_id}", 1)
    record = parse_sts_record(stripped)
    assert not record.valid and any(p.code == "id_missing" for p in record.problems)


def test_sts_record_examples() -> None:
    """Concrete cases: the RFC example, a wrong version, spaces around '=', ';;'."""
    assert parse_sts_record("v=STSv1; id=20160831085700Z;").id == "20160831085700Z"
    assert not parse_sts_record("v=STSv2; id=1").is_sts
    assert not parse_sts_record("v=STSv1; id = 1").valid
    assert not parse_sts_record("v=STSv1;; id=1").valid
    assert not parse_sts_record("v=STSv1").valid
    assert parse_sts_record("v=STSv1; id=" + "a" * 33).problems[0].code == "id_syntax"


# -- MTA-STS policy ---------------------------------------------------------------------------


@given(st.text(max_size=400))
@settings(max_examples=400)
def test_policy_parser_never_raises(text: str) -> None:
    """Any text parses without an exception into values the grammar allows."""
    policy = parse_policy(text)
    assert {p.code for p in policy.problems} <= POLICY_CODES
    assert policy.mode in (None, *MODES)
    assert policy.max_age is None or 0 <= policy.max_age <= MAX_AGE_LIMIT
    assert all(valid_pattern(p) for p in policy.mx)
    assert not policy.valid or policy.version == "STSv1"


@given(policies())
@settings(max_examples=300)
def test_valid_policies_round_trip(case: tuple[str, dict[str, object]]) -> None:
    """Every valid policy, in any order and line ending, parses to its values, no problem."""
    text, values = case
    policy = parse_policy(text)
    assert policy.valid and policy.problems == []
    assert policy.mode == values["mode"] and policy.max_age == values["max_age"]
    assert sorted(policy.mx) == sorted(values["mx"])  # type: ignore[call-overload]


@given(policies(), st.integers(MAX_AGE_LIMIT + 1, 10**10 - 1))
def test_max_age_over_a_year_is_invalid(case: tuple[str, dict[str, object]],
                                        age: int) -> None:
    """max_age above 31557600 is a bad value, reported on its line; the policy is invalid."""
    text, _ = case
    broken = _replace_field(text, "max_age", str(age))
    policy = parse_policy(broken)
    problem = policy.problem("bad_max_age")
    assert problem is not None and problem.value == str(age)
    assert broken.split("\n")[problem.offset - 1].startswith("max_age:")
    assert not policy.valid


def _replace_field(text: str, name: str, value: str) -> str:
    lines = text.split("\n")
    for i, line in enumerate(lines):
        if line.startswith(f"{name}:"):
            lines[i] = f"{name}: {value}" + ("\r" if line.endswith("\r") else "")
    return "\n".join(lines)


@given(policies())
def test_field_names_are_case_sensitive(case: tuple[str, dict[str, object]]) -> None:
    """'Mode:' is not 'mode:': it is reported and the mode counts as missing."""
    text, _ = case
    policy = parse_policy(text.replace("mode:", "Mode:", 1))
    assert policy.mode is None and policy.problem("field_case") is not None
    assert policy.problem("missing_field") is not None and not policy.valid


def test_policy_examples() -> None:
    """The RFC 8461 example; mode none needs no mx; a line without ':' is reported."""
    example = "version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\n" \
              "mx: *.example.net\r\nmx: backupmx.example.com\r\nmax_age: 604800\r\n"
    policy = parse_policy(example)
    assert policy.valid and policy.mx == ["mail.example.com", "*.example.net",
                                          "backupmx.example.com"]
    assert parse_policy("version: STSv1\nmode: none\nmax_age: 0\n").valid
    broken = parse_policy("version: STSv1\nmode enforce\nmax_age: 86400\nmx: a.example\n")
    line = broken.problem("line_syntax")
    assert line is not None and line.offset == 2
    assert not parse_policy("version: STSv1\nmode: enforce\nmax_age: 86400\n").valid
    assert parse_policy("mx: *.*.example\nmx: *.com\nmx: -a.example").mx == []


# -- MX patterns ------------------------------------------------------------------------------


@given(domains, labels)
def test_a_wildcard_matches_exactly_one_label(domain: str, label: str) -> None:
    """'*.d' matches 'x.d' for one label x, never 'd' itself nor 'y.x.d'."""
    assert mx_matches(f"*.{domain}", f"{label}.{domain}")
    assert mx_matches(f"*.{domain}".upper(), f"{label}.{domain}.")
    assert not mx_matches(f"*.{domain}", domain)
    assert not mx_matches(f"*.{domain}", f"{label}.{label}.{domain}")


@given(domains, domains)
def test_a_plain_pattern_matches_only_itself(pattern: str, host: str) -> None:
    """A pattern without '*' matches a host exactly when the names are equal."""
    assert mx_matches(pattern, host) == (pattern == host)
    assert mx_matches(pattern.upper() + ".", pattern)


# -- TLS-RPT ----------------------------------------------------------------------------------


@st.composite
def tlsrpt_records(draw: st.DrawFn) -> tuple[str, list[str]]:
    uris = draw(st.lists(st.one_of(mail_uris, https_uris), min_size=1, max_size=3,
                         unique=True))
    comma = draw(ws) + "," + draw(ws)
    delimiter = draw(ws) + ";" + draw(ws)
    fields = [f"rua={comma.join(uris)}"]
    if draw(st.booleans()):
        fields.append(f"{draw(ext_names.filter(lambda n: n != 'rua'))}={draw(ext_values)}")
    text = "v=TLSRPTv1" + delimiter + delimiter.join(fields) + draw(
        st.sampled_from(["", ";"]))
    return text, uris


@given(st.text(max_size=200))
@settings(max_examples=400)
def test_tlsrpt_parser_never_raises(text: str) -> None:
    """Any text parses without an exception; only mailto/https destinations are kept."""
    record = parse_tlsrpt(text)
    assert {p.code for p in record.problems} <= TLSRPT_CODES
    assert record.is_tlsrpt == is_tlsrpt_text(text)
    assert all(u.scheme in ("mailto", "https") for u in record.rua)


@given(tlsrpt_records())
@settings(max_examples=300)
def test_valid_tlsrpt_records_round_trip(case: tuple[str, list[str]]) -> None:
    """Every valid record parses with its destinations in order."""
    text, uris = case
    record = parse_tlsrpt(text)
    assert record.valid, record.problems
    assert [u.raw for u in record.rua] == uris


def test_tlsrpt_examples() -> None:
    """The RFC 8460 examples; http:, a bare address and a missing rua are reported."""
    assert parse_tlsrpt("v=TLSRPTv1;rua=mailto:reports@example.com").valid
    assert parse_tlsrpt("v=TLSRPTv1; rua=https://reporting.example.com/v1/tlsrpt").valid
    bad = parse_tlsrpt("v=TLSRPTv1; rua=http://x.example/r,reports@example.com")
    assert not bad.valid and [p.code for p in bad.problems] == ["bad_uri", "bad_uri"]
    assert [p.code for p in parse_tlsrpt("v=TLSRPTv1; x=1").problems] == [
        "unknown_field", "rua_missing"]
    assert not parse_tlsrpt("v=TLSRPTv2; rua=mailto:a@b.example").is_tlsrpt


# -- BIMI -------------------------------------------------------------------------------------


@given(st.text(max_size=200))
@settings(max_examples=400)
def test_bimi_parser_never_raises(text: str) -> None:
    """Any text parses without an exception into known problem codes."""
    record = parse_bimi(text)
    assert {p.code for p in record.problems} <= BIMI_CODES
    assert record.is_bimi == is_bimi_text(text)


@given(https_uris, https_uris, ws)
def test_valid_bimi_records_round_trip(logo: str, evidence: str, space: str) -> None:
    """l= an https SVG and a= an https PEM parse without problems."""
    text = f"v=BIMI1;{space}l={logo}/logo.svg;{space}a={evidence}/vmc.pem"
    record = parse_bimi(text)
    assert record.is_bimi and record.problems == []
    assert record.location == f"{logo}/logo.svg" and record.evidence == f"{evidence}/vmc.pem"
    assert not record.declined


def test_bimi_examples() -> None:
    """Declination, http:, a logo that is not SVG, a wrong version."""
    assert parse_bimi("v=BIMI1; l=; a=;").declined
    codes = [p.code for p in parse_bimi("v=BIMI1; l=http://x.example/l.svg; a=").problems]
    assert codes == ["not_https"]
    assert [p.code for p in parse_bimi("v=BIMI1; l=https://x.example/l.png").problems] == [
        "not_svg"]
    assert not parse_bimi("v=BIMI2; l=https://x.example/l.svg").is_bimi


# -- TLSA -------------------------------------------------------------------------------------


@given(st.integers(0, 255), st.integers(0, 255), st.integers(0, 255),
       st.binary(max_size=100))
def test_tlsa_judgement_never_raises(usage: int, selector: int, mtype: int,
                                     data: bytes) -> None:
    """Any field values are judged; a known digest type with the right length is not
    reported for its length."""
    problems = tlsa_problems(usage, selector, mtype, data)
    assert ("digest_length" in problems) == (
        mtype in DIGEST_SIZE and len(data) != DIGEST_SIZE[mtype])
    assert ("pkix_usage" in problems) == (usage in (0, 1))


@given(st.sampled_from([2, 3]), st.sampled_from([0, 1]), st.sampled_from([1, 2]),
       st.data())
def test_dane_records_with_digests_are_sound(usage: int, selector: int, mtype: int,
                                             data: st.DataObject) -> None:
    """DANE-TA/DANE-EE with a SHA-256/512 digest of the right size has no problem."""
    digest = data.draw(st.binary(min_size=DIGEST_SIZE[mtype], max_size=DIGEST_SIZE[mtype]))
    assert tlsa_problems(usage, selector, mtype, digest) == []
    assert not set(tlsa_problems(usage, selector, 0, digest)) & set(UNUSABLE)


# -- HTTP answers -----------------------------------------------------------------------------


def _read(data: bytes, limit: int = 1000) -> tuple[Fetched, BaseException | None]:
    async def run() -> tuple[Fetched, BaseException | None]:
        reader = asyncio.StreamReader()
        reader.feed_data(data)
        reader.feed_eof()
        result = Fetched("https://x.example/")
        try:
            await read_response(reader, result, limit)
        except (HttpError, asyncio.IncompleteReadError) as exc:
            return result, exc
        return result, None

    return asyncio.run(run())


@given(st.binary(max_size=300))
@settings(max_examples=300)
def test_http_reader_only_raises_its_errors(data: bytes) -> None:
    """Any bytes end in a result or an HttpError / IncompleteReadError, nothing else."""
    result, _error = _read(data)
    assert len(result.body) <= 1000


@given(st.binary(max_size=3000), st.integers(1, 500), st.sampled_from(["length", "chunked",
                                                                        "close"]))
@settings(max_examples=200)
def test_http_bodies_are_read_and_capped(body: bytes, chunk: int, framing: str) -> None:
    """A 200 body in any framing reads back whole, or capped at the limit and flagged."""
    head = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
    if framing == "length":
        data = head + b"Content-Length: %d\r\n\r\n" % len(body) + body
    elif framing == "chunked":
        chunks = b"".join(b"%x\r\n" % len(body[i:i + chunk]) + body[i:i + chunk] + b"\r\n"
                          for i in range(0, len(body), chunk))
        data = head + b"Transfer-Encoding: chunked\r\n\r\n" + chunks + b"0\r\n\r\n"
    else:
        data = head + b"\r\n" + body
    result, error = _read(data)
    assert error is None and result.status == 200
    assert result.body == body[:1000] and result.too_large == (len(body) > 1000)
    assert result.content_type == "text/plain"


def test_http_redirect_is_not_read_further() -> None:
    """A 301 keeps its status and Location and reads no body."""
    result, error = _read(b"HTTP/1.1 301 Moved\r\nLocation: https://evil.example/\r\n"
                          b"Content-Length: 5\r\n\r\nhello")
    assert error is None and result.status == 301 and result.body == b""
    assert result.headers["location"] == "https://evil.example/"
    _, error = _read(b"SSH-2.0-OpenSSH\r\n\r\n")
    assert isinstance(error, HttpError)


# -- DNS replies read from the wire ------------------------------------------------------------


@given(st.binary(max_size=300))
@settings(max_examples=400)
def test_wire_reader_only_raises_wire_errors(data: bytes) -> None:
    """Any bytes are a reply or a WireError, never another exception."""
    try:
        reply = parse_reply(data)
    except WireError:
        return
    assert 0 <= reply.rcode <= 15 and len(reply.answers) <= 64


@given(domains, st.lists(st.tuples(st.integers(0, 255), st.integers(0, 255),
                                   st.integers(0, 255), st.binary(max_size=80)),
                         min_size=1, max_size=5),
       st.booleans(), st.sampled_from([0, 2, 3]))
@settings(max_examples=200)
def test_wire_reader_reads_what_dnspython_wrote(host: str, records: list[
        tuple[int, int, int, bytes]], ad: bool, rcode: int) -> None:
    """TLSA records of any content (also digests of the wrong length, which dnspython itself
    refuses to read) come back byte for byte, with the rcode and the AD flag, behind a
    compressed owner name and next to another record type."""
    name = f"_25._tcp.{host}"
    query = dns.message.make_query(name, "TLSA")
    response = dns.message.make_response(query)
    response.set_rcode(rcode)
    if ad:
        response.flags |= dns.flags.AD
    tlsa = dns.rrset.RRset(dns.name.from_text(name), dns.rdataclass.IN, dns.rdatatype.TLSA)
    for usage, selector, mtype, data in records:
        tlsa.add(dns.rdata.GenericRdata(dns.rdataclass.IN, dns.rdatatype.TLSA,
                                        bytes([usage, selector, mtype]) + data))
    response.answer.append(tlsa)
    response.answer.append(dns.rrset.from_text(name + ".", 300, "IN", "TXT", '"x"'))
    reply = parse_reply(response.to_wire())
    assert reply.rcode == rcode and reply.ad == ad and not reply.tc
    assert sorted(reply.of_type("TLSA")) == sorted(
        {bytes([u, s, m]) + d for u, s, m, d in records})
    assert reply.of_type("TXT") == [b"\x01x"]


def test_hostile_policy_lines_and_chunks() -> None:
    """A 60 KB line of spaces in a policy parses at once (no backtracking); a negative chunk
    size is an HttpError, not a crash."""
    started = time.monotonic()
    policy = parse_policy("mode:x" + " " * 60_000 + "y\n" + "mx: " + "a" * 60_000 + "\n")
    assert time.monotonic() - started < 1.0
    assert policy.problem("bad_mode") is not None and policy.problem("bad_mx") is not None
    _, error = _read(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n-1\r\nxx")
    assert isinstance(error, HttpError)
