"""Glue between stored records and the model and clinical rules (which it calls, never restates)."""

from __future__ import annotations

import datetime as dt
import json
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
    injection_messages,
    parse_history,
    plan_findings,
    plan_view,
    screen,
    zone_risks,
)
from rhytid.store._safety import PatientSafety
from rhytid.store._schemas import PlanCreate

__all__ = [
    "age_on",
    "anatomy",
    "build_plan",
    "outcome_of",
    "plan_key",
    "plan_risks",
    "preview",
    "preview_engine",
    "rebuild_screening",
    "screen_answers",
    "timeline",
    "warm_preview",
]

#: The planner's timeline (the day slider): CONTRACTS.md's default visits; day 0 = before treatment.
PREVIEW_DAYS = (0.0, 2.0, 7.0, 14.0, 30.0, 60.0, 90.0, 120.0, 150.0, 180.0)
_FIELD_STEP_MM = 2.0
_MAX_GRADE = 3
#: What a preview on the exact engine says of itself (:func:`preview_engine`: the fast one).
EXACT_ENGINE = {"engine": "exact", "text": "Exact model: every cell of each area graded."}


def age_on(birth_date: dt.date, day: dt.date) -> int:
    return day.year - birth_date.year - ((day.month, day.day) < (birth_date.month, birth_date.day))


def _plan_dict(data: PlanCreate, sex: str, age: float, days: tuple[float, ...]) -> dict[str, Any]:
    return {
        "patient": {"sex": sex, "age": min(max(age, 18), 90)},
        "product": {"name": data.product, "vial_units": data.vial_units, "diluent_ml": data.diluent_ml},
        "injection": [i.model_dump(exclude_none=True) for i in data.injections],
        "simulation": {"days": list(days)},
    }


def build_plan(
    data: PlanCreate, *, sex: str, age: float, days: tuple[float, ...] = PREVIEW_DAYS
) -> rhytid.Plan:
    """A validated :class:`rhytid.Plan` (PlanError names the injection and field)."""
    return rhytid.Plan.from_dict(_plan_dict(data, sex, age, days))


def plan_key(data: PlanCreate, *, sex: str, age: float) -> str:
    """The model's inputs of a preview as canonical JSON: the key of its cached outcome and maps."""
    return json.dumps(_plan_dict(data, sex, age, PREVIEW_DAYS), sort_keys=True, separators=(",", ":"))


@lru_cache(maxsize=512)
def _outcome(key: str, exact: bool = True) -> dict[str, Any]:
    """``rhytid.simulate(plan, exact=exact).to_dict()`` of a plan key, cached per plan and engine
    (undo, redo, repeats)."""
    return rhytid.simulate(rhytid.Plan.from_dict(json.loads(key)), exact=exact).to_dict()


def outcome_of(
    data: PlanCreate, *, sex: str, age: float, exact: bool = True, plan: rhytid.Plan | None = None
) -> dict[str, Any]:
    """The model's outcome of a plan on this patient (cached; the dict must not be changed).

    ``exact=False``: the fast engine (each area graded on its reduced cell set,
    :func:`preview_engine`); the risks, blocks, brow and lid are the same as the exact engine's.
    ``plan``: the plan already built from ``data`` (else it is built here, so that a PlanError
    names the field before the cache is consulted)."""
    if plan is None:
        build_plan(data, sex=sex, age=age)
    return _outcome(plan_key(data, sex=sex, age=age), exact)


def warm_preview() -> None:
    """Load (or, on a fresh install, build and compile) what a planner's first preview and first
    saved plan need, for both faces: the basis, the reduced cell sets and the numba kernels —
    about 3 s from the disk caches, a minute without them — so that the first tap of the day does
    not wait for it. The one-point plan it runs stays in the outcome cache."""
    plan = PlanCreate(product="onabotulinumtoxinA", injections=[{"site": "procerus", "units": 4}])
    for sex in ("female", "male"):
        preview_engine(sex)
        for exact in (False, True):
            outcome_of(plan, sex=sex, age=45.0, exact=exact)


@lru_cache(maxsize=2)
def preview_engine(sex: str) -> dict[str, Any]:
    """What the planner's fast preview is: each area graded on its reduced cell set
    (:mod:`rhytid._reduced`) with the error that set was measured to have against every cell
    (99th-percentile depth error, µm; share of states graded differently). A saved plan is
    graded on every cell (the exact engine)."""
    from rhytid import default_parameters
    from rhytid._reduced import reduced_area
    from rhytid.model import face_engine

    params = default_parameters()
    engine = face_engine(reference_face(sex).key, None, params.tissue)
    areas = {}
    for area in engine.areas:
        reduced = reduced_area(engine, area, params.trial.area_cells_max, params.tissue)
        areas[area.name] = {
            "cells": reduced.area.n,
            "of_cells": reduced.full_cells,
            "p99_error_um": round(reduced.error.p99_um, 1),
            "grade_disagreement": round(reduced.error.grade_disagreement, 4),
        }
    worst = max(a["grade_disagreement"] for a in areas.values())
    return {
        "engine": "fast",
        "areas": areas,
        "text": (
            "Fast preview model: each area graded on representative cells (a grade differs from "
            f"the exact model's in at most {worst:.1%} of tested states); the saved plan is "
            "graded on every cell."
        ),
    }


