"""An attachment whose content is of another type than its name says (``photo.jpg`` that is
a macro workbook, ``report.pdf`` that is a program)."""

from __future__ import annotations

from mailwarden.engine.signals.base import Reason
from mailwarden.inbound import sniff
from mailwarden.inbound.signals.base import Context, shorten

OOXML = frozenset({"docx", "docm", "dotx", "dotm", "xlsx", "xlsm", "xltx", "xltm", "xlsb",
                   "xlam", "pptx", "pptm", "potx", "potm", "ppsx", "ppsm", "ppam", "vsdx",
                   "sldx", "sldm", "thmx"})
HONEST = {
    **sniff.HONEST,
    "ooxml": OOXML,
    "zip": frozenset({"zip", "zipx", "jar", "apk", "xpi", "crx", "odt", "ods", "odp", "epub",
                      "kmz", "ipa", "nupkg", "whl", "3mf", "vsix", "appx", "msix"}) | OOXML,
    "lnk": frozenset({"lnk"}), "onenote": frozenset({"one", "onepkg"}),
    "iso": frozenset({"iso", "img", "udf"}), "rtf": frozenset({"rtf", "doc", "wri"}),
    "html": frozenset({"htm", "html", "shtml", "xhtml", "mht", "mhtml", "hta", "svg", "xml",
                       "php", "asp", "aspx", "jsp"}),
    "elf": frozenset({"elf", "so", "bin", "run", "o", ""}),
}
HARMLESS = frozenset({"pdf", "jpg", "jpeg", "png", "gif", "bmp", "txt", "csv", "doc", "docx",
                      "xls", "xlsx", "ppt", "pptx", "mp3", "mp4", "wav", "zip", "rtf", "tif",
                      "tiff"})


class TypeMismatch:
    name = "type_mismatch"
    description = "Attachment content of another type than its name says"
    kind = "attachment"

    def evaluate(self, ctx: Context) -> Reason | None:
        found = []
        for f in ctx.msg.inspection.files:
            ext = sniff.extension(f.name)
            honest = HONEST.get(f.kind)
            if not ext or honest is None or ext in honest or ext not in HARMLESS:
                continue
            found.append(f"{f.path}: {f.kind}")
        if not found:
            return None
        return ctx.reason(self.name, files=shorten(found, 3))
