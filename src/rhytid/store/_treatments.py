"""Treatments recorded from a ready plan and a usable vial, reviewed again when recorded."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from rhytid.anatomy import reference_face
from rhytid.clinic import FollowUp, PlannedInjection, ReviewAcknowledgement, follow_up, injection_area
from rhytid.errors import ClinicError
from rhytid.store import _models as m
from rhytid.store._audit import Actor, audit
from rhytid.store._consent import require_consent
from rhytid.store._errors import NotFoundError, PermissionDenied, StoreError
from rhytid.store._models import utcnow
from rhytid.store._patients import clinic_patient, patient_rows
from rhytid.store._plans import review_on_record, stored_plan
from rhytid.store._safety import DilutionNotConfirmed, ReviewRefused, dilution_change
from rhytid.store._schemas import TreatmentCreate
from rhytid.store._vials import vial_problem

__all__ = ["create_treatment", "get_treatment", "list_treatments", "treatment_follow_up"]


def _treated_areas(injections: list[dict[str, Any]], sex: str) -> list[str]:
    face = reference_face(sex)
    areas: set[str] = set()
    for i in injections:
        inj = PlannedInjection(
            x_mm=i["x_mm"],
            y_mm=i["y_mm"],
            units=i["units"],
            volume_ml=i["volume_ml"],
            depth=i["depth"],
            site=i.get("site"),
        )
        area = injection_area(face, inj)
        if area:
            areas.add("lateral_canthal" if area.startswith("lateral_canthal") else area)
    return sorted(areas)


def create_treatment(*, db: Session, patient_id: int, data: TreatmentCreate, actor: Actor) -> m.Treatment:
    """Record a treatment from a ready plan with a vial from the inventory.

    The vial fixes the dilution: the volumes are recomputed from its reconstitution, and when its
    units per mL differ from the plan's the change must be confirmed (``confirm_units_per_ml``;
    :class:`DilutionNotConfirmed` otherwise). The plan is then reviewed again at the vial's
    dilution on today's record (:func:`rhytid.clinic.review_plan`): refused with
    :class:`ReviewRefused` (nothing stored) while a finding blocks (no or incomplete history,
    contraindication, retreatment too soon, cumulative dose, danger zone, …) or one that needs an
    acknowledgement has none (a precaution on the screening page; an alert or adverse event with
    a reason in ``acknowledgements``). Also refused: an actor who is not a clinician, a draft
    plan, and a vial that is expired, too old since reconstitution, of another product or short.
    """
    if actor.role != "clinician":
        raise PermissionDenied("role: only a clinician may record a treatment")
    patient = clinic_patient(db, patient_id, actor)
    plan = db.get(m.Plan, data.plan_id)
    if plan is None or plan.patient_id != patient.id:
        raise NotFoundError(f"plan_id: no plan {data.plan_id} for this patient")
    if plan.status != "ready":
        raise StoreError(
            f"plan_id: plan {plan.id} is a draft (it had blocking findings when it was saved); "
            "review it again and mark it ready, or make a new plan"
        )
    at = (  # naive UTC; an offset is converted, never dropped
        data.performed_at.astimezone(dt.UTC).replace(tzinfo=None)
        if data.performed_at and data.performed_at.tzinfo
        else data.performed_at or utcnow()
    )
    require_consent(db, patient, "toxin_treatment", at)
    vial = db.get(m.Vial, data.vial_id, with_for_update=True)
    if vial is None or vial.clinic_id != actor.clinic_id:
        raise NotFoundError(f"vial_id: no vial {data.vial_id}")
    problem = vial_problem(vial, plan.product, at, plan.total_units)
    if problem:
        raise StoreError(f"vial_id: {problem}")
    change = dilution_change(plan, vial)
    if change is not None and (
        data.confirm_units_per_ml is None
        or abs(data.confirm_units_per_ml - change.vial_units_per_ml) > 1e-6 * change.vial_units_per_ml
    ):
        raise DilutionNotConfirmed(change)
    acks = tuple(
        ReviewAcknowledgement(ref=a.ref, clinician=actor.label, reason=a.reason, at=at)
        for a in data.acknowledgements
    )
    try:
        review, result = review_on_record(db, patient, stored_plan(plan, vial), at, acks)
    except ClinicError as exc:
        raise StoreError(str(exc)) from None
    if not review.cleared:
        raise ReviewRefused(review)
    vial.units_left = round(vial.units_left - plan.total_units, 3)
    row = m.Treatment(
        patient_id=patient.id,
        plan_id=plan.id,
        vial_id=vial.id,
        clinician_id=actor.user_id,
        performed_at=at,
        product=plan.product,
        lot=vial.lot,
        expiry=vial.expiry,
        total_units=plan.total_units,
        vial_units=vial.vial_units,
        diluent_ml=vial.diluent_ml,
        areas=_treated_areas(plan.injections, patient.sex),
        notes=data.notes,
        acknowledgements=[
            {"ref": a.ref, "clinician": a.clinician, "reason": a.reason, "at": a.at.isoformat()} for a in acks
        ],
    )
    db.add(row)
    db.flush()
    for i, drawn in zip(plan.injections, result["plan"]["injections"], strict=True):
        db.add(
            m.TreatmentInjection(
                treatment_id=row.id,
                site=i.get("site"),
                x_mm=i["x_mm"],
                y_mm=i["y_mm"],
                units=i["units"],
                volume_ml=float(drawn["volume_ml"]),
                depth=i["depth"],
            )
        )
    db.flush()
    acknowledged = f"; acknowledged {', '.join(a.ref for a in acks)}" if acks else ""
    audit(
        db,
        actor,
        "create",
        "treatment",
        row.id,
        patient.id,
        f"{plan.total_units:g} U {plan.product} lot {vial.lot} "
        f"at {vial.vial_units:g} U/{vial.diluent_ml:g} mL{acknowledged}",
    )
    return row


def list_treatments(*, db: Session, patient_id: int, actor: Actor) -> list[m.Treatment]:
    return patient_rows(
        db=db,
        patient_id=patient_id,
        actor=actor,
        entity="treatment",
        query=select(m.Treatment)
        .options(selectinload(m.Treatment.injections))
        .order_by(m.Treatment.performed_at.desc()),
        patient_column=m.Treatment.patient_id,
    )


def treatment_follow_up(treatment: m.Treatment) -> FollowUp:
    return follow_up(treatment.performed_at.date(), treatment.product, treatment.total_units)


def get_treatment(*, db: Session, patient_id: int, treatment_id: int, actor: Actor) -> m.Treatment:
    """One treatment of the patient (an audited read); NotFoundError when it is not theirs."""
    patient = clinic_patient(db, patient_id, actor)
    row = db.get(m.Treatment, treatment_id)
    if row is None or row.patient_id != patient.id:
        raise NotFoundError(f"treatment_id: no treatment {treatment_id} for this patient")
    audit(db, actor, "read", "treatment", row.id, patient.id)
    return row
