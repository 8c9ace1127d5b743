"""Staff pages name the field of an error in words (``Plan: …``), never as a code (``plan_id: …``),
over real HTTP on SQLite and PostgreSQL; the JSON API keeps the codes for programs."""

from __future__ import annotations

import html
import re
from typing import Any

import httpx
import pytest

from rhytid.web._words import staff_words

from .conftest import auth, new_patient
from .test_pages import _sign_in

CODE = re.compile(r"\b[a-z]+_[a-z_]+(?:\[\d+\]|\.\d+)*(?:\.[a-z_]+)?: ")


@pytest.mark.parametrize(
    ("message", "shown"),
    [
        ("plan_id: no plan 7 for this patient", "Plan: no plan 7 for this patient"),
        ("injections.2.units: at most 100", "Injection 3 — units: at most 100"),
        ("injections[0].x_mm: outside the face", "Injection 1 — position across (mm): outside the face"),
        ("email/password: not recognised", "E-mail or password: not recognised"),
        ("birth_date: not a date", "Date of birth: not a date"),
        ("treatment_id: no such treatment", "Treatment: no such treatment"),
        ("reason: say why", "Reason: say why"),
        ("site_2_volume_ml: at most 2", "Site 2 — volume (mL): at most 2"),
        ("Not recorded: the vial has expired", "Not recorded: the vial has expired"),
        ("the clinic is closed: come back", "the clinic is closed: come back"),
    ],
    ids=[
        "id",
        "list-item",
        "bracket-index",
        "either",
        "labelled",
        "fallback",
        "word",
        "numbered-field",
        "sentence",
        "no-code",
    ],
)
def test_staff_words(message: str, shown: str) -> None:
    assert staff_words(message) == shown


