"""Documents that act when opened: PDF JavaScript or launch actions, embedded files and
objects, RTF objects, OOXML remote templates."""

from __future__ import annotations

from mailwarden.engine.signals.base import Reason
from mailwarden.inbound.signals.base import Context, shorten

SEVERITY = {"remote_template": 1.0, "pdf_launch": 1.0, "rtf_object": 1.0,
            "embedded_package": 1.0, "pdf_javascript": 0.8, "pdf_embedded_file": 0.6,
            "embedded_object": 0.6}


class ActiveDocument:
    name = "active_document"
    description = "Document with active content (scripts, launch, embedded objects, templates)"
    kind = "attachment"

    def evaluate(self, ctx: Context) -> Reason | None:
        found = [(f.path, what) for f in ctx.msg.inspection.files for what in f.active]
        if not found:
            return None
        fraction = max(SEVERITY.get(what, 0.5) for _, what in found)
        return ctx.reason(self.name, fraction,
                          files=shorten([f"{path} ({what})" for path, what in found], 3))
