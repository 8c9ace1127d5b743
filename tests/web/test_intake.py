"""The patient's intake form over real HTTP (SQLite and PostgreSQL): a bad answer re-renders the
form (422) with the message next to the question it names, every other answer kept, and nothing
stored; the same form, corrected, is stored."""

from __future__ import annotations

import datetime as dt
import html
import re
from typing import Any

import httpx
import pytest

from rhytid.clinic._history import ANSWERED_FIELDS
from rhytid.web._intake import YES_NO

from .conftest import auth, new_patient

#: The plain yes/no questions of the form (dry eyes and bleeding problems are asked as conditions).
BOOLS = list(YES_NO)
GOOD: dict[str, Any] = {
    "has_allergies": "no",
    "has_conditions": "no",
    "has_medications": "yes",
    "medication": ["warfarin"],
    "has_previous_toxin": "no",
    **dict.fromkeys(BOOLS, "no"),
    "notes": "I <b>bruise</b> easily",
}


@pytest.fixture
def link(app_client: httpx.Client) -> tuple[int, str]:
    """A patient and the path of their intake link (a new one per test: a link is single-use)."""
    pid = new_patient(app_client, "Intake", "front_desk")
    r = app_client.post(f"/api/patients/{pid}/links", json={"form": "intake"}, auth=auth("front_desk"))
    assert r.status_code == 201, r.text
    return int(pid), httpx.URL(r.json()["url"]).path


def _stored(app_client: httpx.Client, pid: int) -> list[Any]:
    return list(app_client.get(f"/api/patients/{pid}/histories", auth=auth("clinician")).json())


def _post(app_client: httpx.Client, path: str, answers: dict[str, Any]) -> httpx.Response:
    with httpx.Client(base_url=str(app_client.base_url), timeout=30) as patient:  # no account, no cookies
        page = patient.get(path)
        assert page.status_code == 200
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert csrf
        return patient.post(path, data={"csrf_token": csrf.group(1), **answers})


# a week ahead, not tomorrow: the table is built at import and a run may cross midnight
NEXT_WEEK = (dt.date.today() + dt.timedelta(days=7)).isoformat()
PREVIOUS = {"has_previous_toxin": "yes", "prev_date": "2023-01-15", "prev_units": "20"}


