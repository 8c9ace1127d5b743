"""Bounds on input, over real HTTP (SQLite and PostgreSQL).

Reported: no request-size limit (100 MB bodies parsed; a 10 MB free-text answer stored through
the API while the form caps it at 5,000 characters); EXIF GPS kept in photos; the database and
the photos world-readable.
"""

from __future__ import annotations

import socket
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from rhytid._cli_web import create_demo_data
from rhytid.store._exif import strip_metadata
from rhytid.store.testing import temporary_database
from rhytid.web._limits import MAX_BODY_BYTES, MAX_UPLOAD_BYTES

from .conftest import DOC, KINDS, POSTGRES_URL, new_assessment, new_patient, served
from .test_api import ANSWERS


@pytest.fixture(scope="module", params=KINDS)
def clinic(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[httpx.Client, Path, str]]:
    folder = tmp_path_factory.mktemp("bounds")
    with temporary_database(str(request.param), folder, POSTGRES_URL) as url:
        create_demo_data(url)
        with served(url, folder) as c:
            yield c, folder, url


def _segment(marker: int, payload: bytes) -> bytes:
    return bytes([0xFF, marker]) + struct.pack(">H", len(payload) + 2) + payload


GPS = b"Exif\x00\x00MM\x00*GPSLatitude 52.5200 N GPSLongitude 13.4050 E"
SCAN = _segment(0xDA, b"\x01\x01\x00\x00?\x00") + b"\x12\x34\x56\x78 image data" + b"\xff\xd9"
JPEG = (
    b"\xff\xd8"
    + _segment(0xE0, b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00")
    + _segment(0xE1, GPS)
    + _segment(0xDB, bytes(65))
    + SCAN
)


def _histories(c: httpx.Client, pid: int) -> list[Any]:
    return list(c.get(f"/api/patients/{pid}/histories", auth=DOC).json())


def test_a_body_over_the_limit_is_refused_unread(clinic: tuple[httpx.Client, Path, str]) -> None:
    c, _, _ = clinic
    pid = new_patient(c, "Bounds")
    huge = {"answers": {**ANSWERS, "notes": "x" * (10 * 1024 * 1024)}}  # the reported 10 MB answer
    r = c.post(f"/api/patients/{pid}/histories", json=huge, auth=DOC)
    assert r.status_code == 413 and r.json()["field"] == "request", r.text
    assert _histories(c, pid) == []

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it streams
        yield b'{"given_name": "'
        for _ in range(MAX_BODY_BYTES // 65536 + 2):
            yield b"y" * 65536
        yield b'"}'

    streamed = c.post(
        "/api/patients", content=chunks(), headers={"content-type": "application/json"}, auth=DOC
    )
    assert streamed.status_code == 413, streamed.text
    # a declared length over the upload limit is answered before any of the body is sent
    url = httpx.URL(str(c.base_url))
    with socket.create_connection((url.host, url.port), timeout=30) as sock:
        sock.sendall(
            f"POST /api/assessments/1/photos HTTP/1.1\r\nHost: x\r\n"
            f"Content-Type: multipart/form-data; boundary=x\r\nContent-Length: {MAX_UPLOAD_BYTES + 1}\r\n\r\n".encode()
        )
        assert sock.recv(200).startswith(b"HTTP/1.1 413")


def test_free_text_answers_are_capped_as_on_the_form(clinic: tuple[httpx.Client, Path, str]) -> None:
    c, _, _ = clinic
    pid = new_patient(c, "Capped")
    long = {"answers": {**ANSWERS, "notes": "n" * 5001}}
    r = c.post(f"/api/patients/{pid}/histories", json=long, auth=DOC)
    assert r.status_code == 422 and r.json()["field"] == "answers", r.text
    assert "notes: at most 5000 characters" in r.json()["detail"]
    assert _histories(c, pid) == []
    ok = c.post(
        f"/api/patients/{pid}/histories", json={"answers": {**ANSWERS, "notes": "n" * 5000}}, auth=DOC
    )
    assert ok.status_code == 201, ok.text
    report = {"report": {"days_since_treatment": 2, "symptoms": [{"code": "swelling", "note": "s" * 5001}]}}
    assert c.post(f"/api/patients/{pid}/aftercare", json=report, auth=DOC).status_code == 422


def test_photos_are_stored_without_exif_and_private(clinic: tuple[httpx.Client, Path, str]) -> None:
    c, folder, url = clinic
    r = c.post(
        f"/api/assessments/{new_assessment(c)}/photos",
        files={"file": ("gps.jpg", JPEG, "image/jpeg")},
        auth=DOC,
    )
    assert r.status_code == 201, r.text
    stored = c.get(f"/photos/{r.json()['id']}", auth=DOC)
    assert stored.status_code == 200
    assert b"GPSLatitude" not in stored.content and b"Exif" not in stored.content
    assert stored.content == strip_metadata(JPEG) and stored.content.endswith(SCAN)
    assert b"JFIF" in stored.content  # the other segments stay
    photos = folder / "photos"
    assert photos.stat().st_mode & 0o777 == 0o700
    assert all(p.stat().st_mode & 0o777 == 0o600 for p in photos.iterdir())
    if url.startswith("sqlite"):
        database = Path(url.removeprefix("sqlite:///"))
        assert database.stat().st_mode & 0o077 == 0


def test_png_text_and_exif_chunks_are_dropped() -> None:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + b"\x00\x00\x00\x00"

    head = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", bytes(13))
    tail = chunk(b"IDAT", b"pixels") + chunk(b"IEND", b"")
    png = head + chunk(b"eXIf", GPS) + chunk(b"tEXt", b"Location\x00Berlin") + tail
    assert strip_metadata(png) == head + tail
    assert strip_metadata(b"\x89PNG\r\n\x1a\nnot chunks") == b"\x89PNG\r\n\x1a\nnot chunks"
