"""Glue between stored records and the model and clinical rules (which it calls, never restates)."""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from typing import Any

import numpy as np

import rhytid
from rhytid.anatomy import reference_face
from rhytid.clinic import (
    Review,
    ReviewAcknowledgement,
    Screening,
    acknowledge,
    parse_history,
    plan_view,
    screen,
    zone_risks,
)
from rhytid.model import field_of_effect
from rhytid.store._safety import PatientSafety
from rhytid.store._schemas import PlanCreate

__all__ = [
    "age_on",
    "anatomy",
    "build_plan",
    "preview",
    "rebuild_screening",
    "screen_answers",
]

PREVIEW_DAYS = (0.0, 30.0)
_FIELD_STEP_MM = 2.0


def age_on(birth_date: dt.date, day: dt.date) -> int:
    return day.year - birth_date.year - ((day.month, day.day) < (birth_date.month, birth_date.day))


def build_plan(
    data: PlanCreate, *, sex: str, age: float, days: tuple[float, ...] = PREVIEW_DAYS
) -> rhytid.Plan:
    """A validated :class:`rhytid.Plan` (PlanError names the injection and field)."""
    injections = [i.model_dump(exclude_none=True) for i in data.injections]
    return rhytid.Plan.from_dict(
        {
            "patient": {"sex": sex, "age": min(max(age, 18), 90)},
            "product": {"name": data.product, "vial_units": data.vial_units, "diluent_ml": data.diluent_ml},
            "injection": injections,
            "simulation": {"days": list(days)},
        }
    )


def _field(plan: rhytid.Plan) -> dict[str, Any]:
    """Field of effect: the model's block of the nerve endings at day 30 on a coarse grid, 0..1
    (:func:`rhytid.model.field_of_effect`: the block the Outcome reports)."""
    face = reference_face((plan.patient or rhytid.Patient()).sex)
    (x0, y0), (x1, y1) = face.window
    xs = np.arange(x0, x1 + 1e-9, _FIELD_STEP_MM)
    ys = np.arange(y0, y1 + 1e-9, _FIELD_STEP_MM)
    gx, gy = np.meshgrid(xs, ys)
    block = field_of_effect(plan, np.column_stack([gx.ravel(), gy.ravel()]), PREVIEW_DAYS[1]).reshape(
        gx.shape
    )
    cells = [
        [round(float(xs[i]), 1), round(float(ys[j]), 1), round(float(block[j, i]), 2)]
        for j, i in zip(*np.nonzero(block >= 0.05), strict=True)
    ]
    return {"step_mm": _FIELD_STEP_MM, "quantity": "block", "day": PREVIEW_DAYS[1], "cells": cells}


def preview(
    data: PlanCreate,
    *,
    sex: str,
    age: float,
    safety: PatientSafety,
    at: dt.datetime,
    acknowledgements: tuple[ReviewAcknowledgement, ...] = (),
) -> tuple[Review, dict[str, Any]]:
    """The review of a plan and the planner's preview (day-30 grades, blocks, risks, review, field).

    ``check`` is :func:`rhytid.clinic.review_plan` of the plan against the patient's record
    (``safety``) at ``at``, with the model's outcome.
    """
    plan = build_plan(data, sex=sex, age=age)
    outcome = rhytid.simulate(plan).to_dict()
    face = reference_face(sex)
    checked = safety.review(plan_view(plan), face, at=at, outcome=outcome, acknowledgements=acknowledgements)
    visits = {float(v["day"]): v for v in outcome["timeline"]}
    return checked, {
        "model_version": outcome["model_version"],
        "plan": outcome["plan"],
        "baseline": visits[0.0]["areas"],
        "day30": visits[30.0],
        "risks": outcome["risks"],
        "warnings": outcome["warnings"],
        "check": checked.to_dict(),
        "field": _field(plan),
    }


def screen_answers(answers: dict[str, Any], *, today: dt.date | None = None) -> Screening:
    """Validate answers (ScreeningError names the field) and screen them."""
    return screen(parse_history(answers), today=today)


def rebuild_screening(
    answers: dict[str, Any], acknowledgements: list[Any], *, planned: dt.date, product: str | None = None
) -> Screening:
    """The screening of stored answers for a product and date, with the stored acknowledgements."""
    history = parse_history(answers)
    result = screen(history, product=product, planned_date=planned, today=max(planned, dt.date.today()))
    for ack in acknowledgements:
        codes = [c for c in ack["codes"] if c in result.precautions]
        if codes:
            result = acknowledge(
                result, clinician=ack["clinician"], at=dt.datetime.fromisoformat(ack["at"]), codes=codes
            )
    return result


@lru_cache(maxsize=2)
def anatomy(sex: str) -> dict[str, Any]:
    """The reference face for the planner, with the danger zones as 2-mm cells of high/moderate risk."""
    face = reference_face(sex)
    data = face.to_dict()
    (x0, y0), (x1, y1) = face.window
    cells: list[list[float | str]] = []
    step = 2.0
    for x in np.arange(x0, x1 + 1e-9, step):
        for y in np.arange(y0, y1 + 1e-9, step):
            risks = zone_risks(face, float(x), float(y), None)
            levels = {r.level for r in risks}
            level = "high" if "high" in levels else "moderate" if "moderate" in levels else None
            if level:
                cells.append([round(float(x), 1), round(float(y), 1), level])
    data["danger_cells"] = {"step_mm": step, "cells": cells}
    data["window"] = [list(face.window[0]), list(face.window[1])]
    return data
