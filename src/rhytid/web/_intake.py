"""The patient's medical-history (intake) form, opened through a signed link without an account.

The form is one page in short steps, one topic each (:data:`STEPS`); ``static/steps.js`` shows
one step at a time with Back/Next and the progress, and keeps every answer in the page between
steps. Without JavaScript every step is shown one below the other and the form still works.

Every question is asked once and may be left open (the clinic asks at the visit); items ticked
in a list whose yes/no was left open count as "yes". The stored answers keep the questionnaire's
shape (:class:`~rhytid.clinic._history.History`), which the clinic rules read: answers that the
form asks in one place fill every field that holds them (dry eyes and bleeding problems are
conditions *and* their own yes/no; a drooping lid or brow after a treatment is a side effect *and*
a previous droop).

An answer that cannot be taken as given — a choice the form does not offer, "yes" with nothing
ticked, "no" with something ticked, a number that is not one, a date missing, malformed or ahead,
text over its length — re-renders the form with status 422: an error summary at the top links to
each field that needs a change, each message stands next to its question in plain words
("Previous treatment — units: please enter a number, e.g. 20"), the patient's other answers are
kept and nothing is stored.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from pydantic import ValidationError
from starlette.datastructures import FormData

from rhytid.clinic._history import History
from rhytid.clinic._rules import PRODUCTS, rules
from rhytid.errors import ClinicError
from rhytid.store import repo
from rhytid.web._auth import DbSession, link_csrf
from rhytid.web._forms import RawForm, form_text
from rhytid.web._intake_words import plain, product_name
from rhytid.web._patient_links import link_actor, link_submission, open_link
from rhytid.web._render import render
from rhytid.web._routing import page_router

__all__ = ["QUESTIONS", "STEPS", "Problem", "answers_of", "router"]

router = page_router()


@dataclass(frozen=True)
class Step:
    """One screen of the form: its topic and the questions on it."""

    key: str
    title: str
    questions: tuple[str, ...]


#: The form's steps in order; each question (a name an error can stand next to) is on one step.
STEPS: tuple[Step, ...] = (
    Step("allergies", "Allergies", ("allergies",)),
    Step("conditions", "Health conditions", ("conditions",)),
    Step("medicines", "Medicines", ("medications", "other_medicines")),
    Step("pregnancy", "Pregnancy and breastfeeding", ("pregnant", "breastfeeding")),
    Step(
        "skin",
        "The skin to be treated",
        ("infection_at_injection_site", "inflammation_at_injection_site"),
    ),
    Step("previous", "Previous anti-wrinkle injections", ("previous_toxin",)),
    Step("droop", "Drooping eyelid or brow", ("previous_eyelid_droop", "previous_brow_droop")),
    Step("surgery", "Surgery on the face", ("facial_surgery", "facial_surgery_details")),
    Step("other", "Anything else", ("notes",)),
)
QUESTIONS: tuple[str, ...] = tuple(q for step in STEPS for q in step.questions)
STEP_OF = {q: step.key for step in STEPS for q in step.questions}

#: The yes/no list questions: (answer name, name of the ticked items, the words of its items).
_LISTS: tuple[tuple[str, str, str], ...] = (
    ("allergies", "allergy", "allergens"),
    ("conditions", "condition", "conditions"),
    ("medications", "medication", "medicines"),
)
#: The plain yes/no questions and how the form asks them.
YES_NO: dict[str, str] = {
    "pregnant": "Are you pregnant, or could you be?",
    "breastfeeding": "Are you breastfeeding?",
    "infection_at_injection_site": (
        "Do you have an infection on the skin where you will be treated (for example a cold sore "
        "or spots with pus)?"
    ),
    "inflammation_at_injection_site": (
        "Is the skin there red, swollen or inflamed for another reason (for example eczema or a rash)?"
    ),
    "previous_eyelid_droop": "Other than after a treatment, has an eyelid of yours ever drooped?",
    "previous_brow_droop": "Other than after a treatment, has a brow of yours ever drooped?",
    "facial_surgery": "Have you had surgery on your face (including eyelid or brow surgery)?",
}
LIST_QUESTIONS = {
    "allergies": "Are you allergic to any of these?",
    "conditions": "Do you have any of these conditions?",
    "medications": "Do you take any of these medicines?",
}
#: Free text: the form's maxlength, enforced here too.
_TEXTS = {"other_medicines": 2000, "facial_surgery_details": 2000, "notes": 5000}
#: What each question is called in a message.
LABELS: dict[str, str] = {
    "allergies": "Allergies",
    "conditions": "Health conditions",
    "medications": "Medicines",
    "other_medicines": "Other medicines",
    "pregnant": "Pregnancy",
    "breastfeeding": "Breastfeeding",
    "infection_at_injection_site": "Infection of the skin",
    "inflammation_at_injection_site": "Inflamed skin",
    "previous_toxin": "Previous treatment",
    "previous_eyelid_droop": "Drooping eyelid",
    "previous_brow_droop": "Drooping brow",
    "facial_surgery": "Surgery on the face",
    "facial_surgery_details": "Details of the surgery",
    "notes": "Anything else",
}
#: The parts of the previous-treatment answer a message can name.
_PARTS = ("date", "product", "units", "area", "side effects")
_TICKED = ("allergy", "condition", "medication", "prev_side_effect")
#: Side effects after a treatment that are also a previous droop.
_DROOPS = {"previous_eyelid_droop": "eyelid_ptosis", "previous_brow_droop": "brow_ptosis"}
#: Conditions that the rules also read as their own yes/no answer.
_CONDITION_ANSWERS = ("dry_eye", "bleeding_disorder")
_UNITS = re.compile(r"^\s*([0-9]+(?:[.,][0-9]+)?)\s*(?:u|units?)?\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class Problem:
    """An answer that needs a change: the question it belongs to, the control to focus, the words."""

    question: str
    control: str
    message: str

    @property
    def step(self) -> str:
        return STEP_OF[self.question]


def _first_control(question: str) -> str:
    """The id of the control an error summary link focuses for ``question``."""
    if question in _TEXTS:
        return question
    if question in LIST_QUESTIONS or question == "previous_toxin":
        return f"has_{question}-no"
    return f"{question}-no"


def _problem(question: str, words: str, control: str = "") -> Problem:
    """A problem in plain words: ``Previous treatment — units: please enter a number, e.g. 20``."""
    part, _, rest = words.partition(": ")
    if control and rest and part in _PARTS:
        return Problem(question, control, f"{LABELS[question]} — {words}")
    return Problem(question, control or _first_control(question), f"{LABELS[question]}: {words}")


def _codes(name: str) -> list[str]:
    return [str(c) for c in rules().codes[name].value]


def _options() -> dict[str, Any]:
    """The choices each question offers, as (code, plain words)."""
    allergens = _codes("toxin_allergens")[:1] + _codes("component_allergens")
    conditions = _codes("neuromuscular_conditions") + _codes("other_conditions")
    medicines = [str(k) for k in rules().medications.value]
    return {
        "allergens": [(c, plain("allergens", c)) for c in allergens],
        "conditions": [(c, plain("conditions", c)) for c in conditions],
        "medicines": [(c, plain("medicines", c)) for c in medicines],
        "products": [(p, product_name(p)) for p in (*PRODUCTS, "unknown")],
        "areas": [(a, plain("areas", a)) for a in _codes("treatment_areas")],
        "side_effects": [(c, plain("side_effects", c)) for c in _codes("toxin_side_effects")],
    }


class _Reader:
    """Reads the posted form into the questionnaire's answers, collecting every problem."""

    def __init__(self, form: FormData) -> None:
        self.form = form
        self.problems: list[Problem] = []

    def yes_no(self, field: str, question: str) -> bool | None:
        value = form_text(self.form, field)
        if value not in ("", "yes", "no"):
            self.problems.append(_problem(question, "please choose yes or no"))
            return None
        return None if not value else value == "yes"

    def listed(self, name: str, key: str, kind: str) -> list[Any] | None:
        picked = [str(v) for v in self.form.getlist(key)]
        has = self.yes_no(f"has_{name}", name)
        offered = {c for c, _ in _options()[kind]}
        unknown = [p for p in picked if p not in offered]
        if unknown:
            self.problems.append(
                _problem(name, "one of the ticked items is not on our list; untick it and tell us at the end")
            )
            return None
        if has is False and picked:
            words = ", ".join(plain(kind, p) for p in picked)  # type: ignore[arg-type]
            self.problems.append(
                _problem(name, f"you answered no but ticked {words}; untick them or answer yes")
            )
            return None
        if has and not picked:
            self.problems.append(_problem(name, "you answered yes; please tick which ones, or answer no"))
            return None
        if has is False:
            return []
        if not picked:
            return None  # not answered
        return [{"substance": c} for c in picked] if name == "allergies" else picked

    def previous(self, today: dt.date) -> list[dict[str, Any]] | None:
        has = self.yes_no("has_previous_toxin", "previous_toxin")
        if not has:
            return None if has is None else []
        entry: dict[str, Any] = {}
        raw_date = form_text(self.form, "prev_date")
        try:
            entry["date"] = dt.date.fromisoformat(raw_date).isoformat() if raw_date else None
        except ValueError:
            entry["date"] = None
            self.problems.append(
                _problem("previous_toxin", "date: please give a date such as 15 January 2023", "prev_date")
            )
        else:
            if not raw_date:
                self.problems.append(
                    _problem(
                        "previous_toxin",
                        "date: please give the date of the last one (a guess will do)",
                        "prev_date",
                    )
                )
            elif dt.date.fromisoformat(raw_date) > today:
                self.problems.append(
                    _problem(
                        "previous_toxin",
                        "date: this date is in the future; give the date it was done",
                        "prev_date",
                    )
                )
        if (product := form_text(self.form, "prev_product")) and product not in (*PRODUCTS, "unknown"):
            self.problems.append(
                _problem("previous_toxin", "product: please choose one from the list", "prev_product")
            )
        elif product:
            entry["product"] = product
        if (area := form_text(self.form, "prev_area")) and area not in _codes("treatment_areas"):
            self.problems.append(
                _problem("previous_toxin", "area: please choose one from the list", "prev_area")
            )
        elif area:
            entry["area"] = area
        if raw := form_text(self.form, "prev_units"):
            match = _UNITS.match(raw)
            units = float(match.group(1).replace(",", ".")) if match else math.nan
            if not math.isfinite(units):
                self.problems.append(
                    _problem("previous_toxin", "units: please enter a number, e.g. 20", "prev_units")
                )
            elif units <= 0:
                self.problems.append(
                    _problem("previous_toxin", "units: please enter a number above 0, e.g. 20", "prev_units")
                )
            else:
                entry["units"] = units
        effects = [str(v) for v in self.form.getlist("prev_side_effect")]
        if any(e not in _codes("toxin_side_effects") for e in effects):
            self.problems.append(
                _problem(
                    "previous_toxin",
                    "side effects: please tick only ones from the list",
                    f"prev_side_effect-{_codes('toxin_side_effects')[0]}",
                )
            )
        entry["side_effects"] = effects
        return [entry]

    def text(self, name: str, limit: int) -> str | None:
        text = form_text(self.form, name)
        if len(text) > limit:
            self.problems.append(
                _problem(name, f"please shorten this to {limit} characters or fewer (it has {len(text)})")
            )
            return None
        return text or None


