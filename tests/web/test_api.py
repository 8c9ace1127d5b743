"""The JSON API over real HTTP on SQLite and PostgreSQL: roles, audit, bad input, links, exports."""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from typing import Any

import httpx
import pytest
from itsdangerous import TimestampSigner, URLSafeTimedSerializer

from rhytid.toxin import label_pattern

from .conftest import auth, sign_consent

ROLES = ("admin", "clinician", "front_desk")
ALL = set(ROLES)
CLINICAL = {"admin", "clinician"}
CLINICIAN = {"clinician"}
ADMIN = {"admin"}
ANSWERS: dict[str, Any] = {
    "schema_version": 1,
    "allergies": [],
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
GLABELLAR = {
    "product": "onabotulinumtoxinA",
    "injections": [
        {"site": site, "units": units}
        for site, units in label_pattern("glabellar", "onabotulinumtoxinA").items()
    ],
}
PATIENT = {"given_name": "Api", "family_name": "Tester", "birth_date": "1975-02-03", "sex": "female"}


def _ok(r: httpx.Response, status: int = 200) -> Any:
    assert r.status_code == status, r.text
    return r.json()


@pytest.fixture(scope="module")
def ids(app_client: httpx.Client) -> dict[str, int]:
    """A fully treated patient, made through the API."""
    c = app_client
    doc = auth("clinician")
    pid = _ok(c.post("/api/patients", json=PATIENT, auth=doc), 201)["id"]
    _ok(c.post(f"/api/patients/{pid}/histories", json={"answers": ANSWERS}, auth=doc), 201)
    _ok(c.post(f"/api/patients/{pid}/screening/acknowledge", json={"codes": ["antithrombotic"]}, auth=doc))
    for kind in ("toxin_treatment", "photography"):
        sign_consent(c, pid, kind)
    plan = _ok(c.post(f"/api/patients/{pid}/plans", json=GLABELLAR, auth=doc), 201)
    vial = _ok(
        c.post(
            "/api/vials",
            auth=doc,
            json={
                "product": "onabotulinumtoxinA",
                "lot": "API-LOT",
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
            f"/api/patients/{pid}/treatments", json={"plan_id": plan["id"], "vial_id": vial["id"]}, auth=doc
        ),
        201,
    )
    a = _ok(
        c.post(
            f"/api/patients/{pid}/assessments",
            auth=doc,
            json={"assessed_on": dt.date.today().isoformat(), "grades": {"glabellar": {"rest": 1, "max": 3}}},
        ),
        201,
    )
    me = _ok(c.get("/api/me", auth=doc))
    # the first free hour of the review day: other modules that take this fixture book that day too
    for hour in range(9, 17):
        booked = c.post(
            "/api/appointments",
            auth=doc,
            json={
                "patient_id": pid,
                "clinician_id": me["id"],
                "kind": "review",
                "starts_at": f"{t['follow_up']['review_date']}T{hour:02d}:00",
                "treatment_id": t["id"],
            },
        )
        if booked.status_code != 409:
            break
    appt = _ok(booked, 201)
    rep = _ok(
        c.post(
            f"/api/patients/{pid}/aftercare",
            auth=doc,
            json={
                "treatment_id": t["id"],
                "report": {"days_since_treatment": 2, "symptoms": [{"code": "eyelid_droop"}]},
            },
        ),
        201,
    )
    _ok(
        c.post(
            f"/api/patients/{pid}/adverse-events",
            auth=doc,
            json={
                "treatment_id": t["id"],
                "onset_date": dt.date.today().isoformat(),
                "kind": "eyelid_ptosis",
                "severity": "mild",
                "description": "left lid 1 mm lower",
            },
        ),
        201,
    )
    return {
        "patient": pid,
        "plan": plan["id"],
        "vial": vial["id"],
        "treatment": t["id"],
        "assessment": a["id"],
        "appointment": appt["id"],
        "report": rep["id"],
        "clinician": me["id"],
    }


def test_healthz_and_openapi(app_client: httpx.Client) -> None:
    assert _ok(app_client.get("/healthz")) == {"status": "ok"}
    assert "/api/patients" in _ok(app_client.get("/api/openapi.json"))["paths"]


def _matrix(ids: dict[str, int]) -> list[tuple[str, str, Any, set[str]]]:
    p, today = ids["patient"], dt.date.today().isoformat()
    return [
        ("POST", "/api/auth/token", None, ALL),
        ("GET", "/api/me", None, ALL),
        ("POST", "/api/auth/signout", None, ALL),
        ("POST", "/api/me/password", {"current_password": "not-mine-at-all", "new_password": "x"}, ALL),
        ("POST", f"/api/users/{ids['clinician']}/password", {"new_password": "short"}, ADMIN),
        ("POST", "/api/users/999999/sessions/revoke", None, ADMIN),
        ("GET", "/api/me/totp", None, ALL),
        ("POST", "/api/me/totp", None, ALL),  # a key drawn, not on until confirmed
        ("POST", "/api/me/totp/confirm", {"code": "abcdef"}, ALL),  # never a valid code: 422
        ("POST", "/api/users/999999/totp/reset", None, ADMIN),
        ("GET", "/api/users", None, ADMIN),
        (
            "POST",
            "/api/users",
            {"email": "x@y.z", "name": "X", "role": "front_desk", "password": "short"},
            ADMIN,
        ),
        ("PATCH", f"/api/users/{ids['clinician']}", {"role": "superuser"}, ADMIN),
        ("GET", "/api/audit", None, ADMIN),
        ("GET", "/api/patients", None, ALL),
        ("POST", "/api/patients", {**PATIENT, "birth_date": "bad"}, ALL),
        ("GET", f"/api/patients/{p}", None, ALL),
        ("PATCH", f"/api/patients/{p}", {"phone": "123"}, ALL),
        ("POST", f"/api/patients/{p}/links", {"form": "intake"}, ALL),
        ("GET", f"/api/patients/{p}/links", None, ALL),
        ("POST", "/api/links/999999/revoke", None, ALL),
        ("GET", f"/api/patients/{p}/fhir", None, CLINICAL),
        ("GET", f"/api/patients/{p}/histories", None, CLINICAL),
        ("POST", f"/api/patients/{p}/histories", {"answers": {"schema_version": 2}}, CLINICAL),
        ("POST", f"/api/patients/{p}/screening/acknowledge", {"codes": ["nothing"]}, CLINICIAN),
        ("POST", f"/api/patients/{p}/histories/999999/confirm", None, CLINICIAN),
        ("POST", f"/api/patients/{p}/histories/999999/reject", None, CLINICIAN),
        ("GET", f"/api/patients/{p}/assessments", None, CLINICAL),
        ("POST", f"/api/patients/{p}/assessments", {"assessed_on": today, "grades": {}}, CLINICIAN),
        ("POST", f"/api/assessments/{ids['assessment']}/photos", None, CLINICIAN),
        ("GET", "/api/anatomy", None, ALL),
        ("GET", "/api/label-pattern", None, ALL),
        ("POST", f"/api/patients/{p}/preview", GLABELLAR, CLINICAL),
        ("POST", f"/api/patients/{p}/preview/maps", {"plan": {"product": "x"}}, CLINICAL),
        ("GET", f"/api/patients/{p}/plan-draft", None, CLINICAL),
        ("PUT", f"/api/patients/{p}/plan-draft", {"product": "x"}, CLINICAL),
        ("DELETE", f"/api/patients/{p}/plan-draft", None, CLINICAL),
        ("GET", f"/api/patients/{p}/last-treatment", None, CLINICAL),
        ("POST", "/api/unit-conversion", {"units": []}, ALL),
        ("GET", f"/api/patients/{p}/plans", None, CLINICAL),
        ("POST", f"/api/patients/{p}/plans", {"product": "x", "injections": []}, CLINICIAN),
        ("GET", f"/api/patients/{p}/treatments", None, CLINICAL),
        ("POST", f"/api/patients/{p}/treatments", {"plan_id": 0, "vial_id": 0}, CLINICIAN),
        ("POST", f"/api/patients/{p}/plans/{ids['plan']}/ready", None, CLINICIAN),
        ("GET", "/api/vials", None, CLINICAL),
        ("POST", "/api/vials", {"product": "x"}, CLINICAL),
        ("GET", "/api/recall", None, CLINICAL),
        ("GET", "/api/syringes", None, CLINICAL),
        ("POST", "/api/syringes", {"product": ""}, CLINICAL),
        ("GET", f"/api/patients/{p}/filler-treatments", None, CLINICAL),
        ("POST", f"/api/patients/{p}/filler-treatments", {"sites": []}, CLINICIAN),
        ("GET", f"/api/patients/{p}/aftercare", None, CLINICAL),
        ("POST", f"/api/patients/{p}/aftercare", {"report": {}}, CLINICAL),
        ("GET", "/api/alerts", None, ALL),
        ("POST", "/api/alerts/999999/close", {"note": "called the patient"}, CLINICAL),
        ("GET", f"/api/patients/{p}/adverse-events", None, CLINICAL),
        ("POST", f"/api/patients/{p}/adverse-events", {"kind": ""}, CLINICIAN),
        ("GET", "/api/appointments", None, ALL),
        ("GET", "/api/appointments.ics", None, ALL),
        ("POST", "/api/appointments", {"kind": "never"}, ALL),
        ("POST", "/api/appointments/999999/cancel", None, ALL),
        ("POST", "/api/appointments/999999/status", {"status": "arrived"}, ALL),
        ("POST", "/api/appointments/999999/reschedule", {"starts_at": "2040-01-02T09:00"}, ALL),
        ("GET", f"/api/clinicians/{ids['clinician']}/working-hours", None, ALL),
        ("PUT", "/api/clinicians/999999/working-hours", [], ADMIN),
        ("GET", "/api/follow-ups", None, ALL),
        ("GET", "/api/consent-templates", None, ALL),
        ("GET", f"/api/patients/{p}/consents", None, CLINICAL),
        ("POST", f"/api/patients/{p}/consents", {"kind": "photography"}, ALL),
        ("POST", f"/api/patients/{p}/consents/999999/withdraw", {"reason": "patient asked"}, CLINICAL),
        ("POST", "/api/alerts/999999/acknowledge", None, CLINICAL),
        ("GET", "/api/messages", None, CLINICAL),
    ]


def test_matrix_covers_every_endpoint(app_client: httpx.Client, ids: dict[str, int]) -> None:
    paths = _ok(app_client.get("/api/openapi.json"))["paths"]
    documented = {(method.upper(), path) for path, ops in paths.items() for method in ops}
    covered = set()
    for method, url, _, _ in _matrix(ids):
        for m, path in documented:
            parts, want = path.split("/"), url.split("/")
            if (
                m == method
                and len(parts) == len(want)
                and all(a == b or a.startswith("{") for a, b in zip(parts, want, strict=True))
            ):
                covered.add((m, path))
    assert documented == covered


@pytest.mark.parametrize("role", [*ROLES, "anonymous"])
def test_role_matrix(app_client: httpx.Client, ids: dict[str, int], role: str) -> None:
    for method, url, body, allowed in _matrix(ids):
        r = app_client.request(method, url, json=body, auth=None if role == "anonymous" else auth(role))
        if role == "anonymous":
            assert r.status_code == 401, (method, url)
        elif role in allowed:
            assert r.status_code not in (401, 403, 500), (role, method, url, r.text)
        else:
            assert r.status_code == 403, (role, method, url, r.status_code)
            assert r.json()["field"] == "role"


def test_front_desk_cannot_read_clinical_notes(app_client: httpx.Client, ids: dict[str, int]) -> None:
    p = ids["patient"]
    _ok(
        app_client.patch(
            f"/api/patients/{p}", json={"clinical_notes": "glabellar 3 at frown"}, auth=auth("clinician")
        )
    )
    assert (
        _ok(app_client.get(f"/api/patients/{p}", auth=auth("clinician")))["clinical_notes"]
        == "glabellar 3 at frown"
    )
    assert "clinical_notes" not in _ok(app_client.get(f"/api/patients/{p}", auth=auth("front_desk")))
    r = app_client.patch(f"/api/patients/{p}", json={"clinical_notes": "x"}, auth=auth("front_desk"))
    assert (r.status_code, r.json()["field"]) == (403, "clinical_notes")


def test_reads_and_changes_are_audited(app_client: httpx.Client, ids: dict[str, int]) -> None:
    p = ids["patient"]
    _ok(app_client.get(f"/api/patients/{p}/treatments", auth=auth("clinician")))
    _ok(app_client.get(f"/api/patients/{p}", auth=auth("front_desk")))
    log = _ok(app_client.get("/api/audit", params={"patient_id": p}, auth=auth("admin")))
    seen = {(e["actor"].split("@")[0], e["action"], e["entity"]) for e in log}
    for entry in [
        ("clinician", "create", "patient"),
        ("clinician", "create", "medical_history"),
        ("clinician", "update", "medical_history"),
        ("clinician", "create", "plan"),
        ("clinician", "create", "treatment"),
        ("clinician", "read", "treatment"),
        ("desk", "read", "patient"),
        ("clinician", "create", "appointment"),
        ("clinician", "create", "aftercare_report"),
        ("clinician", "create", "adverse_event"),
    ]:
        assert entry in seen


def _count_patients(c: httpx.Client) -> int:
    return len(_ok(c.get("/api/patients", params={"q": "Tester"}, auth=auth("admin"))))


@pytest.mark.parametrize(
    ("method", "url", "body", "status", "field"),
    [
        ("POST", "/api/patients", {**PATIENT, "birth_date": "not a date"}, 422, "birth_date"),
        ("POST", "/api/patients", {**PATIENT, "birth_date": "2020-01-01"}, 422, "birth_date"),
        ("POST", "/api/patients", {**PATIENT, "sex": "x"}, 422, "sex"),
        ("POST", "/api/patients", {**PATIENT, "shoe_size": 9}, 422, "shoe_size"),
        (
            "POST",
            "/api/patients/{p}/histories",
            {"answers": {**ANSWERS, "medications": ["snake_oil"]}},
            422,
            "medications[0]",
        ),
        (
            "POST",
            "/api/patients/{p}/preview",
            {**GLABELLAR, "injections": [{"site": "nose_tip", "units": 4}]},
            422,
            "injection 1",
        ),
        (
            "POST",
            "/api/patients/{p}/preview",
            {**GLABELLAR, "injections": [{"x_mm": 500, "y_mm": 0, "units": 4}]},
            422,
            "injections.0.x_mm",
        ),
        (
            "POST",
            "/api/patients/{p}/preview",
            {**GLABELLAR, "injections": [{"site": "procerus", "units": 5000}]},
            422,
            "injections.0.units",
        ),
        (
            "POST",
            "/api/appointments",
            {"patient_id": "{p}", "clinician_id": "{c}", "kind": "review", "starts_at": "2031-01-01T09:07"},
            422,
            "starts_at",
        ),
        (
            "POST",
            "/api/appointments",
            {"patient_id": 999999, "clinician_id": "{c}", "kind": "review", "starts_at": "2031-01-01T09:00"},
            404,
            "patient_id",
        ),
        ("POST", "/api/patients/{p}/treatments", {"plan_id": "{plan}", "vial_id": 999999}, 404, "vial_id"),
        (
            "POST",
            "/api/patients/{p}/aftercare",
            {"report": {"days_since_treatment": 1, "symptoms": [{"code": "itch"}]}},
            422,
            "symptoms[0].code",
        ),
        ("GET", "/api/patients/999999", None, 404, "patient_id"),
    ],
    ids=[
        "bad-date",
        "minor",
        "bad-sex",
        "extra-field",
        "unknown-medicine",
        "unknown-site",
        "off-face",
        "huge-dose",
        "off-grid-time",
        "no-patient",
        "no-vial",
        "unknown-symptom",
        "missing-patient",
    ],
)
def test_bad_input_is_a_clear_4xx_and_changes_nothing(
    app_client: httpx.Client, ids: dict[str, int], method: str, url: str, body: Any, status: int, field: str
) -> None:
    fill = {"{p}": ids["patient"], "{c}": ids["clinician"], "{plan}": ids["plan"]}
    url = url.replace("{p}", str(ids["patient"]))
    if body is not None:
        body = json.loads(
            json.dumps(body),
            object_hook=lambda d: {k: fill.get(v, v) if isinstance(v, str) else v for k, v in d.items()},
        )
    before = (
        _count_patients(app_client),
        len(_ok(app_client.get("/api/audit", auth=auth("admin"), params={"limit": 5000}))),
    )
    r = app_client.request(method, url, json=body, auth=auth("clinician"))
    assert r.status_code == status, r.text
    assert (r.json()["field"] or "").startswith(field), r.json()
    audit_after = len(_ok(app_client.get("/api/audit", auth=auth("admin"), params={"limit": 5000})))
    assert _count_patients(app_client) == before[0]
    assert audit_after == before[1]  # the failed request wrote no audit record either


def test_malformed_json_and_bad_upload(app_client: httpx.Client, ids: dict[str, int]) -> None:
    r = app_client.post(
        "/api/patients",
        content=b"{not json",
        headers={"Content-Type": "application/json"},
        auth=auth("clinician"),
    )
    assert r.status_code == 422
    r = app_client.post(
        f"/api/assessments/{ids['assessment']}/photos",
        files={"file": ("x.png", b"GIF89a", "image/png")},
        auth=auth("clinician"),
    )
    assert (r.status_code, r.json()["field"]) == (422, "file")
    png = b"\x89PNG\r\n\x1a\n" + bytes(64)
    ok = _ok(
        app_client.post(
            f"/api/assessments/{ids['assessment']}/photos",
            files={"file": ("face.png", png, "image/png")},
            auth=auth("clinician"),
        ),
        201,
    )
    assert len(ok["sha256"]) == 64


def test_fifty_concurrent_http_bookings_give_one(app_client: httpx.Client, ids: dict[str, int]) -> None:
    token = _ok(app_client.post("/api/auth/token", auth=auth("front_desk")))["access_token"]
    body = {
        "patient_id": ids["patient"],
        "clinician_id": ids["clinician"],
        "kind": "consultation",
        "starts_at": "2033-06-01T10:00",
    }
    codes: list[int] = []
    barrier = threading.Barrier(50)

    def attempt() -> None:
        with httpx.Client(base_url=str(app_client.base_url), timeout=60) as c:
            barrier.wait()
            codes.append(
                c.post(
                    "/api/appointments", json=body, headers={"Authorization": f"Bearer {token}"}
                ).status_code
            )

    threads = [threading.Thread(target=attempt) for _ in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(codes) == [201] + [409] * 49
    day = _ok(
        app_client.get(
            "/api/appointments",
            params={"start": "2033-06-01T00:00", "end": "2033-06-02T00:00"},
            auth=auth("admin"),
        )
    )
    assert len(day) == 1


def test_patient_links_open_only_their_form_and_expire(app_client: httpx.Client, ids: dict[str, int]) -> None:
    link = _ok(
        app_client.post(
            f"/api/patients/{ids['patient']}/links", json={"form": "intake"}, auth=auth("front_desk")
        ),
        201,
    )
    path = httpx.URL(link["url"]).path
    assert app_client.get(path).status_code == 200
    assert app_client.get(path.replace("/p/intake/", "/p/aftercare/")).status_code == 404
    assert app_client.get(path[:-3] + "abc").status_code == 404
    assert app_client.get(f"/patients/{ids['patient']}", follow_redirects=False).status_code == 303

    class Old(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time()) - 8 * 86400

    old = URLSafeTimedSerializer("test-secret-key", salt="patient-link", signer=Old)
    token = old.dumps({"p": ids["patient"], "f": "intake", "t": None})
    assert app_client.get(f"/p/intake/{token}").status_code == 410


def test_exports(app_client: httpx.Client, ids: dict[str, int]) -> None:
    bundle = _ok(app_client.get(f"/api/patients/{ids['patient']}/fhir", auth=auth("clinician")))
    kinds = {e["resource"]["resourceType"] for e in bundle["entry"]}
    assert kinds >= {
        "Patient",
        "QuestionnaireResponse",
        "Observation",
        "Medication",
        "MedicationAdministration",
        "Procedure",
        "Appointment",
        "AdverseEvent",
    }
    meds = [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Medication"]
    assert meds[0]["batch"] == {"lotNumber": "API-LOT", "expirationDate": "2099-01-01"}
    ics = app_client.get("/api/appointments.ics", auth=auth("front_desk"))
    assert ics.status_code == 200 and b"BEGIN:VEVENT" in ics.content and b"2-week review" in ics.content
    assert b"Tester" not in ics.content


def test_alert_is_listed_and_closed(app_client: httpx.Client, ids: dict[str, int]) -> None:
    alerts = _ok(app_client.get("/api/alerts", auth=auth("front_desk")))
    assert any(a["id"] == ids["report"] and a["level"] == "contact_clinic" for a in alerts)
    # closing needs a note of what was done
    r = app_client.post(f"/api/alerts/{ids['report']}/close", json={"note": " "}, auth=auth("clinician"))
    assert r.status_code == 422 and r.json()["field"] == "note", r.text
    assert any(a["id"] == ids["report"] for a in _ok(app_client.get("/api/alerts", auth=auth("front_desk"))))
    note = {"note": "called the patient: left lid 1 mm lower, review booked"}
    _ok(app_client.post(f"/api/alerts/{ids['report']}/close", json=note, auth=auth("clinician")))
    assert all(a["id"] != ids["report"] for a in _ok(app_client.get("/api/alerts", auth=auth("front_desk"))))
