"""Vial and appointment times entered and shown in the clinic's time zone, stored in UTC; bad times
re-render the form with the field named and the input kept (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from zoneinfo import ZoneInfo

import httpx
import pytest
from icalendar import Calendar

from rhytid._cli_web import create_demo_data
from rhytid.store.testing import temporary_database

from .conftest import KINDS, POSTGRES_URL, auth, make_app, serve
from .test_pages import _csrf, _sign_in

NEW_YORK = ZoneInfo("America/New_York")


@pytest.fixture(scope="module", params=KINDS)
def base(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A server whose demo clinic has been moved to America/New_York by its admin."""
    folder = tmp_path_factory.mktemp("tz")
    with temporary_database(str(request.param), folder, POSTGRES_URL) as url:
        create_demo_data(url)
        app = make_app(url, folder)
        with serve(app) as b, httpx.Client(base_url=b, timeout=30) as admin:
            _sign_in(admin, "admin")
            page = admin.get("/admin/users")
            bad = admin.post(
                "/admin/clinic", data={"csrf_token": _csrf(page.text), "time_zone": "Mars/Olympus"}
            )
            assert bad.status_code == 422 and "Time zone:" in bad.text and "time_zone:" not in bad.text
            r = admin.post(
                "/admin/clinic", data={"csrf_token": _csrf(page.text), "time_zone": "America/New_York"}
            )
            assert r.status_code == 303, r.text[:300]
            yield b
        app.state.engine.dispose()


@pytest.fixture()
def doc(base: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base, timeout=30) as c:
        yield _sign_in(c, "clinician")


def test_vial_time_entered_and_shown_in_clinic_time(base: str, doc: httpx.Client) -> None:
    local = (dt.datetime.now(NEW_YORK) - dt.timedelta(hours=2)).replace(second=0, microsecond=0, tzinfo=None)
    page = doc.get("/vials")
    assert "Reconstituted at (America/New_York)" in page.text
    form = {
        "csrf_token": _csrf(page.text),
        "product": "onabotulinumtoxinA",
        "lot": "TZ-LOT-1",
        "expiry": "2099-01-01",
        "vial_units": "100",
        "diluent_ml": "2.5",
        "reconstituted_at": local.strftime("%Y-%m-%dT%H:%M"),
    }
    assert doc.post("/vials", data=form).status_code == 303
    with httpx.Client(base_url=base, timeout=30) as api:
        vials = api.get("/api/vials", auth=auth("clinician")).json()
    stored = dt.datetime.fromisoformat(next(v for v in vials if v["lot"] == "TZ-LOT-1")["reconstituted_at"])
    expected_utc = local.replace(tzinfo=NEW_YORK).astimezone(dt.UTC).replace(tzinfo=None)
    assert stored.replace(tzinfo=None) == expected_utc
    assert local.strftime("%a %-d %b %Y %H:%M") in doc.get("/vials").text  # readable, clinic time


def _patient_and_me(api: httpx.Client, given: str, family: str) -> tuple[int, int]:
    """A new patient's id (through the API) and the signed-in clinician's."""
    body = {"given_name": given, "family_name": family, "birth_date": "1980-01-01", "sex": "female"}
    pid = api.post("/api/patients", auth=auth("clinician"), json=body).json()["id"]
    return int(pid), int(api.get("/api/me", auth=auth("clinician")).json()["id"])


def test_appointment_time_entered_and_shown_in_clinic_time(base: str, doc: httpx.Client) -> None:
    with httpx.Client(base_url=base, timeout=30) as api:
        pid, me = _patient_and_me(api, "Tz", "Patient")
        page = doc.get("/appointments", params={"day": "2031-07-01"})
        assert "Times in America/New_York" in page.text
        form = {
            "csrf_token": _csrf(page.text),
            "patient_id": str(pid),
            "clinician_id": str(me),
            "kind": "consultation",
            "starts_at": "2031-07-01T09:00",  # EDT, UTC-4
            "minutes": "30",
        }
        r = doc.post("/appointments", data=form)
        assert (r.status_code, r.headers.get("location")) == (303, "/appointments?day=2031-07-01")
        booked = api.get("/api/appointments", auth=auth("clinician"), params={"patient_id": pid}).json()
        assert [a["starts_at"][:16] for a in booked] == ["2031-07-01T13:00"]
        book = doc.get("/appointments", params={"day": "2031-07-01"}).text
        assert re.search(rf'<td>09:00</td><td>30</td>\s*<td><a href="/patients/{pid}"', book)
        # a late-evening local appointment is on the local day, though its UTC date is the next day
        late = doc.post("/appointments", data={**form, "starts_at": "2031-07-01T22:00", "kind": "recall"})
        assert late.status_code == 303
        assert "22:00" in doc.get("/appointments", params={"day": "2031-07-01"}).text
        assert "22:00" not in doc.get("/appointments", params={"day": "2031-07-02"}).text


