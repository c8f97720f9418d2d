"""An HTML or SVG attachment that sends the browser elsewhere when opened."""

from __future__ import annotations

import re

from mailwarden.engine.signals.base import Reason
from mailwarden.inbound.signals.base import Context

LOCATION = re.compile(
    r"(?:window|document|top|self)\.location(?:\.href)?\s*=|location\.(?:replace|assign)\s*\(",
    re.I)


class HtmlRedirect:
    name = "html_redirect"
    description = "HTML or SVG attachment redirecting the browser or loading remote script"
    kind = "link"

    def evaluate(self, ctx: Context) -> Reason | None:
        for where, doc in ctx.msg.documents:
            if where == "body":
                continue
            how = "meta refresh" if doc.refresh else \
                "script" if any(LOCATION.search(s) for s in doc.scripts) else \
                "remote script" if any(s.lower().startswith(("http", "//"))
                                       for s in doc.script_sources) else ""
            if how:
                return ctx.reason(self.name, where=where, how=how)
        return None
