"""Structure beyond the reading bounds or malformed: deep nesting, too many parts, huge
headers, cut-off multiparts, archives beyond the decompression budget."""

from __future__ import annotations

from mailwarden.engine.signals.base import Reason
from mailwarden.inbound.signals.base import Context

SERIOUS = frozenset({"nesting_too_deep", "too_many_parts", "headers_truncated",
                     "message_truncated", "inflate_budget", "too_many_files"})
IGNORED = frozenset({"malformed_header_lines", "multipart_not_closed"})


class MimeAnomaly:
    name = "mime_anomaly"
    description = "Message structure beyond the reading bounds or malformed"
    kind = "structure"

    def evaluate(self, ctx: Context) -> Reason | None:
        defects = [d for d in ctx.msg.parsed.defects if d not in IGNORED]
        if ctx.msg.inspection.budget_exhausted:
            defects.append("inflate_budget")
        if ctx.msg.inspection.too_many:
            defects.append("too_many_files")
        if not defects:
            return None
        fraction = 1.0 if SERIOUS & set(defects) else 0.5
        return ctx.reason(self.name, fraction, defects=", ".join(defects))
