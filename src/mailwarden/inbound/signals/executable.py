"""An executable, script, shortcut or disk image attached, also inside archives."""

from __future__ import annotations

from mailwarden.engine.signals.base import Reason
from mailwarden.inbound import sniff
from mailwarden.inbound.signals.base import Context, shorten


class ExecutableAttachment:
    name = "executable_attachment"
    description = "Executable, script, shortcut or disk image, attached or inside an archive"
    kind = "attachment"

    def evaluate(self, ctx: Context) -> Reason | None:
        found = [f"{f.path} ({f.kind or sniff.extension(f.name)})"
                 for f in ctx.msg.inspection.files
                 if f.kind in sniff.EXECUTABLE_KINDS or
                 sniff.extension(f.name) in sniff.EXECUTABLE_EXT]
        if not found:
            return None
        return ctx.reason(self.name, files=shorten(found, 3), count=len(found))
