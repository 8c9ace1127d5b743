"""The patient's intake form over real HTTP (SQLite and PostgreSQL): a bad answer re-renders the
form (422) with the message next to the question it names, every other answer kept, and nothing
stored; the same form, corrected, is stored."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import httpx
import pytest

from rhytid.clinic._history import ANSWERED_FIELDS

from .conftest import auth, new_patient

BOOLS = [f for f in ANSWERED_FIELDS if f not in ("allergies", "conditions", "medications", "previous_toxin")]
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
    ("change", "question", "words"),
    [
        ({"has_medications": "yes", "medication": []}, "medications", ["medications:", "tick which"]),
        ({"has_allergies": "no", "allergy": ["human_albumin"]}, "allergies", ["allergies:", "human_albumin"]),
        ({"pregnant": "maybe"}, "pregnant", ["pregnant: answer yes or no", "'maybe'"]),
        ({"medication": ["snake_oil"]}, "medications", ["medications[0]:", "snake_oil"]),
        (
            {"condition": ["vampirism"], "has_conditions": "yes"},
            "conditions",
            ["conditions[0]:", "vampirism"],
        ),
        ({**PREVIOUS, "prev_date": ""}, "previous_toxin", ["previous_toxin[0].date:", "date"]),
        ({**PREVIOUS, "prev_date": "15/01/2023"}, "previous_toxin", ["previous_toxin[0].date:"]),
        ({**PREVIOUS, "prev_date": NEXT_WEEK}, "previous_toxin", ["previous_toxin[0].date:", "future"]),
        ({**PREVIOUS, "prev_units": "lots"}, "previous_toxin", ["previous_toxin[0].units:", "'lots'"]),
        ({**PREVIOUS, "prev_units": "inf"}, "previous_toxin", ["previous_toxin[0].units:"]),
        ({**PREVIOUS, "prev_units": "-5"}, "previous_toxin", ["previous_toxin[0].units:", "greater than 0"]),
        ({**PREVIOUS, "prev_product": "toxinX"}, "previous_toxin", ["previous_toxin[0].product:", "toxinX"]),
        ({"notes": "x" * 5001}, "notes", ["notes: at most 5000 characters, got 5001"]),
        (
            {"facial_surgery_details": "y" * 2001},
            "facial_surgery_details",
            ["facial_surgery_details: at most 2000"],
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
    words: list[str],
) -> None:
    pid, path = link
    before = _stored(app_client, pid)
    answers = {**GOOD, **change}
    r = _post(app_client, path, answers)
    assert r.status_code == 422, r.text[:300]
    # the message stands in the question it names (its fieldset, or right after the text field)
    start = r.text.index(f'id="q-{question}" class="invalid" aria-describedby="error-{question}"')
    shown = re.search(rf'<p class="error field-error" id="error-{question}" role="alert">([^<]*)</p>', r.text)
    following = [r.text.find(t, start + 1) for t in ('id="q-', '<button type="submit"')]
    assert shown and start < shown.start() < min(p for p in following if p > 0), r.text[:2000]
    assert r.text.count('role="alert"') == 1
    message = shown.group(1).replace("&#39;", "'")
    for word in words:
        assert word in message, message
    # every other answer is kept as given
    for name in ("dry_eye", "bleeding_disorder"):
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
