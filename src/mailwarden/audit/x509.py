"""Just enough X.509 (RFC 5280) to report on a server's certificate: subject and issuer (and
whether they are the same: self-issued), the validity dates, and the DNS names of the
subjectAltName extension; and host name matching as RFC 6125 §6.4 and RFC 8461 §4.2 describe
it (a wildcard only as the whole left-most label).

The certificate comes from the server, so it is untrusted input: every length is checked by
:mod:`mailwarden.audit.der`, lists are bounded, and anything unexpected ends in
:class:`~mailwarden.audit.der.DerError`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from mailwarden.audit.der import OID, SEQUENCE, DerError, Tlv, decode_oid, expect, read_tlv

MAX_ITEMS = 1024  # elements of one sequence (a certificate may carry hundreds of names)
MAX_NAMES = 500
UTC_TIME, GENERALIZED_TIME = 0x17, 0x18
EXPLICIT_VERSION, EXTENSIONS = 0xA0, 0xA3
DNS_NAME = 0x82  # GeneralName dNSName [2] IMPLICIT IA5String
OCTET_STRING, BOOLEAN = 0x04, 0x01
CN_OID = "2.5.4.3"
SAN_OID = "2.5.29.17"
_UTC = re.compile(rb"(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z")
_GENERALIZED = re.compile(rb"(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z")


@dataclass(frozen=True)
class Certificate:
    """What the report needs of one certificate."""

    subject: str  # the common name, or "" when there is none
    issuer: str
    self_issued: bool  # issuer and subject are the same name
    not_before: datetime
    not_after: datetime
    dns_names: tuple[str, ...]


def items(value: bytes) -> list[Tlv]:
    """The elements inside a constructed value, at most :data:`MAX_ITEMS`."""
    found: list[Tlv] = []
    offset = 0
    while offset < len(value):
        if len(found) >= MAX_ITEMS:
            raise DerError(f"more than {MAX_ITEMS} elements in one sequence")
        tlv = read_tlv(value, offset)
        found.append(tlv)
        offset = tlv.end
    return found


def parse_certificate(der: bytes) -> Certificate:
    """Read a DER certificate (raises DerError when it is not one)."""
    outer = read_tlv(der)
    parts = items(expect(outer, SEQUENCE, "Certificate"))
    if len(parts) != 3:
        raise DerError(f"Certificate with {len(parts)} elements, expected 3")
    tbs = items(expect(parts[0], SEQUENCE, "TBSCertificate"))
    if tbs and tbs[0].tag == EXPLICIT_VERSION:
        tbs = tbs[1:]
    if len(tbs) < 6:
        raise DerError(f"TBSCertificate with {len(tbs)} fields, expected at least 6")
    issuer = expect(tbs[2], SEQUENCE, "issuer")
    validity = items(expect(tbs[3], SEQUENCE, "validity"))
    subject = expect(tbs[4], SEQUENCE, "subject")
    if len(validity) != 2:
        raise DerError("validity without exactly two dates")
    extensions = next((t for t in tbs[6:] if t.tag == EXTENSIONS), None)
    return Certificate(common_name(subject), common_name(issuer), issuer == subject,
                       read_time(validity[0]), read_time(validity[1]),
                       dns_names(extensions.value) if extensions else ())


def read_time(tlv: Tlv) -> datetime:
    """A UTCTime (years 1950-2049) or GeneralizedTime, both in their DER form ending in Z."""
    pattern = {UTC_TIME: _UTC, GENERALIZED_TIME: _GENERALIZED}.get(tlv.tag)
    found = pattern.fullmatch(tlv.value) if pattern else None
    if found is None:
        raise DerError(f"not a DER time: tag 0x{tlv.tag:02x} {tlv.value[:20]!r}")
    year, month, day, hour, minute, second = (int(x) for x in found.groups())
    if tlv.tag == UTC_TIME:
        year += 1900 if year >= 50 else 2000
    try:
        return datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    except ValueError as exc:
        raise DerError(f"impossible date {tlv.value!r}: {exc}") from None


def common_name(name: bytes) -> str:
    """The last common name (CN) of a Name, as text; "" when it has none."""
    found = ""
    for rdn in items(name):
        for attribute in items(rdn.value):
            pair = items(expect(attribute, SEQUENCE, "AttributeTypeAndValue"))
            if len(pair) == 2 and decode_oid(expect(pair[0], OID, "attribute type")) == CN_OID:
                found = _text(pair[1].value)
    return found


def dns_names(extensions: bytes) -> tuple[str, ...]:
    """The dNSName entries of the subjectAltName extension (lower case, at most MAX_NAMES)."""
    outer = items(extensions)
    if len(outer) != 1:
        raise DerError("extensions field without exactly one sequence")
    for extension in items(expect(outer[0], SEQUENCE, "Extensions")):
        fields = items(expect(extension, SEQUENCE, "Extension"))
        if len(fields) < 2 or decode_oid(expect(fields[0], OID, "extnID")) != SAN_OID:
            continue
        value = expect(fields[-1], OCTET_STRING, "extnValue")
        names = items(expect(read_tlv(value), SEQUENCE, "subjectAltName"))
        return tuple(_text(n.value).lower() for n in names if n.tag == DNS_NAME)[:MAX_NAMES]
    return ()


def _text(value: bytes) -> str:
    return "".join(c if c.isprintable() else "?" for c in value.decode("utf-8", "replace"))[:255]


def name_matches(pattern: str, host: str) -> bool:
    """RFC 6125 §6.4: equal ignoring case, or ``*.rest`` matching exactly one left-most label
    of ``host`` (never a partial label, never ``*.tld`` alone)."""
    pattern, host = pattern.lower().rstrip("."), host.lower().rstrip(".")
    if not pattern or not host:
        return False
    if pattern == host:
        return True
    if not pattern.startswith("*.") or "*" in pattern[2:]:
        return False
    rest = pattern[2:]
    label, _, parent = host.partition(".")
    return bool(label) and parent == rest and rest.count(".") >= 1


def matches(certificate: Certificate, host: str) -> bool:
    """The certificate names ``host`` in its subjectAltName (the common name is not used, as
    by today's TLS clients and RFC 8461)."""
    return any(name_matches(name, host) for name in certificate.dns_names)
