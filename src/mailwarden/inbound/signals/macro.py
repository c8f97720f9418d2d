"""An Office document with macros: an OLE VBA storage, an OOXML ``vbaProject.bin``, an
OpenDocument Basic library, or (when the content cannot be read) a macro-enabled name."""

from __future__ import annotations

from mailwarden.engine.signals.base import Reason
from mailwarden.inbound import sniff
from mailwarden.inbound.signals.base import Context, shorten


class OfficeMacro:
    name = "office_macro"
    description = "Office document with macros (VBA project found, or macro-enabled name)"
    kind = "attachment"

    def evaluate(self, ctx: Context) -> Reason | None:
        files = ctx.msg.inspection.files
        seen = [f.path for f in files if f.macro]
        named = [f.path for f in files if not f.macro and sniff.extension(f.name)
                 in sniff.MACRO_EXT]
        if not seen and not named:
            return None
        return ctx.reason(self.name, 1.0 if seen else 0.6, files=shorten(seen + named, 3),
                          how="vba" if seen else "name")
