"""Alerts to a SIEM: RFC 5424 syslog over UDP (RFC 5426) or TCP (RFC 6587 octet counting),
with an ArcSight CEF message.

The MSG part starts directly with ``CEF:`` (no BOM: CEF parsers expect the prefix first); the
structured data is empty (``-``). Values of the Japanese texts are UTF-8.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import time
from datetime import UTC, datetime

from mailwarden.config import SYSLOG_FACILITIES, Config
from mailwarden.response import templates
from mailwarden.response.channels.base import Alert, DeliveryError, languages, product_version

SYSLOG_SEVERITY = {"high": 2, "medium": 4, "low": 5}  # critical, warning, notice
CEF_SEVERITY = {"high": 8, "medium": 6, "low": 3}
MAX_BYTES = {"udp": 2048, "tcp": 8192}
VERSION = product_version()
TEXT_MAX = 600


def header_escape(value: str) -> str:
    """CEF header field: backslash and pipe are escaped; no line breaks."""
    value = value.replace("\\", "\\\\").replace("|", "\\|")
    return value.replace("\r", " ").replace("\n", " ")


def value_escape(value: str) -> str:
    """CEF extension value: backslash and equals escaped, line breaks as \\n."""
    value = value.replace("\\", "\\\\").replace("=", "\\=")
    return value.replace("\r\n", "\\n").replace("\n", "\\n").replace("\r", "\\r")


def _ms(t: float) -> str:
    return str(int(t * 1000))


def _hostname() -> str:
    name = socket.gethostname() or "-"
    return "".join(c for c in name if 33 <= ord(c) <= 126)[:255] or "-"


def cef(alert: Alert, langs: tuple[str, ...], url: str = "") -> str:
    """The alert as one CEF:0 record."""
    cls = alert.signal if alert.kind == "finding" else alert.kind
    head = ["CEF:0", "Mailwarden", "Mailwarden", VERSION, cls or alert.kind,
            alert.title_en, str(CEF_SEVERITY.get(alert.severity, 5))]
    ext: list[tuple[str, str]] = [("rt", _ms(alert.time)), ("start", _ms(alert.time))]
    if alert.until is not None:
        ext.append(("end", _ms(alert.until)))
    ext += [("externalId", alert.id), ("cat", alert.kind), ("cnt", str(alert.count))]
    if alert.account:
        ext.append(("suser", alert.account))
    if _is_ip(alert.address):
        ext.append(("src", alert.address))
    ext += [("msg", "; ".join(r.en for r in alert.reasons)[:TEXT_MAX] or alert.title_en),
            ("cs1Label", "signals"), ("cs1", ",".join(alert.signals))]
    if "ja" in langs:
        ja = alert.title_ja + "：" + "；".join(r.ja for r in alert.reasons)
        ext += [("cs2Label", "message_ja"), ("cs2", ja[:TEXT_MAX])]
    ext += [("cs3Label", "deliveryId"), ("cs3", alert.delivery_id)]
    if url:
        ext += [("cs4Label", "url"), ("cs4", url)]
    if "score" in alert.record:
        ext += [("cfp1Label", "score"), ("cfp1", str(alert.record["score"]))]
    return "|".join(header_escape(h) for h in head) + "|" + " ".join(
        f"{k}={value_escape(v)}" for k, v in ext)


def _is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


class SyslogChannel:
    """One RFC 5424 message per alert."""

    name = "syslog"

    def __init__(self, cfg: Config) -> None:
        self.n = cfg.notify
        self.langs = languages(self.n.language)
        self.facility = SYSLOG_FACILITIES[self.n.syslog_facility]
        self.hostname = _hostname()
        self.target = f"{self.n.syslog_proto}://{self.n.syslog_host}:{self.n.syslog_port}"

    def message(self, alert: Alert, now: float | None = None) -> bytes:
        """``<PRI>1 TIMESTAMP HOSTNAME mailwarden PROCID MSGID - CEF:...``, size-bounded."""
        pri = self.facility * 8 + SYSLOG_SEVERITY.get(alert.severity, 5)
        stamp = datetime.fromtimestamp(time.time() if now is None else now, UTC)
        ts = stamp.isoformat(timespec="milliseconds").replace("+00:00", "Z")
        head = f"<{pri}>1 {ts} {self.hostname} mailwarden {os.getpid()} {alert.kind} - "
        body = cef(alert, self.langs, templates.link(alert, self.n.dashboard_url))
        data = (head + body).encode()
        limit = MAX_BYTES[self.n.syslog_proto]
        return data if len(data) <= limit else data[:limit].decode(errors="ignore").encode()

    def send(self, alert: Alert) -> None:
        data = self.message(alert)
        n = self.n
        try:
            if n.syslog_proto == "udp":
                family, kind, proto, _, addr = socket.getaddrinfo(
                    n.syslog_host, n.syslog_port, type=socket.SOCK_DGRAM)[0]
                with socket.socket(family, kind, proto) as sock:
                    sock.sendto(data, addr)
            else:
                with socket.create_connection((n.syslog_host, n.syslog_port),
                                              timeout=n.timeout_seconds) as sock:
                    sock.sendall(f"{len(data)} ".encode() + data)
        except OSError as exc:
            raise DeliveryError(self.name, self.target, f"{type(exc).__name__}: {exc}") from None
