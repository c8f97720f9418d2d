"""Alerts as generic JSON to any URL, signed with HMAC-SHA256 and safe against replay.

The receiver checks, in this order:
1. ``X-Mailwarden-Timestamp`` (Unix seconds) is within ``TOLERANCE`` seconds of its clock;
2. ``X-Mailwarden-Signature`` is ``v1=`` + hex HMAC-SHA256(secret, "<timestamp>." + raw body),
   compared in constant time;
3. ``delivery_id`` in the (signed) body was not seen before: retries of one alert carry the same
   id with a fresh timestamp and signature, so a receiver keeps ids for ``TOLERANCE`` seconds.
``Verifier`` does all three for receivers written in Python.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections import OrderedDict
from typing import Any

from mailwarden.config import Config
from mailwarden.response import templates
from mailwarden.response.channels.base import Alert, post_json
from mailwarden.timefmt import iso

SIGNATURE_HEADER = "X-Mailwarden-Signature"
TIMESTAMP_HEADER = "X-Mailwarden-Timestamp"
DELIVERY_HEADER = "X-Mailwarden-Delivery"
TOLERANCE = 300
VERSION = 1


def sign(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "v1=" + mac.hexdigest()


def payload(alert: Alert, dashboard_url: str = "") -> dict[str, Any]:
    """The JSON document: both languages always (machines pick), the stored record as is."""
    return {
        "type": "mailwarden.alert", "version": VERSION, "delivery_id": alert.delivery_id,
        "kind": alert.kind, "id": alert.id, "account": alert.account,
        "address": alert.address, "severity": alert.severity, "time": iso(alert.time),
        "until": iso(alert.until) if alert.until is not None else None, "count": alert.count,
        "title": {"en": alert.title_en, "ja": alert.title_ja}, "signals": alert.signals,
        "reasons": [r.to_dict() for r in alert.reasons], "record": alert.record,
        "url": templates.link(alert, dashboard_url) or None,
    }


class WebhookChannel:
    """POSTs ``payload(alert)`` with the signature headers."""

    name = "webhook"

    def __init__(self, cfg: Config) -> None:
        self.n = cfg.notify

    def send(self, alert: Alert) -> None:
        body = json.dumps(payload(alert, self.n.dashboard_url), ensure_ascii=False).encode()
        stamp = int(time.time())
        headers = {TIMESTAMP_HEADER: str(stamp), DELIVERY_HEADER: alert.delivery_id,
                   SIGNATURE_HEADER: sign(self.n.webhook_secret, stamp, body)}
        post_json(self.name, self.n.webhook_url, body, self.n.timeout_seconds, headers)


class Verifier:
    """Checks signature, freshness and replay of received deliveries (for Python receivers)."""

    def __init__(self, secret: str, tolerance: int = TOLERANCE, remember: int = 100_000) -> None:
        self.secret = secret
        self.tolerance = tolerance
        self.remember = remember
        self.seen: OrderedDict[str, float] = OrderedDict()

    def verify(self, timestamp: str, signature: str, body: bytes,
               now: float | None = None) -> dict[str, Any]:
        """The payload of a genuine, fresh, first delivery; ValueError says what was wrong."""
        now = time.time() if now is None else now
        if not timestamp.isdigit() or abs(now - int(timestamp)) > self.tolerance:
            raise ValueError(f"{TIMESTAMP_HEADER} missing or outside ±{self.tolerance}s")
        if not hmac.compare_digest(sign(self.secret, int(timestamp), body), signature):
            raise ValueError(f"{SIGNATURE_HEADER} does not match the body")
        data = json.loads(body)
        if not isinstance(data, dict) or not isinstance(data.get("delivery_id"), str):
            raise ValueError("body has no delivery_id")
        self._forget(now)
        if data["delivery_id"] in self.seen:
            raise ValueError(f"delivery {data['delivery_id']} already received (replay)")
        self.seen[data["delivery_id"]] = now
        return data

    def _forget(self, now: float) -> None:
        while self.seen and (len(self.seen) >= self.remember or
                             next(iter(self.seen.values())) < now - 2 * self.tolerance):
            self.seen.popitem(last=False)
