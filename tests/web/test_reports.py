"""Clinic reports over real HTTP on a fresh SQLite and PostgreSQL database: the numbers of a small
known clinic, the CSV download, roles and the audit trail."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update

from rhytid._cli_web import create_demo_data
from rhytid.store import _consent as consent
from rhytid.store import make_engine, session_factory
from rhytid.store import models as m
from rhytid.store.testing import temporary_database
from rhytid.toxin import label_pattern

from .conftest import POSTGRES_URL, auth, served, sign_consent
from .test_pages import signed_in

DOC = auth("clinician")
ANSWERS = {
    "schema_version": 1,
    "allergies": [],
    "conditions": [],
    "medications": [],
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


def _ok(r: httpx.Response, status: int = 200) -> Any:
    assert r.status_code == status, r.text
    return r.json()


@pytest.fixture
def clinic(kind: str, tmp_path: Path) -> Iterator[httpx.Client]:
    with temporary_database(kind, tmp_path, POSTGRES_URL) as url:
        create_demo_data(url)
        with served(url, tmp_path) as client:
            _URL[client] = url
            yield client


_URL: dict[httpx.Client, str] = {}


def _signed_earlier(c: httpx.Client, pid: int, at: dt.datetime) -> None:
    """The patient signs the toxin consent, as they did at ``at`` (before a back-dated treatment):
    the row's time is set and its content hash computed again, so it verifies as signed then."""
    sign_consent(c, pid, "toxin_treatment")
    engine = make_engine(_URL[c])
    try:
        with session_factory(engine)() as db:
            row = db.scalars(select(m.Consent).where(m.Consent.patient_id == pid)).one()
            when = at.astimezone(dt.UTC).replace(tzinfo=None)
            fields = {**consent._content(row), "signed_at": when.isoformat(timespec="seconds")}
            # a plain UPDATE: the app itself refuses to change a signed row, as it should
            db.execute(
                update(m.Consent)
                .where(m.Consent.id == row.id)
                .values(signed_at=when, content_hash=consent.consent_digest(fields))
                .execution_options(synchronize_session=False)
            )
            db.commit()
    finally:
        engine.dispose()


def _treat(c: httpx.Client, family: str, sex: str, product: str, lot: str, days_ago: int) -> int:
    pid = _ok(
        c.post(
            "/api/patients",
            auth=DOC,
            json={"given_name": "R", "family_name": family, "birth_date": "1980-01-01", "sex": sex},
        ),
        201,
    )["id"]
    _ok(c.post(f"/api/patients/{pid}/histories", json={"answers": ANSWERS}, auth=DOC), 201)
    at = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(days=days_ago)
    _signed_earlier(c, pid, at - dt.timedelta(hours=2))
    plan = {
        "product": product,
        "injections": [{"site": s, "units": u} for s, u in label_pattern("glabellar", product).items()],
    }
    plan_id = _ok(c.post(f"/api/patients/{pid}/plans", json=plan, auth=DOC), 201)["id"]
    vial = _ok(
        c.post(
            "/api/vials",
            auth=DOC,
            json={
                "product": product,
                "lot": lot,
                "expiry": "2099-01-01",
                "vial_units": 100,
                "diluent_ml": 2.5,
                "reconstituted_at": (at - dt.timedelta(hours=1)).isoformat(),
            },
        ),
        201,
    )["id"]
    _ok(
        c.post(
            f"/api/patients/{pid}/treatments",
            json={"plan_id": plan_id, "vial_id": vial, "performed_at": at.isoformat()},
            auth=DOC,
        ),
        201,
    )
    return int(pid)


def _book(c: httpx.Client, pid: int, kind: str, hour: int) -> int:
    me = _ok(c.get("/api/me", auth=DOC))["id"]
    at = dt.datetime.combine(dt.date.today() + dt.timedelta(days=1), dt.time(hour, 0))
    r = c.post(
        "/api/appointments",
        auth=DOC,
        json={"patient_id": pid, "clinician_id": me, "kind": kind, "starts_at": at.isoformat()},
    )
    return int(_ok(r, 201)["id"])


def _status(c: httpx.Client, appt: int, status: str, reason: str | None = None) -> None:
    body = {"status": status, **({"reason": reason} if reason else {})}
    _ok(c.post(f"/api/appointments/{appt}/status", auth=DOC, json=body))


