"""The appointment book over real HTTP (SQLite and PostgreSQL): no bookings in the past, statuses
with a cancellation reason, rescheduling, working hours, the patient picker and duplicate warnings."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Iterator

import httpx
import pytest

from .conftest import auth, new_patient
from .test_pages import _csrf, signed_in

DOC = auth("clinician")
DESK = auth("front_desk")


def _monday(weeks_ahead: int) -> dt.date:
    today = dt.date.today()
    return today - dt.timedelta(days=today.weekday()) + dt.timedelta(weeks=weeks_ahead)


def _me(client: httpx.Client) -> int:
    return int(client.get("/api/me", auth=DOC).json()["id"])


def _book(
    client: httpx.Client, pid: int, at: dt.datetime, minutes: int = 15, clinician: int | None = None
) -> httpx.Response:
    return client.post(
        "/api/appointments",
        auth=DESK,
        json={
            "patient_id": pid,
            "clinician_id": clinician or _me(client),
            "kind": "review",
            "starts_at": at.isoformat(),
            "minutes": minutes,
        },
    )


def _appointments(client: httpx.Client, pid: int) -> list[dict[str, object]]:
    r = client.get("/api/appointments", auth=DOC, params={"patient_id": pid})
    assert r.status_code == 200, r.text
    return list(r.json())


@pytest.fixture(scope="module")
def desk(app_client: httpx.Client) -> Iterator[httpx.Client]:
    with signed_in(str(app_client.base_url), "front_desk") as c:
        yield c


def test_a_booking_in_the_past_is_refused_and_nothing_stored(
    app_client: httpx.Client, desk: httpx.Client
) -> None:
    pid = new_patient(app_client, "Past")
    yesterday = dt.datetime.combine(dt.date.today() - dt.timedelta(days=1), dt.time(10, 0))
    r = _book(app_client, pid, yesterday)
    assert r.status_code == 422, r.text
    assert r.json()["field"] == "starts_at" and "has already passed" in r.json()["detail"]
    assert _appointments(app_client, pid) == []
    # the page: the form again with the error and the input kept
    page = desk.get("/appointments", params={"patient_id": pid})
    form = {
        "csrf_token": _csrf(page.text),
        "patient_id": str(pid),
        "clinician_id": str(_me(app_client)),
        "kind": "consultation",
        "starts_at": yesterday.strftime("%Y-%m-%dT%H:%M"),
        "minutes": "30",
    }
    r = desk.post("/appointments", data=form)
    assert r.status_code == 422
    assert re.search(r'id="form-error"[^>]*>Start time: .* has already passed', r.text)
    assert f'value="{form["starts_at"]}"' in r.text
    assert _appointments(app_client, pid) == []


def test_statuses_move_forward_and_a_cancellation_needs_a_reason(app_client: httpx.Client) -> None:
    pid = new_patient(app_client, "Status")
    at = dt.datetime.combine(_monday(30), dt.time(10, 0))
    a = _book(app_client, pid, at).json()["id"]

    def status(appt: int, value: str, reason: str | None = None) -> httpx.Response:
        body = {"status": value} if reason is None else {"status": value, "reason": reason}
        return app_client.post(f"/api/appointments/{appt}/status", auth=DESK, json=body)

    assert status(a, "done").status_code == 409  # not arrived yet
    assert status(a, "arrived").json()["status"] == "arrived"
    assert status(a, "done").json()["status"] == "done"
    r = status(a, "arrived")
    assert (
        r.status_code == 409
        and r.json()["detail"] == "status: the appointment is done; it can become nothing (it is final)"
    )
    assert status(a, "holiday").status_code == 422

    b = _book(app_client, pid, at + dt.timedelta(hours=1)).json()["id"]
    r = status(b, "cancelled")
    assert (r.status_code, r.json()["field"]) == (422, "reason")
    assert app_client.post(f"/api/appointments/{b}/cancel", auth=DESK).status_code == 422  # no reason
    assert [x["status"] for x in _appointments(app_client, pid)] == ["done", "booked"]
    assert status(b, "cancelled", "patient called: has a cold").json()["status"] == "cancelled"
    assert status(b, "no_show").status_code == 409
    # the cancelled slot is free again; a no-show stays on the book as one
    c = _book(app_client, pid, at + dt.timedelta(hours=1))
    assert c.status_code == 201, c.text
    assert status(c.json()["id"], "no_show").json()["status"] == "no_show"


def test_week_page_shows_statuses_and_reasons(app_client: httpx.Client, desk: httpx.Client) -> None:
    pid = new_patient(app_client, "Weekly")
    monday = _monday(31)
    first = _book(app_client, pid, dt.datetime.combine(monday + dt.timedelta(days=2), dt.time(9, 0))).json()[
        "id"
    ]
    second = _book(
        app_client, pid, dt.datetime.combine(monday + dt.timedelta(days=2), dt.time(11, 0))
    ).json()["id"]
    url = f"/schedule?clinician_id={_me(app_client)}&week={monday}"
    page = desk.get(url)
    assert page.status_code == 200
    r = desk.post(
        f"/appointments/{first}/status",
        data={"csrf_token": _csrf(page.text), "status": "arrived", "next": url},
    )
    assert (r.status_code, r.headers["location"]) == (303, url)
    r = desk.post(
        f"/appointments/{second}/status",
        data={"csrf_token": _csrf(page.text), "status": "cancelled", "reason": ""},
    )
    assert r.status_code == 422 and "Reason: say why" in r.text
    desk.post(
        f"/appointments/{second}/status",
        data={"csrf_token": _csrf(page.text), "status": "cancelled", "reason": "clinic closed for training"},
    )
    week = desk.get(url).text
    day = re.search(
        rf'<section class="day[^"]*" id="day-{monday + dt.timedelta(days=2)}".*?</section>', week, re.S
    )
    assert day is not None
    assert re.search(rf'id="appt-{first}" data-status="arrived"', day.group(0))
    assert re.search(rf'id="appt-{second}" data-status="cancelled"', day.group(0))
    assert "cancelled: clinic closed for training" in day.group(0)
    assert "Weekly" in day.group(0) and "09:00" in day.group(0)


def test_reschedule_moves_atomically(app_client: httpx.Client, desk: httpx.Client) -> None:
    pid = new_patient(app_client, "Moving")
    t1 = dt.datetime.combine(_monday(32), dt.time(9, 0))
    t2, t3 = t1 + dt.timedelta(hours=1), t1 + dt.timedelta(days=1, hours=2)
    a = _book(app_client, pid, t1, minutes=30).json()["id"]
    _book(app_client, pid, t2)

    def move(at: dt.datetime) -> httpx.Response:
        return app_client.post(
            f"/api/appointments/{a}/reschedule", auth=DESK, json={"starts_at": at.isoformat()}
        )

    r = move(t2 - dt.timedelta(minutes=15))  # its second quarter-hour would overlap the other one
    assert r.status_code == 409 and r.json()["field"] == "starts_at"
    assert [x["starts_at"][:16] for x in _appointments(app_client, pid)] == [
        t1.isoformat()[:16],
        t2.isoformat()[:16],
    ]
    assert move(dt.datetime.combine(dt.date.today() - dt.timedelta(days=2), dt.time(9, 0))).status_code == 422
    r = move(t3)
    assert r.status_code == 200 and r.json()["starts_at"][:16] == t3.isoformat()[:16]
    assert _book(app_client, pid, t1).status_code == 201  # its old slots are free
    # the page: the form, then the week of the new time
    form = desk.get(f"/appointments/{a}/reschedule")
    assert f'value="{t3.strftime("%Y-%m-%dT%H:%M")}"' in form.text
    t4 = t3 + dt.timedelta(days=7)
    r = desk.post(
        f"/appointments/{a}/reschedule",
        data={
            "csrf_token": _csrf(form.text),
            "starts_at": t4.strftime("%Y-%m-%dT%H:%M"),
            "clinician_id": str(_me(app_client)),
        },
    )
    assert (
        r.status_code == 303
        and f"week={t4.date() - dt.timedelta(days=t4.weekday())}" in r.headers["location"]
    )
    r = desk.post(
        f"/appointments/{a}/reschedule",
        data={"csrf_token": _csrf(form.text), "starts_at": "soon", "clinician_id": ""},
    )
    assert r.status_code == 422 and "Start time: &#39;soon&#39; is not a date" in r.text
    assert [x["starts_at"][:16] for x in _appointments(app_client, pid)][-1] == t4.isoformat()[:16]


def test_working_hours_bound_the_bookings(app_client: httpx.Client) -> None:
    r = app_client.post(
        "/api/users",
        auth=auth("admin"),
        json={
            "email": f"hours-{uuid.uuid4().hex[:8]}@example.org",
            "name": "Dr Hours",
            "role": "clinician",
            "password": "long-enough-1",
        },
    )
    assert r.status_code == 201, r.text
    doc = int(r.json()["id"])
    pid = new_patient(app_client, "Hours")
    hours = [
        {"weekday": 0, "starts": "09:00", "ends": "12:00"},
        {"weekday": 2, "starts": "13:00", "ends": "18:00"},
    ]
    assert app_client.put(f"/api/clinicians/{doc}/working-hours", auth=DOC, json=hours).status_code == 403
    r = app_client.put(f"/api/clinicians/{doc}/working-hours", auth=auth("admin"), json=hours)
    assert r.status_code == 200, r.text
    got = app_client.get(f"/api/clinicians/{doc}/working-hours", auth=DESK).json()
    assert [(h["weekday"], h["starts"][:5], h["ends"][:5]) for h in got] == [
        (0, "09:00", "12:00"),
        (2, "13:00", "18:00"),
    ]
    monday = dt.datetime.combine(_monday(33), dt.time())
    late = _book(app_client, pid, monday + dt.timedelta(hours=11, minutes=45), 30, doc)
    assert late.status_code == 422 and "works 09:00–12:00 on Mondays" in late.json()["detail"]
    tuesday = _book(app_client, pid, monday + dt.timedelta(days=1, hours=10), 15, doc)
    assert tuesday.status_code == 422 and "does not work on Tuesdays" in tuesday.json()["detail"]
    assert _book(app_client, pid, monday + dt.timedelta(hours=11, minutes=30), 30, doc).status_code == 201
    assert (
        _book(app_client, pid, monday + dt.timedelta(days=2, hours=17, minutes=45), 15, doc).status_code
        == 201
    )
    bad = [{"weekday": 1, "starts": "17:00", "ends": "09:00"}]
    r = app_client.put(f"/api/clinicians/{doc}/working-hours", auth=auth("admin"), json=bad)
    assert r.status_code == 422 and r.json()["field"] == "hours_1"
    assert len(app_client.get(f"/api/clinicians/{doc}/working-hours", auth=DESK).json()) == 2  # unchanged


def test_patient_found_by_birth_date_and_phone(app_client: httpx.Client, desk: httpx.Client) -> None:
    family = f"Pick{uuid.uuid4().hex[:6]}"
    r = app_client.post(
        "/api/patients",
        auth=DESK,
        json={
            "given_name": "Mira",
            "family_name": family,
            "birth_date": "1979-02-03",
            "sex": "female",
            "phone": "+49 (170) 555-0199",
        },
    )
    pid = r.json()["id"]
    for q in (f"{family} 3.2.1979", f"1979-02-03 {family.lower()}", "0170 555 0199", "5550199"):
        found = app_client.get("/api/patients", auth=DESK, params={"q": q}).json()
        assert pid in [p["id"] for p in found], q
    assert pid not in [
        p["id"] for p in app_client.get("/api/patients", auth=DESK, params={"q": f"{family} 4.2.1979"}).json()
    ]
    # the booking page's picker: search, pick, book
    page = desk.get("/appointments", params={"q": "555-0199"})
    assert re.search(rf'<input type="radio" name="patient_id" value="{pid}"', page.text)
    assert "Patient number" not in page.text
    picked = desk.get("/appointments", params={"patient_id": pid})
    assert re.search(rf'id="picked">Patient: <strong>Mira {family}</strong>, born 3 Feb 1979', picked.text)


def test_registering_a_possible_duplicate_warns_first(app_client: httpx.Client, desk: httpx.Client) -> None:
    family = f"Twin{uuid.uuid4().hex[:6]}"
    page = desk.get("/patients")
    person = {
        "csrf_token": _csrf(page.text),
        "given_name": "Ana",
        "family_name": family,
        "birth_date": "1984-07-08",
        "sex": "female",
        "phone": "0301234567",
    }
    assert desk.post("/patients", data=person).status_code == 303

    def count() -> int:
        return len(app_client.get("/api/patients", auth=DESK, params={"q": family}).json())

    again = desk.post("/patients", data={**person, "given_name": "Anna"})  # same family name and birth date
    assert again.status_code == 409
    assert "Possibly registered already" in again.text and f"Ana {family}" in again.text
    assert 'value="Anna"' in again.text and 'name="confirm_new"' in again.text
    assert count() == 1
    phone = desk.post(
        "/patients",
        data={
            **person,
            "given_name": "Bo",
            "family_name": family + "x",
            "birth_date": "1990-01-01",
            "phone": "030 123 45 67",
        },
    )
    assert phone.status_code == 409 and f"Ana {family}" in phone.text
    assert (
        desk.post("/patients", data={**person, "given_name": "Anna", "confirm_new": "yes"}).status_code == 303
    )
    assert count() == 2