def answers_of(form: FormData, today: dt.date | None = None) -> tuple[dict[str, Any], list[Problem]]:
    """The questionnaire's answers from the submitted form, and every problem found in it."""
    read = _Reader(form)
    answers: dict[str, Any] = {"schema_version": 1}
    for name, key, kind in _LISTS:
        answers[name] = read.listed(name, key, kind)
    for name in YES_NO:
        answers[name] = read.yes_no(name, name)
    answers["previous_toxin"] = read.previous(today or dt.date.today())
    for name, limit in _TEXTS.items():
        if (text := read.text(name, limit)) is not None:
            answers[name] = text
    # asked once, stored wherever the rules read them
    conditions = answers["conditions"]
    for code in _CONDITION_ANSWERS:
        answers[code] = None if conditions is None else code in conditions
    effects = {e for t in answers["previous_toxin"] or () for e in t.get("side_effects", ())}
    for name, effect in _DROOPS.items():
        if effect in effects:
            answers[name] = True
    if not read.problems:
        read.problems.extend(_schema_problems(answers))
    return answers, read.problems


def _schema_problems(answers: dict[str, Any]) -> list[Problem]:
    """Whatever the questionnaire's own checks still refuse, in plain words (none expected)."""
    try:
        History.model_validate(answers)
    except ValidationError as exc:
        out = []
        for e in exc.errors():
            question = str(e["loc"][0])
            question = question if question in LABELS else "notes"
            out.append(_problem(question, "please check this answer"))
        return out
    return []


