"""Alerts to a Microsoft Teams Workflows webhook: a message with one Adaptive Card."""

from __future__ import annotations

import json
from typing import Any

from mailwarden.config import Config
from mailwarden.response import templates
from mailwarden.response.channels.base import Alert, languages, post_json

CARD_VERSION = "1.4"
COLOR = {"high": "Attention", "medium": "Warning", "low": "Default"}


class TeamsChannel:
    """The Workflows template "Send webhook alerts to a channel" posts the card as sent."""

    name = "teams"

    def __init__(self, cfg: Config) -> None:
        self.n = cfg.notify
        self.tz = cfg.tz
        self.langs = languages(self.n.language)

    def card(self, alert: Alert) -> dict[str, Any]:
        body: list[dict[str, Any]] = []
        for lang in self.langs:
            body += self._section(alert, lang, separator=bool(body))
        card: dict[str, Any] = {
            "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
            "type": "AdaptiveCard", "version": CARD_VERSION, "body": body,
        }
        url = templates.link(alert, self.n.dashboard_url)
        if url:
            card["actions"] = [{"type": "Action.OpenUrl", "title": alert.id, "url": url}]
        return card

    def _section(self, alert: Alert, lang: str, separator: bool) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = [
            {"type": "TextBlock", "text": alert.title(lang), "weight": "Bolder", "size": "Medium",
             "wrap": True, "color": COLOR.get(alert.severity, "Default"),
             "separator": separator},
            {"type": "FactSet", "facts": [{"title": k, "value": v}
                                          for k, v in templates.facts(alert, lang, self.tz)]},
        ]
        lines = templates.reasons(alert, lang)
        if lines:
            items.append({"type": "TextBlock", "wrap": True,
                          "text": "\n".join(f"- {r}" for r in lines)})
        return items

    def payload(self, alert: Alert) -> dict[str, Any]:
        return {"type": "message", "attachments": [{
            "contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": None,
            "content": self.card(alert)}]}

    def send(self, alert: Alert) -> None:
        body = json.dumps(self.payload(alert), ensure_ascii=False).encode()
        post_json(self.name, self.n.teams_url, body, self.n.timeout_seconds)
