"""Patients of a clinic: create, read (audited), change and search by name, birth date or phone."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from rhytid.store import _models as m
from rhytid.store._audit import Actor, audit, audit_shown
from rhytid.store._errors import NotFoundError
from rhytid.store._schemas import PatientCreate, PatientUpdate
from rhytid.store._search import parse_birth_date, phone_digits, phone_key, query_words

__all__ = [
    "clinic_patient",
    "create_patient",
    "get_patient",
    "patient_rows",
    "patients_shown",
    "search_patients",
    "update_patient",
]


_Row = TypeVar("_Row")


def create_patient(*, db: Session, data: PatientCreate, actor: Actor) -> m.Patient:
    patient = m.Patient(clinic_id=actor.clinic_id, **data.model_dump())
    db.add(patient)
    db.flush()
    audit(db, actor, "create", "patient", patient.id, patient.id)
    return patient


def get_patient(*, db: Session, patient_id: int, actor: Actor, clinical: bool = False) -> m.Patient:
    """Read a patient of the actor's clinic (audited); NotFoundError otherwise."""
    patient = db.get(m.Patient, patient_id)
    if patient is None or patient.clinic_id != actor.clinic_id:
        raise NotFoundError(f"patient_id: no patient {patient_id}")
    audit(db, actor, "read", "patient", patient.id, patient.id, "clinical" if clinical else "demographics")
    return patient


def clinic_patient(db: Session, patient_id: int, actor: Actor) -> m.Patient:
    patient = db.get(m.Patient, patient_id)
    if patient is None or patient.clinic_id != actor.clinic_id:
        raise NotFoundError(f"patient_id: no patient {patient_id}")
    return patient


def patient_rows(
    *,
    db: Session,
    patient_id: int,
    actor: Actor,
    entity: str,
    query: Select[_Row],
    patient_column: InstrumentedAttribute[int],
) -> list[_Row]:
    """A patient's rows of one kind (``query`` narrowed to the patient), audited as a read."""
    patient = clinic_patient(db, patient_id, actor)
    rows = list(db.scalars(query.where(patient_column == patient.id)))
    audit(db, actor, "read", entity, None, patient.id)
    return rows


def update_patient(*, db: Session, patient_id: int, data: PatientUpdate, actor: Actor) -> m.Patient:
    patient = clinic_patient(db, patient_id, actor)
    changes = data.model_dump(exclude_unset=True)
    for key, value in changes.items():
        setattr(patient, key, value)
    audit(db, actor, "update", "patient", patient.id, patient.id, ",".join(sorted(changes)))
    return patient


def search_patients(*, db: Session, query: str, actor: Actor, limit: int = 50) -> list[m.Patient]:
    """Patients matching every word: a name part, a date of birth (2001-02-03, 3.2.2001, 3/2/2001)
    or a phone number (at least 4 digits, matched ignoring spaces, dashes, dots and brackets)."""
    q = select(m.Patient).where(m.Patient.clinic_id == actor.clinic_id)
    for word in query_words(query):
        born, digits = parse_birth_date(word), phone_key(word)
        like = f"%{word.lower()}%"
        by_name = or_(
            func.lower(m.Patient.family_name).like(like), func.lower(m.Patient.given_name).like(like)
        )
        if born is not None:
            q = q.where(m.Patient.birth_date == born)
        elif digits is not None:
            q = q.where(or_(by_name, phone_digits(m.Patient.phone).like(f"%{digits}%")))
        else:
            q = q.where(by_name)
    found = list(db.scalars(q.order_by(m.Patient.family_name, m.Patient.given_name).limit(limit)))
    audit(db, actor, "search", "patient", None, None, f"{len(found)} results")
    audit_shown(db, actor, "patient_search", [p.id for p in found])
    return found


def patients_shown(
    *, db: Session, actor: Actor, patient_ids: Iterable[int | None], listing: str
) -> dict[int, m.Patient]:
    """The actor's clinic's patients among ``patient_ids``, by id, for a list page ``listing``.

    Each patient returned gets one ``list`` audit row naming the listing (who saw whose name, and
    where); ids of another clinic or of no patient are left out.
    """
    ids = sorted({i for i in patient_ids if i is not None})
    if not ids:
        return {}
    rows = db.scalars(select(m.Patient).where(m.Patient.id.in_(ids), m.Patient.clinic_id == actor.clinic_id))
    found = {p.id: p for p in rows}
    audit_shown(db, actor, listing, list(found))
    return found
