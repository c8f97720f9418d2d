"""An attachment name disguising its type: ``invoice.pdf.exe``, a right-to-left override
(``invoice‮fdp.exe`` shows as ``invoiceexe.pdf``), or spaces pushing the real extension out of
sight."""

from __future__ import annotations

from mailwarden.engine.signals.base import Reason
from mailwarden.inbound import sniff
from mailwarden.inbound.signals.base import Context, shorten

BIDI = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f")


def disguised(name: str) -> str:
    """How ``name`` disguises its type ("" if it does not)."""
    if any(ch in BIDI for ch in name):
        return "bidi"
    parts = sniff.extensions(name)
    risky = sniff.EXECUTABLE_EXT | sniff.MACRO_EXT
    if len(parts) >= 2 and parts[-1] in risky and parts[-2] in sniff.DOCUMENT_EXT:
        return "double"
    base = name.rsplit(".", 1)[0] if "." in name else ""
    if parts and parts[-1] in risky and (base.endswith("   ") or "\u3000\u3000" in base):
        return "spaces"
    return ""


class DoubleExtension:
    name = "double_extension"
    description = "Attachment name disguising its real type"
    kind = "attachment"

    def evaluate(self, ctx: Context) -> Reason | None:
        found = [f"{f.path} ({how})" for f in ctx.msg.inspection.files
                 if (how := disguised(f.name))]
        if not found:
            return None
        return ctx.reason(self.name, files=shorten(found, 3))
