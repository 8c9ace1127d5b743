"""Exports and bounds over real HTTP (SQLite and PostgreSQL): no 500s.

Reported: the FHIR export failed for any patient with a lateral canthal grade or most condition
codes (ids built with ``_``); ids of 2^63 and more in a path, query or body; a booking on
9999-12-31 made the whole calendar export fail; a vial at ``0001-01-01T00:00+14:00``; API offsets
were dropped instead of converted; the calendar wrote UTC times as floating local times and left
cancelled appointments out.

The FHIR bundle is checked with fhir.resources (its default models are FHIR R5), by the official
R5 JSON schema (the npm package hl7.fhir.r5.core) and by its references; the calendar is parsed
with icalendar.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import uuid
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest
from fhir.resources.bundle import Bundle
from icalendar import Calendar

from rhytid.clinic._rules import rules

from .conftest import auth, new_patient
from .test_api import ANSWERS, GLABELLAR, _ok

DOC = auth("clinician")
HUGE = 2**63
FHIR_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")
AREAS = ("glabellar", "forehead", "lateral_canthal_l", "lateral_canthal_r")


def _vial(c: httpx.Client, **change: Any) -> httpx.Response:
    body = {
        "product": "onabotulinumtoxinA",
        "lot": "EXP-LOT",
        "expiry": "2099-01-01",
        "vial_units": 100,
        "diluent_ml": 2.5,
        "reconstituted_at": (dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)).isoformat(),
        **change,
    }
    return c.post("/api/vials", auth=DOC, json=body)


@pytest.fixture(scope="module")
def full(app_client: httpx.Client) -> dict[str, Any]:
    """A patient with every area graded, every condition, a treatment, appointments and an event."""
    c = app_client
    pid = new_patient(c, "Everything")
    conditions = [str(x) for x in rules().codes["neuromuscular_conditions"].value] + [
        str(x) for x in rules().codes["other_conditions"].value
    ]
    # a treatable history first (the treatment), then one listing every condition
    _ok(
        c.post(f"/api/patients/{pid}/histories", json={"answers": {**ANSWERS, "medications": []}}, auth=DOC),
        201,
    )
    plan = _ok(c.post(f"/api/patients/{pid}/plans", json=GLABELLAR, auth=DOC), 201)
    vial = _ok(_vial(c), 201)
    t = _ok(
        c.post(
            f"/api/patients/{pid}/treatments", json={"plan_id": plan["id"], "vial_id": vial["id"]}, auth=DOC
        ),
        201,
    )
    answers = {
        **ANSWERS,
        "conditions": conditions,
        "allergies": [{"substance": "human_albumin", "reaction": "hives"}],
        "previous_toxin": [
            {
                "date": "2024-03-01",
                "product": "onabotulinumtoxinA",
                "units": 20,
                "area": "glabellar",
                "side_effects": ["eyelid_ptosis"],
            }
        ],
    }
    _ok(c.post(f"/api/patients/{pid}/histories", json={"answers": answers}, auth=DOC), 201)
    grades = {area: {"rest": 1, "max": 2} for area in AREAS}
    _ok(
        c.post(
            f"/api/patients/{pid}/assessments", json={"assessed_on": "2025-01-02", "grades": grades}, auth=DOC
        ),
        201,
    )
    me = _ok(c.get("/api/me", auth=DOC))
    booked = _ok(
        c.post(
            "/api/appointments",
            auth=DOC,
            json={
                "patient_id": pid,
                "clinician_id": me["id"],
                "kind": "review",
                "starts_at": "2034-01-10T09:00:00+01:00",
            },
        ),
        201,
    )
    cancelled = _ok(
        c.post(
            "/api/appointments",
            auth=DOC,
            json={
                "patient_id": pid,
                "clinician_id": me["id"],
                "kind": "recall",
                "starts_at": "2034-01-11T10:00:00Z",
            },
        ),
        201,
    )
    _ok(
        c.post(
            f"/api/appointments/{cancelled['id']}/cancel", auth=DOC, json={"reason": "patient called, unwell"}
        )
    )
    _ok(
        c.post(
            f"/api/patients/{pid}/adverse-events",
            auth=DOC,
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
    return {"patient": pid, "booked": booked, "cancelled": cancelled, "treatment": t, "clinician": me}


def test_fhir_export_of_a_full_record_is_valid_r5(app_client: httpx.Client, full: dict[str, Any]) -> None:
    r = app_client.get(f"/api/patients/{full['patient']}/fhir", auth=DOC)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/fhir+json")
    data = r.json()
    Bundle.model_validate(data)  # fhir.resources >= 7: R5
    urls = set()
    for entry in data["entry"]:
        res = entry["resource"]
        assert FHIR_ID.match(res["id"]), res["id"]
        assert entry["fullUrl"] == f"urn:uuid:{res['id']}"
        assert str(uuid.UUID(res["id"])) == res["id"]
        urls.add(entry["fullUrl"])
    references = re.findall(r'"reference":\s*"([^"]+)"', json.dumps(data))
    assert references and set(references) <= urls  # every reference resolves inside the bundle
    kinds = [e["resource"]["resourceType"] for e in data["entry"]]
    assert {
        "Patient",
        "Practitioner",
        "Condition",
        "AllergyIntolerance",
        "Observation",
        "Procedure",
        "MedicationAdministration",
        "Medication",
        "Appointment",
        "AdverseEvent",
        "QuestionnaireResponse",
    } <= set(kinds)
    assert kinds.count("Condition") == 8 and kinds.count("Observation") == 8
    # the treating clinician performs the procedure
    practitioner = next(e for e in data["entry"] if e["resource"]["resourceType"] == "Practitioner")
    procedure = next(e["resource"] for e in data["entry"] if e["resource"]["resourceType"] == "Procedure")
    assert procedure["performer"][0]["actor"]["reference"] == practitioner["fullUrl"]
    assert practitioner["resource"]["name"][0]["text"] == full["clinician"]["name"]
    # answers are typed, not Python text
    newest = next(
        e["resource"] for e in data["entry"] if e["resource"]["resourceType"] == "QuestionnaireResponse"
    )
    items = {i["linkId"]: i for i in newest["item"]}
    assert items["pregnant"]["answer"] == [{"valueBoolean": False}]
    conditions = items["conditions"]["answer"][0]
    assert conditions["valueBoolean"] is True
    assert {n["answer"][0]["valueCoding"]["code"] for n in conditions["item"]} >= {
        "myasthenia_gravis",
        "dry_eye",
    }
    previous = items["previous_toxin"]["answer"][0]["item"][0]["item"]
    by_name = {p["text"]: p["answer"] for p in previous}
    assert by_name["date"] == [{"valueDate": "2024-03-01"}]
    assert by_name["units"] == [{"valueDecimal": 20}]
    assert (
        "False" not in r.text
        and "None" not in r.text
        and "[{" not in json.dumps(items["allergies"]["answer"][0].get("valueString", ""))
    )
    # the same record exports the same ids
    again = app_client.get(f"/api/patients/{full['patient']}/fhir", auth=DOC).json()
    assert [e["fullUrl"] for e in again["entry"]] == [e["fullUrl"] for e in data["entry"]]


def test_calendar_has_utc_times_and_cancelled_events(app_client: httpx.Client, full: dict[str, Any]) -> None:
    r = app_client.get("/api/appointments.ics", auth=auth("front_desk"))
    assert r.status_code == 200, r.text
    cal = Calendar.from_ical(r.content)
    events = {str(e["uid"]): e for e in cal.walk("VEVENT")}
    booked = events[f"appointment-{full['booked']['id']}@rhytid"]
    start = booked.decoded("dtstart")
    assert start.tzinfo is not None and start == dt.datetime(2034, 1, 10, 8, 0, tzinfo=dt.UTC)
    assert booked.decoded("dtend") - start == dt.timedelta(minutes=15)
    assert str(booked["status"]) == "CONFIRMED"
    cancelled = events[f"appointment-{full['cancelled']['id']}@rhytid"]
    assert str(cancelled["status"]) == "CANCELLED"
    assert cancelled.decoded("dtstart") == dt.datetime(2034, 1, 11, 10, 0, tzinfo=dt.UTC)


def test_api_offsets_are_converted_and_times_leave_with_their_offset(
    app_client: httpx.Client, full: dict[str, Any]
) -> None:
    booked = full["booked"]
    assert booked["starts_at"] == "2034-01-10T08:00:00Z"  # 09:00+01:00 is 08:00 UTC, not 09:00
    listed = _ok(
        app_client.get(
            "/api/appointments",
            params={"start": "2034-01-10T08:30:00+01:00", "end": "2034-01-10T09:30:00+01:00"},
            auth=DOC,
        )
    )
    assert [a["id"] for a in listed] == [booked["id"]]
    at = (dt.datetime.now(dt.UTC) - dt.timedelta(hours=2)).replace(microsecond=0)
    local = at.astimezone(dt.timezone(dt.timedelta(hours=5))).isoformat()  # e.g. ...T17:00:00+05:00
    vial = _ok(_vial(app_client, reconstituted_at=local), 201)
    assert vial["reconstituted_at"] == at.strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.mark.parametrize(
    ("method", "url", "body", "status"),
    [
        ("GET", f"/api/patients/{HUGE}", None, 404),
        ("GET", f"/api/patients/{HUGE}/fhir", None, 404),
        ("PATCH", f"/api/patients/{HUGE}", {"phone": "1"}, 404),
        ("POST", f"/api/appointments/{HUGE}/cancel", None, 404),
        ("POST", f"/api/alerts/{2**31}/close", None, 404),
        ("GET", f"/api/audit?patient_id={HUGE}", None, 422),
        ("GET", f"/api/appointments?patient_id={HUGE}", None, 422),
        (
            "POST",
            "/api/appointments",
            {"patient_id": HUGE, "clinician_id": 1, "kind": "review", "starts_at": "2034-01-01T09:00"},
            422,
        ),
        ("POST", "/api/patients/1/treatments", {"plan_id": HUGE, "vial_id": HUGE}, 422),
        ("POST", "/api/patients/1/links", {"form": "aftercare", "treatment_id": HUGE}, 422),
        ("GET", f"/patients/{HUGE}", None, 404),
    ],
)
def test_huge_ids_are_not_found_or_refused(
    app_client: httpx.Client, method: str, url: str, body: Any, status: int
) -> None:
    who = auth("admin") if "audit" in url else DOC
    r = app_client.request(method, url, json=body, auth=who)
    assert r.status_code == status, r.text
    if status == 422:
        assert r.json()["field"], r.text


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"starts_at": "9999-12-31T23:50:00"}, "starts_at"),
        ({"starts_at": "0001-01-01T00:00:00+14:00"}, "starts_at"),
        ({"starts_at": 0}, "starts_at"),
    ],
)
def test_out_of_range_bookings_are_refused_and_the_calendar_still_exports(
    app_client: httpx.Client, full: dict[str, Any], body: dict[str, Any], field: str
) -> None:
    base = {"patient_id": full["patient"], "clinician_id": full["clinician"]["id"], "kind": "review"}
    r = app_client.post("/api/appointments", auth=DOC, json={**base, **body})
    assert r.status_code == 422 and r.json()["field"] == field, r.text
    assert app_client.get("/api/appointments.ics", auth=DOC).status_code == 200


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"reconstituted_at": "0001-01-01T00:00+14:00"}, "reconstituted_at"),
        ({"reconstituted_at": "9999-12-31T23:59:59-12:00"}, "reconstituted_at"),
        ({"expiry": 0}, "expiry"),
        ({"expiry": "10000-01-01"}, "expiry"),
    ],
)
def test_out_of_range_vials_are_refused(app_client: httpx.Client, change: dict[str, Any], field: str) -> None:
    before = len(_ok(app_client.get("/api/vials", auth=DOC)))
    r = _vial(app_client, **change)
    assert r.status_code == 422 and r.json()["field"] == field, r.text
    assert len(_ok(app_client.get("/api/vials", auth=DOC))) == before


def test_a_birth_date_of_zero_is_not_1970(app_client: httpx.Client) -> None:
    body = {"given_name": "Zero", "family_name": "Date", "birth_date": 0, "sex": "female"}
    r = app_client.post("/api/patients", auth=DOC, json=body)
    assert r.status_code == 422 and r.json()["field"] == "birth_date", r.text


#: The official FHIR R5 JSON schema: ``package/openapi/fhir.schema.json`` of the npm package
#: ``hl7.fhir.r5.core`` (5.0.0), unpacked into build/fhir by .ci/run (or named by RHYTID_FHIR_SCHEMA).
FHIR_SCHEMA = Path(
    os.environ.get(
        "RHYTID_FHIR_SCHEMA",
        Path(__file__).resolve().parents[2] / "build" / "fhir" / "package" / "openapi" / "fhir.schema.json",
    )
)


@pytest.fixture(scope="module")
def r5_validator() -> Any:
    if not FHIR_SCHEMA.is_file():
        if os.environ.get("CI"):  # .ci/run provides it: its absence there is a failure
            pytest.fail(f"the official FHIR R5 JSON schema is not at {FHIR_SCHEMA}")
        pytest.skip(
            f"the official FHIR R5 JSON schema is not at {FHIR_SCHEMA}: .ci/run fetches it "
            "(npm pack hl7.fhir.r5.core@5.0.0, unpacked into build/fhir)"
        )
    schema = json.loads(FHIR_SCHEMA.read_text(encoding="utf-8"))
    assert schema["id"] == "http://hl7.org/fhir/json-schema/5.0"
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def test_fhir_export_of_a_full_record_meets_the_official_r5_json_schema(
    app_client: httpx.Client, full: dict[str, Any], r5_validator: Any
) -> None:
    data = app_client.get(f"/api/patients/{full['patient']}/fhir", auth=DOC).json()
    kinds = {e["resource"]["resourceType"] for e in data["entry"]}
    assert {"Patient", "Practitioner", "Condition", "Observation", "Procedure", "Consent"} <= kinds
    errors = [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message[:300]}" for e in r5_validator.iter_errors(data)
    ]
    assert not errors, "\n".join(errors[:20])
    # a filler treatment (its Medication and Procedure) on a patient of its own
    from .test_filler import LIPS, _syringe
    from .test_safety import _patient

    filler = _patient(app_client, "Fillerschema")
    syringe = _ok(_syringe(app_client, "HA-SCHEMA-1"), 201)
    _ok(
        app_client.post(
            f"/api/patients/{filler}/filler-treatments", auth=DOC, json={**LIPS, "syringe_id": syringe["id"]}
        ),
        201,
    )
    second = app_client.get(f"/api/patients/{filler}/fhir", auth=DOC).json()
    assert sum(e["resource"]["resourceType"] == "Procedure" for e in second["entry"]) >= 1
    errors = [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message[:300]}" for e in r5_validator.iter_errors(second)
    ]
    assert not errors, "\n".join(errors[:20])
    # the validator is strict: an element R5 does not define is refused
    broken = json.loads(json.dumps(data))
    broken["entry"][0]["resource"]["notAnElement"] = True
    assert not r5_validator.is_valid(broken)


def test_fhir_export_downloads_as_a_file_from_the_record(
    app_client: httpx.Client, full: dict[str, Any]
) -> None:
    """The record's download link names the export; the answer is an attachment with a filename
    that says whose record it is and from when, and it is audited as an export."""
    from .test_pages import signed_in

    pid = full["patient"]
    family = app_client.get(f"/api/patients/{pid}", auth=DOC).json()["family_name"]
    with signed_in(str(app_client.base_url), "clinician") as doc:
        page = doc.get(f"/patients/{pid}").text
        link = re.search(r'<a class="button" href="([^"]+)" id="fhir-download" download>([^<]+)</a>', page)
        assert link and link.group(2) == "Download record (FHIR)", page[:500]
        r = doc.get(link.group(1))  # the signed-in browser's cookie is enough for a GET
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/fhir+json")
    disposition = r.headers["content-disposition"]
    name = re.fullmatch(
        r'attachment; filename="(patient-(\d+)-([a-z0-9-]+)-(\d{4}-\d{2}-\d{2})\.fhir\.json)"', disposition
    )
    assert name, disposition
    assert int(name.group(2)) == pid and name.group(3) == family.lower()
    assert abs((dt.date.fromisoformat(name.group(4)) - dt.date.today()).days) <= 1
    Bundle.model_validate(r.json())


def test_fhir_filename_is_plain_ascii() -> None:
    from types import SimpleNamespace

    from rhytid.web._api import fhir_filename

    name = fhir_filename(SimpleNamespace(id=7, family_name="García López/../x"))
    assert re.fullmatch(r"patient-7-garcia-lopez-x-\d{4}-\d{2}-\d{2}\.fhir\.json", name), name
    assert re.fullmatch(
        r"patient-8-\d{4}-\d{2}-\d{2}\.fhir\.json", fhir_filename(SimpleNamespace(id=8, family_name="李"))
    )


def test_calendar_events_say_where_and_with_whom(app_client: httpx.Client, full: dict[str, Any]) -> None:
    from .test_messages import _settings

    assert (
        _settings(
            app_client,
            name="Demo clinic",
            phone="+49 30 1234567",
            emergency_number="112",
            address="Hauptstraße 1, Berlin",
        ).status_code
        == 303
    )
    r = app_client.get("/api/appointments.ics", auth=auth("front_desk"))
    assert r.headers["content-disposition"] == 'attachment; filename="appointments.ics"'
    cal = Calendar.from_ical(r.content)
    booked = {str(e["uid"]): e for e in cal.walk("VEVENT")}[f"appointment-{full['booked']['id']}@rhytid"]
    assert str(booked["location"]) == "Demo clinic, Hauptstraße 1, Berlin"
    organizer = booked["organizer"]
    assert str(organizer) == f"mailto:{full['clinician']['email']}"
    assert organizer.params["cn"] == full["clinician"]["name"]
    assert str(booked["description"]) == f"With {full['clinician']['name']}"
