"""Admin pages (users, audit log) and the role × page matrix over every server-rendered route."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest
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
)
from rhytid.web._words import field_label

from .conftest import EMAIL, auth
from .test_pages import _csrf, _sign_in

ROLES = ("admin", "clinician", "front_desk")
ALL = set(ROLES)
CLINICAL = {"admin", "clinician"}
CLINICIAN = {"clinician"}
ADMIN = {"admin"}
PUBLIC: set[str] = set()  # no sign-in needed (sign-in page, patient links)


def _page_matrix(p: int, desk: int) -> list[tuple[str, str, set[str] | None]]:
    """(method, URL, roles allowed); None: open without an account."""
    return [
        ("GET", "/signin", None),
        ("POST", "/signin", None),
        ("POST", "/signout", ALL),
        ("GET", "/", ALL),
        ("POST", "/alerts/999999/close", CLINICAL),
        ("GET", "/patients", ALL),
        ("POST", "/patients", ALL),
        ("GET", f"/patients/{p}", ALL),
        ("POST", f"/patients/{p}/links", ALL),
        ("GET", "/p/intake/not-a-token", None),
        ("POST", "/p/intake/not-a-token", None),
        ("GET", f"/patients/{p}/screening", CLINICAL),
        ("POST", f"/patients/{p}/screening/acknowledge", CLINICIAN),
        ("POST", f"/patients/{p}/histories/999999/confirm", CLINICIAN),
        ("POST", f"/patients/{p}/histories/999999/reject", CLINICIAN),
        ("GET", f"/patients/{p}/planner", CLINICAL),
        ("GET", f"/patients/{p}/treatments/new?plan_id=999999", CLINICAL),
        ("POST", f"/patients/{p}/treatments", CLINICIAN),
        ("POST", f"/patients/{p}/plans/999999/ready", CLINICIAN),
        ("GET", "/appointments", ALL),
        ("POST", "/appointments", ALL),
        ("POST", "/appointments/999999/cancel", ALL),
        ("POST", "/appointments/999999/status", ALL),
        ("GET", "/appointments/999999/reschedule", ALL),
        ("POST", "/appointments/999999/reschedule", ALL),
        ("GET", "/schedule", ALL),
        ("POST", "/schedule/hours", ADMIN),
        ("GET", "/reports", CLINICAL),
        ("GET", "/reports.csv?report=units", CLINICAL),
        ("GET", "/p/aftercare/not-a-token", None),
        ("POST", "/p/aftercare/not-a-token", None),
        ("GET", f"/patients/{p}/adverse-events/new", CLINICIAN),
        ("POST", f"/patients/{p}/adverse-events", CLINICIAN),
        ("GET", "/vials", CLINICAL),
        ("POST", "/vials", CLINICAL),
        ("GET", "/recall?lot=NONE", CLINICAL),
        ("GET", "/syringes", CLINICAL),
        ("POST", "/syringes", CLINICAL),
        ("GET", f"/patients/{p}/fillers/new", CLINICIAN),
        ("POST", f"/patients/{p}/fillers", CLINICIAN),
        ("GET", f"/patients/{p}/assessments/new", CLINICIAN),
        ("POST", f"/patients/{p}/assessments", CLINICIAN),
        ("GET", "/photos/999999", CLINICAL),
        ("GET", "/admin/users", ADMIN),
        ("POST", "/admin/users", ADMIN),
        ("POST", f"/admin/users/{desk}", ADMIN),
        ("POST", "/admin/clinic", ADMIN),
        ("GET", "/admin/audit", ADMIN),
        ("GET", "/p/consent/not-a-token/not-a-token", None),
        ("POST", "/p/consent/not-a-token/not-a-token", None),
        ("GET", f"/patients/{p}/consents", CLINICAL),
        ("POST", f"/patients/{p}/consents/sign-here", ALL),
        ("POST", f"/patients/{p}/consents/link", ALL),
        ("POST", f"/patients/{p}/consents/999999/withdraw", CLINICAL),
        ("POST", f"/patients/{p}/links/email", ALL),
        ("GET", "/admin/clinic", ADMIN),
        ("POST", "/admin/clinic/contact", ADMIN),
        ("POST", "/admin/clinic/hours", ADMIN),
        ("POST", "/admin/clinic/logo", ADMIN),
        ("GET", "/clinic/logo", ALL),
        ("GET", "/messages", CLINICAL),
        ("GET", "/alerts/999999", CLINICAL),
        ("POST", "/alerts/999999/acknowledge", CLINICAL),
    ]


@pytest.fixture(scope="module")
def ids(app_client: httpx.Client) -> dict[str, int]:
    r = app_client.post(
        "/api/patients",
        auth=auth("front_desk"),
        json={"given_name": "Matrix", "family_name": "Pages", "birth_date": "1970-01-01", "sex": "male"},
    )
    assert r.status_code == 201, r.text
    users = {u["email"]: u["id"] for u in app_client.get("/api/users", auth=auth("admin")).json()}
    return {"patient": r.json()["id"], "desk": users[EMAIL["front_desk"]], "doc": users[EMAIL["clinician"]]}


@pytest.fixture(scope="module")
def clients(app_client: httpx.Client) -> Iterator[dict[str, httpx.Client]]:
    base = str(app_client.base_url)
    made = {role: httpx.Client(base_url=base, timeout=30) for role in (*ROLES, "anonymous")}
    for role in ROLES:
        _sign_in(made[role], role)
    yield made
    for c in made.values():
        c.close()


def _template(url: str) -> str:
    return re.sub(r"/\d+|/not-a-token", "/{}", url.split("?")[0])


def test_page_matrix_covers_every_page(ids: dict[str, int]) -> None:
    routes = {
        (method, re.sub(r"\{[^}]+\}", "{}", r.path))
        for router in (
            _pages.router,
            _intake.router,
            _admin.router,
            _consent.router,
            _clinic_messages.router,
            _clinic_profile.router,
            _filler.router,
            _schedule.router,
            _reports.router,
        )
        for r in router.routes
        if isinstance(r, APIRoute)
        for method in r.methods
    }
    covered = {(m, _template(u)) for m, u, _ in _page_matrix(ids["patient"], ids["desk"])}
    assert routes == covered


@pytest.mark.parametrize("role", [*ROLES, "anonymous"])
def test_page_role_matrix(clients: dict[str, httpx.Client], ids: dict[str, int], role: str) -> None:
    c = clients[role]
    for method, url, allowed in _page_matrix(ids["patient"], ids["desk"]):
        if url == "/signout":
            continue  # would end this client's session; covered by its own dependency (AnyUser)
        # no CSRF token and no fields: allowed roles get a 4xx about the form, never a 500
        r = c.request(method, url, headers={"accept": "text/html"}, data={} if method == "POST" else None)
        assert r.status_code < 500, (role, method, url, r.text[:300])
        role_refused = r.status_code == 403 and ("Role:" in r.text or "role:" in r.text)  # page or API
        if allowed is None:
            assert (not role_refused and r.status_code != 303) or url == "/signin", (role, url)
        elif role == "anonymous":
            assert r.status_code in (303, 401, 403), (method, url, r.status_code)
            if method == "GET":
                assert r.status_code == 303 and r.headers["location"].startswith("/signin"), url
        elif role in allowed:
            assert not role_refused, (role, method, url)
        else:
            assert role_refused, (role, method, url, r.status_code)


def _audit_rows(html: str) -> list[list[str]]:
    body = html.split('<table class="card" id="audit">', 1)[1]
    rows = re.findall(r"<tr><td>.*?</tr>", body, re.S)
    return [
        [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
        for row in rows
    ]


def test_admin_creates_changes_and_deactivates_a_user(
    app_client: httpx.Client, clients: dict[str, httpx.Client]
) -> None:
    admin = clients["admin"]
    page = admin.get("/admin/users")
    assert page.status_code == 200 and EMAIL["clinician"] in page.text
    # a new user starts as front desk, the least privileged role, unless the admin picks another
    new_user_form = page.text.split('id="new-user"', 1)[1]
    assert re.search(r'<option value="front_desk" selected>', new_user_form)
    assert not re.search(r'<option value="admin" selected>', new_user_form)
    email = "new.nurse@demo.rhytid.example"
    new = {"email": email, "name": "Nina Nurse", "role": "front_desk", "password": "a-good-long-password"}
    r = admin.post("/admin/users", data={"csrf_token": _csrf(page.text), **new})
    assert r.status_code == 303, r.text[:500]
    assert app_client.get("/api/me", auth=(email, new["password"])).status_code == 200
    users = {u["email"]: u for u in app_client.get("/api/users", auth=auth("admin")).json()}
    uid = users[email]["id"]
    csrf = _csrf(admin.get("/admin/users").text)
    assert (
        admin.post(f"/admin/users/{uid}", data={"csrf_token": csrf, "role": "clinician"}).status_code == 303
    )
    assert admin.post(f"/admin/users/{uid}", data={"csrf_token": csrf, "active": "false"}).status_code == 303
    assert app_client.get("/api/me", auth=(email, new["password"])).status_code == 401
    users = {u["email"]: u for u in app_client.get("/api/users", auth=auth("admin")).json()}
    assert (users[email]["role"], users[email]["active"]) == ("clinician", False)
    # in the audit log, filtered by the admin who did it and by today's date
    me = app_client.get("/api/me", auth=auth("admin")).json()["id"]
    audit = admin.get("/admin/audit", params={"user_id": me, "since": "2000-01-01"})
    assert audit.status_code == 200
    rows = _audit_rows(audit.text)
    # names, not numbers: who did it, and which user it was done to
    admin_name = app_client.get("/api/me", auth=auth("admin")).json()["name"]
    assert {(r[2], r[3]) for r in rows} >= {("create", "user: Nina Nurse"), ("update", "user: Nina Nurse")}
    assert f"user {uid}" not in {r[3] for r in rows}
    assert all(r[1] == admin_name for r in rows)
    assert _audit_rows(admin.get("/admin/audit", params={"user_id": me, "until": "2000-01-01"}).text) == []


@pytest.mark.parametrize(
    ("fields", "status", "word"),
    [
        ({"email": "not-an-email"}, 422, "email"),
        ({"password": "short"}, 422, "password"),
        ({"role": "superuser"}, 422, "role"),
        ({"email": EMAIL["clinician"]}, 409, "email"),
    ],
    ids=["bad-email", "short-password", "bad-role", "duplicate"],
)
def test_bad_new_user_rerenders_with_input_kept(
    app_client: httpx.Client, clients: dict[str, httpx.Client], fields: dict[str, str], status: int, word: str
) -> None:
    admin = clients["admin"]
    before = app_client.get("/api/users", auth=auth("admin")).json()
    data = {
        "email": "x.y@demo.rhytid.example",
        "name": "Kept Name",
        "role": "clinician",
        "password": "long-enough-pw",
        **fields,
    }
    r = admin.post("/admin/users", data={"csrf_token": _csrf(admin.get("/admin/users").text), **data})
    assert r.status_code == status, r.text[:300]
    error = re.search(r'id="form-error" role="alert">([^<]*)<', r.text)
    assert error and error.group(1).startswith(f"{field_label(word)}:"), r.text[:800]
    assert 'value="Kept Name"' in r.text
    assert app_client.get("/api/users", auth=auth("admin")).json() == before


def test_admin_cannot_lock_themselves_out_and_bad_filters_are_4xx(
    app_client: httpx.Client, clients: dict[str, httpx.Client]
) -> None:
    admin = clients["admin"]
    me = app_client.get("/api/me", auth=auth("admin")).json()["id"]
    csrf = _csrf(admin.get("/admin/users").text)
    for change in ({"active": "false"}, {"role": "front_desk"}):
        r = admin.post(f"/admin/users/{me}", data={"csrf_token": csrf, **change})
        assert r.status_code == 422 and "User: " in r.text and "user_id:" not in r.text
    assert app_client.get("/api/me", auth=auth("admin")).json()["role"] == "admin"
    r = app_client.patch(f"/api/users/{me}", auth=auth("admin"), json={"active": False})
    assert r.status_code == 422 and r.json()["field"] == "user_id"
    for params, field in (({"since": "yesterday"}, "since"), ({"patient_id": "x"}, "patient_id")):
        r = admin.get("/admin/audit", params=params, headers={"accept": "text/html"})
        assert r.status_code == 422 and f"{field_label(field)}: " in r.text
    r = app_client.get(
        "/api/audit", auth=auth("admin"), params={"since": "2025-02-01", "until": "2025-01-01"}
    )
    assert r.status_code == 422 and r.json()["field"] == "until"
