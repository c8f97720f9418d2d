"""Web addresses: found in plain text, taken apart as a browser would, host names decoded.

A browser reads ``https://bank.example@203.0.113.7/`` as a visit to 203.0.113.7, reads
``http://3232235777/`` and ``http://0x7f.1/`` as IPv4 addresses, decodes ``%41`` in a host,
and shows ``xn--`` labels as Unicode. :func:`split` does the same so that signals judge where
a click really goes. Nothing raises.
"""

from __future__ import annotations

import contextlib
import ipaddress
import re
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

MAX_URL = 4000
IN_TEXT = re.compile(
    r"(?:\b(?:https?|ftp)://|\bwww\.)[^\s<>\"'`\u3000-\u303f\uff01-\uff60{}|\\^\[\]]{2,2000}",
    re.I)
TRAILING = ".,;:!?)]}>'\"*"
DOMAIN_IN_TEXT = re.compile(
    r"(?:(?:https?|ftp)://)?((?:[a-z0-9\u00a1-\uffff](?:[a-z0-9\u00a1-\uffff-]{0,61}"
    r"[a-z0-9\u00a1-\uffff])?\.)+(?:[a-z]{2,24}|xn--[a-z0-9-]{1,59}))(?![\w.-])",
    re.I)
NUMERIC_HOST = re.compile(r"^(?:0x[0-9a-f]+|[0-9]+)(?:\.(?:0x[0-9a-f]+|[0-9]+)){0,3}$", re.I)


@dataclass(frozen=True, slots=True)
class Url:
    """The parts of a web address that decide where it goes."""

    raw: str
    scheme: str
    host: str  # lower case, IDNA-decoded to Unicode, without a trailing dot
    ascii_host: str  # as sent on the wire (xn-- labels), lower case
    userinfo: str
    ip: str  # the IPv4/IPv6 address the host stands for, if it is one
    path: str

    @property
    def is_web(self) -> bool:
        return self.scheme in ("http", "https") and bool(self.host)


def find(text: str, limit: int = 500) -> list[str]:
    """Web addresses written in plain text (with or without a scheme), in order."""
    found = []
    for match in IN_TEXT.finditer(text):
        url = match.group(0).rstrip(TRAILING)
        if url.count("(") < url.count(")"):
            url = url[: url.rfind(")")]
        found.append(url)
        if len(found) >= limit:
            break
    return found


def split(raw: str) -> Url | None:
    """The parts of ``raw``, or None when it is no absolute address a browser would follow."""
    text = raw.strip().replace("\\", "/")[:MAX_URL]
    text = re.sub(r"[\t\r\n]", "", text)
    if text.lower().startswith("www."):
        text = "http://" + text
    elif text.startswith("//"):
        text = "https:" + text
    try:
        parts = urlsplit(text)
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if not scheme:
        return None
    netloc = parts.netloc
    userinfo, _, hostport = netloc.rpartition("@")
    host = unquote(hostport)
    if host.startswith("["):
        host = host[1:host.find("]")] if "]" in host else host[1:]
    else:
        host = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
    host = host.strip().rstrip(".").lower()[:253]
    return Url(raw, scheme, to_unicode(host), to_ascii(host), userinfo, ip_of(host),
               parts.path[:500])


def ip_of(host: str) -> str:
    """The IP address ``host`` stands for, including decimal, hex and octal IPv4 forms."""
    if not host:
        return ""
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        pass
    if not NUMERIC_HOST.match(host):
        return ""
    try:
        numbers = [int(p, 16) if p.lower().startswith("0x") else
                   int(p, 8) if len(p) > 1 and p.startswith("0") else int(p)
                   for p in host.split(".")]
    except ValueError:
        return ""
    value = 0
    for i, n in enumerate(numbers):
        last = i == len(numbers) - 1
        limit = 256 ** (4 - i) if last else 256
        if n >= limit:
            return ""
        value = value * 256 + n if not last else value * 256 ** (4 - i) + n
    return str(ipaddress.IPv4Address(value)) if value < 2**32 else ""


def to_unicode(host: str) -> str:
    """``xn--`` labels decoded (labels that fail to decode are kept as they are)."""
    if "xn--" not in host:
        return host
    labels = []
    for label in host.split("."):
        if label.startswith("xn--"):
            with contextlib.suppress(UnicodeError, ValueError):
                label = label[4:].encode("ascii").decode("punycode")
        labels.append(label)
    return ".".join(labels)


def to_ascii(host: str) -> str:
    """Labels with non-ASCII letters punycode-encoded (``xn--``), as sent on the wire."""
    if host.isascii():
        return host
    labels = []
    for label in host.split("."):
        if not label.isascii():
            with contextlib.suppress(UnicodeError, ValueError):
                label = "xn--" + label.encode("punycode").decode("ascii")
        labels.append(label)
    return ".".join(labels)


def domains_in(text: str, limit: int = 20) -> list[str]:
    """Domain names shown in a piece of text (e.g. a link's visible text), lower case."""
    found = []
    for match in DOMAIN_IN_TEXT.finditer(text[:2000]):
        found.append(match.group(1).lower().rstrip("."))
        if len(found) >= limit:
            break
    return found
