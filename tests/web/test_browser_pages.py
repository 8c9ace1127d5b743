# ruff: noqa: F811  (the browser fixture is imported from test_browser and named as a test argument)
"""Every page of the app — staff and patient — at laptop, tablet (touch, both ways round) and phone
sizes in Chromium: no horizontal scrolling, no script error, and a screenshot of each in
``test-artifacts/layout/pages/`` (kept after the run). :data:`PAGES` is checked against the routes,
so a new page cannot be left out.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.responses import HTMLResponse
from fastapi.routing import APIRoute

from rhytid.web import (
    _admin,
    _clinic_messages,
    _clinic_profile,
    _consent,
    _filler,
    _intake,
    _pages,
    _reports,
    _schedule,
    _totp,
)

from .conftest import auth, sign_consent
from .test_browser import CHROMIUM, browser  # noqa: F401  (the module-scoped browser fixture)
from .test_browser_layout import SHOTS, VIEWPORTS, new_patient, overflow, signed_in

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="/usr/bin/chromium is missing: browser tests skipped"
)
ROUTERS = (
    _pages.router,
    _intake.router,
    _admin.router,
    _consent.router,
    _clinic_messages.router,
    _clinic_profile.router,
    _filler.router,
    _schedule.router,
    _reports.router,
    _totp.router,
)
#: (who opens it, the page): "clinician", "admin" (its pages), or None (a patient's link, sign-in)
PAGES: tuple[tuple[str | None, str], ...] = (
    (None, "/signin"),
    (None, "{intake}"),
    (None, "{aftercare}"),
    (None, "{consent}"),
    ("clinician", "/"),
    ("clinician", "/patients"),
    ("clinician", "/patients/{pid}"),
    ("clinician", "/patients/{pid}/screening"),
    ("clinician", "/patients/{pid}/consents"),
    ("clinician", "/patients/{pid}/planner"),
    ("clinician", "/patients/{pid}/treatments/new?plan_id={plan}"),
    ("clinician", "/patients/{pid}/assessments/new"),
    ("clinician", "/patients/{pid}/adverse-events/new"),
    ("clinician", "/patients/{pid}/fillers/new"),
    ("clinician", "/appointments"),
    ("clinician", "/appointments/{appointment}/reschedule"),
    ("clinician", "/schedule"),
    ("clinician", "/vials"),
    ("clinician", "/syringes"),
    ("clinician", "/recall?lot=PAGES-1"),
    ("clinician", "/reports"),
    ("clinician", "/messages"),
    ("clinician", "/alerts/{alert}"),
    ("clinician", "/account/second-factor"),
    ("admin", "/admin/users"),
    ("admin", "/admin/audit"),
    ("admin", "/admin/clinic"),
)
#: GET routes that answer with a file, not a page
FILES = {"/photos/{}", "/clinic/logo", "/reports.csv"}


def _template(path: str) -> str:
    path = path.split("?")[0]
    if path in ("{intake}", "{aftercare}"):
        return f"/p/{path.strip('{}')}/{{}}"
    if path == "{consent}":
        return "/p/consent/{}/{}"
    return re.sub(r"\{[^}]+\}", "{}", path)


def test_pages_are_every_page_of_the_app() -> None:
    routes = {
        re.sub(r"\{[^}]+\}", "{}", r.path)
        for router in ROUTERS
        for r in router.routes
        if isinstance(r, APIRoute) and "GET" in r.methods
    }
    pages = {
        re.sub(r"\{[^}]+\}", "{}", r.path)
        for router in ROUTERS
        for r in router.routes
        if isinstance(r, APIRoute) and "GET" in r.methods and r.response_class is HTMLResponse
    }
    assert routes - pages == FILES
    assert {_template(p) for _, p in PAGES} == pages


@pytest.fixture(scope="module")
def record(live_server: str) -> Iterator[dict[str, Any]]:
    """A patient with something on every page: consent, assessment, plan, booking, vial, alert, links."""
    pid = new_patient(live_server, "Everypage")
    doc = auth("clinician")
    with httpx.Client(base_url=live_server, timeout=30, auth=doc) as c:
        sign_consent(c, pid, "toxin_treatment")
        a = c.post(
            f"/api/patients/{pid}/assessments",
            json={"assessed_on": "2025-01-01", "grades": {"glabellar": {"rest": 1, "max": 2}}},
        )
        assert a.status_code == 201, a.text
        plan = c.post(
            f"/api/patients/{pid}/plans",
            json={
                "product": "onabotulinumtoxinA",
                "status": "draft",
                "injections": [{"site": "procerus", "units": 4}, {"site": "corrugator_medial_l", "units": 4}],
            },
        )
        assert plan.status_code == 201, plan.text
        vial = c.post(
            "/api/vials",
            json={
                "product": "onabotulinumtoxinA",
                "lot": "PAGES-1",
                "expiry": "2099-01-01",
                "vial_units": 100,
                "diluent_ml": 2.5,
                "reconstituted_at": (dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)).isoformat(),
            },
        )
        assert vial.status_code == 201, vial.text
        me = c.get("/api/me").json()["id"]
        day = dt.date.today() + dt.timedelta(days=23)
        appt = c.post(
            "/api/appointments",
            json={"patient_id": pid, "clinician_id": me, "kind": "review", "starts_at": f"{day}T11:00:00Z"},
        )
        assert appt.status_code == 201, appt.text
        report = {"report": {"days_since_treatment": 2, "symptoms": [{"code": "eyelid_droop"}]}}
        assert c.post(f"/api/patients/{pid}/aftercare", json=report).status_code == 201
        alert = c.get(f"/api/patients/{pid}/aftercare").json()[0]["id"]
        links = {}
        for form in ("intake", "aftercare"):
            r = c.post(f"/api/patients/{pid}/links", json={"form": form}, auth=auth("front_desk"))
            assert r.status_code == 201, r.text
            links[form] = str(r.json()["url"])
    yield {
        "pid": pid,
        "plan": plan.json()["id"],
        "appointment": appt.json()["id"],
        "alert": alert,
        **links,
    }


def _consent_url(page: Any, base: str, pid: int) -> str:
    """A consent link, as the clinic's tablet opens it for the patient (GET does not use it up)."""
    page.goto(f"{base}/patients/{pid}/consents")
    page.locator("form[action$='/consents/sign-here'] button").first.click()
    page.wait_for_url(re.compile(r".*/p/consent/.*"))
    return str(page.url)


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_every_page_fits(browser, live_server: str, record: dict[str, Any], viewport: str) -> None:
    options = VIEWPORTS[viewport]
    folder = SHOTS / "pages"
    folder.mkdir(parents=True, exist_ok=True)
    pages: dict[str | None, Any] = {
        None: browser.new_context(**options).new_page(),
        "clinician": signed_in(browser, live_server, "clinician", options),
        "admin": signed_in(browser, live_server, "admin", options),
    }
    errors: list[str] = []
    for page in pages.values():
        page.on("pageerror", lambda e: errors.append(str(e)))
    values = {**record, "consent": _consent_url(pages["clinician"], live_server, record["pid"])}
    wide: list[tuple[str, dict[str, int]]] = []
    for role, path in PAGES:
        page = pages[role]
        url = path.format(**values)
        page.goto(url if url.startswith("http") else f"{live_server}{url}")
        if path.endswith("/planner"):
            page.wait_for_selector("#planner[data-ready='1']")
        size = overflow(page)
        if size["scroll"] > size["client"]:
            wide.append((path, size))
        name = re.sub(r"[^a-z0-9]+", "-", _template(path).lower()).strip("-") or "today"
        page.screenshot(path=str(folder / f"{viewport}-{name}.png"), full_page=True)
    for page in pages.values():
        page.context.close()
    assert wide == [], (viewport, wide)
    assert errors == []
