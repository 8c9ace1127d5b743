"""Assessments (graded lines) and their photos (JPEG/PNG, metadata stripped, stored by SHA-256)."""

from __future__ import annotations

import hashlib
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from rhytid.store import _models as m
from rhytid.store import _photos as photo_files
from rhytid.store._audit import Actor, audit
from rhytid.store._consent import require_consent
from rhytid.store._errors import ConflictError, NotFoundError, StoreError
from rhytid.store._exif import strip_metadata
from rhytid.store._patients import clinic_patient, patient_rows
from rhytid.store._photos import MAX_PHOTO_BYTES, PHOTO_TYPES
from rhytid.store._schemas import AssessmentCreate

__all__ = ["add_photo", "check_photo", "create_assessment", "get_photo", "list_assessments"]


def create_assessment(*, db: Session, patient_id: int, data: AssessmentCreate, actor: Actor) -> m.Assessment:
    patient = clinic_patient(db, patient_id, actor)
    row = m.Assessment(
        patient_id=patient.id,
        assessed_on=data.assessed_on,
        grades={k: v.model_dump() for k, v in data.grades.items()},
        notes=data.notes,
        created_by=actor.user_id,
    )
    db.add(row)
    db.flush()
    audit(db, actor, "create", "assessment", row.id, patient.id)
    return row


def list_assessments(*, db: Session, patient_id: int, actor: Actor) -> list[m.Assessment]:
    return patient_rows(
        db=db,
        patient_id=patient_id,
        actor=actor,
        entity="assessment",
        query=select(m.Assessment)
        .options(selectinload(m.Assessment.photos))
        .order_by(m.Assessment.assessed_on),
        patient_column=m.Assessment.patient_id,
    )


def add_photo(
    *,
    db: Session,
    assessment_id: int,
    filename: str,
    content_type: str,
    content: bytes,
    folder: Path,
    actor: Actor,
) -> m.Photo:
    """Store a JPEG or PNG photo as a file named by its SHA-256, with the checksum in the database.

    The file is checked first, then staged: it appears in ``folder`` when ``db`` commits and is
    deleted if the transaction fails (see :mod:`rhytid.store._photos`).
    """
    assessment = db.get(m.Assessment, assessment_id)
    if assessment is None:
        raise NotFoundError(f"assessment_id: no assessment {assessment_id}")
    patient = clinic_patient(db, assessment.patient_id, actor)
    check_photo(filename=filename, content_type=content_type, content=content)
    require_consent(db, patient, "photography")
    content = strip_metadata(content)  # no GPS position or camera details are stored
    digest = hashlib.sha256(content).hexdigest()
    name = photo_files.file_name(digest, content_type)
    photo = m.Photo(
        assessment_id=assessment.id,
        filename=Path(filename or "photo").name[:255],
        content_type=content_type,
        sha256=digest,
        size_bytes=len(content),
        stored_as=name,
    )
    db.add(photo)
    db.flush()
    audit(db, actor, "create", "photo", photo.id, assessment.patient_id)
    photo_files.stage(db, folder, name, content)
    return photo


def check_photo(*, filename: str, content_type: str, content: bytes, field: str = "file") -> None:
    """StoreError naming ``field`` unless ``content`` is a JPEG or PNG of at most MAX_PHOTO_BYTES."""
    name = Path(filename or "photo").name
    if len(content) > MAX_PHOTO_BYTES:
        raise StoreError(
            f"{field}: {name!r} has more than {MAX_PHOTO_BYTES} bytes; at most {MAX_PHOTO_BYTES}"
        )
    if content_type not in PHOTO_TYPES:
        raise StoreError(
            f"{field}: {name!r} has content type {content_type!r}; allowed: {', '.join(PHOTO_TYPES)}"
        )
    if not content.startswith(PHOTO_TYPES[content_type]):
        raise StoreError(f"{field}: {name!r} is not a {content_type} image")


def get_photo(*, db: Session, photo_id: int, folder: Path, actor: Actor) -> tuple[m.Photo, bytes]:
    """A stored photo and its bytes (audited read); StoreError when the file fails its checksum."""
    photo = db.get(m.Photo, photo_id)
    if photo is None:
        raise NotFoundError(f"photo_id: no photo {photo_id}")
    patient = clinic_patient(db, photo.assessment.patient_id, actor)
    try:
        content = (folder / photo.stored_as).read_bytes()
    except OSError:
        raise NotFoundError(f"photo_id: the file of photo {photo_id} is missing") from None
    if hashlib.sha256(content).hexdigest() != photo.sha256:
        raise ConflictError(f"photo_id: the file of photo {photo_id} does not match its sha256 checksum")
    audit(db, actor, "read", "photo", photo.id, patient.id)
    return photo, content
