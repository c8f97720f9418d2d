"""An archive inside an archive (or a disk image inside one), a way to get past scanners."""

from __future__ import annotations

from mailwarden.engine.signals.base import Reason
from mailwarden.inbound import sniff
from mailwarden.inbound.signals.base import Context, shorten


class NestedArchive:
    name = "nested_archive"
    description = "Archive or disk image inside an archive"
    kind = "attachment"

    def evaluate(self, ctx: Context) -> Reason | None:
        found = [f.path for f in ctx.msg.inspection.files if f.depth >= 1 and (
            f.kind in sniff.ARCHIVE_KINDS or sniff.extension(f.name) in sniff.ARCHIVE_EXT)]
        if not found:
            return None
        return ctx.reason(self.name, files=shorten(found, 3))
