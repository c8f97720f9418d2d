"""Alerts as Elastic Common Schema documents, one JSON line each, appended to a file.

Filebeat / Elastic Agent (or any shipper) reads the file; it is opened per alert, so log
rotation by rename needs no signal.
"""

from __future__ import annotations

import ipaddress
import json
import os
import time
from pathlib import Path
from typing import Any

from mailwarden.config import Config
from mailwarden.response import templates
from mailwarden.response.channels.base import Alert, DeliveryError, languages, product_version
from mailwarden.timefmt import iso

ECS_VERSION = "8.11.0"
SEVERITY = {"low": 21, "medium": 47, "high": 73}  # Elastic's detection-rule severities
LOGIN_KINDS = ("suspicious_login", "finding")


def _source(address: str) -> dict[str, Any]:
    try:
        return {"ip": str(ipaddress.ip_address(address))}
    except ValueError:
        return {"address": address} if address else {}


def document(alert: Alert, langs: tuple[str, ...], dashboard_url: str = "",
             now: float | None = None) -> dict[str, Any]:
    """The ECS document of an alert; Mailwarden's own fields sit under ``mailwarden``."""
    categories = ["intrusion_detection"]
    if alert.kind in LOGIN_KINDS or alert.record.get("kind") == "suspicious_login":
        categories.append("authentication")
    event: dict[str, Any] = {
        "kind": "alert", "category": categories, "type": ["info"],
        "action": alert.signal or alert.record.get("kind", alert.kind), "id": alert.id,
        "code": alert.signal or alert.kind, "severity": SEVERITY.get(alert.severity, 47),
        "reason": "; ".join(r.en for r in alert.reasons) or alert.title_en,
        "created": iso(time.time() if now is None else now), "start": iso(alert.time),
        "dataset": "mailwarden.alert", "module": "mailwarden", "provider": "mailwarden",
    }
    if alert.until is not None:
        event["end"] = iso(alert.until)
    if "score" in alert.record:
        event["risk_score"] = float(alert.record["score"])
    url = templates.link(alert, dashboard_url)
    if url:
        event["url"] = url
    doc: dict[str, Any] = {
        "@timestamp": iso(alert.time), "ecs": {"version": ECS_VERSION},
        "message": " / ".join(alert.title(lang) for lang in langs), "event": event,
        "rule": {"name": ", ".join(alert.signals) or alert.kind},
        "observer": {"vendor": "Mailwarden", "product": "Mailwarden", "type": "ids",
                     "version": product_version()},
        "labels": {"delivery_id": alert.delivery_id}, "tags": ["mailwarden", alert.kind],
        "mailwarden": {"alert": {
            "kind": alert.kind, "count": alert.count, "signals": alert.signals,
            "title": {"en": alert.title_en, "ja": alert.title_ja},
            "reasons": [r.to_dict() for r in alert.reasons]}, "record": alert.record},
    }
    if alert.account:
        doc["user"] = {"name": alert.account}
        if "@" in alert.account:
            doc["user"]["email"] = alert.account
    source = _source(alert.address)
    if source:
        doc["source"] = source
    return doc


class EcsChannel:
    """Appends one line per alert to ``notify.ecs_path`` (default DATA_DIR/alerts.ecs.jsonl)."""

    name = "ecs"

    def __init__(self, cfg: Config) -> None:
        self.n = cfg.notify
        self.langs = languages(self.n.language)
        self.path = Path(self.n.ecs_path) if self.n.ecs_path else (
            cfg.data_dir / "alerts.ecs.jsonl")

    def send(self, alert: Alert) -> None:
        line = json.dumps(document(alert, self.langs, self.n.dashboard_url),
                          ensure_ascii=False, default=str, separators=(",", ":")) + "\n"
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o640)
            with os.fdopen(fd, "a", encoding="utf-8") as f:
                f.write(line)
        except OSError as exc:
            raise DeliveryError(self.name, str(self.path), f"{type(exc).__name__}: "
                                f"{exc.strerror}") from None
