"""Treatment plans: the model's preview reviewed on the record, drafts and ready plans."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from rhytid.clinic import Review, ReviewAcknowledgement
from rhytid.store import _models as m
from rhytid.store._audit import Actor, audit
from rhytid.store._clinical import age_on, preview
from rhytid.store._errors import NotFoundError, StoreError
from rhytid.store._models import utcnow
from rhytid.store._patients import clinic_patient, patient_rows
from rhytid.store._safety import patient_safety
from rhytid.store._schemas import PlanCreate

__all__ = [
    "create_plan",
    "list_plans",
    "mark_plan_ready",
    "plan_preview",
    "review_on_record",
    "review_stored_plan",
    "stored_plan",
]


def plan_preview(*, db: Session, patient_id: int, data: PlanCreate, actor: Actor) -> dict[str, Any]:
    """The model's preview of a plan for this patient, reviewed against the record — audited read."""
    patient = clinic_patient(db, patient_id, actor)
    _, result = review_on_record(db, patient, data)
    audit(db, actor, "read", "plan_preview", None, patient.id)
    return result


def review_on_record(
    db: Session,
    patient: m.Patient,
    data: PlanCreate,
    at: dt.datetime | None = None,
    acknowledgements: tuple[ReviewAcknowledgement, ...] = (),
) -> tuple[Review, dict[str, Any]]:
    """:func:`rhytid.clinic.review_plan` of ``data`` on the patient's record at ``at`` (default now)."""
    at = at or utcnow()
    return preview(
        data,
        sex=patient.sex,
        age=age_on(patient.birth_date, at.date()),
        safety=patient_safety(db, patient),
        at=at,
        acknowledgements=acknowledgements,
    )


def create_plan(*, db: Session, patient_id: int, data: PlanCreate, actor: Actor) -> m.Plan:
    """Save a plan as ``ready`` (refused while a finding blocks: StoreError ``status``) or ``draft``."""
    patient = clinic_patient(db, patient_id, actor)
    review, result = review_on_record(db, patient, data)
    if data.status == "ready" and review.blocking:
        raise StoreError(f"status: this plan {review.summary()}. Change it, or save it as a draft")
    row = m.Plan(
        patient_id=patient_id,
        product=data.product,
        vial_units=data.vial_units,
        diluent_ml=data.diluent_ml,
        injections=result["plan"]["injections"],
        total_units=float(result["plan"]["total_units"]),
        status=data.status,
        preview={k: v for k, v in result.items() if k not in ("field", "check")},
        check=result["check"],
        created_by=actor.user_id,
    )
    db.add(row)
    db.flush()
    audit(db, actor, "create", "plan", row.id, patient_id, data.status)
    return row


def review_stored_plan(
    *, db: Session, patient_id: int, plan_id: int, actor: Actor, vial_id: int | None = None
) -> tuple[m.Plan, Review]:
    """A saved plan and its review on today's record, at the dilution of vial ``vial_id`` if given."""
    patient = clinic_patient(db, patient_id, actor)
    plan = db.get(m.Plan, plan_id)
    if plan is None or plan.patient_id != patient.id:
        raise NotFoundError(f"plan_id: no plan {plan_id} for this patient")
    vial = db.get(m.Vial, vial_id) if vial_id is not None else None
    if vial is not None and (vial.clinic_id != actor.clinic_id or vial.product != plan.product):
        vial = None
    review, _ = review_on_record(db, patient, stored_plan(plan, vial))
    return plan, review


def mark_plan_ready(*, db: Session, patient_id: int, plan_id: int, actor: Actor) -> m.Plan:
    """Review a draft plan again on today's record and make it ``ready`` (StoreError while it blocks)."""
    patient = clinic_patient(db, patient_id, actor)
    plan = db.get(m.Plan, plan_id, with_for_update=True)
    if plan is None or plan.patient_id != patient.id:
        raise NotFoundError(f"plan_id: no plan {plan_id} for this patient")
    review, result = review_on_record(db, patient, stored_plan(plan))
    plan.check = result["check"]
    if review.blocking:
        raise StoreError(f"status: this plan {review.summary()}. Change it in the planner")
    plan.status = "ready"
    audit(db, actor, "update", "plan", plan.id, patient.id, "ready")
    return plan


def stored_plan(plan: m.Plan, vial: m.Vial | None = None) -> PlanCreate:
    """A stored plan as planner input, at the reconstitution of ``vial`` when given."""
    return PlanCreate(
        product=plan.product,
        vial_units=vial.vial_units if vial else plan.vial_units,
        diluent_ml=vial.diluent_ml if vial else plan.diluent_ml,
        injections=[
            ({"site": i["site"]} if i.get("site") else {"x_mm": i["x_mm"], "y_mm": i["y_mm"]})
            | {"units": i["units"], "depth": i["depth"]}
            for i in plan.injections
        ],
        status="draft",
    )


def list_plans(*, db: Session, patient_id: int, actor: Actor) -> list[m.Plan]:
    return patient_rows(
        db=db,
        patient_id=patient_id,
        actor=actor,
        entity="plan",
        query=select(m.Plan).order_by(m.Plan.id.desc()),
        patient_column=m.Plan.patient_id,
    )
