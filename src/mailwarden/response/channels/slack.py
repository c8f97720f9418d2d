"""Alerts to a Slack incoming webhook as a Block Kit message."""

from __future__ import annotations

import json
from typing import Any

from mailwarden.config import Config
from mailwarden.response import templates
from mailwarden.response.channels.base import Alert, languages, post_json

HEADER_MAX = 150  # Block Kit: header text
SECTION_MAX = 3000  # section text
FIELD_MAX = 2000  # each section field; at most 10 fields


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _escape(text: str) -> str:
    """mrkdwn control characters: &, <, > must be escaped."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class SlackChannel:
    """One message per alert: a header, facts as fields, reasons, and a link."""

    name = "slack"

    def __init__(self, cfg: Config) -> None:
        self.n = cfg.notify
        self.tz = cfg.tz
        self.langs = languages(self.n.language)

    def payload(self, alert: Alert) -> dict[str, Any]:
        blocks: list[dict[str, Any]] = []
        for lang in self.langs:
            blocks += self._blocks(alert, lang)
        url = templates.link(alert, self.n.dashboard_url)
        if url:
            blocks.append({"type": "section", "text": {
                "type": "mrkdwn", "text": f"<{url}|{_escape(alert.id)}>"}})
        fallback = " / ".join(alert.title(lang) for lang in self.langs)
        return {"text": _cut(fallback, SECTION_MAX), "blocks": blocks[:50]}

    def _blocks(self, alert: Alert, lang: str) -> list[dict[str, Any]]:
        fields = [{"type": "mrkdwn", "text": _cut(f"*{_escape(k)}*\n{_escape(v)}", FIELD_MAX)}
                  for k, v in templates.facts(alert, lang, self.tz)][:10]
        blocks: list[dict[str, Any]] = [
            {"type": "header", "text": {"type": "plain_text", "emoji": True,
                                        "text": _cut(alert.title(lang), HEADER_MAX)}},
            {"type": "section", "fields": fields},
        ]
        lines = templates.reasons(alert, lang)
        if lines:
            body = f"*{templates.label('why', lang)}*\n" + "\n".join(
                f"• {_escape(r)}" for r in lines)
            blocks.append({"type": "section", "text": {"type": "mrkdwn",
                                                       "text": _cut(body, SECTION_MAX)}})
        return blocks

    def send(self, alert: Alert) -> None:
        body = json.dumps(self.payload(alert), ensure_ascii=False).encode()
        post_json(self.name, self.n.slack_url, body, self.n.timeout_seconds)
