"""SPF record and macro parsing: the RFC 7208 grammar, exact error reasons, and properties
that hold for any input (never a crash, always a record or a clear permerror; expansion
bounded)."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailwarden.audit.spf_macro import (
    MAX_DOMAIN,
    MAX_EXPANSION,
    MacroEnv,
    expand,
    expand_domain,
    parse_domain_spec,
    parse_macro_string,
)
from mailwarden.audit.spf_parse import SpfSyntaxError, is_spf_record, parse_record

RFC_ENV = MacroEnv("strong-bad@email.example.com", "strong-bad", "email.example.com",
                   "email.example.com", ipaddress.ip_address("192.0.2.3"), "mx.example.org")


def test_mechanisms_and_modifiers() -> None:
    """A record with every mechanism parses into qualifiers, targets and CIDR lengths."""
    record = parse_record("v=spf1 +a -mx:mx.example.com/24//64 ~ptr ?include:_spf.example.net "
                          "ip4:192.0.2.0/24 ip6:2001:db8::/32 exists:%{i}.bl.example.org "
                          "all redirect=_spf.example.com exp=exp.example.com x-note=hello")
    kinds = [(m.qualifier, m.kind) for m in record.mechanisms]
    assert kinds == [("pass", "a"), ("fail", "mx"), ("softfail", "ptr"), ("neutral", "include"),
                     ("pass", "ip4"), ("pass", "ip6"), ("pass", "exists"), ("pass", "all")]
    assert (record.mechanisms[1].cidr4, record.mechanisms[1].cidr6) == (24, 64)
    assert str(record.mechanisms[5].network) == "2001:db8::/32"
    assert record.redirect is not None and record.redirect.value.text == "_spf.example.com"
    assert record.exp is not None and [m.name for m in record.unknown] == ["x-note"]
    assert record.dns_terms == 5  # a mx ptr include exists; redirect ignored because of all


def test_version_and_spaces() -> None:
    """'v=spf1' is case-insensitive, needs a space or the end after it; extra spaces are fine."""
    assert is_spf_record(b"V=SpF1 -all") and is_spf_record(b"v=spf1")
    assert not is_spf_record(b"v=spf10 -all") and not is_spf_record(b"v=spf1mx")
    assert len(parse_record("v=spf1  a   -all ").mechanisms) == 2


@pytest.mark.parametrize(("record", "fragment"), [
    ("v=spf1 ip4:1.2.3.4 -all moo", "unknown mechanism 'moo'"),
    ("v=spf1 -all.", "'all' takes no argument"),
    ("v=spf1 a/33", "/33 must be 0 to 32"),
    ("v=spf1 a//129", "/129 must be 0 to 128"),
    ("v=spf1 ip4:1.2.3.4/032", "without leading zeros"),
    ("v=spf1 ip4:1.2.3", "full IPv4 address"),
    ("v=spf1 ip6::CAFE::BABE", "full IPv6 address"),
    ("v=spf1 ip6:fe80::1%25eth0", "full IPv6 address"),
    ("v=spf1 a:museum", "must end in '.' and a top label"),
    ("v=spf1 a:111.222.33.44", "must end in '.' and a top label"),
    ("v=spf1 include", "needs ':' and a domain"),
    ("v=spf1 ptr/0", "takes only ':' and a domain"),
    ("v=spf1 redirect=a.example.com redirect=b.example.com", "more than once"),
    ("v=spf1 exp=", "needs a domain"),
    ("v=spf1 exists:%{a}.example.com", "is not a macro"),
    ("v=spf1 exists:%{r}.example.com", "only in explanation texts"),
    ("v=spf1 foo=%abc", "invalid macro '%abc'"),
    ("v=spf1 exists:%{d0}.example.com", "must not be zero"),
    ("v=spf1 1up=foo", "unknown term '1up=foo'"),
    ("v=spf1 a:ctrl.example.com\rptr", "byte 0x0D at position"),
])
def test_errors_name_the_term_and_the_reason(record: str, fragment: str) -> None:
    """Each syntax error is a permerror whose English and Japanese reason say what is wrong."""
    with pytest.raises(SpfSyntaxError) as caught:
        parse_record(record)
    assert fragment in caught.value.en
    assert caught.value.ja and caught.value.ja != caught.value.en


def test_non_ascii_bytes_are_a_clear_error() -> None:
    """Invalid UTF-8 (or any 8-bit byte) in a record is reported with its position."""
    with pytest.raises(SpfSyntaxError, match="byte 0xFF at position 9"):
        parse_record(b"v=spf1 a:\xff\xfe.example.com -all")


@pytest.mark.parametrize(("macro", "expected"), [
    ("%{s}", "strong-bad@email.example.com"), ("%{o}", "email.example.com"),
    ("%{d}", "email.example.com"), ("%{d4}", "email.example.com"),
    ("%{d3}", "email.example.com"), ("%{d2}", "example.com"), ("%{d1}", "com"),
    ("%{dr}", "com.example.email"), ("%{d2r}", "example.email"), ("%{l}", "strong-bad"),
    ("%{l-}", "strong.bad"), ("%{lr}", "strong-bad"), ("%{lr-}", "bad.strong"),
    ("%{l1r-}", "strong"),
    ("%{ir}.%{v}._spf.%{d2}", "3.2.0.192.in-addr._spf.example.com"),
    ("%{lr-}.lp._spf.%{d2}", "bad.strong.lp._spf.example.com"),
    ("%{lr-}.lp.%{ir}.%{v}._spf.%{d2}", "bad.strong.lp.3.2.0.192.in-addr._spf.example.com"),
    ("%{ir}.%{v}.%{l1r-}.lp._spf.%{d2}", "3.2.0.192.in-addr.strong.lp._spf.example.com"),
    ("%{d2}.trusted-domains.example.net", "example.com.trusted-domains.example.net"),
])
def test_rfc7208_section_7_4_examples(macro: str, expected: str) -> None:
    """The macro examples of RFC 7208 7.4 expand exactly as the RFC shows."""
    assert expand(parse_macro_string(macro), RFC_ENV) == expected


def test_ipv6_and_escaping_macros() -> None:
    """IPv6 %{i} is dotted nibbles; upper-case letters URL-escape; %% %_ %- are literals."""
    env = MacroEnv("a&b@x.example", "a&b", "x.example", "x.example",
                   ipaddress.ip_address("2001:db8::cb01"), "h")
    spec = parse_macro_string("%{ir}.%{v}._spf.%{d2}")
    assert expand(spec, env).lower() == ("1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d."
                                         "0.1.0.0.2.ip6._spf.x.example")
    assert expand(parse_macro_string("%{L}%%%_%-%{c}", explanation=True), env) == \
        "a%26b% %202001:db8::cb01"


def test_domain_truncation() -> None:
    """An expanded name over 253 characters loses labels on the left (RFC 7208 7.3)."""
    env = MacroEnv("x@" + "label." * 60 + "example.com", "x", "label." * 60 + "example.com",
                   "d.example", ipaddress.ip_address("192.0.2.1"), "h")
    name = expand_domain(parse_domain_spec("%{o}.%{o}.example.net"), env)
    assert len(name) <= MAX_DOMAIN and name.endswith("label.example.com.example.net")
    assert not name.startswith(".")


TERMS = st.sampled_from(["a", "mx", "ptr", "all", "-all", "~all", "?all", "+a:example.com",
                         "mx:mail.example.com/24", "a//64", "ip4:192.0.2.1", "ip4:10.0.0.0/8",
                         "ip6:2001:db8::/48", "include:_spf.example.net", "exists:%{i}.x.org",
                         "redirect=other.example", "exp=%{d2}.exp.example", "foo=bar%{h}"])


@given(st.lists(TERMS, max_size=20))
def test_grammatical_records_parse(terms: list[str]) -> None:
    """Records made of valid terms parse (or fail only for a duplicate modifier)."""
    text = " ".join(["v=spf1", *terms])
    try:
        record = parse_record(text)
    except SpfSyntaxError as exc:
        assert "more than once" in exc.en
        return
    modifiers = [t for t in terms if "=" in t and not t.startswith(("redirect=", "exp="))]
    assert len(record.mechanisms) + len(record.unknown) == len(terms) - sum(
        t.startswith(("redirect=", "exp=")) for t in terms)
    assert len(record.unknown) == len(modifiers)


@settings(max_examples=400)
@given(st.binary(max_size=600))
def test_arbitrary_bytes_parse_or_permerror(tail: bytes) -> None:
    """Any bytes after 'v=spf1 ' give a record or a SpfSyntaxError with both sentences."""
    try:
        parse_record(b"v=spf1 " + tail)
    except SpfSyntaxError as exc:
        assert exc.en and exc.ja


@settings(max_examples=400)
@given(st.text(max_size=300))
def test_arbitrary_text_parse_or_permerror(text: str) -> None:
    """Any text (any Unicode, with or without a version) gives a record or a clear error."""
    try:
        parse_record(text)
        parse_record("v=spf1 " + text)
    except SpfSyntaxError as exc:
        assert exc.en and exc.ja


MACRO_TEXT = st.text(alphabet=st.sampled_from(list("%{}slodipvhcrtSLODIPVH0123456789r.-+,/_="
                                                   "abc ")), max_size=120)


@settings(max_examples=400)
@given(MACRO_TEXT, st.text(max_size=300), st.booleans())
def test_macro_expansion_is_bounded(text: str, local: str, explanation: bool) -> None:
    """Any macro string parses or fails cleanly; expansions stay within their bounds."""
    env = MacroEnv(f"{local}@example.com", local, "example.com", "d.example.com",
                   ipaddress.ip_address("2001:db8::1"), local, timestamp=1)
    try:
        parsed = parse_macro_string(text, explanation=explanation)
    except SpfSyntaxError as exc:
        assert exc.en and exc.ja
        return
    assert len(expand(parsed, env)) <= MAX_EXPANSION
    assert len(expand_domain(parsed, env)) <= MAX_DOMAIN


@given(st.integers(min_value=1, max_value=3000), st.integers(min_value=1, max_value=400))
def test_many_macros_with_a_long_sender_stay_small(count: int, size: int) -> None:
    """Thousands of macros over a long local part still expand to a bounded string."""
    local = "x" * size
    env = MacroEnv(f"{local}@example.com", local, "example.com", "example.com",
                   ipaddress.ip_address("192.0.2.1"), "h")
    parsed = parse_macro_string("%{l}." * count + "example.com")
    assert len(expand_domain(parsed, env)) <= MAX_DOMAIN
    assert len(expand(parsed, env)) <= MAX_EXPANSION


def test_huge_digit_transformer() -> None:
    """A transformer with a thousand digits is accepted and means 'all parts'."""
    parsed = parse_macro_string("%{d" + "9" * 1000 + "}")
    assert expand(parsed, RFC_ENV) == "email.example.com"
