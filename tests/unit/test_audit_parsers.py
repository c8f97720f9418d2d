"""The DMARC record, DKIM key record, DER key and Public Suffix List parsers: properties over
generated input (Hypothesis) and the precise errors they report."""

from __future__ import annotations

import base64
import re

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from mailwarden.audit.der import DerError, parse_public_key
from mailwarden.audit.dkim_record import key_info, parse_dkim_key
from mailwarden.audit.dmarc_record import (
    KNOWN,
    POLICIES,
    is_dmarc_text,
    parse_dmarc,
    parse_uri,
)
from mailwarden.audit.psl import PublicSuffixList

DMARC_CODES = {"too_long", "version", "tag_syntax", "duplicate_tag", "bad_value",
               "empty_value", "bad_uri", "uri_size", "unknown_tag", "removed_tag",
               "p_missing", "p_not_second", "fo_without_ruf"}
DKIM_CODES = {"tag_syntax", "duplicate_tag", "version", "no_key", "key_type_unknown",
              "sha1_only", "service", "unknown_tag"}

# -- DER helpers (an encoder written for the tests, independent of the reader) --------------


def der(tag: int, content: bytes) -> bytes:
    n = len(content)
    if n < 0x80:
        return bytes([tag, n]) + content
    size = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(size)]) + size + content


