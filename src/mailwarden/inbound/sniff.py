"""What a file really is, from its first bytes, and what its name claims.

Names lie (``invoice.pdf.exe``, ``photo.jpg`` that is a macro workbook); content signatures
("magic numbers") mostly do not. :func:`kind` names the content; the extension sets say what
a name claims. Zip-based formats (Office, Java, Android, OpenDocument) are told apart by
their members in :mod:`mailwarden.inbound.archives`.
"""

from __future__ import annotations

import re

SIGNATURES: tuple[tuple[bytes, int, str], ...] = (
    (b"MZ", 0, "exe"), (b"\x7fELF", 0, "elf"), (b"\xcf\xfa\xed\xfe", 0, "macho"),
    (b"\xfe\xed\xfa\xcf", 0, "macho"), (b"\xca\xfe\xba\xbe", 0, "macho"),
    (b"%PDF", 0, "pdf"), (b"PK\x03\x04", 0, "zip"), (b"PK\x05\x06", 0, "zip"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", 0, "ole"), (b"Rar!\x1a\x07", 0, "rar"),
    (b"7z\xbc\xaf\x27\x1c", 0, "7z"), (b"\x1f\x8b", 0, "gzip"), (b"BZh", 0, "bzip2"),
    (b"\xfd7zXZ\x00", 0, "xz"), (b"MSCF", 0, "cab"), (b"ITSF", 0, "chm"),
    (b"L\x00\x00\x00\x01\x14\x02\x00", 0, "lnk"), (b"{\\rt", 0, "rtf"),
    (b"\xe4\x52\x5c\x7b\x8c\xd8\xa7\x4d\xae\xb1\x53\x78\xd0\x29\x96\xd3", 0, "onenote"),
    (b"conectix", 0, "vhd"), (b"vhdxfile", 0, "vhd"), (b"\x89PNG\r\n\x1a\n", 0, "png"),
    (b"\xff\xd8\xff", 0, "jpeg"), (b"GIF87a", 0, "gif"), (b"GIF89a", 0, "gif"),
    (b"II*\x00", 0, "tiff"), (b"MM\x00*", 0, "tiff"),
    (b"CD001", 0x8001, "iso"), (b"CD001", 0x8801, "iso"), (b"CD001", 0x9001, "iso"),
    (b"#!", 0, "script"), (b"\x00asm", 0, "wasm"),
)
HTML = re.compile(rb"^\s*(?:<!--.*?-->\s*)?<(?:!doctype\s+html|html|head|body|script|form|meta"
                  rb"|iframe|div|a\s)", re.I | re.S)
SVG = re.compile(rb"^\s*(?:<\?xml[^>]*>\s*)?(?:<!--.*?-->\s*)?(?:<!doctype\s+svg[^>]*>\s*)?"
                 rb"<svg[\s>]", re.I | re.S)

EXECUTABLE_EXT = frozenset({
    "exe", "scr", "com", "pif", "bat", "cmd", "vbs", "vbe", "js", "jse", "wsf", "wsh", "wsc",
    "hta", "ps1", "psm1", "psd1", "msi", "msix", "msp", "appx", "appxbundle", "jar", "lnk",
    "url", "scf", "cpl", "dll", "ocx", "sys", "reg", "inf", "chm", "xll", "iqy", "slk",
    "apk", "dmg", "pkg", "app", "elf", "sh", "command", "gadget", "application", "website",
    "settingcontent-ms", "library-ms", "searchconnector-ms", "one", "onepkg", "iso", "img",
    "vhd", "vhdx", "udf", "msc", "diagcab", "appref-ms", "hlp", "lib", "mde", "ade", "adp",
})
MACRO_EXT = frozenset({"docm", "dotm", "xlsm", "xltm", "xlam", "xlsb", "pptm", "potm", "ppsm",
                       "ppam", "sldm"})
ARCHIVE_EXT = frozenset({"zip", "rar", "7z", "gz", "tgz", "bz2", "xz", "tar", "cab", "arj",
                         "lzh", "ace", "z", "zipx", "iso", "img"})
DOCUMENT_EXT = frozenset({"pdf", "doc", "docx", "xls", "xlsx", "ppt", "pptx", "rtf", "txt",
                          "csv", "jpg", "jpeg", "png", "gif", "bmp", "tif", "tiff", "html",
                          "htm", "mp3", "mp4", "wav", "zip", "odt", "ods", "eml", "msg", "xml"})
ARCHIVE_KINDS = frozenset({"zip", "rar", "7z", "gzip", "bzip2", "xz", "cab", "iso", "vhd"})
EXECUTABLE_KINDS = frozenset({"exe", "elf", "macho", "lnk", "onenote", "chm", "iso", "vhd",
                              "jar", "apk", "wasm"})
IMAGE_KINDS = frozenset({"png", "jpeg", "gif", "bmp", "tiff", "webp"})
# which extensions a kind may honestly carry (others are a type mismatch)
HONEST: dict[str, frozenset[str]] = {
    "exe": frozenset({"exe", "dll", "scr", "com", "sys", "ocx", "cpl", "msi", "efi", "mui"}),
    "pdf": frozenset({"pdf", "ai"}),
    "ole": frozenset({"doc", "dot", "xls", "xlt", "ppt", "pps", "pot", "msg", "msi", "pub",
                      "vsd", "mpp", "docx", "xlsx", "pptx", "xlsb", "one", "wps", "et", "hwp"}),
    "png": frozenset({"png"}), "jpeg": frozenset({"jpg", "jpeg", "jpe", "jfif"}),
    "gif": frozenset({"gif"}),
}


def kind(data: bytes) -> str:
    """The content type of ``data`` by its signature: ``exe``, ``zip``, ``pdf``, ... or
    ``text`` / ``binary``."""
    for magic, offset, name in SIGNATURES:
        if data.startswith(magic, offset):
            return name
    head = data[:1024]
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return "webp"
    if head.startswith(b"BM") and head[6:10] == b"\x00\x00\x00\x00" and len(head) > 26:
        return "bmp"
    if HTML.match(head.lstrip(b"\xef\xbb\xbf")):
        return "html"
    if SVG.match(head.lstrip(b"\xef\xbb\xbf")):
        return "svg"
    if not head or b"\x00" not in head:
        return "text"
    return "binary"


def extension(name: str) -> str:
    """The last extension of a file name, lower case, without the dot."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1].strip().rstrip(". ")
    return base.rsplit(".", 1)[1].lower() if "." in base else ""


def extensions(name: str) -> list[str]:
    """Every extension of a file name (``invoice.pdf.exe`` → ``["pdf", "exe"]``)."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1].strip().rstrip(". ")
    return [p.lower() for p in base.split(".")[1:] if 0 < len(p) <= 20]