def _csv(doc: httpx.Client, report: str, since: dt.date, until: dt.date) -> list[dict[str, str]]:
    r = doc.get(
        "/reports.csv", params={"report": report, "since": since.isoformat(), "until": until.isoformat()}
    )
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/csv")
    assert r.headers["content-disposition"] == f'attachment; filename="rhytid-{report}-{since}-{until}.csv"'
    return list(csv.DictReader(io.StringIO(r.text)))


def test_reports_of_a_known_clinic(clinic: httpx.Client) -> None:
    c = clinic
    ona, inco = "onabotulinumtoxinA", "incobotulinumtoxinA"
    p1 = _treat(c, "One", "female", ona, "L1", 40)
    p2 = _treat(c, "Two", "male", inco, "L2", 20)
    p3 = _treat(c, "Three", "female", ona, "L1", 30)
    _treat(c, "Old", "female", ona, "L0", 200)  # before the period: in no report
    review = _book(c, p1, "review", 9)
    _status(c, review, "arrived")
    _status(c, review, "done")
    _book(c, p2, "review", 10)  # booked, not yet seen
    _status(c, _book(c, p3, "consultation", 11), "no_show")
    _status(c, _book(c, p3, "consultation", 12), "cancelled", "patient unwell")

    since, until = dt.date.today() - dt.timedelta(days=60), dt.date.today() + dt.timedelta(days=10)
    with signed_in(str(c.base_url), "clinician") as doc:
        units = _csv(doc, "units", since, until)
        lots = _csv(doc, "lots", since, until)
        appts = _csv(doc, "appointments", since, until)
        follow = _csv(doc, "follow_ups", since, until)
        page = doc.get("/reports", params={"since": since.isoformat(), "until": until.isoformat()})
        assert page.status_code == 200 and 'id="report-lots"' in page.text and "L1" in page.text
        bad = doc.get("/reports.csv", params={"report": "profit"})
        assert bad.status_code == 422 and bad.json()["detail"].startswith("report: 'profit' is not a report")
        backwards = doc.get("/reports", params={"since": until.isoformat(), "until": since.isoformat()})
        assert backwards.status_code == 422 and backwards.json()["field"] == "until"

    ona_units = sum(label_pattern("glabellar", ona).values())
    inco_units = sum(label_pattern("glabellar", inco).values())
    assert [(r["area"], r["product"], r["treatments"], r["patients"], float(r["units"])) for r in units] == [
        ("glabellar", inco, "1", "1", inco_units),
        ("glabellar", ona, "2", "2", 2 * ona_units),
    ]
    assert [(r["product"], r["lot"], r["treatments"], float(r["units"])) for r in lots] == [
        (inco, "L2", "1", inco_units),  # by product, then lot
        (ona, "L1", "2", 2 * ona_units),
    ]
    everyone = next(r for r in appts if r["clinician"] == "all clinicians")
    assert {k: everyone[k] for k in ("booked", "arrived", "done", "no_show", "cancelled")} == {
        "booked": "1",
        "arrived": "0",
        "done": "1",
        "no_show": "1",
        "cancelled": "1",
    }
    assert float(everyone["no_show_rate"]) == pytest.approx(0.5)
    review_row = next(r for r in follow if r["follow_up"] == "review")
    assert {k: review_row[k] for k in ("due", "completed", "booked", "missing")} == {
        "due": "3",
        "completed": "1",
        "booked": "1",
        "missing": "1",
    }
    assert float(review_row["completion_rate"]) == pytest.approx(1 / 3, abs=1e-3)

    # every run is in the audit log: page reads and CSV exports
    audit = _ok(c.get("/api/audit", auth=auth("admin"), params={"limit": 200}))
    runs = [(e["action"], e["detail"].split()[0]) for e in audit if e["entity"] == "report"]
    assert runs.count(("export", "units")) == 1 and runs.count(("read", "lots")) == 1
    assert all(e["actor"] for e in audit if e["entity"] == "report")


def test_reports_are_for_admins_and_clinicians(clinic: httpx.Client) -> None:
    with signed_in(str(clinic.base_url), "front_desk") as desk:
        assert desk.get("/reports").status_code == 403
        assert desk.get("/reports.csv", params={"report": "units"}).status_code == 403
    with signed_in(str(clinic.base_url), "admin") as admin:
        r = admin.get("/reports.csv", params={"report": "appointments"})
        assert (
            r.status_code == 200
            and r.text == "clinician,booked,arrived,done,no_show,cancelled,no_show_rate\r\n"
        )
