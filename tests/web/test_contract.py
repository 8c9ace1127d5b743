"""The API's contract and audit gaps, over real HTTP (SQLite and PostgreSQL).

Reported: the OpenAPI document had no security schemes and no 401/403/404/409, and its 422 body
contradicted what the API sends; list endpoints that show names (alerts, follow-ups, search
results) did not record which patients they showed; a failed export was logged as done.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from rhytid.web import _api
from rhytid.web._openapi import ErrorBody, ValidationBody

from .conftest import auth, new_patient

DOC = auth("clinician")
DESK = auth("front_desk")


def _audit(c: httpx.Client, pid: int) -> list[dict[str, Any]]:
    r = c.get("/api/audit", params={"patient_id": pid}, auth=auth("admin"))
    assert r.status_code == 200, r.text
    return list(r.json())


def test_the_openapi_document_has_security_and_every_error(app_client: httpx.Client) -> None:
    doc = app_client.get("/api/openapi.json").json()
    assert set(doc["components"]["securitySchemes"]) == {"basic", "bearer", "cookie"}
    assert doc["components"]["securitySchemes"]["basic"] == {"type": "http", "scheme": "basic"}
    assert {"basic": []} in doc["security"]
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            for status in ("401", "403", "404", "409", "422"):
                assert status in op["responses"], (method, path, status)
            ref = op["responses"]["422"]["content"]["application/json"]["schema"]["$ref"]
            assert ref == "#/components/schemas/ValidationBody", (method, path)
    assert "HTTPValidationError" not in doc["components"]["schemas"]


def test_error_bodies_have_the_documented_shape(app_client: httpx.Client) -> None:
    malformed = app_client.post("/api/patients", json={"given_name": 3}, auth=DOC)
    assert malformed.status_code == 422
    body = ValidationBody.model_validate(malformed.json())
    assert body.field and body.errors
    refused = app_client.post(
        "/api/users",
        auth=auth("admin"),
        json={"email": "a@b.c", "name": "A", "role": "admin", "password": "qwertyuiop"},
    )
    assert refused.status_code == 422 and ValidationBody.model_validate(refused.json()).field == "password"
    for r, status in (
        (app_client.get("/api/me"), 401),
        (app_client.get("/api/vials", auth=DESK), 403),
        (app_client.get("/api/patients/999999", auth=DOC), 404),
    ):
        assert r.status_code == status
        assert set(r.json()) <= {"detail", "field", "message"} and ErrorBody.model_validate(r.json()).detail


def test_lists_record_which_patients_they_showed(app_client: httpx.Client) -> None:
    c = app_client
    pid = new_patient(c, "Listed")
    other = new_patient(c, "Hidden")
    report = {"report": {"days_since_treatment": 2, "symptoms": [{"code": "eyelid_droop"}]}}
    assert c.post(f"/api/patients/{pid}/aftercare", json=report, auth=DOC).status_code == 201
    alerts = c.get("/api/alerts", auth=DESK).json()
    assert pid in {a["patient_id"] for a in alerts}
    found = c.get("/api/patients", params={"q": "Listed"}, auth=DESK).json()
    assert pid in {p["id"] for p in found}
    shown = {(e["actor"], e["action"], e["entity"]) for e in _audit(c, pid)}
    assert (DESK[0], "list", "alert") in shown
    assert (DESK[0], "list", "patient_search") in shown
    assert not any(e["action"] == "list" for e in _audit(c, other))


def test_a_failed_export_is_not_logged_as_done(
    app_client: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    pid = new_patient(app_client, "Export")

    def broken(record: Any) -> str:
        raise RuntimeError("the exporter failed")

    monkeypatch.setattr(_api, "patient_bundle", broken)  # the server runs in this process
    with httpx.Client(base_url=str(app_client.base_url), timeout=30) as once:  # the server drops it
        assert once.get(f"/api/patients/{pid}/fhir", auth=DOC).status_code == 500
    assert not any(e["action"] == "export" for e in _audit(app_client, pid))
    monkeypatch.undo()
    assert app_client.get(f"/api/patients/{pid}/fhir", auth=DOC).status_code == 200
    assert [e["detail"] for e in _audit(app_client, pid) if e["action"] == "export"] == ["fhir"]


def test_what_schemathesis_found_is_documented(app_client: httpx.Client) -> None:
    """An unparseable body is a documented 400 naming the body; the exports declare their types."""
    r = app_client.post(
        "/api/patients", content=b"\xff\xfe{", headers={"Content-Type": "application/json"}, auth=DOC
    )
    assert r.status_code == 400 and r.json()["field"] == "body"
    assert set(r.json()) == {"detail", "field", "message"} and r.json()["message"].startswith("Body: ")
    doc = app_client.get("/api/openapi.json").json()
    assert "400" in doc["paths"]["/api/patients"]["post"]["responses"]
    fhir = doc["paths"]["/api/patients/{patient_id}/fhir"]["get"]["responses"]["200"]["content"]
    ics = doc["paths"]["/api/appointments.ics"]["get"]["responses"]["200"]["content"]
    assert set(fhir) == {"application/fhir+json"} and set(ics) == {"text/calendar"}