@pytest.mark.parametrize(
    ("change", "question", "control", "words"),
    [
        (
            {"has_medications": "yes", "medication": []},
            "medications",
            "has_medications-no",
            ["Medicines:", "tick which"],
        ),
        (
            {"has_allergies": "no", "allergy": ["human_albumin"]},
            "allergies",
            "has_allergies-no",
            ["Allergies: you answered no but ticked Human albumin"],
        ),
        ({"pregnant": "maybe"}, "pregnant", "pregnant-no", ["Pregnancy: please choose yes or no"]),
        (
            {"medication": ["snake_oil"]},
            "medications",
            "has_medications-no",
            ["Medicines:", "not on our list"],
        ),
        (
            {"condition": ["vampirism"], "has_conditions": "yes"},
            "conditions",
            "has_conditions-no",
            ["Health conditions:", "not on our list"],
        ),
        (
            {**PREVIOUS, "prev_date": ""},
            "previous_toxin",
            "prev_date",
            ["Previous treatment — date:", "a guess will do"],
        ),
        (
            {**PREVIOUS, "prev_date": "15/01/2023"},
            "previous_toxin",
            "prev_date",
            ["Previous treatment — date:"],
        ),
        (
            {**PREVIOUS, "prev_date": NEXT_WEEK},
            "previous_toxin",
            "prev_date",
            ["Previous treatment — date:", "future"],
        ),
        (
            {**PREVIOUS, "prev_units": "lots"},
            "previous_toxin",
            "prev_units",
            ["Previous treatment — units: please enter a number, e.g. 20"],
        ),
        ({**PREVIOUS, "prev_units": "inf"}, "previous_toxin", "prev_units", ["Previous treatment — units:"]),
        (
            {**PREVIOUS, "prev_units": "-5"},
            "previous_toxin",
            "prev_units",
            ["Previous treatment — units:", "e.g. 20"],
        ),
        (
            {**PREVIOUS, "prev_product": "toxinX"},
            "previous_toxin",
            "prev_product",
            ["Previous treatment — product:"],
        ),
        (
            {"notes": "x" * 5001},
            "notes",
            "notes",
            ["Anything else: please shorten this to 5000 characters", "5001"],
        ),
        (
            {"facial_surgery_details": "y" * 2001},
            "facial_surgery_details",
            "facial_surgery_details",
            ["Details of the surgery: please shorten this to 2000"],
        ),
    ],
    ids=[
        "yes-but-none-ticked",
        "no-but-ticked",
        "not-yes-or-no",
        "unknown-medicine",
        "unknown-condition",
        "previous-without-date",
        "previous-bad-date",
        "previous-future-date",
        "units-not-a-number",
        "units-infinite",
        "units-negative",
        "unknown-product",
        "notes-too-long",
        "details-too-long",
    ],
)
def test_bad_answer_is_shown_next_to_its_question_and_nothing_is_stored(
    app_client: httpx.Client,
    link: tuple[int, str],
    change: dict[str, Any],
    question: str,
    control: str,
    words: list[str],
) -> None:
    pid, path = link
    before = _stored(app_client, pid)
    answers = {**GOOD, **change}
    r = _post(app_client, path, answers)
    assert r.status_code == 422, r.text[:300]
    text = html.unescape(r.text)
    # the summary at the top links to the field; the link's target exists and lies in the question
    summary = re.search(
        r'<div class="error-summary" id="error-summary" role="alert"[^>]*>(.*?)</div>', text, re.S
    )
    assert summary and text.index("error-summary") < text.index('<form method="post"'), text[:2000]
    links = re.findall(r'<a href="#([^"]+)" data-step="([a-z]+)">([^<]*)</a>', summary.group(1))
    assert [(c, m) for c, _, m in links] == [(control, links[0][2])] and len(links) == 1, links
    assert f'id="{control}"' in text
    step = links[0][1]
    section = text[
        text.index(f'id="step-{step}"') : text.index("</section>", text.index(f'id="step-{step}"'))
    ]
    assert f'id="{control}"' in section and f'id="q-{question}"' in section
    # the same message stands in the question it names (its fieldset, or right after the text's label)
    start = text.index(f'id="q-{question}" class="invalid" aria-describedby="error-{question}"')
    shown = re.search(rf'<p class="error field-error" id="error-{question}">([^<]*)</p>', text)
    following = [text.find(t, start + 1) for t in ('id="q-', "</section>")]
    assert shown and start < shown.start() < min(p for p in following if p > 0), text[:2000]
    assert text.count('role="alert"') == 1
    message = shown.group(1)
    assert message == links[0][2]
    for word in words:
        assert word in message, message
    # plain words: no data paths, no field codes
    assert not re.search(r"\[\d+\]|[a-z]+_[a-z]+|: not a|got '", message), message
    # every other answer is kept as given
    for name in ("breastfeeding", "previous_brow_droop"):
        assert f'name="{name}" value="no" checked>' in r.text
    for key, value in answers.items():
        for ticked in value if isinstance(value, list) else []:
            offered = f'name="{key}" value="{ticked}"' in r.text  # a code the form does not offer is not
            assert not offered or f'name="{key}" value="{ticked}" checked>' in r.text
    if "prev_units" in change:
        assert f'name="prev_units" inputmode="decimal" value="{change["prev_units"]}"' in r.text
    notes = answers["notes"].replace("<", "&lt;").replace(">", "&gt;")
    assert f'maxlength="5000">{notes}</textarea>' in r.text
    assert _stored(app_client, pid) == before


def test_every_problem_is_listed_at_the_top(app_client: httpx.Client, link: tuple[int, str]) -> None:
    """Three wrong answers on three steps: three summary links, in the order of the form."""
    pid, path = link
    bad = {**GOOD, **PREVIOUS, "has_allergies": "yes", "prev_units": "twenty", "notes": "z" * 5001}
    r = _post(app_client, path, bad)
    assert r.status_code == 422
    links = re.findall(r'<a href="#([^"]+)" data-step="([a-z]+)">', r.text)
    assert links == [("has_allergies-no", "allergies"), ("prev_units", "previous"), ("notes", "other")]
    assert 'data-first="allergies"' in r.text
    assert _stored(app_client, pid) == []


