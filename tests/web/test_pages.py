"""Server-rendered pages over real HTTP (SQLite and PostgreSQL): assessments with photos and the
grade plot; bad input re-renders the form with the field named and the input kept."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest

from rhytid._cli_web import DEMO_PASSWORD
from rhytid.web._words import field_label

from .conftest import EMAIL, auth, sign_consent

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
JPEG = b"\xff\xd8\xff\xe0" + b"\x01" * 64


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, html[:500]
    return found.group(1)


@contextmanager
def signed_in(base: str, role: str) -> Iterator[httpx.Client]:
    """A browser-like client (cookies, no redirects followed) signed in as ``role``."""
    with httpx.Client(base_url=base, timeout=30) as c:
        yield _sign_in(c, role)


def _sign_in(c: httpx.Client, role: str) -> httpx.Client:
    page = c.get("/signin")
    pre = re.search(r'name="pre" value="([^"]+)"', page.text)
    assert pre
    r = c.post(
        "/signin", data={"email": EMAIL[role], "password": DEMO_PASSWORD, "pre": pre.group(1), "next": "/"}
    )
    assert r.status_code == 303, r.text
    return c


@pytest.fixture(scope="module")
def doc(app_client: httpx.Client) -> Iterator[httpx.Client]:
    with signed_in(str(app_client.base_url), "clinician") as c:
        yield c


@pytest.fixture(scope="module")
def pid(app_client: httpx.Client) -> int:
    r = app_client.post(
        "/api/patients",
        auth=auth("clinician"),
        json={"given_name": "Page", "family_name": "Grades", "birth_date": "1981-04-05", "sex": "female"},
    )
    assert r.status_code == 201, r.text
    sign_consent(app_client, r.json()["id"], "photography")
    return int(r.json()["id"])


def _assessments(app_client: httpx.Client, pid: int) -> list[dict[str, Any]]:
    r = app_client.get(f"/api/patients/{pid}/assessments", auth=auth("clinician"))
    assert r.status_code == 200, r.text
    return list(r.json())


def _submit(
    client: httpx.Client, pid: int, fields: dict[str, str], files: list[tuple[str, bytes, str]] | None = None
) -> httpx.Response:
    form = client.get(f"/patients/{pid}/assessments/new")
    assert form.status_code == 200, form.text
    return client.post(
        f"/patients/{pid}/assessments",
        data={"csrf_token": _csrf(form.text), **fields},
        files=[("photos", f) for f in files or []] or None,
    )


def test_assessment_with_photos_and_the_grade_plot(
    app_client: httpx.Client, doc: httpx.Client, pid: int
) -> None:
    for day, rest, mx in (("2025-01-10", "1", "3"), ("2025-02-10", "0", "1")):
        r = _submit(
            doc,
            pid,
            {
                "assessed_on": day,
                "glabellar_rest": rest,
                "glabellar_max": mx,
                "forehead_rest": "1",
                "forehead_max": "2",
            },
            [("front.png", PNG, "image/png"), ("side.jpg", JPEG, "image/jpeg")]
            if day == "2025-02-10"
            else None,
        )
        assert r.status_code == 303, r.text
        assert r.headers["location"] == f"/patients/{pid}#assessments"
    rows = _assessments(app_client, pid)
    assert [a["grades"]["glabellar"] for a in rows] == [{"rest": 1, "max": 3}, {"rest": 0, "max": 1}]
    photos = rows[-1]["photos"]
    assert [(p["filename"], p["sha256"]) for p in photos] == [
        ("front.png", hashlib.sha256(PNG).hexdigest()),
        ("side.jpg", hashlib.sha256(JPEG).hexdigest()),
    ]
    page = doc.get(f"/patients/{pid}")
    assert page.status_code == 200
    svg = re.search(r'<svg[^>]*id="grade-plot".*?</svg>', page.text, re.S)
    assert svg, "no grade plot on the patient record"
    lines = re.findall(
        r'<polyline class="series (max|rest)" data-area="(\w+)"[^>]*points="([^"]+)"', svg.group(0)
    )
    assert {(kind, area) for kind, area, _ in lines} == {
        (k, a) for k in ("max", "rest") for a in ("glabellar", "forehead")
    }
    glabellar_max = next(pts for kind, area, pts in lines if (kind, area) == ("max", "glabellar"))
    (x1, y1), (x2, y2) = (tuple(map(float, p.split(","))) for p in glabellar_max.split())
    assert x2 > x1 and y2 > y1  # later, and lower grade drawn lower (grade 3 -> 1)
    # the photo comes back byte for byte, for clinical staff only, and the read is audited
    got = doc.get(f"/photos/{photos[0]['id']}")
    assert got.status_code == 200 and got.content == PNG and got.headers["content-type"] == "image/png"
    with signed_in(str(app_client.base_url), "front_desk") as desk:
        assert desk.get(f"/photos/{photos[0]['id']}").status_code == 403
        assert desk.get(f"/patients/{pid}/assessments/new").status_code == 403
    audit = app_client.get("/api/audit", auth=auth("admin"), params={"patient_id": pid}).json()
    assert any(
        (e["action"], e["entity"], e["entity_id"]) == ("read", "photo", photos[0]["id"]) for e in audit
    )
    assert doc.get("/photos/99999999").status_code == 404


@pytest.mark.parametrize(
    ("fields", "files", "status", "words"),
    [
        ({"glabellar_rest": "1", "glabellar_max": "7"}, None, 422, ["Grades — glabellar — max:"]),
        ({"glabellar_rest": "1"}, None, 422, ["Grades — glabellar — max:"]),
        ({}, None, 422, ["Grades:"]),
        (
            {"assessed_on": "31/12/2025", "glabellar_rest": "1", "glabellar_max": "2"},
            None,
            422,
            ["Date of the assessment:"],
        ),
        (
            {"glabellar_rest": "1", "glabellar_max": "2"},
            [("notes.txt", b"hello", "text/plain")],
            422,
            ["Photos:", "notes.txt"],
        ),
        (
            {"glabellar_rest": "1", "glabellar_max": "2"},
            [("fake.png", b"GIF89a....", "image/png")],
            422,
            ["Photos:", "fake.png"],
        ),
        (
            {"glabellar_rest": "1", "glabellar_max": "2"},
            [("ok.png", PNG, "image/png"), ("huge.png", PNG + b"\x00" * (10 * 1024 * 1024), "image/png")],
            413,
            ["Photos:", "huge.png"],
        ),
    ],
    ids=[
        "grade-out-of-range",
        "grade-missing",
        "no-grades",
        "bad-date",
        "not-an-image",
        "wrong-magic",
        "too-big",
    ],
)
def test_bad_assessment_rerenders_the_form_and_changes_nothing(
    app_client: httpx.Client,
    doc: httpx.Client,
    pid: int,
    fields: dict[str, str],
    files: list[tuple[str, bytes, str]] | None,
    status: int,
    words: list[str],
) -> None:
    before = _assessments(app_client, pid)
    fields = {"assessed_on": "2025-03-01", "notes": "kept <b>as typed</b>", **fields}
    r = _submit(doc, pid, fields, files)
    assert r.status_code == status, r.text[:300]
    error = re.search(r'<p class="error" id="form-error" role="alert">([^<]*)</p>', r.text)
    assert error, r.text[:1000]
    for word in words:
        assert word in error.group(1)
    assert "kept &lt;b&gt;as typed&lt;/b&gt;" in r.text  # the user's input is kept (escaped)
    if fields.get("glabellar_rest"):
        assert re.search(r'name="glabellar_rest".*?<option value="1" selected>', r.text, re.S)
    assert _assessments(app_client, pid) == before


@pytest.mark.parametrize(
    ("fields", "word"),
    [
        ({"kind": ""}, "kind"),
        ({"onset_date": "31.12.2025"}, "onset_date"),
        ({"severity": "fatal"}, "severity"),
        ({"treatment_id": "999999"}, "treatment_id"),
    ],
    ids=["no-kind", "bad-date", "bad-severity", "unknown-treatment"],
)
def test_bad_adverse_event_rerenders_the_form_with_the_input(
    app_client: httpx.Client, doc: httpx.Client, pid: int, fields: dict[str, str], word: str
) -> None:
    before = app_client.get(f"/api/patients/{pid}/adverse-events", auth=auth("clinician")).json()
    form = doc.get(f"/patients/{pid}/adverse-events/new")
    assert form.status_code == 200
    data = {
        "csrf_token": _csrf(form.text),
        "onset_date": "2025-03-02",
        "kind": "bruising",
        "severity": "moderate",
        "description": "small bruise <left> brow",
        **fields,
    }
    r = doc.post(f"/patients/{pid}/adverse-events", data=data)
    assert r.status_code == 422, r.text[:300]
    error = re.search(r'id="form-error" role="alert">([^<]*)<', r.text)
    assert error and error.group(1).startswith(f"{field_label(word)}:"), r.text[:800]
    assert "small bruise &lt;left&gt; brow</textarea>" in r.text
    if data["kind"]:
        assert 'value="bruising"' in r.text
    assert app_client.get(f"/api/patients/{pid}/adverse-events", auth=auth("clinician")).json() == before


def test_refused_vial_rerenders_the_treatment_form(app_client: httpx.Client, doc: httpx.Client) -> None:
    """A vial reconstituted over 24 hours ago is refused on the form, naming vial_id; notes kept."""
    from .test_api import ANSWERS, GLABELLAR

    api = auth("clinician")
    p = app_client.post(
        "/api/patients",
        auth=api,
        json={"given_name": "Old", "family_name": "Vial", "birth_date": "1979-09-09", "sex": "female"},
    ).json()["id"]
    answers = {**ANSWERS, "medications": []}
    sign_consent(app_client, p, "toxin_treatment")
    assert (
        app_client.post(f"/api/patients/{p}/histories", json={"answers": answers}, auth=api).status_code
        == 201
    )
    plan = app_client.post(f"/api/patients/{p}/plans", json=GLABELLAR, auth=api).json()["id"]
    stale = dt.datetime.now(dt.UTC) - dt.timedelta(hours=30)
    vial = app_client.post(
        "/api/vials",
        auth=api,
        json={
            "product": "onabotulinumtoxinA",
            "lot": "STALE-1",
            "expiry": "2099-01-01",
            "vial_units": 100,
            "diluent_ml": 2.5,
            "reconstituted_at": stale.isoformat(),
        },
    ).json()["id"]
    form = doc.get(f"/patients/{p}/treatments/new", params={"plan_id": plan})
    assert form.status_code == 200 and "STALE-1" not in form.text  # not offered ...
    r = doc.post(  # ... and refused when posted anyway
        f"/patients/{p}/treatments",
        data={
            "csrf_token": _csrf(form.text),
            "plan_id": str(plan),
            "vial_id": str(vial),
            "notes": "left <brow>",
        },
    )
    assert r.status_code == 422, r.text[:300]
    error = re.search(r'id="form-error" role="alert">([^<]*)<', r.text)
    assert error and error.group(1).startswith("Vial: "), r.text[:800]
    assert "left &lt;brow&gt;</textarea>" in r.text
    assert app_client.get(f"/api/patients/{p}/treatments", auth=api).json() == []