def der_int(value: int) -> bytes:
    body = value.to_bytes(value.bit_length() // 8 + 1, "big")  # keeps a leading 0 if needed
    return der(0x02, body)


RSA_ALG = der(0x30, bytes.fromhex("06092a864886f70d010101") + b"\x05\x00")
ED_ALG = der(0x30, bytes.fromhex("06032b6570"))


def rsa_spki(bits: int, seed: int) -> bytes:
    modulus = (1 << (bits - 1)) | (seed % (1 << (bits - 1))) | 1
    key = der(0x30, der_int(modulus) + der_int(65537))
    return der(0x30, RSA_ALG + der(0x03, b"\x00" + key))


# -- strategies ------------------------------------------------------------------------------

ws = st.sampled_from(["", " ", "  ", "\t"])
labels = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?", fullmatch=True)
domains = st.lists(labels, min_size=2, max_size=4).map(".".join)
locals_ = st.from_regex(r"[a-z0-9][a-z0-9._+-]{0,15}", fullmatch=True)
addresses = st.tuples(locals_, domains).map(lambda t: f"{t[0]}@{t[1]}")


@st.composite
def dmarc_records(draw: st.DrawFn) -> tuple[str, dict[str, object]]:
    """A valid record, its text written with random spacing and tag order, and its values."""
    values: dict[str, object] = {"p": draw(st.sampled_from(POLICIES))}
    optional = {
        "sp": st.sampled_from(POLICIES), "np": st.sampled_from(POLICIES),
        "adkim": st.sampled_from("rs"), "aspf": st.sampled_from("rs"),
        "t": st.sampled_from("yn"), "psd": st.sampled_from("ynu"),
        "rua": st.lists(addresses, min_size=1, max_size=3),
    }
    for name in draw(st.lists(st.sampled_from(sorted(optional)), unique=True)):
        values[name] = draw(optional[name])
    parts = [f"p{draw(ws)}={draw(ws)}{values['p']}"]
    for name, value in values.items():
        if name == "p":
            continue
        text = ",".join(f"mailto:{a}" for a in value) if isinstance(value, list) else value
        parts.append(f"{name}={draw(ws)}{text}")
    separator = draw(ws) + ";" + draw(ws)
    trailer = draw(st.sampled_from(["", ";", "; "]))
    return f"v=DMARC1{separator}" + separator.join(parts) + trailer, values


# -- DMARC -----------------------------------------------------------------------------------


@given(st.text(max_size=300))
@settings(max_examples=400)
def test_dmarc_parser_never_raises_and_stays_in_range(text: str) -> None:
    """Any text parses without an exception into values the grammar allows."""
    record = parse_dmarc(text)
    assert record.p in (None, *POLICIES)
    assert record.sp in (None, *POLICIES) and record.np in (None, *POLICIES)
    assert record.adkim in "rs" and record.aspf in "rs" and record.t in "yn"
    assert record.psd in "ynu"
    assert record.pct is None or 0 <= record.pct <= 100
    assert {p.code for p in record.problems} <= DMARC_CODES
    assert record.policy in (*POLICIES, "absent")
    assert all(0 <= p.offset <= len(text) or p.offset == -1 for p in record.problems)


@given(st.text(alphabet="vV=DMARC1; \tpnoe", max_size=40))
@settings(max_examples=400)
def test_discovery_filter_agrees_with_the_parser(text: str) -> None:
    """A TXT string kept by discovery (v=DMARC1 first) is exactly one the parser accepts."""
    assert is_dmarc_text(text) == parse_dmarc(text).is_dmarc


@given(dmarc_records())
@settings(max_examples=300)
def test_valid_dmarc_records_round_trip(case: tuple[str, dict[str, object]]) -> None:
    """Every valid record, however spaced and ordered, parses to its values with no error."""
    text, values = case
    record = parse_dmarc(text)
    assert record.is_dmarc, record.problems
    assert record.problems == []
    for name, value in values.items():
        if name == "rua":
            assert [u.address for u in record.rua] == value
            assert all(u.valid and u.scheme == "mailto" for u in record.rua)
        else:
            assert getattr(record, name) == value


@given(dmarc_records(), st.from_regex(r"[a-z]{1,8}", fullmatch=True))
def test_a_bad_policy_is_reported_with_its_offset(case: tuple[str, dict[str, object]],
                                                 word: str) -> None:
    """p=<not a policy> is a bad_value problem whose offset points at the p tag."""
    assume(word not in POLICIES)
    text, values = case
    broken = re.sub(rf"\bp([ \t]*)=([ \t]*){values['p']}",
                    lambda m: f"p{m.group(1)}={m.group(2)}{word}", text, count=1)
    record = parse_dmarc(broken)
    problem = record.problem("bad_value")
    assert problem is not None and problem.tag == "p" and problem.value == word
    assert record.text[problem.offset:].startswith("p")
    assert record.p is None


@given(st.sampled_from(sorted(set(KNOWN) - {"v", "p"})), dmarc_records())
def test_duplicate_tags_keep_the_first_value(tag: str, case: tuple[str, dict[str, object]]
                                            ) -> None:
    """A repeated tag is reported and does not override the first occurrence."""
    text, _ = case
    record = parse_dmarc(f"v=DMARC1; p=reject; {tag}=first; {tag}=second")
    duplicate = record.problem("duplicate_tag")
    assert duplicate is not None and duplicate.tag == tag and duplicate.value == "second"
    assert record.tags[tag] == "first"
    assert parse_dmarc(text).problem("duplicate_tag") is None


def test_dmarc_errors_are_precise() -> None:
    """Each kind of mistake has its own problem code, tag, value and offset."""
    record = parse_dmarc("v=DMARC1; p=reject; rua=dmarc@example.com; pct=150; fo=2; x=1; ri")
    codes = {(p.code, p.tag): p for p in record.problems}
    assert "no URI scheme" in codes[("bad_uri", "rua")].expected
    assert codes[("bad_value", "pct")].value == "150"
    assert codes[("bad_value", "fo")].offset == record.text.index("fo=2")
    assert ("unknown_tag", "x") in codes
    assert codes[("tag_syntax", "ri")].offset == record.text.index("ri")
    assert ("removed_tag", "pct") in codes and ("fo_without_ruf", "fo") in codes
    assert parse_dmarc("v=DMARC1; rua=mailto:a@example.com; p=none").problem("p_not_second")
    missing_p = parse_dmarc("v=DMARC1; rua=mailto:a@example.com")
    assert missing_p.problem("p_missing") and missing_p.policy == "none"
    assert parse_dmarc("v=DMARC1; sp=reject").policy == "absent"


@given(st.sampled_from(["v=dmarc1; p=reject", "p=reject; v=DMARC1", "v=DMARC2; p=none",
                        "", "v=spf1 -all", " ; v=DMARC1"]))
def test_records_without_version_first_are_not_dmarc(text: str) -> None:
    """Receivers ignore a record unless v=DMARC1 (case-sensitive) comes first."""
    record = parse_dmarc(text)
    assert not record.is_dmarc and record.problem("version") is not None


@given(addresses, st.sampled_from(["", "!10m", "!500"]))
def test_report_uris(address: str, size: str) -> None:
    """mailto: URIs give their host; the RFC 7489 size suffix is kept apart."""
    uri = parse_uri(f"mailto:{address.upper()}{size}")
    assert uri.valid and uri.host == address.split("@")[1]
    assert uri.size == size.lstrip("!")
    assert not parse_uri(address).valid
    assert parse_uri(f"https://{address.split('@')[1]}/dmarc").host == address.split("@")[1]


# -- DKIM ------------------------------------------------------------------------------------


@given(st.text(max_size=300))
@settings(max_examples=400)
def test_dkim_parser_never_raises(text: str) -> None:
    """Any text parses without an exception; reading its key never raises either."""
    key = parse_dkim_key(text)
    assert {p.code for p in key.problems} <= DKIM_CODES
    info = key_info(key)
    assert info.error or info.key_type in ("rsa", "ed25519")


@given(st.binary(max_size=600))
@settings(max_examples=400)
def test_arbitrary_key_bytes_never_raise(data: bytes) -> None:
    """Random bytes in p= end in a key or a reason, never an exception."""
    b64 = base64.b64encode(data).decode()
    for k in ("rsa", "ed25519"):
        info = key_info(parse_dkim_key(f"v=DKIM1; k={k}; p={b64}"))
        assert bool(info.error) != bool(info.key_type)


@given(st.integers(min_value=512, max_value=4200), st.integers(min_value=0),
       st.sampled_from(["", " ", "\r\n\t"]))
@settings(max_examples=150)
def test_rsa_key_size_is_read_from_the_der(bits: int, seed: int, fold: str) -> None:
    """The modulus size of an RSA SubjectPublicKeyInfo is read exactly, even folded."""
    b64 = base64.b64encode(rsa_spki(bits, seed)).decode()
    folded = fold.join(b64[i:i + 60] for i in range(0, len(b64), 60))
    info = key_info(parse_dkim_key(f"v=DKIM1; k=rsa; h=sha256; p={folded}"))
    assert (info.key_type, info.bits, info.form, info.error) == ("rsa", bits, "spki", "")


@given(st.integers(min_value=1024, max_value=2048), st.integers(min_value=0), st.data())
def test_truncated_keys_are_errors(bits: int, seed: int, data: st.DataObject) -> None:
    """Every proper prefix of a key is reported as unreadable (a DerError inside)."""
    spki = rsa_spki(bits, seed)
    cut = data.draw(st.integers(min_value=0, max_value=len(spki) - 1))
    try:
        parse_public_key(spki[:cut])
    except DerError:
        pass
    else:
        raise AssertionError(f"prefix of {cut} bytes accepted")


@given(st.binary(min_size=32, max_size=32))
def test_ed25519_keys(raw: bytes) -> None:
    """A bare 32-byte key is Ed25519 (RFC 8463); wrapped in SPKI it is recognised as such."""
    info = key_info(parse_dkim_key(f"v=DKIM1; k=ed25519; p={base64.b64encode(raw).decode()}"))
    assert (info.key_type, info.form) == ("ed25519", "raw")
    spki = der(0x30, ED_ALG + der(0x03, b"\x00" + raw))
    wrapped = key_info(parse_dkim_key(f"k=ed25519; p={base64.b64encode(spki).decode()}"))
    assert (wrapped.key_type, wrapped.form) == ("ed25519", "spki")


def test_dkim_record_rules() -> None:
    """Flags, revocation, duplicates, version placement and restrictions are all read."""
    assert parse_dkim_key("v=DKIM1; p=").revoked
    assert parse_dkim_key("v=DKIM1; t=y:s; p=AAAA").testing
    assert not parse_dkim_key("p=AA; p=BB").valid
    assert not parse_dkim_key("k=rsa; v=DKIM1; p=AA").valid
    assert not parse_dkim_key("v=DKIM1; k=rsa").valid
    codes = {p.code for p in parse_dkim_key("v=DKIM1; h=sha1; s=tlsrpt; k=dsa; p=AA").problems}
    assert codes == {"sha1_only", "service", "key_type_unknown"}
    assert parse_dkim_key("v=DKIM1; h=sha1:sha256; s=*; p=AA").problems == []
    assert parse_dkim_key("v=DKIM1; p=AA; x_extra=1").unknown == ["x_extra"]


# -- Public Suffix List ----------------------------------------------------------------------

PSL_TEXT = """// comment
jp
co.jp
*.kawasaki.jp
!city.kawasaki.jp
com
"""


@given(st.lists(labels, min_size=0, max_size=3))
def test_public_suffix_rules(prefix: list[str]) -> None:
    """Longest rule, wildcard and exception rules give the RFC 7489 Organizational Domain."""
    psl = PublicSuffixList.parse(PSL_TEXT)
    head = ".".join(prefix)

    def org(suffix: str) -> str | None:
        return psl.organizational_domain(f"{head}.{suffix}" if head else suffix)

    expected = f"{prefix[-1]}." if prefix else None
    assert org("example.co.jp") == "example.co.jp"
    assert org("co.jp") == (f"{expected}co.jp" if expected else None)
    assert org("city.kawasaki.jp") == "city.kawasaki.jp"
    assert org("foo.kawasaki.jp") == (f"{expected}foo.kawasaki.jp" if expected else None)
    assert org("example.unlisted") == "example.unlisted"