def _csrf(text: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', text)
    assert found
    return found.group(1)


def _errors(text: str) -> list[str]:
    """The text of every error the page shows."""
    shown = re.findall(
        r'<(?:p|div)[^>]*class="(?:error|field-error)[^"]*"[^>]*>(.*?)</(?:p|div)>', text, re.S
    )
    return [html.unescape(re.sub(r"<[^>]+>", "", s)).strip() for s in shown]


@pytest.fixture
def staff(app_client: httpx.Client) -> Any:
    """Signed-in browser-like clients by role, closed afterwards."""
    opened: list[httpx.Client] = []

    def client(role: str) -> httpx.Client:
        headers = {"Accept": "text/html"}  # as a browser asks
        c = _sign_in(httpx.Client(base_url=str(app_client.base_url), timeout=30, headers=headers), role)
        opened.append(c)
        return c

    yield client
    for c in opened:
        c.close()


def test_page_errors_name_fields_in_words(app_client: httpx.Client, staff: Any) -> None:
    doc, admin = staff("clinician"), staff("admin")
    pid = new_patient(app_client, "Words")
    me = str(app_client.get("/api/me", auth=auth("clinician")).json()["id"])
    cases: list[tuple[httpx.Client, str, str, dict[str, str], str]] = [
        (
            doc,
            "/patients",
            "/patients",
            {"given_name": "Ada", "family_name": "Words", "birth_date": "31/02/1980", "sex": "female"},
            "Date of birth: ",
        ),
        (doc, f"/patients/{pid}", f"/patients/{pid}/treatments", {"plan_id": "latest"}, "Plan: "),
        (
            doc,
            "/appointments",
            "/appointments",
            {
                "patient_id": str(pid),
                "clinician_id": me,
                "kind": "review",
                "starts_at": "soon",
                "minutes": "30",
            },
            "Start time: ",
        ),
        (
            doc,
            "/vials",
            "/vials",
            {
                "product": "onabotulinumtoxinA",
                "lot": "W-1",
                "expiry": "next year",
                "vial_units": "100",
                "diluent_ml": "2.5",
                "reconstituted_at": "2030-01-01T10:00",
            },
            "Expiry date: ",
        ),
        (
            admin,
            "/admin/users",
            "/admin/users",
            {"email": "not-an-address", "name": "New Person", "role": "front_desk", "password": "x" * 20},
            "E-mail: ",
        ),
    ]
    for client, page, action, form, label in cases:
        r = client.post(action, data={"csrf_token": _csrf(client.get(page).text), **form})
        assert r.status_code in (409, 422), (action, r.status_code, r.text[:400])
        shown = _errors(r.text)
        assert any(s.startswith(label) for s in shown), (action, shown)
        assert not any(CODE.search(s) for s in shown), (action, shown)
    # the JSON API keeps the code, for programs
    api = httpx.post(
        f"{app_client.base_url}/api/patients",
        auth=auth("clinician"),
        json={"given_name": "Ada", "family_name": "Words", "birth_date": "31/02/1980", "sex": "female"},
    )
    assert api.status_code == 422 and "birth_date" in api.text


@pytest.mark.parametrize(
    ("error", "shown"),
    [
        ({"type": "missing", "msg": "Field required"}, "required"),
        (
            {"type": "greater_than_equal", "ctx": {"ge": 0.5}, "msg": "Input should be …"},
            "must be at least 0.5",
        ),
        ({"type": "greater_than", "ctx": {"gt": 0}, "msg": ""}, "must be more than 0"),
        ({"type": "less_than_equal", "ctx": {"le": 100.0}, "msg": ""}, "must be at most 100"),
        ({"type": "float_parsing", "input": "20u", "msg": ""}, "not a number: '20u'"),
        ({"type": "int_parsing", "input": "", "msg": ""}, "not a whole number"),
        (
            {"type": "date_from_datetime_parsing", "input": "31/02/1980", "msg": ""},
            "not a date (e.g. 2025-01-31): '31/02/1980'",
        ),
        (
            {"type": "datetime_parsing", "input": "soon", "msg": ""},
            "not a date and time (e.g. 2025-01-31 14:30): 'soon'",
        ),
        (
            {"type": "literal_error", "ctx": {"expected": "'female' or 'male'"}, "msg": ""},
            "choose female or male",
        ),
        (
            {"type": "literal_error", "ctx": {"expected": "'front_desk' or 'admin'"}, "msg": ""},
            "choose front desk or admin",
        ),
        ({"type": "string_too_short", "ctx": {"min_length": 1}, "input": "", "msg": ""}, "required"),
        ({"type": "string_too_long", "ctx": {"max_length": 100}, "msg": ""}, "at most 100 characters"),
        ({"type": "too_short", "ctx": {"min_length": 1}, "input": [], "msg": ""}, "add at least one"),
        (
            {"type": "extra_forbidden", "msg": "Extra inputs are not permitted"},
            "not asked for here; leave it out",
        ),
        ({"type": "value_error", "msg": "Value error, not a product we know"}, "not a product we know"),
        ({"type": "bool_parsing", "input": "maybe", "msg": ""}, "answer yes or no"),
    ],
    ids=lambda v: v["type"] if isinstance(v, dict) else None,
)
def test_pydantic_errors_in_words(error: dict[str, Any], shown: str) -> None:
    from rhytid.web._words import plain_message

    assert plain_message(error) == shown


#: pydantic's own words, which a person should never read on a page
PYDANTIC = re.compile(r"Field required|Input should|String should|List should|Extra inputs|Value error")


def test_forms_and_the_api_say_what_is_wrong_in_words(app_client: httpx.Client, staff: Any) -> None:
    doc, admin = staff("clinician"), staff("admin")
    cases: list[tuple[httpx.Client, str, str, dict[str, str], str]] = [
        (
            doc,
            "/patients",
            "/patients",
            {"given_name": "Ada", "family_name": "Words", "sex": "female"},
            "Date of birth: required",
        ),
        (
            doc,
            "/patients",
            "/patients",
            {"given_name": "Ada", "family_name": "Words", "birth_date": "1980-01-01", "sex": "other"},
            "Sex: choose female or male",
        ),
        (
            admin,
            "/admin/users",
            "/admin/users",
            {"email": "new@example.org", "name": "", "role": "front_desk", "password": "x" * 20},
            "Name: required",
        ),
    ]
    for client, page, action, form, expected in cases:
        r = client.post(action, data={"csrf_token": _csrf(client.get(page).text), **form})
        assert r.status_code == 422, (action, r.status_code, r.text[:400])
        shown = _errors(r.text)
        assert expected in shown, (action, shown)
        assert not any(PYDANTIC.search(s) for s in shown), (action, shown)
    # the API: the code in detail and field for programs, the same in words in message for pages
    pid = new_patient(app_client, "ApiWords")
    plan = {"product": "onabotulinumtoxinA", "injections": [{"site": "procerus", "units": "20u"}]}
    r = app_client.post(f"/api/patients/{pid}/preview", json=plan, auth=auth("clinician"))
    assert r.status_code == 422, r.text
    body = r.json()
    assert (
        body["detail"] == "injections.0.units: not a number: '20u'" and body["field"] == "injections.0.units"
    )
    assert body["message"] == "Injection 1 — units: not a number: '20u'"
    assert body["errors"][0]["type"] == "float_parsing"
    missing = app_client.post("/api/patients", json={"given_name": "A"}, auth=auth("clinician")).json()
    assert not PYDANTIC.search(missing["detail"]) and not PYDANTIC.search(str(missing["errors"])), missing
    refused = app_client.post(
        f"/api/patients/{pid}/plans", json={"product": "snake oil", "injections": []}, auth=auth("clinician")
    ).json()
    assert refused["message"].startswith("Product: "), refused