def _patient_grade(assessed: int, model_now: int, model_then: int) -> int:
    """The patient's assessed grade moved by the model's change: ``clip(a + (g_d − g_0), 0, 3)``."""
    return int(min(max(assessed + model_then - model_now, 0), _MAX_GRADE))


def timeline(outcome: dict[str, Any], assessed: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Each visit of the outcome with the grades the planner shows.

    Without an assessment the grades are the model's for the reference face of the patient's sex
    and age. With one (``{area: {"rest": g, "max": g}}``, the patient's latest), each assessed area
    starts from the patient's own grade and moves as the model's grade moves (the model's change
    from day 0, added to the assessed grade, kept within 0..3): the model predicts the change, the
    clinician's assessment says where this face starts. Areas the assessment does not grade keep
    the model's grades (``source`` says which).
    """
    first = outcome["timeline"][0]["areas"]
    out = []
    for visit in outcome["timeline"]:
        areas = {}
        for name, state in visit["areas"].items():
            own = (assessed or {}).get(name)
            entry: dict[str, Any] = {"source": "assessment" if own else "model"}
            for key in ("rest", "max"):
                model_grade = int(state[key]["grade"])
                entry[f"model_{key}"] = model_grade
                entry[f"{key}_depth_um"] = state[key]["depth_um"]
                entry[key] = (
                    _patient_grade(int(own[key]), int(first[name][key]["grade"]), model_grade)
                    if own and key in own
                    else model_grade
                )
            areas[name] = entry
        out.append(
            {
                "day": visit["day"],
                "areas": areas,
                "muscles": {k: v["block"] for k, v in visit["muscles"].items()},
                "brow_height_change_mm": visit["brow_height_change_mm"],
                "eyelid_droop_mm": visit["eyelid_droop_mm"],
            }
        )
    return out


def preview(
    data: PlanCreate,
    *,
    sex: str,
    age: float,
    safety: PatientSafety,
    at: dt.datetime,
    acknowledgements: tuple[ReviewAcknowledgement, ...] = (),
    assessment: dict[str, Any] | None = None,
    exact: bool = True,
) -> tuple[Review, dict[str, Any]]:
    """The review of a plan and the planner's preview.

    ``timeline``: per day of :data:`PREVIEW_DAYS`, grades (from the patient's ``assessment`` when
    there is one, :func:`timeline`), blocks, brow and lid changes; ``messages``: one per injection
    that has a finding (:func:`rhytid.clinic.injection_messages`, worst level wins), and
    ``plan_findings`` for the whole plan, of which the model's risks are also in ``plan_risks``
    with the points that cause them and the muscle they concern (:func:`plan_risks`); ``check``
    is :func:`rhytid.clinic.review_plan` of the plan against the patient's record (``safety``) at
    ``at``, with the model's (cached) outcome.
    ``assessment``: ``{"assessed_on": date, "grades": {...}}`` of the latest assessment, or None.
    ``exact=False``: the planner's fast engine (:func:`preview_engine`, said in ``engine``); the
    review is the same (the model's risks do not depend on the engine), the grades approximate.
    """
    plan = build_plan(data, sex=sex, age=age)
    outcome = outcome_of(data, sex=sex, age=age, exact=exact, plan=plan)
    face = reference_face(sex)
    checked = safety.review(plan_view(plan), face, at=at, outcome=outcome, acknowledgements=acknowledgements)
    visits = {float(v["day"]): v for v in outcome["timeline"]}
    grades = assessment["grades"] if assessment else None
    return checked, {
        "model_version": outcome["model_version"],
        "engine": preview_engine(sex) if not exact else EXACT_ENGINE,
        "plan": outcome["plan"],
        "days": [v["day"] for v in outcome["timeline"]],
        "baseline": {
            "source": "assessment" if assessment else "model",
            "assessed_on": str(assessment["assessed_on"]) if assessment else None,
        },
        "timeline": timeline(outcome, grades),
        "day30": visits[30.0],
        "risks": outcome["risks"],
        "warnings": outcome["warnings"],
        "check": checked.to_dict(),
        "messages": [m.to_dict() for m in injection_messages(checked.findings)],
        "plan_findings": [f.to_dict() for f in plan_findings(checked.findings)],
        "plan_risks": plan_risks(plan, sex, outcome, checked, key=plan_key(data, sex=sex, age=age)),
    }


#: A point "causes" a whole-plan risk of a muscle when it gives at least this share of the toxin
#: bound in that muscle (the rest of the plan gives the remainder).
CAUSE_SHARE = 0.1
#: Two points mirror each other when their positions, reflected across the midline, lie within
#: this distance (mm) and their units differ by at most :data:`MIRROR_UNITS` of the larger.
MIRROR_MM = 2.0
MIRROR_UNITS = 0.1
#: The muscle of a whole-plan risk that names a side but no muscle.
_RISK_MUSCLE = {"brow_ptosis": "frontalis_{side}"}


def _muscle_shares(plan: rhytid.Plan, sex: str) -> tuple[list[str], np.ndarray]:
    """Each injection's share of the toxin bound in each muscle ``(n_inj, n_muscles)``: its bound
    uptake at the model's quadrature points, gathered per muscle as the model gathers block
    (:func:`rhytid.model.block_state`)."""
    from rhytid import default_parameters
    from rhytid.model import face_engine, uptake_at_points

    params = default_parameters()
    face = reference_face(sex)
    engine = face_engine(face.key, None, params.tissue)
    product = params.product(plan.product.name)
    b = engine.basis
    q = uptake_at_points(
        face, plan.resolve(face, product), product, b.quad_xy, b.quad_depth_mm, b.quad_behind_septum, params
    )
    per_muscle = np.asarray((engine.quad_weights_t @ q.T).T) @ engine.aggregate
    total = per_muscle.sum(axis=0, keepdims=True)
    return list(engine.muscles), np.divide(per_muscle, total, out=np.zeros_like(per_muscle), where=total > 0)


@lru_cache(maxsize=512)
def _cached_shares(key: str, sex: str) -> tuple[list[str], np.ndarray]:
    """:func:`_muscle_shares` of a plan key (:func:`plan_key`), cached per plan as its outcome is
    (undo, redo, repeats: the shares were the model work left in a cached plan's preview). The
    array is read-only."""
    muscles, shares = _muscle_shares(rhytid.Plan.from_dict(json.loads(key)), sex)
    shares.setflags(write=False)
    return muscles, shares


def _mirrors(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return bool(
        np.hypot(a["x_mm"] + b["x_mm"], a["y_mm"] - b["y_mm"]) <= MIRROR_MM
        and a["depth"] == b["depth"]
        and abs(a["units"] - b["units"]) <= MIRROR_UNITS * max(a["units"], b["units"])
    )


def _unmatched(injections: list[dict[str, Any]]) -> list[int]:
    """The points (1-based) that no point on the other side mirrors (a point on the midline
    mirrors itself): what makes a plan on a symmetric reference face asymmetric."""
    free = set(range(len(injections)))
    out = []
    for i, a in enumerate(injections):
        if i not in free or abs(a["x_mm"]) <= MIRROR_MM:
            continue  # already some point's mirror, or on the midline
        free.discard(i)
        mate = next((j for j in sorted(free) if _mirrors(a, injections[j])), None)
        if mate is None:
            out.append(i + 1)
        else:
            free.discard(mate)
    return out


def plan_risks(
    plan: rhytid.Plan, sex: str, outcome: dict[str, Any], review: Review, *, key: str | None = None
) -> list[dict[str, Any]]:
    """The model's risks that belong to no single injection, each with what the chart shows of it.

    ``points``: the points that cause it (1-based) — for a muscle the plan does not target (or the
    frontalis of a dropping brow), those that give at least :data:`CAUSE_SHARE` of the toxin bound
    in it; for an asymmetry, the points no point on the other side mirrors. ``muscle``: the muscle
    to outline (None for an asymmetry). ``severity`` and ``text`` are the review's finding of it.
    ``key``: the plan's :func:`plan_key`, when there is one: the shares are then cached per plan.
    """
    found = [f for f in plan_findings(review.findings) if f.code.startswith("model_")]
    risks = [r for r in outcome["risks"] if r.get("injection") is None]
    if not risks:
        return []
    muscles, shares = _muscle_shares(plan, sex) if key is None else _cached_shares(key, sex)
    out = []
    for r in risks:
        kind, side = str(r["kind"]), r.get("side")
        finding = next(
            (f for f in found if f.code == f"model_{kind}" and f.reason.endswith(str(r["detail"]))), None
        )
        if finding is None:
            continue
        muscle = None
        if kind == "unintended_muscle":
            muscle = next((m for m in muscles if str(r["detail"]).startswith(f"{m} ")), None)
        elif kind in _RISK_MUSCLE and side:
            muscle = _RISK_MUSCLE[kind].format(side=side)
        if kind == "asymmetry":
            points = _unmatched(outcome["plan"]["injections"])
        elif muscle in muscles:
            column = shares[:, muscles.index(muscle)]
            points = [int(i) + 1 for i in np.argsort(-column, kind="stable") if column[i] >= CAUSE_SHARE]
        else:
            points = []
        out.append(
            {
                "kind": kind,
                "side": side,
                "level": r["level"],
                "severity": finding.severity,
                "code": finding.code,
                "text": finding.reason,
                "muscle": muscle,
                "points": points,
            }
        )
    return out


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
