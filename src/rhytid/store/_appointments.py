"""Appointments: booking on the slot table (no double booking), cancelling, listing, follow-ups due."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from rhytid.store import _models as m
from rhytid.store._audit import Actor, audit, audit_shown
from rhytid.store._errors import ConflictError, NotFoundError, StoreError
from rhytid.store._hours import check_bookable
from rhytid.store._patients import clinic_patient
from rhytid.store._schemas import AppointmentCreate
from rhytid.store._treatments import treatment_follow_up

__all__ = ["book_appointment", "cancel_appointment", "due_follow_ups", "list_appointments"]


def book_appointment(*, db: Session, data: AppointmentCreate, actor: Actor) -> m.Appointment:
    """Book an appointment; the slot table's primary key makes a double booking impossible.

    Raises ConflictError (``starts_at``) when any slot of the clinician's book is taken.
    """
    clinic = db.get(m.Clinic, actor.clinic_id)
    assert clinic is not None
    slot = clinic.slot_minutes
    start = data.starts_at.replace(second=0, microsecond=0)
    if data.starts_at != start or start.minute % slot:
        raise StoreError(
            f"starts_at: must fall on a {slot}-minute boundary, got {data.starts_at.isoformat()}"
        )
    if data.minutes % slot:
        raise StoreError(f"minutes: must be a multiple of {slot}, got {data.minutes}")
    clinic_patient(db, data.patient_id, actor)
    clinician = db.get(m.User, data.clinician_id)
    if clinician is None or clinician.clinic_id != actor.clinic_id or clinician.role != "clinician":
        raise NotFoundError(f"clinician_id: no clinician {data.clinician_id}")
    if data.treatment_id is not None:
        t = db.get(m.Treatment, data.treatment_id)
        if t is None or t.patient_id != data.patient_id:
            raise NotFoundError(f"treatment_id: no treatment {data.treatment_id} for this patient")
    check_bookable(db, clinic=clinic, clinician=clinician, start=start, minutes=data.minutes)
    row = m.Appointment(clinic_id=actor.clinic_id, status="booked", **data.model_dump())
    row.starts_at = start
    with db.begin_nested():  # a double booking leaves no appointment behind
        db.add(row)
        db.flush()
        hold_slots(db, row, clinician, start, slot)
    audit(db, actor, "create", "appointment", row.id, data.patient_id, f"{data.kind} {start.isoformat()}")
    return row


def hold_slots(db: Session, row: m.Appointment, clinician: m.User, start: dt.datetime, slot: int) -> None:
    """Give ``row`` the clinician's slots of ``slot`` minutes from ``start`` (replacing any it held);
    the slots' unique key makes a double booking a :class:`ConflictError`, with nothing changed."""
    try:
        with db.begin_nested():
            db.execute(delete(m.AppointmentSlot).where(m.AppointmentSlot.appointment_id == row.id))
            db.flush()
            for k in range(row.minutes // slot):
                db.add(
                    m.AppointmentSlot(
                        clinician_id=clinician.id,
                        slot_start=start + dt.timedelta(minutes=k * slot),
                        appointment_id=row.id,
                    )
                )
            db.flush()
    except IntegrityError:
        raise ConflictError(
            f"starts_at: {clinician.name} is already booked at {start.isoformat(' ', 'minutes')}"
        ) from None


def cancel_appointment(*, db: Session, appointment_id: int, actor: Actor) -> m.Appointment:
    row = db.get(m.Appointment, appointment_id)
    if row is None or row.clinic_id != actor.clinic_id:
        raise NotFoundError(f"appointment_id: no appointment {appointment_id}")
    if row.status != "booked":
        raise ConflictError(f"status: the appointment is {row.status}, not booked")
    row.status = "cancelled"
    db.execute(delete(m.AppointmentSlot).where(m.AppointmentSlot.appointment_id == row.id))
    audit(db, actor, "update", "appointment", row.id, row.patient_id, "cancelled")
    return row


def list_appointments(
    *,
    db: Session,
    actor: Actor,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
    patient_id: int | None = None,
    include_cancelled: bool = False,
) -> list[m.Appointment]:
    q = select(m.Appointment).where(m.Appointment.clinic_id == actor.clinic_id)
    if not include_cancelled:
        q = q.where(m.Appointment.status != "cancelled")
    if start is not None:
        q = q.where(m.Appointment.starts_at >= start)
    if end is not None:
        q = q.where(m.Appointment.starts_at < end)
    if patient_id is not None:
        clinic_patient(db, patient_id, actor)
        q = q.where(m.Appointment.patient_id == patient_id)
    rows = list(db.scalars(q.order_by(m.Appointment.starts_at)))
    audit(db, actor, "read", "appointment", None, patient_id, f"{len(rows)} appointments")
    if patient_id is None:
        audit_shown(db, actor, "appointment", [r.patient_id for r in rows])
    return rows


def due_follow_ups(
    *, db: Session, actor: Actor, today: dt.date, horizon_days: int = 7
) -> list[dict[str, Any]]:
    """Reviews and recalls due up to ``horizon_days`` ahead that have no appointment booked."""
    out: list[dict[str, Any]] = []
    rows = db.execute(
        select(m.Treatment, m.Patient)
        .join(m.Patient, m.Patient.id == m.Treatment.patient_id)
        .where(m.Patient.clinic_id == actor.clinic_id)
    ).all()
    until = today + dt.timedelta(days=horizon_days)
    for treatment, patient in rows:
        plan = treatment_follow_up(treatment)
        for kind, due in (("review", plan.review_date), ("recall", plan.recall_date)):
            if due > until:
                continue
            booked = db.scalar(
                select(m.Appointment.id).where(
                    m.Appointment.patient_id == patient.id,
                    m.Appointment.kind == kind,
                    m.Appointment.status != "cancelled",
                    m.Appointment.starts_at >= treatment.performed_at,
                )
            )
            if booked is None and (kind == "recall" or due >= today - dt.timedelta(days=14)):
                out.append({"kind": kind, "due": due, "patient": patient, "treatment_id": treatment.id})
    out.sort(key=lambda d: d["due"])
    audit_shown(db, actor, "follow_up", [d["patient"].id for d in out])
    return out
