"""QR codes in images, when the optional packages are installed.

Decoding needs an image decoder (Pillow) and a barcode reader (zxing-cpp, a self-contained
wheel); both are optional (``pip install 'mailwarden[qr]'``). Without them :func:`available`
is False and the analyser says, in the verdict's notes, how many images went unread for QR
codes rather than pretending it looked. Images are bounded in bytes and pixels before they
are decoded (Pillow's own decompression-bomb guard is set to the same bound).
"""

from __future__ import annotations

import functools
import io
import logging
import warnings
from typing import Any

MAX_PIXELS = 12_000_000
log = logging.getLogger(__name__)


@functools.cache
def _modules() -> tuple[Any, Any] | None:
    try:
        import zxingcpp
        from PIL import Image
    except ImportError:
        return None
    Image.MAX_IMAGE_PIXELS = MAX_PIXELS
    return Image, zxingcpp


def available() -> bool:
    """Whether QR codes can be decoded here."""
    return _modules() is not None


def decode(data: bytes) -> list[str]:
    """The texts of the QR codes in an image ([] when none, or unreadable)."""
    modules = _modules()
    if modules is None:
        return []
    image_mod, zxing = modules
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            image = image_mod.open(io.BytesIO(data))
        with image:
            width, height = image.size
            if width * height > MAX_PIXELS or min(width, height) < 21:
                return []
            image.draft("L", (width, height))
            gray = image.convert("L")
        found = zxing.read_barcodes(gray, formats=zxing.BarcodeFormat.QRCode)
    except Exception as exc:
        log.debug("image not decoded: %s", exc)
        return []
    return [str(code.text)[:4000] for code in found[:10] if code.text]
