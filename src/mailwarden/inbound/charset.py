"""Bytes to text under a declared charset that may be wrong, unknown or hostile.

Mail declares charsets loosely: ``Shift_JIS`` text carries Windows (CP932) characters,
``ISO-2022-JP`` carries NEC and IBM extensions, ``GB2312`` means GBK, ``ISO-8859-1`` means
Windows-1252, and some names are not charsets at all (``unicode_escape``, ``rot13``). Each
declared name maps to the superset actually used, only real text codecs are accepted, and
undeclared or undecodable text is guessed among UTF-8 and the Japanese encodings before
falling back to Windows-1252 with replacement. Decoding never raises.
"""

from __future__ import annotations

import codecs
import re

# declared name (lower case, "-" and "_" removed) -> what senders actually mean
SUPERSETS = {
    "shiftjis": "cp932", "sjis": "cp932", "xsjis": "cp932", "mskanji": "cp932",
    "windows31j": "cp932", "cswindows31j": "cp932", "cp932": "cp932", "shiftjis2004": "cp932",
    "eucjp": "euc_jis_2004", "xeucjp": "euc_jis_2004", "cseucpkdfmtjapanese": "euc_jis_2004",
    "iso2022jp": "iso2022_jp_ext", "csiso2022jp": "iso2022_jp_ext",
    "iso2022jp1": "iso2022_jp_ext", "iso2022jp2": "iso2022_jp_2",
    "iso2022jp3": "iso2022_jp_3", "iso2022jp2004": "iso2022_jp_2004",
    "gb2312": "gb18030", "gbk": "gb18030", "xgbk": "gb18030", "cp936": "gb18030",
    "big5": "big5hkscs", "xbig5": "big5hkscs", "cnbig5": "big5hkscs",
    "ksc56011987": "cp949", "euckr": "cp949", "xwindows949": "cp949",
    "iso88591": "cp1252", "latin1": "cp1252", "usascii": "cp1252", "ascii": "cp1252",
    "ansix3.41968": "cp1252", "iso88599": "cp1254", "tis620": "cp874", "iso885911": "cp874",
    "utf8": "utf-8", "utf-8": "utf-8", "unicode11utf8": "utf-8", "xunknown": "",
    "unknown8bit": "", "unknown": "", "default": "", "": "",
}
# codecs Python knows that are not charsets (or not ones mail may use on us)
NOT_CHARSETS = {
    "unicode_escape", "raw_unicode_escape", "idna", "punycode", "undefined", "rot_13",
    "mbcs", "oem", "palmos", "charmap",
}
# after a failed strict decode under the declared codec, also try these before replacing
FALLBACKS = {
    "iso2022_jp_ext": ("iso2022_jp_2004", "iso2022_jp_2", "cp932"),
    "iso2022_jp_2": ("iso2022_jp_2004", "iso2022_jp_ext"),
    "cp932": ("shift_jis_2004", "euc_jis_2004"),
    "euc_jis_2004": ("cp932",),
    "utf-8": ("cp932", "euc_jis_2004", "gb18030", "cp1252"),
}
ESCAPES = re.compile(rb"\x1b[$(][@ABDJIO]")  # ISO-2022-JP designations
LANGUAGE = re.compile(r"\*[a-z]{1,8}(?:-[a-z0-9]{1,8})*$")  # RFC 2231 "iso-8859-1*sv"


def codec_for(declared: str) -> str:
    """The Python codec that decodes what a declared charset really means ("" if none)."""
    name = LANGUAGE.sub("", declared.strip().strip("\"'").lower())[:40]
    key = name.replace("-", "").replace("_", "")
    if key in SUPERSETS:
        return SUPERSETS[key]
    try:
        info = codecs.lookup(name)
    except (LookupError, ValueError):
        return ""
    if info.name.replace("-", "_") in NOT_CHARSETS or \
            not getattr(info, "_is_text_encoding", True):
        return ""
    return info.name


def guess(data: bytes) -> str:
    """The likeliest codec for undeclared (or wrongly declared) bytes."""
    if data.isascii():
        return "iso2022_jp_ext" if ESCAPES.search(data) else "utf-8"
    japanese = ("euc_jis_2004", "cp932") if _looks_euc(data) else ("cp932", "euc_jis_2004")
    for name in ("utf-8", *japanese):
        try:
            data.decode(name)
        except UnicodeDecodeError:
            continue
        return name
    return "cp1252"


def _looks_euc(data: bytes) -> bool:
    """EUC-JP uses only bytes 0xA1-0xFE (and 0x8E, 0x8F) above ASCII; Shift_JIS lead bytes
    0x81-0x9F are not among them."""
    high = set(data[:65536]) - set(range(128))
    return high <= (set(range(0xA1, 0xFF)) | {0x8E, 0x8F})


def decode(data: bytes, declared: str = "") -> str:
    """Text from ``data``, decoded as ``declared`` says where that works, else as guessed."""
    if not data:
        return ""
    codec = codec_for(declared) if declared else ""
    if not codec or (codec == "cp1252" and not data.isascii() and _looks_utf8(data)):
        codec = guess(data)
    if codec in ("cp1252", "utf-8") and data.isascii() and ESCAPES.search(data):
        codec = "iso2022_jp_ext"  # mislabelled JIS, common in old Japanese mail
    elif codec.startswith("iso2022") and not data.isascii():
        codec = guess(data)  # 8-bit bytes cannot be JIS: EUC-JP or Shift_JIS mislabelled
    for name in (codec, *FALLBACKS.get(codec, ())):
        try:
            return data.decode(name)
        except (UnicodeDecodeError, LookupError):
            continue
    try:
        return data.decode(codec, errors="replace")
    except LookupError:
        return data.decode("cp1252", errors="replace")


def _looks_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True
