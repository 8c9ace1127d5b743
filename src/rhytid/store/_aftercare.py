"""Aftercare reports (triaged; alerts to the on-call clinician) and adverse events."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from rhytid.clinic import parse_report, triage
from rhytid.errors import ClinicError
from rhytid.store import _messages as messages
from rhytid.store import _models as m
from rhytid.store._audit import Actor, audit, audit_shown
from rhytid.store._errors import ConflictError, NotFoundError
from rhytid.store._models import utcnow
from rhytid.store._patients import clinic_patient, patient_rows
from rhytid.store._safety import recent_filler
from rhytid.store._schemas import AdverseEventCreate

__all__ = [
    "close_alert",
    "create_adverse_event",
    "list_adverse_events",
    "list_aftercare",
    "open_alerts",
    "submit_aftercare",
]


def submit_aftercare(
    *,
    db: Session,
    patient_id: int,
    treatment_id: int | None,
    report: dict[str, Any],
    actor: Actor,
    delivery: messages.Delivery | None = None,
) -> m.AftercareReport:
    """Triage a patient's report (``clinic.triage``); contact_clinic/emergency open an alert.

    An open alert notifies the on-call clinician through the outbox in the same transaction
    (``store._messages.raise_alert``; ``delivery`` says what the app can deliver).
    """
    patient = clinic_patient(db, patient_id, actor)
    if treatment_id is not None:
        t = db.get(m.Treatment, treatment_id)
        if t is None or t.patient_id != patient.id:
            raise NotFoundError(f"treatment_id: no treatment {treatment_id} for this patient")
    if "filler" not in report and recent_filler(db, patient.id, utcnow()):
        report = {**report, "filler": True}  # the filler red flags apply (clinic.yaml fillers)
    result = triage(parse_report(report))
    row = m.AftercareReport(
        patient_id=patient.id,
        treatment_id=treatment_id,
        report=report,
        level=result.level,
        advice=result.advice,
        reasons=list(result.reasons),
        alert_open=result.level in ("contact_clinic", "emergency"),
    )
    db.add(row)
    db.flush()
    audit(db, actor, "create", "aftercare_report", row.id, patient.id, result.level)
    if row.alert_open:
        messages.raise_alert(db, report=row, patient=patient, delivery=delivery or messages.Delivery())
    return row


def list_aftercare(*, db: Session, patient_id: int, actor: Actor) -> list[m.AftercareReport]:
    return patient_rows(
        db=db,
        patient_id=patient_id,
        actor=actor,
        entity="aftercare_report",
        query=select(m.AftercareReport).order_by(m.AftercareReport.id.desc()),
        patient_column=m.AftercareReport.patient_id,
    )


def open_alerts(*, db: Session, actor: Actor) -> list[tuple[m.AftercareReport, m.Patient]]:
    rows = db.execute(
        select(m.AftercareReport, m.Patient)
        .join(m.Patient, m.Patient.id == m.AftercareReport.patient_id)
        .where(m.Patient.clinic_id == actor.clinic_id, m.AftercareReport.alert_open.is_(True))
        .order_by(m.AftercareReport.id.desc())
    ).all()
    audit_shown(db, actor, "alert", [p.id for _, p in rows])
    return [(r, p) for r, p in rows]


def close_alert(*, db: Session, report_id: int, note: str, actor: Actor) -> m.AftercareReport:
    """Close an open alert with a note of what was done (acknowledging it if nobody had)."""
    row = db.get(m.AftercareReport, report_id)
    if row is None:
        raise NotFoundError(f"report_id: no aftercare report {report_id}")
    clinic_patient(db, row.patient_id, actor)
    if not row.alert_open:
        raise ConflictError("alert_open: the alert is closed already")
    text = messages.check_close_note(note)
    messages.acknowledge_alert(db=db, report_id=row.id, actor=actor).closed_note = text
    row.alert_open = False
    row.closed_by = actor.user_id
    row.closed_at = utcnow()
    audit(db, actor, "update", "aftercare_report", row.id, row.patient_id, "alert closed")
    return row


def create_adverse_event(
    *, db: Session, patient_id: int, data: AdverseEventCreate, actor: Actor
) -> m.AdverseEvent:
    patient = clinic_patient(db, patient_id, actor)
    if data.treatment_id is not None:
        t = db.get(m.Treatment, data.treatment_id)
        if t is None or t.patient_id != patient.id:
            raise NotFoundError(f"treatment_id: no treatment {data.treatment_id} for this patient")
    if data.onset_date > dt.date.today():
        raise ClinicError("onset_date: lies in the future")
    row = m.AdverseEvent(patient_id=patient.id, recorded_by=actor.user_id, **data.model_dump())
    db.add(row)
    db.flush()
    audit(db, actor, "create", "adverse_event", row.id, patient.id, data.kind)
    return row


def list_adverse_events(*, db: Session, patient_id: int, actor: Actor) -> list[m.AdverseEvent]:
    return patient_rows(
        db=db,
        patient_id=patient_id,
        actor=actor,
        entity="adverse_event",
        query=select(m.AdverseEvent).order_by(m.AdverseEvent.id),
        patient_column=m.AdverseEvent.patient_id,
    )
