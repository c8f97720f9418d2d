"""HTML or SVG that builds a file in the browser: HTML smuggling.

The file is carried inside the page (base64 or char codes) and handed to the browser as a
download (Blob, createObjectURL, msSaveOrOpenBlob, a data: link with ``download``), so that
no gateway sees it as an attachment.
"""

from __future__ import annotations

import re

from mailwarden.engine.signals.base import Reason
from mailwarden.inbound.signals.base import Context

INDICATORS = {
    "blob": re.compile(r"new\s+Blob\s*\(", re.I),
    "object_url": re.compile(r"createObjectURL", re.I),
    "save_blob": re.compile(r"msSaveOrOpenBlob|msSaveBlob", re.I),
    "atob": re.compile(r"\batob\s*\(", re.I),
    "download": re.compile(r"\.download\s*=|setAttribute\(\s*['\"]download", re.I),
    "char_codes": re.compile(r"fromCharCode\s*\((?:\s*\d+\s*,){50}"),
    "large_base64": re.compile(r"[A-Za-z0-9+/]{20000}"),
    "eval": re.compile(r"\beval\s*\(\s*(?:atob|unescape|decodeURIComponent)\s*\(", re.I),
}


class HtmlSmuggling:
    name = "html_smuggling"
    description = "HTML or SVG building a file in the browser (Blob, atob, data: downloads)"
    kind = "attachment"

    def evaluate(self, ctx: Context) -> Reason | None:
        best: tuple[float, str, list[str]] | None = None
        for where, doc in ctx.msg.documents:
            found = [name for name, pattern in INDICATORS.items()
                     if any(pattern.search(script) for script in doc.scripts)]
            if any(a.download and a.href.lower().startswith(("data:", "blob:"))
                   for a in doc.anchors):
                found.append("data_download")
            if not found:
                continue
            fraction = 1.0 if len(found) >= 2 or "data_download" in found else 0.4
            if best is None or fraction > best[0]:
                best = (fraction, where, found)
        if best is None:
            return None
        return ctx.reason(self.name, best[0], where=best[1], indicators=", ".join(best[2]))
