"""Hyaluronic-acid filler beside toxin, over real HTTP on SQLite and PostgreSQL (issue 10, item 5):
syringes from the inventory, the filler record (sites, plane, needle or cannula, hyaluronidase on
hand), its red flags in aftercare triage, the lot recall and the FHIR export."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from .test_pages import _csrf, signed_in
from .test_safety import DOC, _ok, _patient


@pytest.fixture(scope="module")
def doc(app_client: httpx.Client) -> Iterator[httpx.Client]:
    with signed_in(str(app_client.base_url), "clinician") as c:
        yield c


def _syringe(c: httpx.Client, lot: str, **kw: Any) -> httpx.Response:
    body = {"product": "HA filler 20 mg/mL", "lot": lot, "expiry": "2099-01-01", "syringe_ml": 1.0}
    body.update(kw)
    return c.post("/api/syringes", auth=DOC, json=body)


def _ml_left(c: httpx.Client, sid: int) -> float:
    return float(next(s for s in _ok(c.get("/api/syringes", auth=DOC)) if s["id"] == sid)["ml_left"])


LIPS = {
    "technique": "cannula",
    "hyaluronidase_on_hand": True,
    "sites": [
        {"area": "lips", "plane": "subdermal", "volume_ml": 0.4},
        {"area": "perioral", "plane": "superficial_dermis", "volume_ml": 0.2},
    ],
}


def test_syringe_inventory_refuses_bad_and_expired_syringes(app_client: httpx.Client) -> None:
    c = app_client
    before = len(_ok(c.get("/api/syringes", auth=DOC)))
    yesterday = (dt.date.today() - dt.timedelta(days=1)).isoformat()
    for body, field in (
        ({"expiry": yesterday}, "expiry"),
        ({"syringe_ml": 10}, "syringe_ml"),
        ({"lot": ""}, "lot"),
    ):
        r = _syringe(c, str(body.pop("lot", "BAD-1")), **body)
        assert (r.status_code, r.json()["field"]) == (422, field), r.text
    assert len(_ok(c.get("/api/syringes", auth=DOC))) == before


def test_filler_treatment_from_the_inventory(app_client: httpx.Client) -> None:
    c = app_client
    syringe = _ok(_syringe(c, "HA-LOT-1"), 201)
    no_intake = _patient(c, "Fillernointake", answers=None)
    r = c.post(
        f"/api/patients/{no_intake}/filler-treatments", auth=DOC, json={**LIPS, "syringe_id": syringe["id"]}
    )
    assert (r.status_code, r.json()["field"]) == (422, "history")
    unconsented = _patient(c, "Fillernoconsent", consents=("toxin_treatment",))
    r = c.post(
        f"/api/patients/{unconsented}/filler-treatments", auth=DOC, json={**LIPS, "syringe_id": syringe["id"]}
    )
    assert (r.status_code, r.json()["field"]) == (422, "consent"), r.text
    pid = _patient(c, "Filler")
    cases = [
        ({"hyaluronidase_on_hand": False}, "hyaluronidase_on_hand"),
        ({"technique": "trocar"}, "technique"),
        ({"sites": [{"area": "elbow", "plane": "subdermal", "volume_ml": 0.2}]}, "sites.0.area"),
        ({"sites": [{"area": "lips", "plane": "subdermal", "volume_ml": 1.5}]}, "syringe_id"),
        ({"sites": []}, "sites"),
    ]
    for change, field in cases:
        r = c.post(
            f"/api/patients/{pid}/filler-treatments",
            auth=DOC,
            json={**LIPS, "syringe_id": syringe["id"], **change},
        )
        assert (r.status_code, r.json()["field"]) == (422, field), (change, r.text)
    assert _ok(c.get(f"/api/patients/{pid}/filler-treatments", auth=DOC)) == []
    assert _ml_left(c, syringe["id"]) == 1.0
    t = _ok(
        c.post(
            f"/api/patients/{pid}/filler-treatments", auth=DOC, json={**LIPS, "syringe_id": syringe["id"]}
        ),
        201,
    )
    assert (t["volume_ml"], t["lot"], t["technique"], t["hyaluronidase_on_hand"]) == (
        0.6,
        "HA-LOT-1",
        "cannula",
        True,
    )
    assert [(s["area"], s["plane"]) for s in t["sites"]] == [
        ("lips", "subdermal"),
        ("perioral", "superficial_dermis"),
    ]
    assert _ml_left(c, syringe["id"]) == pytest.approx(0.4)
    # the lot recall and the FHIR export know it
    (row,) = _ok(c.get("/api/recall", params={"lot": "HA-LOT-1"}, auth=DOC))
    assert (row["kind"], row["patient_id"], row["amount"], row["unit"]) == ("filler", pid, 0.6, "mL")
    bundle = _ok(c.get(f"/api/patients/{pid}/fhir", auth=DOC))
    # FHIR ids are UUIDs; the record's own id is each resource's identifier
    resources = {
        (e["resource"]["resourceType"], e["resource"]["identifier"][0]["value"]): e for e in bundle["entry"]
    }
    med_entry = resources[("Medication", f"filler-{t['id']}")]
    med, proc = med_entry["resource"], resources[("Procedure", f"filler-{t['id']}")]["resource"]
    assert med["batch"] == {"lotNumber": "HA-LOT-1", "expirationDate": "2099-01-01"}
    assert med["totalVolume"] == {"value": 1.0, "unit": "mL"}
    assert [b["text"] for b in proc["bodySite"]] == ["lips", "perioral"]
    assert "cannula" in proc["note"][0]["text"] and "hyaluronidase on hand" in proc["note"][0]["text"]
    assert proc["used"][0]["reference"]["reference"] == med_entry["fullUrl"]


def test_filler_red_flags_in_triage(app_client: httpx.Client) -> None:
    c = app_client
    syringe = _ok(_syringe(c, "HA-LOT-2"), 201)
    filler, toxin_only = _patient(c, "Redflag"), _patient(c, "Toxinonly")
    _ok(
        c.post(
            f"/api/patients/{filler}/filler-treatments", auth=DOC, json={**LIPS, "syringe_id": syringe["id"]}
        ),
        201,
    )

    def report(pid: int, code: str) -> dict[str, Any]:
        body = {"report": {"days_since_treatment": 0.2, "symptoms": [{"code": code}]}}
        return dict(_ok(c.post(f"/api/patients/{pid}/aftercare", auth=DOC, json=body), 201))

    for code in ("blurred_vision", "severe_pain", "skin_blanching", "mottled_skin"):
        after = report(filler, code)
        assert after["level"] == "emergency", (code, after)
        assert after["advice"].startswith("After filler") and "hyaluronidase" in after["advice"]
    assert report(toxin_only, "blurred_vision")["level"] == "contact_clinic"  # no filler: not a vessel
    assert report(toxin_only, "severe_pain")["level"] == "contact_clinic"
    assert report(toxin_only, "skin_blanching")["level"] == "emergency"


def test_filler_pages_rerender_bad_input_and_record(app_client: httpx.Client, doc: httpx.Client) -> None:
    c = app_client
    syringe = _ok(_syringe(c, "HA-PAGE"), 201)
    pid = _patient(c, "Fillerpage")
    form = doc.get(f"/patients/{pid}/fillers/new")
    assert form.status_code == 200 and "HA-PAGE" in form.text
    fields = {
        "csrf_token": _csrf(form.text),
        "syringe_id": str(syringe["id"]),
        "technique": "needle",
        "hyaluronidase_on_hand": "yes",
        "site_2_area": "nasolabial_fold",
        "site_2_plane": "deep_dermis",
        "site_2_volume_ml": "lots",
        "notes": "left <fold>",
    }
    r = doc.post(f"/patients/{pid}/fillers", data=fields)
    assert r.status_code == 422
    assert re.search(r'id="site_2_volume_ml-error">Site 2 — volume \(mL\): ', r.text), r.text[:2000]
    assert 'value="lots"' in r.text and "left &lt;fold&gt;</textarea>" in r.text
    assert '<option value="nasolabial_fold" selected>' in r.text
    r = doc.post(
        f"/patients/{pid}/fillers", data={**fields, "site_2_volume_ml": "0.5", "hyaluronidase_on_hand": ""}
    )
    assert r.status_code == 422
    assert re.search(
        r'id="hyaluronidase_on_hand-error">Hyaluronidase on hand: confirm that hyaluronidase', r.text
    )
    assert _ok(c.get(f"/api/patients/{pid}/filler-treatments", auth=DOC)) == []
    r = doc.post(f"/patients/{pid}/fillers", data={**fields, "site_2_volume_ml": "0.5"})
    assert r.status_code == 303, r.text[:1000]
    page = doc.get(f"/patients/{pid}")
    assert re.search(
        r'id="filler-\d+".*?0\.5 mL HA filler 20 mg/mL, lot <span class="lot">HA-PAGE', page.text, re.S
    )
    assert "0.5 mL nasolabial fold (deep dermis)" in page.text
    # the patient's aftercare link after filler: blanching is an emergency, said in words
    link = doc.post(f"/patients/{pid}/links", data={"csrf_token": _csrf(page.text), "form": "aftercare"})
    url = re.search(r'href="(http[^"]+/p/aftercare/[^"]+)"', link.text)
    assert url, link.text[:1000]
    with httpx.Client(timeout=30) as phone:
        aftercare = phone.get(url.group(1))
        token = re.search(r'name="csrf_token" value="([^"]+)"', aftercare.text)
        assert token and 'id="s-skin_blanching"' in aftercare.text
        done = phone.post(url.group(1), data={"csrf_token": token.group(1), "symptom": "skin_blanching"})
    assert done.status_code == 200
    assert 'id="level">Call the emergency number now' in done.text and "hyaluronidase" in done.text


def test_syringe_page_rerenders_with_the_message_next_to_the_field(
    app_client: httpx.Client, doc: httpx.Client
) -> None:
    page = doc.get("/syringes")
    yesterday = (dt.date.today() - dt.timedelta(days=1)).isoformat()
    data = {
        "csrf_token": _csrf(page.text),
        "product": "HA x",
        "lot": "OLD-HA",
        "expiry": yesterday,
        "syringe_ml": "1",
    }
    r = doc.post("/syringes", data=data)
    assert r.status_code == 422 and re.search(r'id="expiry-error">Expiry date: lot OLD-HA expired on', r.text)
    assert 'value="OLD-HA"' in r.text
    assert all(s["lot"] != "OLD-HA" for s in _ok(app_client.get("/api/syringes", auth=DOC)))
    r = doc.post("/syringes", data={**data, "expiry": "2099-01-01", "syringe_ml": "20"})
    assert r.status_code == 422 and re.search(r'id="syringe_ml-error">Syringe \(mL\): ', r.text)
    assert doc.post("/syringes", data={**data, "expiry": "2099-01-01"}).status_code == 303
    assert any(s["lot"] == "OLD-HA" for s in _ok(app_client.get("/api/syringes", auth=DOC)))
