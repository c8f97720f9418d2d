"""The DKIM key record (RFC 6376 §3.6.1, tag-list syntax §3.2; Ed25519 from RFC 8463) and what
its public key is: type and size.

:func:`parse_dkim_key` never raises; :func:`key_info` reads ``p=`` (base64 of a DER
SubjectPublicKeyInfo for RSA, the bare 32-byte key for Ed25519) with :mod:`der`.
"""

from __future__ import annotations

import binascii
import re
from dataclasses import dataclass, field

from mailwarden.audit.der import ED25519_OID, RSA_OID, DerError, parse_public_key

MAX_RECORD = 8192
KEY_TYPES = ("rsa", "ed25519")
HASHES = ("sha1", "sha256")
FWS = " \t\r\n"
_TAG_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_VALUE = re.compile(r"^[\x21-\x3a\x3c-\x7e]+(?:[ \t\r\n]+[\x21-\x3a\x3c-\x7e]+)*$")
KNOWN = ("v", "h", "k", "n", "p", "s", "t")


@dataclass(frozen=True)
class KeyProblem:
    """Something wrong in a key record; ``code`` is the finding id's last part."""

    code: str
    tag: str = ""
    value: str = ""
    offset: int = -1


@dataclass
class DkimKey:
    """A parsed key record. ``valid`` is False when verifiers must ignore it (bad syntax,
    duplicate tags, a wrong ``v=``, no ``p=``)."""

    text: str
    tags: dict[str, str] = field(default_factory=dict)
    version: str = ""
    key_type: str = "rsa"
    hashes: list[str] = field(default_factory=list)  # empty: every algorithm allowed
    services: list[str] = field(default_factory=lambda: ["*"])
    flags: list[str] = field(default_factory=list)
    key_b64: str | None = None  # None: no p= tag
    problems: list[KeyProblem] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        fatal = ("tag_syntax", "duplicate_tag", "version", "no_key")
        return not any(p.code in fatal for p in self.problems)

    @property
    def revoked(self) -> bool:
        return self.key_b64 == ""

    @property
    def testing(self) -> bool:
        return "y" in self.flags


def _tags(text: str, key: DkimKey) -> list[tuple[str, str, int]]:
    found: list[tuple[str, str, int]] = []
    offset = 0
    for chunk in text.split(";"):
        at, offset = offset, offset + len(chunk) + 1
        stripped = chunk.strip(FWS)
        if not stripped:
            continue
        name, equals, value = stripped.partition("=")
        name, value = name.strip(FWS), value.strip(FWS)
        if not equals or not _TAG_NAME.match(name) or (value and not _VALUE.match(value)):
            key.problems.append(KeyProblem("tag_syntax", name[:40], stripped[:80], at))
            continue
        found.append((name, value, at))
    return found


def parse_dkim_key(text: str) -> DkimKey:
    """Parse the TXT string at ``<selector>._domainkey.<domain>``."""
    key = DkimKey(text[:MAX_RECORD])
    tags = _tags(key.text, key)
    for index, (name, value, offset) in enumerate(tags):
        if name in key.tags:
            key.problems.append(KeyProblem("duplicate_tag", name, value[:80], offset))
            continue
        key.tags[name] = value
        _apply(key, name, value, offset, first=index == 0)
    if "p" not in key.tags:
        key.problems.append(KeyProblem("no_key", "p"))
    return key


def _colon_list(value: str) -> list[str]:
    return [v.strip(FWS) for v in value.split(":") if v.strip(FWS)]


def _apply(key: DkimKey, name: str, value: str, offset: int, first: bool) -> None:
    if name == "v":
        key.version = value
        if value != "DKIM1" or not first:
            key.problems.append(KeyProblem("version", "v", value[:40], offset))
    elif name == "k":
        key.key_type = value.lower()
        if key.key_type not in KEY_TYPES:
            key.problems.append(KeyProblem("key_type_unknown", "k", value[:40], offset))
    elif name == "h":
        key.hashes = [h.lower() for h in _colon_list(value)]
        if key.hashes and not set(key.hashes) - {"sha1"}:
            key.problems.append(KeyProblem("sha1_only", "h", value[:40], offset))
    elif name == "s":
        key.services = [s.lower() for s in _colon_list(value)]
        if not {"*", "email"} & set(key.services):
            key.problems.append(KeyProblem("service", "s", value[:40], offset))
    elif name == "t":
        key.flags = [f.lower() for f in _colon_list(value)]
    elif name == "p":
        key.key_b64 = "".join(value.split())
    elif name not in KNOWN:
        key.unknown.append(name)
        key.problems.append(KeyProblem("unknown_tag", name, value[:80], offset))


@dataclass(frozen=True)
class KeyInfo:
    """What the public key is. ``error`` says why it could not be read."""

    key_type: str = ""  # "rsa" or "ed25519"
    bits: int = 0
    form: str = ""  # "spki", "pkcs1" (RSA without the SPKI wrapper), "raw" (Ed25519)
    error: str = ""


def key_info(key: DkimKey) -> KeyInfo:
    """Decode ``p=`` according to ``k=``; never raises."""
    if not key.key_b64:
        return KeyInfo(error="no key")
    try:
        data = binascii.a2b_base64(key.key_b64.encode("ascii", "replace"), strict_mode=True)
    except (binascii.Error, ValueError) as exc:
        return KeyInfo(error=f"not base64: {exc}"[:120])
    if key.key_type == "ed25519" and len(data) == 32:
        return KeyInfo("ed25519", 256, "raw")
    try:
        public = parse_public_key(data)
    except DerError as exc:
        return KeyInfo(error=f"{len(data)} bytes, not a public key: {exc}"[:160])
    if public.algorithm == ED25519_OID:
        return KeyInfo("ed25519", public.bits, "spki")
    if public.algorithm in (RSA_OID, ""):
        return KeyInfo("rsa", public.bits, public.form)
    return KeyInfo(error=f"key algorithm {public.algorithm}")
