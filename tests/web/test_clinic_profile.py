"""The clinic settings page over real HTTP (SQLite and PostgreSQL): name, phone, address and
emergency number, opening hours and a logo — each validated with a clear message next to its
form, nothing changed by a refused entry — and the logo shown in every signed-in page's header."""

from __future__ import annotations

import html
import re
import struct

import httpx
import pytest

from .test_messages import _settings
from .test_pages import _csrf, signed_in
from .test_record import real_png


def _hours_form(admin: httpx.Client, **spans: tuple[str, str]) -> dict[str, str]:
    page = admin.get("/admin/clinic")
    data = {"csrf_token": _csrf(page.text)}
    for day in range(7):
        data[f"opens_{day}"], data[f"closes_{day}"] = spans.get(f"d{day}", ("", ""))
    return data


def _message(text: str, field: str) -> str:
    found = re.search(rf'<p class="error field-error" id="error-{field}" role="alert">([^<]*)</p>', text)
    assert found, text[:3000]
    start = text.index(f'id="q-{field}" class="invalid"')
    assert start < found.start()
    return html.unescape(found.group(1))


@pytest.mark.parametrize(
    ("spans", "words"),
    [
        (
            {"d1": ("09:00", "08:00")},
            "Opening hours: Tuesday: closes at 08:00, which is not after it opens at 09:00",
        ),
        (
            {"d2": ("09:00", "")},
            "Opening hours: Wednesday: give the closing time too, or leave both empty if closed",
        ),
        ({"d0": ("9am", "17:00")}, "Opening hours: Monday: the opening time '9am' is not a time like 09:00"),
    ],
    ids=["closes-before-it-opens", "closing-time-missing", "not-a-time"],
)
def test_bad_opening_hours_are_refused_with_the_day_named(
    app_client: httpx.Client, spans: dict[str, tuple[str, str]], words: str
) -> None:
    with signed_in(str(app_client.base_url), "admin") as admin:
        good = admin.post("/admin/clinic/hours", data=_hours_form(admin, d0=("08:30", "18:00")))
        assert good.status_code == 303
        r = admin.post("/admin/clinic/hours", data=_hours_form(admin, **spans))
        assert r.status_code == 422, r.text[:300]
        assert _message(r.text, "opening_hours") == words
        for day, (opens, closes) in spans.items():  # the entry is kept
            assert f'name="opens_{day[1]}" id="opens_{day[1]}" value="{opens}"' in r.text
            assert f'name="closes_{day[1]}" id="closes_{day[1]}" value="{closes}"' in r.text
        again = admin.get("/admin/clinic").text  # nothing changed
        assert 'name="opens_0" id="opens_0" value="08:30"' in again
        assert 'name="closes_0" id="closes_0" value="18:00"' in again


def test_opening_hours_are_stored_and_shown(app_client: httpx.Client) -> None:
    with signed_in(str(app_client.base_url), "admin") as admin:
        form = _hours_form(admin, d0=("09:00", "17:30"), d4=("10:00", "14:00"))
        r = admin.post("/admin/clinic/hours", data=form)
        assert r.status_code == 303 and r.headers["location"] == "/admin/clinic?saved=hours"
        page = admin.get(r.headers["location"]).text
        assert 'id="hours-saved"' in page
        assert 'name="opens_0" id="opens_0" value="09:00"' in page
        assert 'name="closes_4" id="closes_4" value="14:00"' in page
        assert 'name="opens_5" id="opens_5" value=""' in page  # Saturday: closed
        audit = admin.get("/admin/audit").text
        assert "opening hours" in audit


def _jpeg_with_exif() -> bytes:
    exif = b"Exif\x00\x00" + b"MM\x00*" + b"GPS secret place" * 4
    app1 = b"\xff\xe1" + struct.pack(">H", len(exif) + 2) + exif
    body = b"\xff\xdb" + struct.pack(">H", 67) + bytes(65)  # a quantisation table, enough for the parser
    return b"\xff\xd8" + app1 + body + b"\xff\xda" + struct.pack(">H", 2) + b"scan" + b"\xff\xd9"


