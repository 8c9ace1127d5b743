"""The appointment book beyond booking: statuses, rescheduling, working hours, duplicate patients.

Statuses move only forward along ``booked → arrived → done``; ``booked`` may also become
``no_show`` or ``cancelled`` (with a reason, which frees its slots). Rescheduling moves a booked
appointment to a new start (and clinician) under the same rules as booking (slot boundaries, not
in the past, within working hours, no double booking), atomically: if the new time is taken the
appointment stays where it was. Every change is audited in its transaction.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session

from rhytid.store import _models as m
from rhytid.store._appointments import hold_slots
from rhytid.store._audit import Actor, audit
from rhytid.store._errors import ConflictError, NotFoundError, StoreError
from rhytid.store._hours import WEEKDAYS, check_bookable, minutes_text
from rhytid.store._models import utcnow
from rhytid.store._schemas import PatientCreate
from rhytid.store._search import phone_digits

__all__ = [
    "STATUS_LABELS",
    "TRANSITIONS",
    "clinicians",
    "possible_duplicates",
    "reschedule",
    "set_status",
    "set_working_hours",
    "week_appointments",
]

TRANSITIONS: Mapping[str, tuple[str, ...]] = {
    "booked": ("arrived", "no_show", "cancelled"),
    "arrived": ("done",),
    "done": (),
    "no_show": (),
    "cancelled": (),
}
STATUS_LABELS: Mapping[str, str] = {
    "booked": "booked",
    "arrived": "arrived",
    "done": "done",
    "no_show": "no-show",
    "cancelled": "cancelled",
}


def _appointment(db: Session, appointment_id: int, actor: Actor) -> m.Appointment:
    row = db.get(m.Appointment, appointment_id, with_for_update=True)
    if row is None or row.clinic_id != actor.clinic_id:
        raise NotFoundError(f"appointment_id: no appointment {appointment_id}")
    return row


def _clinician(db: Session, clinician_id: int, actor: Actor) -> m.User:
    user = db.get(m.User, clinician_id)
    if user is None or user.clinic_id != actor.clinic_id or user.role != "clinician":
        raise NotFoundError(f"clinician_id: no clinician {clinician_id}")
    return user


def clinicians(*, db: Session, actor: Actor) -> list[m.User]:
    """The clinic's active clinicians, by name."""
    return list(
        db.scalars(
            select(m.User)
            .where(m.User.clinic_id == actor.clinic_id, m.User.role == "clinician", m.User.active.is_(True))
            .order_by(m.User.name)
        )
    )


def set_status(
    *, db: Session, appointment_id: int, status: str, actor: Actor, reason: str | None = None
) -> m.Appointment:
    """Move an appointment to ``status`` (TRANSITIONS); a cancellation needs a ``reason``."""
    row = _appointment(db, appointment_id, actor)
    if status not in TRANSITIONS:
        raise StoreError(f"status: {status!r} is not a status; allowed: {', '.join(TRANSITIONS)}")
    if status not in TRANSITIONS[row.status]:
        allowed = ", ".join(STATUS_LABELS[s] for s in TRANSITIONS[row.status]) or "nothing (it is final)"
        raise ConflictError(
            f"status: the appointment is {STATUS_LABELS[row.status]}; it can become {allowed}"
        )
    reason = (reason or "").strip()
    if status == "cancelled":
        if not reason:
            raise StoreError("reason: say why the appointment is cancelled (e.g. 'patient called, unwell')")
        if len(reason) > 500:
            raise StoreError(f"reason: at most 500 characters, got {len(reason)}")
        row.cancel_reason = reason
        db.execute(delete(m.AppointmentSlot).where(m.AppointmentSlot.appointment_id == row.id))
    row.status = status
    row.status_at = utcnow()
    audit(
        db, actor, "update", "appointment", row.id, row.patient_id, status + (f": {reason}" if reason else "")
    )
    return row


