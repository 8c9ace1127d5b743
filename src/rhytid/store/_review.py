"""A clinician's review of a proposed medical history.

A history submitted without a clinician (through a patient link, or by an admin) that would clear
a recorded contraindication or precaution is stored as ``proposed`` and is not in force: the
history in force, and so the screening that treatments are checked against, stays the last
accepted one. A clinician confirms the proposal (it comes into force) or rejects it.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from rhytid.store import _models as m
from rhytid.store._audit import Actor, audit
from rhytid.store._errors import ConflictError, NotFoundError, PermissionDenied
from rhytid.store._histories import cleared_findings
from rhytid.store._models import utcnow
from rhytid.store._patients import clinic_patient
from rhytid.store._safety import in_force_history

__all__ = ["confirm_history", "pending", "reject_history"]


def _proposal(db: Session, patient_id: int, history_id: int, actor: Actor) -> m.MedicalHistory:
    if actor.role != "clinician":
        raise PermissionDenied("role: only a clinician may review a proposed medical history")
    patient = clinic_patient(db, patient_id, actor)
    row = db.get(m.MedicalHistory, history_id)
    if row is None or row.patient_id != patient.id:
        raise NotFoundError(f"history_id: no medical history {history_id} for this patient")
    if row.status != "proposed":
        raise ConflictError(f"history_id: version {row.version} is {row.status}, not a proposal")
    return row


def confirm_history(*, db: Session, patient_id: int, history_id: int, actor: Actor) -> m.MedicalHistory:
    """Bring a proposal into force (ConflictError when a newer history is in force already)."""
    row = _proposal(db, patient_id, history_id, actor)
    current = in_force_history(db, row.patient_id)
    if current is not None and current.version > row.version:
        raise ConflictError(
            f"history_id: version {current.version} is newer and in force; reject this proposal"
        )
    cleared = cleared_findings(current.screening, row.screening) if current is not None else []
    row.status, row.reviewed_by, row.reviewed_at = "accepted", actor.label, utcnow()
    audit(
        db,
        actor,
        "confirm",
        "medical_history",
        row.id,
        row.patient_id,
        "clears " + (", ".join(cleared) or "-"),
    )
    return row


def reject_history(*, db: Session, patient_id: int, history_id: int, actor: Actor) -> m.MedicalHistory:
    """Keep a proposal out of force for good (the history in force does not change)."""
    row = _proposal(db, patient_id, history_id, actor)
    row.status, row.reviewed_by, row.reviewed_at = "rejected", actor.label, utcnow()
    audit(db, actor, "reject", "medical_history", row.id, row.patient_id, f"version {row.version}")
    return row


def pending(*, db: Session, patient_id: int, actor: Actor) -> list[tuple[m.MedicalHistory, list[str]]]:
    """The patient's open proposals, newest first, each with the findings it would clear."""
    patient = clinic_patient(db, patient_id, actor)
    current = in_force_history(db, patient.id)
    rows = db.scalars(
        select(m.MedicalHistory)
        .where(m.MedicalHistory.patient_id == patient.id, m.MedicalHistory.status == "proposed")
        .order_by(m.MedicalHistory.version.desc())
    )
    return [(r, cleared_findings(current.screening, r.screening) if current else []) for r in rows]
