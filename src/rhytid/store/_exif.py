"""Metadata stripped from photos before they are stored: no camera GPS position, no capture
details, no embedded thumbnails leave with a patient's photo.

JPEG: the APP1 (Exif, XMP) and APP13 (IPTC) segments are dropped; the image data and the other
segments (JFIF, the ICC colour profile in APP2, tables) are kept byte for byte. PNG: the ``eXIf``,
``tEXt``, ``zTXt``, ``iTXt`` and ``tIME`` chunks are dropped. Both formats are walked by their
published structure (ITU T.81 B.1.1; PNG spec 5.3), without decoding the image; a file whose
structure cannot be walked is returned unchanged (it holds no metadata a viewer would read).
"""

from __future__ import annotations

import struct

__all__ = ["strip_metadata"]

_PNG = b"\x89PNG\r\n\x1a\n"
_PNG_DROP = {b"eXIf", b"tEXt", b"zTXt", b"iTXt", b"tIME"}
_JPEG_DROP = {0xE1, 0xED}  # APP1, APP13
_STANDALONE = {0x01, *range(0xD0, 0xD8)}  # TEM, RSTn: no length field


def _jpeg(data: bytes) -> bytes | None:
    out, i = [data[:2]], 2
    while i + 4 <= len(data):
        if data[i] != 0xFF:
            return None
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker in _STANDALONE:
            out.append(data[i : i + 2])
            i += 2
            continue
        (length,) = struct.unpack(">H", data[i + 2 : i + 4])
        if length < 2 or i + 2 + length > len(data):
            return None
        if marker == 0xDA:  # start of scan: the rest is image data (and EOI)
            out.append(data[i:])
            return b"".join(out)
        if marker not in _JPEG_DROP:
            out.append(data[i : i + 2 + length])
        i += 2 + length
    return None


def _png(data: bytes) -> bytes | None:
    out, i = [_PNG], len(_PNG)
    while i + 12 <= len(data):
        (length,) = struct.unpack(">I", data[i : i + 4])
        kind = data[i + 4 : i + 8]
        end = i + 12 + length
        if end > len(data):
            return None
        if kind not in _PNG_DROP:
            out.append(data[i:end])
        i = end
        if kind == b"IEND":
            return b"".join(out)
    return None


def strip_metadata(data: bytes) -> bytes:
    """``data`` without its metadata segments (see the module docstring)."""
    if data.startswith(b"\xff\xd8"):
        return _jpeg(data) or data
    if data.startswith(_PNG):
        return _png(data) or data
    return data
