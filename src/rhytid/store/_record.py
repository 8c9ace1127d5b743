"""The whole record of one patient (the record page and FHIR export) and the clinic's audit log."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, selectinload

from rhytid.store import _models as m
from rhytid.store._audit import Actor
from rhytid.store._consent import list_consents
from rhytid.store._errors import StoreError
from rhytid.store._patients import get_patient

__all__ = ["list_audit", "patient_record"]


def patient_record(*, db: Session, patient_id: int, actor: Actor) -> dict[str, Any]:
    """Everything about one patient, for the record page and the FHIR export (one audit row)."""
    patient = get_patient(db=db, patient_id=patient_id, actor=actor, clinical=True)
    histories = list(
        db.scalars(
            select(m.MedicalHistory)
            .where(m.MedicalHistory.patient_id == patient.id)
            .order_by(m.MedicalHistory.version.desc())
        )
    )
    return {
        "patient": patient,
        "histories": histories,
        "assessments": list(
            db.scalars(
                select(m.Assessment)
                .where(m.Assessment.patient_id == patient.id)
                .options(selectinload(m.Assessment.photos))
                .order_by(m.Assessment.assessed_on)
            )
        ),
        "plans": list(
            db.scalars(select(m.Plan).where(m.Plan.patient_id == patient.id).order_by(m.Plan.id.desc()))
        ),
        "treatments": list(
            db.scalars(
                select(m.Treatment)
                .where(m.Treatment.patient_id == patient.id)
                .options(selectinload(m.Treatment.injections))
                .order_by(m.Treatment.performed_at.desc())
            )
        ),
        "appointments": list(
            db.scalars(
                select(m.Appointment)
                .where(m.Appointment.patient_id == patient.id, m.Appointment.status != "cancelled")
                .order_by(m.Appointment.starts_at)
            )
        ),
        "aftercare": list(
            db.scalars(
                select(m.AftercareReport)
                .where(m.AftercareReport.patient_id == patient.id)
                .order_by(m.AftercareReport.id.desc())
            )
        ),
        "adverse_events": list(
            db.scalars(
                select(m.AdverseEvent)
                .where(m.AdverseEvent.patient_id == patient.id)
                .order_by(m.AdverseEvent.id)
            )
        ),
        "consents": list_consents(db, patient.id),
        "filler_treatments": list(
            db.scalars(
                select(m.FillerTreatment)
                .where(m.FillerTreatment.patient_id == patient.id)
                .options(selectinload(m.FillerTreatment.sites))
                .order_by(m.FillerTreatment.performed_at.desc())
            )
        ),
        # the clinicians who treated the patient (the FHIR export's performers)
        "practitioners": {
            u.id: u
            for u in db.scalars(
                select(m.User).where(
                    m.User.id.in_(
                        select(m.Treatment.clinician_id).where(m.Treatment.patient_id == patient.id)
                    )
                )
            )
        },
    }


def list_audit(
    *,
    db: Session,
    actor: Actor,
    patient_id: int | None = None,
    user_id: int | None = None,
    since: dt.date | None = None,
    until: dt.date | None = None,
    limit: int = 500,
) -> list[m.AuditEntry]:
    """The clinic's audit entries, newest first; ``since``/``until`` are inclusive UTC dates."""
    if since is not None and until is not None and until < since:
        raise StoreError(f"until: {until} is before since ({since})")
    clinic_users = select(m.User.id).where(m.User.clinic_id == actor.clinic_id)
    clinic_patients = select(m.Patient.id).where(m.Patient.clinic_id == actor.clinic_id)
    q = select(m.AuditEntry).where(
        or_(
            m.AuditEntry.user_id.in_(clinic_users),
            m.AuditEntry.patient_id.in_(clinic_patients),
            # failed sign-ins name the account they tried (no acting user)
            (m.AuditEntry.entity == "user") & m.AuditEntry.entity_id.in_(clinic_users),
        )
    )
    if patient_id is not None:
        q = q.where(m.AuditEntry.patient_id == patient_id)
    if user_id is not None:
        q = q.where(m.AuditEntry.user_id == user_id)
    if since is not None:
        q = q.where(m.AuditEntry.at >= dt.datetime.combine(since, dt.time()))
    if until is not None:
        q = q.where(m.AuditEntry.at < dt.datetime.combine(until + dt.timedelta(days=1), dt.time()))
    return list(db.scalars(q.order_by(m.AuditEntry.id.desc()).limit(limit)))
