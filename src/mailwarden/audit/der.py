"""Just enough DER to read a DKIM public key: SubjectPublicKeyInfo (RFC 5280 §4.1),
RSAPublicKey (RFC 8017 §A.1.1) and the algorithm OID.

Written here rather than taking a cryptography library: we only need the key type and the
modulus size, never an operation with the key. Every length is checked against the bytes
that are really there, so a hostile key record ends in :class:`DerError`, never an exception
of another kind or a long loop.
"""

from __future__ import annotations

from dataclasses import dataclass

SEQUENCE = 0x30
INTEGER = 0x02
BIT_STRING = 0x03
OID = 0x06

RSA_OID = "1.2.840.113549.1.1.1"
ED25519_OID = "1.3.101.112"


class DerError(ValueError):
    """The bytes are not the DER structure expected; the message says where."""


@dataclass(frozen=True)
class Tlv:
    tag: int
    value: bytes
    end: int  # offset just past this element in the buffer it was read from


def read_tlv(data: bytes, offset: int = 0) -> Tlv:
    """One tag-length-value element at ``offset``."""
    if offset + 2 > len(data):
        raise DerError(f"truncated element at byte {offset}")
    tag, first = data[offset], data[offset + 1]
    if tag & 0x1F == 0x1F:
        raise DerError(f"multi-byte tag at byte {offset}")
    start = offset + 2
    if first < 0x80:
        length = first
    else:
        count = first & 0x7F
        if count == 0 or count > 4:
            raise DerError(f"length of {count} bytes at byte {offset + 1}")
        if start + count > len(data):
            raise DerError(f"truncated length at byte {offset + 1}")
        length = int.from_bytes(data[start:start + count], "big")
        start += count
    if start + length > len(data):
        raise DerError(f"element at byte {offset} claims {length} bytes, "
                       f"{len(data) - start} remain")
    return Tlv(tag, data[start:start + length], start + length)


def children(value: bytes) -> list[Tlv]:
    """The elements inside a constructed value (a SEQUENCE's content)."""
    found: list[Tlv] = []
    offset = 0
    while offset < len(value):
        tlv = read_tlv(value, offset)
        found.append(tlv)
        offset = tlv.end
        if len(found) > 64:
            raise DerError("more than 64 elements in one sequence")
    return found


def expect(tlv: Tlv, tag: int, what: str) -> bytes:
    if tlv.tag != tag:
        raise DerError(f"{what}: tag 0x{tlv.tag:02x}, expected 0x{tag:02x}")
    return tlv.value


def decode_oid(value: bytes) -> str:
    """Dotted text of an OBJECT IDENTIFIER's content."""
    if not value or len(value) > 64:
        raise DerError("object identifier of bad length")
    first = value[0]
    parts = [min(first // 40, 2), first - 40 * min(first // 40, 2)]
    number = 0
    for byte in value[1:]:
        number = (number << 7) | (byte & 0x7F)
        if not byte & 0x80:
            parts.append(number)
            number = 0
    if value[-1] & 0x80:
        raise DerError("object identifier ends inside a component")
    return ".".join(str(p) for p in parts)


def integer_bits(value: bytes) -> int:
    """Bit length of a positive INTEGER's content (a leading zero byte is not counted)."""
    if not value:
        raise DerError("empty integer")
    if value[0] & 0x80:
        raise DerError("negative integer where a modulus was expected")
    return int.from_bytes(value, "big").bit_length()


@dataclass(frozen=True)
class PublicKey:
    """What a DKIM ``p=`` holds: algorithm OID (or "" for a bare RSAPublicKey), the key
    material and, for RSA, the modulus size in bits."""

    algorithm: str
    form: str  # "spki" or "pkcs1"
    bits: int = 0
    raw: bytes = b""


def rsa_public_key_bits(data: bytes) -> int:
    """Modulus bits of an RSAPublicKey ``SEQUENCE { modulus INTEGER, exponent INTEGER }``."""
    outer = read_tlv(data)
    if outer.end != len(data):
        raise DerError(f"{len(data) - outer.end} bytes after the RSA key")
    items = children(expect(outer, SEQUENCE, "RSAPublicKey"))
    if len(items) != 2:
        raise DerError(f"RSAPublicKey with {len(items)} elements, expected 2")
    modulus = expect(items[0], INTEGER, "modulus")
    expect(items[1], INTEGER, "public exponent")
    return integer_bits(modulus)


def parse_public_key(data: bytes) -> PublicKey:
    """A SubjectPublicKeyInfo, or (tolerated, reported by the caller) a bare RSAPublicKey."""
    outer = read_tlv(data)
    if outer.end != len(data):
        raise DerError(f"{len(data) - outer.end} bytes after the key")
    items = children(expect(outer, SEQUENCE, "SubjectPublicKeyInfo"))
    if len(items) == 2 and items[0].tag == INTEGER and items[1].tag == INTEGER:
        return PublicKey("", "pkcs1", integer_bits(items[0].value))
    if len(items) != 2:
        raise DerError(f"SubjectPublicKeyInfo with {len(items)} elements, expected 2")
    algorithm = children(expect(items[0], SEQUENCE, "AlgorithmIdentifier"))
    if not algorithm:
        raise DerError("empty AlgorithmIdentifier")
    oid = decode_oid(expect(algorithm[0], OID, "algorithm"))
    bits = expect(items[1], BIT_STRING, "subjectPublicKey")
    if not bits or bits[0] != 0:
        raise DerError("subjectPublicKey with unused bits")
    key = bits[1:]
    if oid == RSA_OID:
        return PublicKey(oid, "spki", rsa_public_key_bits(key), key)
    return PublicKey(oid, "spki", len(key) * 8, key)
