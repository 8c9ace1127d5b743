"""The patient's medical-history (intake) form, opened through a signed link without an account.

Every question may be left open (the clinic asks at the visit); items ticked in a list whose
yes/no was left open count as "yes". An answer that cannot be taken as
given — a choice the form does not offer, "yes" with nothing ticked, "no" with something ticked,
a number that is not one, a date missing or malformed, text over its length — re-renders the form
with status 422 and the message next to the question, which the message names; the patient's
other answers are kept and nothing is stored.
"""

from __future__ import annotations

import math
import re
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from starlette.datastructures import FormData

from rhytid.clinic._history import ANSWERED_FIELDS
from rhytid.clinic._rules import rules
from rhytid.errors import ClinicError, ScreeningError
from rhytid.store import repo
from rhytid.web._auth import DbSession, link_csrf
from rhytid.web._forms import RawForm, form_text
from rhytid.web._patient_links import link_actor, link_submission, open_link
from rhytid.web._render import render
from rhytid.web._routing import page_router

__all__ = ["router"]

router = page_router()

#: The yes/no/not-answered list questions: (answer name, name of the ticked items).
_LISTS = (("allergies", "allergy"), ("conditions", "condition"), ("medications", "medication"))
_BOOLS = [f for f in ANSWERED_FIELDS if f not in ("allergies", "conditions", "medications", "previous_toxin")]
_TEXTS = {"facial_surgery_details": 2000, "notes": 5000}  # the form's maxlength, enforced here too
_TICKED = ("allergy", "condition", "medication", "prev_side_effect")
#: The questions an error can stand next to (the first name of the error's field).
QUESTIONS = (*(n for n, _ in _LISTS), *_BOOLS, "previous_toxin", *_TEXTS)


def _codes(name: str) -> list[str]:
    return [str(c) for c in rules().codes[name].value]


def _options() -> dict[str, Any]:
    return {
        "bools": _BOOLS,
        "allergens": _codes("toxin_allergens")[:1] + _codes("component_allergens"),
        "conditions": _codes("neuromuscular_conditions") + _codes("other_conditions"),
        "medications": [str(k) for k in rules().medications.value],
        "areas": _codes("treatment_areas"),
        "side_effects": _codes("toxin_side_effects"),
    }


def _yes_no(form: FormData, field: str, name: str) -> bool | None:
    value = form_text(form, field)
    if value not in ("", "yes", "no"):
        raise ScreeningError(f"{name}: answer yes or no, got {value[:40]!r}")
    return None if not value else value == "yes"


def _listed(form: FormData, name: str, key: str) -> list[Any] | None:
    picked = [str(v) for v in form.getlist(key)]
    has = _yes_no(form, f"has_{name}", name)
    if has is False and picked:
        raise ScreeningError(
            f"{name}: you answered no but ticked {', '.join(picked)}; untick them or answer yes"
        )
    if has and not picked:
        raise ScreeningError(f"{name}: you answered yes; tick which ones, or answer no")
    if has is False:
        return []
    if not picked:
        return None  # not answered
    return [{"substance": c} for c in picked] if name == "allergies" else picked


def _previous(form: FormData) -> list[dict[str, Any]] | None:
    has = _yes_no(form, "has_previous_toxin", "previous_toxin")
    if not has:
        return None if has is None else []
    if not form_text(form, "prev_date"):
        raise ScreeningError("previous_toxin[0].date: give the date of the last treatment (a guess will do)")
    entry: dict[str, Any] = {"date": form_text(form, "prev_date")}
    for key in ("product", "area"):
        if form_text(form, f"prev_{key}"):
            entry[key] = form_text(form, f"prev_{key}")
    if raw := form_text(form, "prev_units"):
        try:
            entry["units"] = float(raw)
        except ValueError:
            entry["units"] = math.nan
        if not math.isfinite(entry["units"]):
            raise ScreeningError(f"previous_toxin[0].units: not a number of units: {raw[:40]!r}")
    entry["side_effects"] = [str(v) for v in form.getlist("prev_side_effect")]
    return [entry]


def answers_of(form: FormData) -> dict[str, Any]:
    """The questionnaire's answers from the submitted form; ScreeningError naming a bad answer."""
    answers: dict[str, Any] = {"schema_version": 1}
    for name, key in _LISTS:
        answers[name] = _listed(form, name, key)
    for name in _BOOLS:
        answers[name] = _yes_no(form, name, name)
    answers["previous_toxin"] = _previous(form)
    for name, limit in _TEXTS.items():
        if text := form_text(form, name):
            if len(text) > limit:
                raise ScreeningError(f"{name}: at most {limit} characters, got {len(text)}")
            answers[name] = text
    return answers


def _page(
    request: Request, patient: Any, token: str, form: FormData | None = None, error: str = ""
) -> HTMLResponse:
    question = re.match(r"[a-z_]+", error)
    where = question.group(0) if question and question.group(0) in QUESTIONS else ""
    values = {k: form_text(form, k) for k in form} if form is not None else {}
    ticked = {k: [str(v) for v in form.getlist(k)] for k in _TICKED} if form is not None else {}
    return render(
        request,
        "intake.html",
        422 if error else 200,
        patient=patient,
        token=token,
        form_csrf=link_csrf(request, token),
        options=_options(),
        values=values,
        ticked=ticked,
        form_error=error,
        error_at=where,
    )


@router.get("/p/intake/{token}", response_class=HTMLResponse)
def intake_page(request: Request, db: DbSession, token: str) -> HTMLResponse:
    _, patient = open_link(request, db, token, "intake")
    return _page(request, patient, token)


@router.post("/p/intake/{token}", response_class=HTMLResponse)
def intake_submit(request: Request, db: DbSession, token: str, posted: RawForm) -> HTMLResponse:
    _, patient, form = link_submission(request, db, token, "intake", posted)
    try:
        answers = answers_of(form)
        row = repo.submit_history(db=db, patient_id=patient.id, answers=answers, actor=link_actor(patient))
        db.commit()
    except ClinicError as exc:  # a ScreeningError naming the answer
        db.rollback()
        return _page(request, patient, token, form, str(exc))
    return render(request, "thanks.html", patient=patient, missing=row.screening["missing"])