def test_calendar_export_is_in_the_clinic_zone(base: str) -> None:
    """The booking of 09:00 New York time (13:00 UTC in summer) leaves as 09:00 America/New_York,
    with the zone's rules, and is the same instant (the export of a UTC clinic: test_exports)."""
    with httpx.Client(base_url=base, timeout=30) as api:
        pid, me = _patient_and_me(api, "Ics", "Zone")
        body = {"patient_id": pid, "clinician_id": me, "kind": "review", "minutes": 30}
        made = api.post(
            "/api/appointments", auth=auth("clinician"), json={**body, "starts_at": "2031-08-05T13:00:00Z"}
        )
        assert made.status_code == 201, made.text
        r = api.get("/api/appointments.ics", auth=auth("front_desk"))
    assert r.status_code == 200, r.text
    cal = Calendar.from_ical(r.content)
    assert [str(z["tzid"]) for z in cal.walk("VTIMEZONE")] == ["America/New_York"]
    [ev] = [e for e in cal.walk("VEVENT") if str(e["uid"]) == f"appointment-{made.json()['id']}@rhytid"]
    assert ev["dtstart"].params["TZID"] == "America/New_York"
    start = ev.decoded("dtstart")
    assert start.replace(tzinfo=None) == dt.datetime(2031, 8, 5, 9, 0)
    assert start == dt.datetime(2031, 8, 5, 13, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("starts_at", "status", "message"),
    [
        ("2031-03-09T02:30", 422, "Start time: 2031-03-09 02:30 does not exist in America/New_York"),
        ("next tuesday", 422, "Start time:"),
        ("2031-07-01T09:00", 409, "Start time:"),  # booked by the test above
    ],
    ids=["skipped-hour", "not-a-time", "double-booking"],
)
def test_bad_appointment_rerenders_the_form(
    base: str, doc: httpx.Client, starts_at: str, status: int, message: str
) -> None:
    with httpx.Client(base_url=base, timeout=30) as api:
        pid = api.get("/api/patients", auth=auth("clinician"), params={"q": "Tz Patient"}).json()[0]["id"]
        me = api.get("/api/me", auth=auth("clinician")).json()["id"]
        before = api.get("/api/appointments", auth=auth("clinician"), params={"patient_id": pid}).json()
        page = doc.get("/appointments")
        form = {
            "csrf_token": _csrf(page.text),
            "patient_id": str(pid),
            "clinician_id": str(me),
            "kind": "review",
            "starts_at": starts_at,
            "minutes": "45",
        }
        r = doc.post("/appointments", data=form)
        assert r.status_code == status, r.text[:300]
        error = re.search(r'id="form-error" role="alert">([^<]*)<', r.text)
        assert error and error.group(1).startswith(message), r.text[:600]
        assert f'value="{starts_at}"' in r.text and "<option selected>45</option>" in r.text
        assert re.search(r'<option value="review"\s*selected>', r.text)
        assert (
            api.get("/api/appointments", auth=auth("clinician"), params={"patient_id": pid}).json() == before
        )


def test_bad_vial_rerenders_the_form_with_the_input(doc: httpx.Client) -> None:
    page = doc.get("/vials")
    before = page.text.count("<tr><td>")
    form = {
        "csrf_token": _csrf(page.text),
        "product": "incobotulinumtoxinA",
        "lot": "KEEP-ME",
        "expiry": "2099-01-01",
        "vial_units": "-5",
        "diluent_ml": "2.5",
        "reconstituted_at": "2031-03-09T02:30",
    }
    r = doc.post("/vials", data=form)
    assert r.status_code == 422
    error = re.search(r'id="form-error" role="alert">([^<]*)<', r.text)
    assert error and error.group(1).startswith("Time of reconstitution: 2031-03-09 02:30 does not exist"), (
        r.text[:500]
    )
    assert 'value="KEEP-ME"' in r.text and "<option selected>incobotulinumtoxinA</option>" in r.text
    r = doc.post("/vials", data={**form, "reconstituted_at": "2031-01-01T10:00"})
    shown = re.search(r'id="form-error"[^>]*>([^<]*)<', r.text)
    assert r.status_code == 422 and shown and shown.group(1).startswith("Units in the vial: ")
    assert doc.get("/vials").text.count("<tr><td>") == before
