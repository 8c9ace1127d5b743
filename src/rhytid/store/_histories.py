"""Medical histories: versions of the answers with their screening, proposals, acknowledgements."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from rhytid.clinic import acknowledge
from rhytid.store import _models as m
from rhytid.store._audit import Actor, audit
from rhytid.store._clinical import rebuild_screening, screen_answers
from rhytid.store._errors import NotFoundError, PermissionDenied
from rhytid.store._models import utcnow
from rhytid.store._patients import clinic_patient, patient_rows
from rhytid.store._safety import in_force_history

__all__ = [
    "GUARDED_SEVERITIES",
    "acknowledge_precautions",
    "cleared_findings",
    "latest_history",
    "list_histories",
    "submit_history",
]


def submit_history(
    *, db: Session, patient_id: int, answers: dict[str, Any], actor: Actor
) -> m.MedicalHistory:
    """Store a new version of the answers with their screening (ScreeningError names the field)."""
    patient = clinic_patient(db, patient_id, actor)
    screening = screen_answers(answers)
    status = "accepted"
    if actor.role != "clinician":
        current = in_force_history(db, patient.id)
        if current is not None and cleared_findings(current.screening, screening.to_dict()):
            status = "proposed"
    version = (
        db.scalar(select(func.max(m.MedicalHistory.version)).where(m.MedicalHistory.patient_id == patient.id))
        or 0
    ) + 1
    record = m.MedicalHistory(
        patient_id=patient.id,
        version=version,
        answers=answers,
        screening=screening.to_dict(),
        decision=screening.decision,
        acknowledgements=[],
        submitted_by=actor.label,
        status=status,
    )
    db.add(record)
    db.flush()
    detail = f"version {version}" + (" (proposed: awaits a clinician)" if status == "proposed" else "")
    audit(db, actor, "create", "medical_history", record.id, patient.id, detail)
    return record


#: Findings that only a clinician may clear: a patient-link or staff submission without them is a proposal.
GUARDED_SEVERITIES = ("contraindication", "precaution")


def cleared_findings(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """Codes of contraindications and precautions in screening ``before`` that ``after`` lacks."""

    def codes(screening: dict[str, Any]) -> set[str]:
        return {
            str(f["code"]) for f in screening.get("findings", []) if f.get("severity") in GUARDED_SEVERITIES
        }

    return sorted(codes(before) - codes(after))


def list_histories(*, db: Session, patient_id: int, actor: Actor) -> list[m.MedicalHistory]:
    return patient_rows(
        db=db,
        patient_id=patient_id,
        actor=actor,
        entity="medical_history",
        query=select(m.MedicalHistory).order_by(m.MedicalHistory.version.desc()),
        patient_column=m.MedicalHistory.patient_id,
    )


def latest_history(*, db: Session, patient_id: int, actor: Actor) -> m.MedicalHistory | None:
    patient = clinic_patient(db, patient_id, actor)
    row = in_force_history(db, patient.id)
    audit(db, actor, "read", "medical_history", row.id if row else None, patient.id)
    return row


def acknowledge_precautions(
    *, db: Session, patient_id: int, codes: list[str], actor: Actor, at: dt.datetime | None = None
) -> m.MedicalHistory:
    """A clinician acknowledges precaution codes of the latest history (rules: ``clinic.acknowledge``)."""
    if actor.role != "clinician":
        raise PermissionDenied("role: only a clinician may acknowledge precautions")
    row = latest_history(db=db, patient_id=patient_id, actor=actor)
    if row is None:
        raise NotFoundError("history: the patient has no medical history yet")
    at = at or utcnow()
    screening = rebuild_screening(row.answers, row.acknowledgements, planned=at.date())
    updated = acknowledge(screening, clinician=actor.label, at=at, codes=tuple(codes))
    row.acknowledgements = [a.to_dict() for a in updated.acknowledgements]
    row.screening = {**row.screening, "acknowledgements": row.acknowledgements}
    audit(db, actor, "update", "medical_history", row.id, patient_id, "acknowledged " + ",".join(codes))
    return row