def test_logo_upload_is_validated_stored_and_shown_in_the_header(app_client: httpx.Client) -> None:
    base = str(app_client.base_url)
    with signed_in(base, "admin") as admin:
        for content, words in (
            (b"<svg onload='alert(1)'></svg>", "Logo: not a PNG or JPEG image"),
            (b"", "Logo: choose a PNG or JPEG file"),
            (
                b"\x89PNG\r\n\x1a\n" + bytes(300 * 1024),
                "Logo: the file is larger than 256 KB; use a smaller image",
            ),
        ):
            page = admin.get("/admin/clinic")
            r = admin.post(
                "/admin/clinic/logo",
                data={"csrf_token": _csrf(page.text)},
                files={"logo": ("logo.svg", content, "image/png")},
            )
            assert r.status_code == 422, r.text[:300]
            assert _message(r.text, "logo").startswith(words)
            assert admin.get("/clinic/logo").status_code == 404
        logo = real_png((30, 90, 160), 32)
        page = admin.get("/admin/clinic")
        r = admin.post(
            "/admin/clinic/logo",
            data={"csrf_token": _csrf(page.text)},
            files={"logo": ("x.png", logo, "image/png")},
        )
        assert r.status_code == 303, r.text[:300]
        got = admin.get("/clinic/logo")
        assert got.status_code == 200 and got.headers["content-type"] == "image/png" and got.content == logo
        assert 'id="logo-preview"' in admin.get("/admin/clinic").text
        # a JPEG loses its EXIF data (a location, a camera serial) on the way in
        page = admin.get("/admin/clinic")
        jpeg = _jpeg_with_exif()
        r = admin.post(
            "/admin/clinic/logo",
            data={"csrf_token": _csrf(page.text)},
            files={"logo": ("x.jpg", jpeg, "image/jpeg")},
        )
        assert r.status_code == 303, r.text[:300]
        got = admin.get("/clinic/logo")
        assert got.headers["content-type"] == "image/jpeg" and b"GPS secret" not in got.content
    with signed_in(base, "clinician") as doc:
        today = doc.get("/").text
        assert '<img src="/clinic/logo" alt="" class="logo" id="clinic-logo">' in today
        assert doc.get("/clinic/logo").status_code == 200
        page = doc.get("/patients")
        refused = doc.post("/admin/clinic/logo", data={"csrf_token": _csrf(page.text), "remove": "yes"})
        assert refused.status_code == 403
    assert httpx.get(f"{base}/clinic/logo").status_code in (303, 401)  # not signed in: no logo
    with signed_in(base, "admin") as admin:
        page = admin.get("/admin/clinic")
        r = admin.post("/admin/clinic/logo", data={"csrf_token": _csrf(page.text), "remove": "yes"})
        assert r.status_code == 303
        assert admin.get("/clinic/logo").status_code == 404
        assert 'id="clinic-logo"' not in admin.get("/").text


def test_contact_details_are_validated_in_words(app_client: httpx.Client) -> None:
    r = _settings(app_client, phone="call us")
    assert r.status_code == 422
    assert _message(r.text, "phone").startswith("Phone: a telephone number of digits")
    r = _settings(app_client, phone="+49 30 1234567", emergency_number="")
    assert _message(r.text, "emergency_number") == "Emergency number: give the number"
    r = _settings(app_client, name="  ", phone="+49 30 1234567", emergency_number="112")
    assert _message(r.text, "name").startswith("Name: give the clinic's name")
    page = _settings(
        app_client, name="Demo clinic", phone="+49 30 1234567", emergency_number="112", address="1 Main St"
    )
    assert page.status_code == 303
    with signed_in(str(app_client.base_url), "admin") as admin:
        text = admin.get("/admin/clinic").text
        for name in ("name", "phone", "address", "emergency_number"):
            assert f'name="{name}"' in text
        assert "Demo clinic" in admin.get("/").text  # the header names the clinic