def reschedule(
    *, db: Session, appointment_id: int, starts_at: dt.datetime, actor: Actor, clinician_id: int | None = None
) -> m.Appointment:
    """Move a booked appointment to ``starts_at`` (naive UTC), optionally to another clinician."""
    row = _appointment(db, appointment_id, actor)
    if row.status != "booked":
        raise ConflictError(
            f"status: the appointment is {STATUS_LABELS[row.status]}; only a booked one moves"
        )
    clinic = db.get(m.Clinic, actor.clinic_id)
    assert clinic is not None
    slot = clinic.slot_minutes
    start = starts_at.replace(second=0, microsecond=0)
    if starts_at != start or start.minute % slot:
        raise StoreError(f"starts_at: must fall on a {slot}-minute boundary, got {starts_at.isoformat()}")
    clinician = _clinician(db, clinician_id or row.clinician_id, actor)
    check_bookable(db, clinic=clinic, clinician=clinician, start=start, minutes=row.minutes)
    before = row.starts_at
    hold_slots(db, row, clinician, start, slot)
    row.starts_at, row.clinician_id = start, clinician.id
    audit(
        db,
        actor,
        "update",
        "appointment",
        row.id,
        row.patient_id,
        f"rescheduled from {before.isoformat(' ', 'minutes')} to {start.isoformat(' ', 'minutes')}",
    )
    return row


def set_working_hours(
    *, db: Session, clinician_id: int, hours: Mapping[int, tuple[int, int] | None], actor: Actor
) -> dict[int, tuple[int, int]]:
    """Replace a clinician's working hours (weekday -> (start, end) minutes, None = not working)."""
    if actor.role != "admin":
        raise StoreError("role: only an admin may set working hours")
    clinician = _clinician(db, clinician_id, actor)
    out: dict[int, tuple[int, int]] = {}
    for day, span in sorted(hours.items()):
        if not 0 <= day <= 6:
            raise StoreError(f"weekday: must be 0 (Monday) to 6 (Sunday), got {day}")
        if span is None:
            continue
        a, b = span
        if not 0 <= a < b <= 1440:
            raise StoreError(
                f"hours_{day}: {WEEKDAYS[day]} must end after it starts, "
                f"got {minutes_text(a)}–{minutes_text(b)}"
            )
        out[day] = (a, b)
    db.execute(delete(m.WorkingHours).where(m.WorkingHours.clinician_id == clinician.id))
    for day, (a, b) in out.items():
        db.add(m.WorkingHours(clinician_id=clinician.id, weekday=day, starts_min=a, ends_min=b))
    detail = "; ".join(f"{WEEKDAYS[d][:3]} {minutes_text(a)}-{minutes_text(b)}" for d, (a, b) in out.items())
    audit(db, actor, "update", "working_hours", clinician.id, None, detail or "none")
    return out


def week_appointments(
    *, db: Session, actor: Actor, clinician_id: int, start: dt.datetime, end: dt.datetime
) -> list[tuple[m.Appointment, m.Patient]]:
    """A clinician's appointments of every status from ``start`` to ``end`` (naive UTC), audited."""
    rows = db.execute(
        select(m.Appointment, m.Patient)
        .join(m.Patient, m.Patient.id == m.Appointment.patient_id)
        .where(
            m.Appointment.clinic_id == actor.clinic_id,
            m.Appointment.clinician_id == clinician_id,
            m.Appointment.starts_at >= start,
            m.Appointment.starts_at < end,
        )
        .order_by(m.Appointment.starts_at)
    ).all()
    who = db.get(m.User, clinician_id)
    audit(
        db,
        actor,
        "read",
        "appointment",
        None,
        None,
        f"week of {who.name if who else clinician_id}: {len(rows)}",
    )
    return [(a, p) for a, p in rows]


def possible_duplicates(*, db: Session, data: PatientCreate, actor: Actor) -> list[m.Patient]:
    """Patients of the clinic who may be the same person: the same date of birth and family or given
    name, or the same phone number (digits only, at least 6)."""
    same_born = (m.Patient.birth_date == data.birth_date) & or_(
        func.lower(m.Patient.family_name) == data.family_name.lower(),
        func.lower(m.Patient.given_name) == data.given_name.lower(),
    )
    digits = "".join(ch for ch in data.phone or "" if ch.isdigit())
    test = or_(same_born, phone_digits(m.Patient.phone) == digits) if len(digits) >= 6 else same_born
    found = list(
        db.scalars(
            select(m.Patient)
            .where(m.Patient.clinic_id == actor.clinic_id, test)
            .order_by(m.Patient.id)
            .limit(10)
        )
    )
    if found:
        audit(db, actor, "search", "patient", None, None, f"possible duplicates: {len(found)}")
    return found