def _page(
    request: Request,
    patient: Any,
    token: str,
    form: FormData | None = None,
    problems: list[Problem] | None = None,
) -> HTMLResponse:
    problems = problems or []
    values = {k: form_text(form, k) for k in form} if form is not None else {}
    ticked = {k: [str(v) for v in form.getlist(k)] for k in _TICKED} if form is not None else {}
    return render(
        request,
        "intake.html",
        422 if problems else 200,
        patient=patient,
        token=token,
        form_csrf=link_csrf(request, token),
        options=_options(),
        steps=STEPS,
        yes_no=YES_NO,
        list_questions=LIST_QUESTIONS,
        values=values,
        ticked=ticked,
        problems=problems,
        errors={q: [p for p in problems if p.question == q] for q in {p.question for p in problems}},
        first_step=problems[0].step if problems else "",
    )


@router.get("/p/intake/{token}", response_class=HTMLResponse)
def intake_page(request: Request, db: DbSession, token: str) -> HTMLResponse:
    _, patient = open_link(request, db, token, "intake")
    return _page(request, patient, token)


@router.post("/p/intake/{token}", response_class=HTMLResponse)
def intake_submit(request: Request, db: DbSession, token: str, posted: RawForm) -> HTMLResponse:
    _, patient, form = link_submission(request, db, token, "intake", posted)
    answers, problems = answers_of(form)
    if problems:
        db.rollback()
        return _page(request, patient, token, form, problems)
    try:
        row = repo.submit_history(db=db, patient_id=patient.id, answers=answers, actor=link_actor(patient))
        db.commit()
    except ClinicError:  # a rule refused what the form let through: never shown as a data path
        db.rollback()
        return _page(
            request,
            patient,
            token,
            form,
            [_problem("notes", "please check your answers and send them again")],
        )
    missing = row.screening["missing"]
    words = [LABELS.get(q, plain("conditions", q)).lower() for q in missing]
    return render(request, "thanks.html", patient=patient, missing=missing, missing_words=words)
