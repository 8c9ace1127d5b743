"""The planner's records: its preview on the patient's own grades, its maps, and its draft.

- :func:`planner_preview`: the model's preview of a plan reviewed against the record (as
  :func:`rhytid.store.repo.plan_preview`), with the grades starting from the patient's **latest
  assessment** when there is one (:func:`rhytid.store._clinical.timeline`), on the model's fast
  engine (:func:`rhytid.store._clinical.preview_engine`: areas graded on their reduced cell sets;
  the review is the exact one's, the saved plan is graded on every cell).
- :func:`planner_maps`: depth maps before and on a day, and the block (:mod:`._maps`).
- :func:`get_draft` / :func:`save_draft` / :func:`discard_draft`: the planner's working copy, one
  per patient and clinician, saved as it is edited (leaving the page or reloading keeps it).
- :func:`last_treatment`: the latest recorded toxin treatment, as a starting plan.

Every function is audited as the rest of the record is (``rhytid.store.repo.audit``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session, selectinload

from rhytid.store import _models as m
from rhytid.store._clinical import age_on, plan_key, preview, warm_preview
from rhytid.store._maps import preview_maps
from rhytid.store._models import utcnow
from rhytid.store._repo import Actor, _patient, audit
from rhytid.store._safety import patient_safety
from rhytid.store._schemas import DraftState, PlanCreate

__all__ = [
    "discard_draft",
    "get_draft",
    "last_treatment",
    "latest_assessment",
    "planner_maps",
    "planner_preview",
    "save_draft",
    "warm_preview",
]


_LATEST_ASSESSMENT = (  # built once: every planner tap reads it
    select(m.Assessment)
    .where(m.Assessment.patient_id == bindparam("patient_id"))
    .order_by(m.Assessment.assessed_on.desc(), m.Assessment.id.desc())
    .limit(1)
)


def latest_assessment(db: Session, patient_id: int) -> dict[str, Any] | None:
    """The patient's latest assessment (by date, then entry) as ``{"assessed_on", "grades"}``."""
    row = db.scalars(_LATEST_ASSESSMENT, {"patient_id": patient_id}).first()
    return {"assessed_on": row.assessed_on, "grades": row.grades} if row is not None else None


def planner_preview(*, db: Session, patient_id: int, data: PlanCreate, actor: Actor) -> dict[str, Any]:
    """The planner's preview of ``data`` for this patient at this time — audited read."""
    patient = _patient(db, patient_id, actor)
    at = utcnow()
    _, result = preview(
        data,
        sex=patient.sex,
        age=age_on(patient.birth_date, at.date()),
        safety=patient_safety(db, patient),
        at=at,
        assessment=latest_assessment(db, patient.id),
        exact=False,  # the fast engine for every tap; the saved plan is reviewed and graded exactly
    )
    audit(db, actor, "read", "plan_preview", None, patient.id)
    return result


def planner_maps(
    *, db: Session, patient_id: int, data: PlanCreate, day: float, actor: Actor
) -> dict[str, Any]:
    """Depth maps (before, on ``day``) and the block on ``day`` of ``data`` — audited read."""
    patient = _patient(db, patient_id, actor)
    age = age_on(patient.birth_date, utcnow().date())
    result = preview_maps(plan_key(data, sex=patient.sex, age=age), float(day))
    audit(db, actor, "read", "plan_maps", None, patient.id, f"day={day:g}")
    return result


def _draft_row(db: Session, patient_id: int, actor: Actor) -> m.PlanDraft | None:
    return db.scalars(
        select(m.PlanDraft).where(m.PlanDraft.patient_id == patient_id, m.PlanDraft.user_id == actor.user_id)
    ).first()


def get_draft(*, db: Session, patient_id: int, actor: Actor) -> dict[str, Any] | None:
    """The actor's draft plan for this patient (``state`` and ``updated_at``), or None — audited."""
    patient = _patient(db, patient_id, actor)
    row = _draft_row(db, patient.id, actor)
    audit(db, actor, "read", "plan_draft", row.id if row else None, patient.id)
    if row is None:
        return None
    return {"state": row.state, "updated_at": row.updated_at}


def save_draft(*, db: Session, patient_id: int, data: DraftState, actor: Actor) -> dict[str, Any]:
    """Keep ``data`` as the actor's draft plan for this patient (one per patient and user)."""
    patient = _patient(db, patient_id, actor)
    row = _draft_row(db, patient.id, actor)
    state = data.model_dump()
    now = utcnow()
    if row is None:
        row = m.PlanDraft(patient_id=patient.id, user_id=actor.user_id, state=state, updated_at=now)
        db.add(row)
        db.flush()
        audit(db, actor, "create", "plan_draft", row.id, patient.id)
    else:
        row.state, row.updated_at = state, now
        audit(db, actor, "update", "plan_draft", row.id, patient.id, f"{len(data.points)} points")
    return {"state": state, "updated_at": now}


def discard_draft(*, db: Session, patient_id: int, actor: Actor) -> bool:
    """Drop the actor's draft for this patient (after the plan is saved); True when there was one."""
    patient = _patient(db, patient_id, actor)
    row = _draft_row(db, patient.id, actor)
    if row is None:
        return False
    audit(db, actor, "delete", "plan_draft", row.id, patient.id)
    db.delete(row)
    return True


def last_treatment(*, db: Session, patient_id: int, actor: Actor) -> dict[str, Any] | None:
    """The latest recorded toxin treatment as a planner state (product, reconstitution, points)."""
    patient = _patient(db, patient_id, actor)
    row = db.scalars(
        select(m.Treatment)
        .options(selectinload(m.Treatment.injections))
        .where(m.Treatment.patient_id == patient.id)
        .order_by(m.Treatment.performed_at.desc(), m.Treatment.id.desc())
        .limit(1)
    ).first()
    audit(db, actor, "read", "treatment", row.id if row else None, patient.id, "as a starting plan")
    if row is None:
        return None
    performed: dt.datetime = row.performed_at
    return {
        "treatment_id": row.id,
        "performed_at": performed,
        "product": row.product,
        "vial_units": row.vial_units or 100.0,
        "diluent_ml": row.diluent_ml or 2.5,
        "points": [
            {"site": i.site, "x_mm": i.x_mm, "y_mm": i.y_mm, "units": i.units, "depth": i.depth}
            for i in row.injections
        ],
    }
