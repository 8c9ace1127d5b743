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