def test_corrected_answers_are_stored(app_client: httpx.Client, link: tuple[int, str]) -> None:
    pid, path = link
    before = _stored(app_client, pid)
    assert _post(app_client, path, {**GOOD, **PREVIOUS, "prev_units": "lots"}).status_code == 422
    r = _post(app_client, path, {**GOOD, **PREVIOUS})
    assert r.status_code == 200 and 'id="thanks"' in r.text, r.text[:500]
    stored = _stored(app_client, pid)
    assert len(stored) == len(before) + 1
    answers = stored[0]["answers"]
    assert answers["medications"] == ["warfarin"] and answers["notes"] == GOOD["notes"]
    assert answers["previous_toxin"] == [{"date": "2023-01-15", "units": 20.0, "side_effects": []}]


def test_unanswered_questions_are_allowed(app_client: httpx.Client, link: tuple[int, str]) -> None:
    """Questions left open are stored as not answered (the clinic asks); ticks imply yes."""
    pid, path = link
    r = _post(app_client, path, {"allergy": ["lactose"]})
    assert r.status_code == 200 and "Some questions were left open" in r.text, r.text[:500]
    answers = _stored(app_client, pid)[0]["answers"]
    assert answers["allergies"] == [{"substance": "lactose"}]
    assert answers["medications"] is None and answers["pregnant"] is None


def test_questions_are_plain_and_asked_once(app_client: httpx.Client, link: tuple[int, str]) -> None:
    _, path = link
    page = html.unescape(httpx.get(f"{app_client.base_url}{path}").text)
    assert "Botox (onabotulinumtoxinA)" in page and "Dysport or Azzalure (abobotulinumtoxinA)" in page
    assert "Lambert–Eaton syndrome (a rare nerve-muscle condition)" in page
    assert "lambert eaton" not in page.lower() and ">onabotulinumtoxinA<" not in page
    legends = re.findall(r"<legend>([^<]+)</legend>", page)
    assert len(legends) == len(set(legends)), legends
    # dry eyes and bleeding problems are conditions only; no yes/no of their own
    for code in ("dry_eye", "bleeding_disorder"):
        assert f'name="{code}"' not in page and f'name="condition" value="{code}"' in page
    steps = re.findall(r'<section class="card step" id="step-([a-z]+)"', page)
    assert len(steps) >= 8 and page.count("Step 1 of ") == 1
    assert 'name="other_medicines"' in page


def test_each_answer_fills_every_field_that_holds_it(app_client: httpx.Client, link: tuple[int, str]) -> None:
    """Answered once, stored wherever the rules read it: the history is complete and screened."""
    pid, path = link
    answers = {
        **GOOD,
        "has_conditions": "yes",
        "condition": ["dry_eye"],
        "other_medicines": "St John's wort",
        "has_previous_toxin": "yes",
        "prev_date": "2023-01-15",
        "prev_product": "abobotulinumtoxinA",
        "prev_units": "50 U",
        "prev_side_effect": ["eyelid_ptosis"],
    }
    r = _post(app_client, path, answers)
    assert r.status_code == 200 and 'id="thanks"' in r.text, r.text[:800]
    stored = _stored(app_client, pid)[0]
    got = stored["answers"]
    assert all(got[name] is not None for name in ANSWERED_FIELDS), got
    assert (got["dry_eye"], got["bleeding_disorder"]) == (True, False)
    assert (got["previous_eyelid_droop"], got["previous_brow_droop"]) == (True, False)
    assert got["previous_toxin"] == [
        {
            "date": "2023-01-15",
            "product": "abobotulinumtoxinA",
            "units": 50.0,
            "side_effects": ["eyelid_ptosis"],
        }
    ]
    assert got["other_medicines"] == "St John's wort"
    codes = {f["code"] for f in stored["screening"]["findings"]}
    assert {"dry_eye", "previous_droop", "previous_side_effect", "other_medicines"} <= codes
    assert stored["screening"]["missing"] == []
