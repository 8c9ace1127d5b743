"""Photo metadata stripping (``store._exif.strip_metadata``), as a property: of any sequence of
segments (JPEG) or chunks (PNG), exactly the metadata kinds are dropped and everything else is kept
byte for byte, in order."""

from __future__ import annotations

import struct

from hypothesis import given
from hypothesis import strategies as st

from rhytid.store._exif import strip_metadata

#: JPEG markers: (marker, dropped) — APP1 Exif/XMP and APP13 IPTC carry position, names, captions
JPEG_SEGMENTS = [
    (0xE0, False),
    (0xE2, False),
    (0xDB, False),
    (0xC4, False),
    (0xFE, False),
    (0xE1, True),
    (0xED, True),
]
PNG_CHUNKS = [
    (b"PLTE", False),
    (b"gAMA", False),
    (b"pHYs", False),
    (b"IDAT", False),
    (b"eXIf", True),
    (b"tEXt", True),
    (b"zTXt", True),
    (b"iTXt", True),
    (b"tIME", True),
]
PAYLOAD = st.binary(min_size=0, max_size=40)


def _segment(marker: int, payload: bytes) -> bytes:
    if marker == 0x01:  # TEM stands alone: no length, no payload (ITU T.81 B.1.1.3)
        return b"\xff\x01"
    return bytes([0xFF, marker]) + struct.pack(">H", len(payload) + 2) + payload


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + b"\x00\x00\x00\x00"


@given(st.lists(st.tuples(st.sampled_from(JPEG_SEGMENTS), PAYLOAD), max_size=8))
def test_jpeg_keeps_all_but_its_exif_xmp_and_iptc_segments(
    parts: list[tuple[tuple[int, bool], bytes]],
) -> None:
    scan = _segment(0xDA, b"\x01\x01\x00\x00?\x00") + b"\x12\x34\xff\x00\x56 image data" + b"\xff\xd9"
    body = [(_segment(marker, payload), dropped) for (marker, dropped), payload in parts]
    jpeg = b"\xff\xd8" + b"".join(seg for seg, _ in body) + scan
    assert strip_metadata(jpeg) == b"\xff\xd8" + b"".join(seg for seg, dropped in body if not dropped) + scan


@given(st.lists(st.tuples(st.sampled_from(PNG_CHUNKS), PAYLOAD), max_size=8))
def test_png_keeps_all_but_its_exif_text_and_time_chunks(
    parts: list[tuple[tuple[bytes, bool], bytes]],
) -> None:
    head = b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", bytes(13))
    body = [(_chunk(kind, data), dropped) for (kind, dropped), data in parts]
    png = head + b"".join(c for c, _ in body) + _chunk(b"IEND", b"")
    assert strip_metadata(png) == head + b"".join(c for c, dropped in body if not dropped) + _chunk(
        b"IEND", b""
    )
