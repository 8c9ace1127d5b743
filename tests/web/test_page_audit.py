"""Pages that list patients record whom they showed (one ``list`` audit row per patient).

Reported: five page routes read patients from the ORM directly, so the appointment book, the
today page and the audit log showed names that no audit row recorded. Over real HTTP on SQLite
and PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import httpx

from .conftest import auth, new_patient
from .test_pages import signed_in

DESK = auth("front_desk")
DOC = auth("clinician")


def _audit(c: httpx.Client, pid: int) -> list[dict[str, Any]]:
    r = c.get("/api/audit", params={"patient_id": pid}, auth=auth("admin"))
    assert r.status_code == 200, r.text
    return list(r.json())


def _listed(c: httpx.Client, pid: int, listing: str, who: str) -> int:
    return sum(1 for e in _audit(c, pid) if (e["action"], e["entity"], e["actor"]) == ("list", listing, who))


def test_the_appointment_book_records_the_patients_it_showed(app_client: httpx.Client) -> None:
    c = app_client
    booked, other = new_patient(c, "Booked"), new_patient(c, "Elsewhere")
    me = int(c.get("/api/me", auth=DOC).json()["id"])
    today = dt.date.today()
    day = today + dt.timedelta(days=(7 - today.weekday()) + 14)  # a Monday three weeks ahead
    at = dt.datetime.combine(day, dt.time(10, 0))
    r = c.post(
        "/api/appointments",
        auth=DESK,
        json={
            "patient_id": booked,
            "clinician_id": me,
            "kind": "review",
            "starts_at": at.isoformat(),
            "minutes": 15,
        },
    )
    assert r.status_code == 201, r.text
    with signed_in(str(c.base_url), "front_desk") as desk:
        page = desk.get("/appointments", params={"day": day.isoformat()})
        assert page.status_code == 200 and "Booked" in page.text
        assert _listed(c, booked, "appointment_book", DESK[0]) == 1
        assert _listed(c, other, "appointment_book", DESK[0]) == 0
        # the picker's chosen patient is an audited read of that patient
        picked = desk.get("/appointments", params={"day": day.isoformat(), "patient_id": other})
        assert picked.status_code == 200 and "Elsewhere" in picked.text
        reads = [e for e in _audit(c, other) if (e["action"], e["entity"]) == ("read", "patient")]
        assert any(e["actor"] == DESK[0] for e in reads)
        # an id of no patient (or beyond any integer column) picks nobody, and is no error
        for missing in (999_999_999, 2**70):
            assert desk.get(
                "/appointments", params={"day": day.isoformat(), "patient_id": missing}
            ).status_code in (
                200,
                422,
            )


def test_the_audit_log_page_records_the_patients_it_named(app_client: httpx.Client) -> None:
    c = app_client
    pid = new_patient(c, "Audited")
    with signed_in(str(c.base_url), "admin") as admin:
        page = admin.get("/admin/audit", params={"patient_id": pid})
        assert page.status_code == 200 and "Audited" in page.text
    admin_email = auth("admin")[0]
    assert _listed(c, pid, "audit_log", admin_email) == 1


def test_the_audit_log_page_shows_names_pages_and_exports_in_words(app_client: httpx.Client) -> None:
    """Who (the user's name), what (the page or export, and whose record), not ids or codes."""
    from .test_admin import _audit_rows

    c = app_client
    pid = new_patient(c, "Exported")
    assert c.get(f"/api/patients/{pid}/fhir", auth=DOC).status_code == 200
    with signed_in(str(c.base_url), "clinician") as doc:
        assert doc.get(f"/patients/{pid}/planner").status_code == 200
    doctor = c.get("/api/me", auth=DOC).json()["name"]
    with signed_in(str(c.base_url), "admin") as admin:
        rows = _audit_rows(admin.get("/admin/audit", params={"patient_id": pid}).text)
    name = "Pia Exported"
    exports = [r for r in rows if r[2] == "export"]
    assert exports and exports[0][1] == doctor and exports[0][3] == f"patient: {name}", rows
    assert exports[0][4] == name and exports[0][5] == "fhir", rows
    # the planner page the clinician opened is a read of this patient, by name
    assert any(r[1] == doctor and r[2] == "read" and r[4] == name for r in rows), rows
    assert not any(re.search(r"\buser \d+|\bpatient \d+", " ".join(r)) for r in rows), rows
