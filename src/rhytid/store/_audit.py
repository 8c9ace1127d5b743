"""Who acts (:class:`Actor`) and the audit rows every repository writes in the caller's transaction."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from rhytid.store import _models as m

__all__ = ["Actor", "audit", "audit_shown"]


@dataclass(frozen=True)
class Actor:
    """Who acts: a signed-in user, or a patient through a signed link (``user_id`` None)."""

    clinic_id: int
    label: str
    user_id: int | None = None
    role: str | None = None


def audit(
    db: Session,
    actor: Actor,
    action: str,
    entity: str,
    entity_id: int | None,
    patient_id: int | None,
    detail: str | None = None,
) -> None:
    db.add(
        m.AuditEntry(
            actor=actor.label,
            user_id=actor.user_id,
            action=action,
            entity=entity,
            entity_id=entity_id,
            patient_id=patient_id,
            detail=detail,
        )
    )


def audit_shown(db: Session, actor: Actor, listing: str, patient_ids: list[int]) -> None:
    """One ``list`` audit row per patient a list showed (who saw whose name, and where)."""
    for pid in dict.fromkeys(patient_ids):
        audit(db, actor, "list", listing, None, pid)
