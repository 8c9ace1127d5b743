"""The patient record over real HTTP (SQLite and PostgreSQL): allergies and medicines in the
header, who treated and their notes, saved plans, a photo strip and before/after pairs by view."""

from __future__ import annotations

import datetime as dt
import re
import struct
import zlib
from typing import Any

import httpx

from rhytid.toxin import label_pattern

from .conftest import auth, new_patient
from .test_pages import _csrf, signed_in

DOC = auth("clinician")


def real_png(rgb: tuple[int, int, int], size: int = 24) -> bytes:
    """A valid ``size``×``size`` PNG of one colour (browsers decode it)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    raw = b"".join(b"\x00" + bytes(rgb) * size for _ in range(size))
    head = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", head) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")
    )


def _ok(r: httpx.Response, status: int = 200) -> Any:
    assert r.status_code == status, r.text
    return r.json()


def treated_patient(c: httpx.Client, family: str) -> dict[str, int]:
    """A patient with allergies and a medicine, a saved plan and a treatment with notes."""
    pid = new_patient(c, family)
    answers = {
        "schema_version": 1,
        "allergies": [{"substance": "cow_milk_protein", "reaction": "hives"}],
        "conditions": [],
        "medications": ["warfarin"],
        "pregnant": False,
        "breastfeeding": False,
        "infection_at_injection_site": False,
        "inflammation_at_injection_site": False,
        "previous_toxin": [],
        "previous_eyelid_droop": False,
        "previous_brow_droop": False,
        "facial_surgery": False,
        "dry_eye": False,
        "bleeding_disorder": False,
    }
    _ok(c.post(f"/api/patients/{pid}/histories", json={"answers": answers}, auth=DOC), 201)
    _ok(
        c.post(
            f"/api/patients/{pid}/screening/acknowledge",
            json={"codes": ["antithrombotic", "formulation_allergy_cow_milk_protein"]},
            auth=DOC,
        )
    )
    plan = {
        "product": "incobotulinumtoxinA",
        "injections": [
            {"site": k, "units": v} for k, v in label_pattern("glabellar", "incobotulinumtoxinA").items()
        ],
    }
    saved = _ok(c.post(f"/api/patients/{pid}/plans", json=plan, auth=DOC), 201)
    unused = _ok(
        c.post(f"/api/patients/{pid}/plans", json={**plan, "injections": plan["injections"][:1]}, auth=DOC),
        201,
    )
    vial = _ok(
        c.post(
            "/api/vials",
            auth=DOC,
            json={
                "product": "incobotulinumtoxinA",
                "lot": "REC-1",
                "expiry": "2099-01-01",
                "vial_units": 100,
                "diluent_ml": 2.5,
                "reconstituted_at": (dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)).isoformat(),
            },
        ),
        201,
    )
    t = _ok(
        c.post(
            f"/api/patients/{pid}/treatments",
            json={"plan_id": saved["id"], "vial_id": vial["id"], "notes": "Tolerated well; ice for 5 min."},
            auth=DOC,
        ),
        201,
    )
    return {"patient": pid, "plan": saved["id"], "unused_plan": unused["id"], "treatment": t["id"]}


def add_photos(
    doc: httpx.Client, pid: int, day: str, view: str, colour: tuple[int, int, int]
) -> httpx.Response:
    form = doc.get(f"/patients/{pid}/assessments/new")
    return doc.post(
        f"/patients/{pid}/assessments",
        data={
            "csrf_token": _csrf(form.text),
            "assessed_on": day,
            "glabellar_rest": "1",
            "glabellar_max": "2",
            "photo_view": view,
        },
        files=[("photos", (f"{view}-{day}.png", real_png(colour), "image/png"))],
    )


def test_record_shows_who_treated_notes_plans_and_the_header_summary(app_client: httpx.Client) -> None:
    made = treated_patient(app_client, "Record")
    with signed_in(str(app_client.base_url), "clinician") as doc:
        page = doc.get(f"/patients/{made['patient']}").text
    assert re.search(r'id="summary-allergies"><strong>cow milk protein \(hives\)</strong>', page)
    assert re.search(r'id="summary-medicines"><strong>warfarin</strong>', page)
    block = re.search(rf'id="treatment-{made["treatment"]}".*?</div>', page, re.S)
    assert block is not None
    assert 'Treated by <span class="clinician">Dr Clara Injector</span>' in block.group(0)
    assert "Tolerated well; ice for 5 min." in block.group(0)
    plans = re.findall(r'<li class="plan" id="plan-(\d+)">', page)
    assert [int(p) for p in plans] == [made["unused_plan"], made["plan"]]  # newest first, both listed
    assert f"/patients/{made['patient']}/treatments/new?plan_id={made['unused_plan']}" in page
    # a patient with no history says so rather than "no allergies"
    with signed_in(str(app_client.base_url), "clinician") as doc:
        bare = doc.get(f"/patients/{new_patient(app_client, 'Bare')}").text
    assert 'id="summary-allergies">no medical history yet' in bare


def test_photos_strip_and_before_after_pairs_of_one_view(app_client: httpx.Client) -> None:
    pid = new_patient(app_client, "Photos")
    with signed_in(str(app_client.base_url), "clinician") as doc:
        assert add_photos(doc, pid, "2025-03-01", "frontal_frown", (200, 60, 60)).status_code == 303
        assert add_photos(doc, pid, "2025-04-20", "frontal_frown", (60, 60, 200)).status_code == 303
        assert add_photos(doc, pid, "2025-04-20", "frontal_rest", (60, 200, 60)).status_code == 303
        bad = add_photos(doc, pid, "2025-05-01", "upside_down", (0, 0, 0))
        assert (
            bad.status_code == 422 and "Photo view: &#39;upside_down&#39; is not a standard view" in bad.text
        )
        page = doc.get(f"/patients/{pid}").text
    rows = _ok(app_client.get(f"/api/patients/{pid}/assessments", auth=DOC))
    assert len(rows) == 3  # the refused one stored nothing
    ids = {(r["assessed_on"], p["view"]): p["id"] for r in rows for p in r["photos"]}
    strip = re.search(r'id="photo-strip">(.*?)</ul>', page, re.S)
    assert strip is not None and len(re.findall(r"<img src=\"/photos/\d+\"", strip.group(1))) == 3
    # one comparison: the view with two photos; before = the earliest, after = the latest
    assert re.findall(r'class="compare" id="compare-(\w+)"', page) == ["frontal_frown"]
    pair = re.search(r'id="compare-frontal_frown".*?class="side-by-side">(.*?)</div>', page, re.S)
    assert pair is not None
    srcs = re.findall(r'<img class="img-(before|after)" src="/photos/(\d+)"', pair.group(1))
    assert srcs == [
        ("before", str(ids[("2025-03-01", "frontal_frown")])),
        ("after", str(ids[("2025-04-20", "frontal_frown")])),
    ]
    assert "Before · 1 Mar 2025" in pair.group(1) and "After · 20 Apr 2025" in pair.group(1)
    # the API takes the view with an upload, and refuses an unknown one naming the field
    a = rows[0]["id"]
    up = app_client.post(
        f"/api/assessments/{a}/photos",
        auth=DOC,
        files={"file": ("x.png", real_png((1, 2, 3)), "image/png")},
        data={"view": "oblique_left"},
    )
    assert _ok(up, 201)["view"] == "oblique_left"
    bad_api = app_client.post(
        f"/api/assessments/{a}/photos",
        auth=DOC,
        files={"file": ("y.png", real_png((3, 2, 1)), "image/png")},
        data={"view": "sideways"},
    )
    assert bad_api.status_code == 422 and bad_api.json()["field"] == "view"
