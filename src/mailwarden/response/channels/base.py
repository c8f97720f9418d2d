"""What every notification channel receives (an Alert) and how it reports failure."""

from __future__ import annotations

import http.client
import importlib.metadata
import ssl
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from mailwarden.engine.incident import Incident
from mailwarden.engine.signals.base import Reason
from mailwarden.response import templates

MAX_RESPONSE_BYTES = 65536
SEVERITY_RANK = {"low": 0, "medium": 1, "high": 2}
SOURCE_SIGNALS = ("brute_force_address", "password_spray", "denied_address")


def product_version() -> str:
    try:
        return importlib.metadata.version("mailwarden")
    except importlib.metadata.PackageNotFoundError:
        return "0"


@dataclass(frozen=True)
class Alert:
    """One thing to tell people about: an incident, a finding, or a summary of repeats.

    ``key`` groups alerts for de-duplication; ``delivery_id`` stays the same across retries so
    receivers can drop a replayed or repeated delivery.
    """

    kind: str  # "incident" | "finding" | "summary"
    id: str
    key: str
    account: str
    time: float
    severity: str
    title_en: str
    title_ja: str
    reasons: tuple[Reason, ...] = ()
    signal: str = ""
    address: str = ""
    record: dict[str, Any] = field(default_factory=dict)
    count: int = 1
    until: float | None = None
    delivery_id: str = field(default_factory=lambda: uuid.uuid4().hex)

    def title(self, lang: str) -> str:
        return self.title_ja if lang == "ja" else self.title_en

    @property
    def signals(self) -> list[str]:
        return list(dict.fromkeys(r.signal for r in self.reasons)) or (
            [self.signal] if self.signal else [])


def alert_from_incident(inc: Incident) -> Alert:
    """One alert per incident kind and account (``key``)."""
    login = inc.evidence.get("login")
    address = str(login.get("address", "")) if isinstance(login, dict) else ""
    return Alert("incident", inc.id, f"incident:{inc.account}:{inc.kind}", inc.account,
                 inc.opened_at, inc.severity, inc.title_en, inc.title_ja, tuple(inc.reasons),
                 signal=inc.kind, address=address, record=inc.to_dict())


def alert_from_finding(finding: dict[str, Any]) -> Alert:
    """An alert from a stored finding (``Finding.to_dict()`` plus ``epoch``).

    Findings about a source (brute force from an address, a spray) are keyed by the source;
    the others by the account.
    """
    reasons = tuple(Reason(str(r.get("signal", "")), float(r.get("weight", 0.0)),
                           str(r.get("en", "")), str(r.get("ja", "")), dict(r.get("evidence", {})))
                    for r in finding.get("reasons", []))
    signal, account = str(finding.get("signal", "")), str(finding.get("account", ""))
    address = str(finding.get("address", ""))
    source = str(reasons[0].evidence.get("source", address)) if reasons else address
    who = source if signal in SOURCE_SIGNALS else account
    t = float(finding.get("epoch", time.time()))
    return Alert("finding", f"{signal}:{who}:{int(t)}", f"finding:{signal}:{who}", account, t,
                 str(finding.get("severity", "high")),
                 templates.finding_title(signal, account, address, "en"),
                 templates.finding_title(signal, account, address, "ja"), reasons,
                 signal=signal, address=address, record=dict(finding))


def summary_alert(first: Alert, repeats: list[Alert], count: int, tz: ZoneInfo) -> Alert:
    """One alert standing for ``count`` repeats of ``first`` (``repeats``: a bounded sample)."""
    start, last = repeats[0].time, repeats[-1]
    who, signals = first.account or first.address, ", ".join(first.signals) or first.kind
    worst = max((a.severity for a in repeats), key=lambda s: SEVERITY_RANK.get(s, 1))
    title = {lang: templates.summary_title(who, signals, count, start, last.time, lang, tz)
             for lang in ("en", "ja")}
    record = {"summarises": first.id, "repeats": count,
              "ids": list(dict.fromkeys(a.id for a in repeats))}
    return Alert("summary", f"{first.id}+{count}", first.key, first.account, start, worst,
                 title["en"], title["ja"], last.reasons, signal=first.signal,
                 address=first.address, record=record, count=count, until=last.time)


class DeliveryError(Exception):
    """A delivery failed: which channel, to where (never a secret URL path), and why."""

    def __init__(self, channel: str, target: str, detail: str, *, retry: bool = True,
                 retry_after: float | None = None) -> None:
        super().__init__(f"{channel} to {target}: {detail}")
        self.channel = channel
        self.target = target
        self.detail = detail
        self.retry = retry
        self.retry_after = retry_after


class Channel(Protocol):
    """A notification channel; ``send`` blocks (it runs in the dispatcher's threads)."""

    name: str

    def send(self, alert: Alert) -> None:
        """Deliver one alert or raise DeliveryError."""


def languages(setting: str) -> tuple[str, ...]:
    """The languages of a message, in the order they are shown."""
    return ("ja", "en") if setting == "both" else (setting,)


def target_of(url: str) -> str:
    """scheme://host:port of a URL: enough to name it in a log, without the secret path."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname}{f':{parts.port}' if parts.port else ''}"


def post_json(channel: str, url: str, body: bytes, timeout: float,
              headers: dict[str, str] | None = None) -> int:
    """POST a JSON body; 2xx returns the status, anything else raises DeliveryError.

    Redirects are not followed and no proxy is used: an alert goes where it is configured.
    """
    parts, target = urlsplit(url), target_of(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise DeliveryError(channel, target, "URL must be http:// or https://", retry=False)
    conn: http.client.HTTPConnection
    if parts.scheme == "https":
        conn = http.client.HTTPSConnection(parts.hostname, parts.port, timeout=timeout,
                                           context=ssl.create_default_context())
    else:
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    sent = {"Content-Type": "application/json; charset=utf-8", "User-Agent": "mailwarden",
            **(headers or {})}
    try:
        conn.request("POST", path, body=body, headers=sent)
        response = conn.getresponse()
        response.read(MAX_RESPONSE_BYTES)
    except (OSError, http.client.HTTPException) as exc:
        raise DeliveryError(channel, target, f"{type(exc).__name__}: {exc}") from None
    finally:
        conn.close()
    return _check_status(channel, target, response)


def _check_status(channel: str, target: str, response: http.client.HTTPResponse) -> int:
    status = response.status
    if 200 <= status < 300:
        return status
    retry_after = response.getheader("Retry-After", "")
    delay = float(retry_after) if retry_after.isdigit() else None
    retry = status >= 500 or status in (408, 425, 429)
    raise DeliveryError(channel, target, f"HTTP {status} {response.reason}", retry=retry,
                        retry_after=delay)
