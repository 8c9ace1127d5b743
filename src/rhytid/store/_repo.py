"""Repositories: keyword-only functions that check, change and audit in one transaction.

Each function takes the session ``db`` (inside a transaction the caller commits) and the ``actor``
doing it; reads and changes of a patient record write an :class:`AuditEntry` in the same
transaction, so an act and its audit record are stored together or not at all. Errors are
:class:`~rhytid.errors.RhytidError` subclasses whose message starts with the field at fault.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Select, delete, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import InstrumentedAttribute, Session, selectinload

from rhytid.anatomy import reference_face
from rhytid.clinic import (
    FollowUp,
    PlannedInjection,
    Review,
    ReviewAcknowledgement,
    acknowledge,
    check_vial_age,
    follow_up,
    injection_area,  # the rules' own area of a point
    parse_report,
    triage,
    vial_use_by,
)
from rhytid.errors import ClinicError
from rhytid.store import _messages as messages
from rhytid.store import _models as m
from rhytid.store import _photos as photo_files
from rhytid.store._clinical import age_on, preview, rebuild_screening, screen_answers
from rhytid.store._consent import list_consents, require_consent
from rhytid.store._errors import ConflictError, NotFoundError, PermissionDenied, StoreError
from rhytid.store._exif import strip_metadata
from rhytid.store._hours import check_bookable
from rhytid.store._models import utcnow
from rhytid.store._photos import MAX_PHOTO_BYTES, PHOTO_TYPES
from rhytid.store._safety import (
    DilutionNotConfirmed,
    ReviewRefused,
    dilution_change,
    in_force_history,
    patient_safety,
    recent_filler,
)
from rhytid.store._schemas import (
    AdverseEventCreate,
    AppointmentCreate,
    AssessmentCreate,
    PatientCreate,
    PatientUpdate,
    PlanCreate,
    TreatmentCreate,
    UserCreate,
    UserUpdate,
    VialCreate,
)
from rhytid.store._search import parse_birth_date, phone_digits, phone_key, query_words
from rhytid.store._security import hash_password, verify_password
from rhytid.store._time import zone

_Row = TypeVar("_Row")

__all__ = [
    "MAX_PHOTO_BYTES",
    "PHOTO_TYPES",
    "Actor",
    "acknowledge_precautions",
    "add_photo",
    "audit",
    "authenticate",
    "book_appointment",
    "cancel_appointment",
    "cleared_findings",
    "close_alert",
    "create_adverse_event",
    "create_assessment",
    "create_clinic",
    "create_patient",
    "create_plan",
    "create_treatment",
    "create_user",
    "create_vial",
    "due_follow_ups",
    "get_patient",
    "in_force_history",
    "latest_history",
    "list_adverse_events",
    "list_aftercare",
    "list_appointments",
    "list_assessments",
    "list_audit",
    "list_histories",
    "list_plans",
    "list_treatments",
    "list_users",
    "list_vials",
    "mark_plan_ready",
    "open_alerts",
    "patient_record",
    "plan_preview",
    "review_stored_plan",
    "search_patients",
    "submit_aftercare",
    "submit_history",
    "treatment_follow_up",
    "update_patient",
    "usable_vials",
    "vial_flags",
]


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


# --- clinics and users -------------------------------------------------------------------------
def create_clinic(*, db: Session, name: str, slot_minutes: int = 15, time_zone: str = "UTC") -> m.Clinic:
    zone(time_zone)
    clinic = m.Clinic(name=name, slot_minutes=slot_minutes, time_zone=time_zone)
    db.add(clinic)
    db.flush()
    return clinic


def set_clinic_time_zone(*, db: Session, time_zone: str, actor: Actor) -> m.Clinic:
    """The IANA zone in which the clinic's times are entered and shown (audited)."""
    zone(time_zone.strip())
    clinic = db.get(m.Clinic, actor.clinic_id)
    if clinic is None:
        raise NotFoundError(f"clinic_id: no clinic {actor.clinic_id}")
    clinic.time_zone = time_zone.strip()
    audit(db, actor, "update", "clinic", clinic.id, None, f"time_zone={clinic.time_zone}")
    return clinic


def create_user(*, db: Session, clinic_id: int, data: UserCreate, actor: Actor | None = None) -> m.User:
    email = data.email.lower()
    if db.scalar(select(m.User.id).where(m.User.email == email)) is not None:
        raise ConflictError(f"email: a user with {email!r} exists already")
    user = m.User(
        clinic_id=clinic_id,
        email=email,
        name=data.name,
        role=data.role,
        password_hash=hash_password(data.password),
    )
    db.add(user)
    db.flush()
    if actor is not None:
        audit(db, actor, "create", "user", user.id, None, f"role={data.role}")
    return user


def list_users(*, db: Session, actor: Actor) -> list[m.User]:
    return list(db.scalars(select(m.User).where(m.User.clinic_id == actor.clinic_id).order_by(m.User.id)))


def update_user(*, db: Session, user_id: int, data: UserUpdate, actor: Actor) -> m.User:
    """Change a user's name, role or active flag (audited); the clinic always keeps an active admin."""
    user = db.get(m.User, user_id, with_for_update=True)
    if user is None or user.clinic_id != actor.clinic_id:
        raise NotFoundError(f"user_id: no user {user_id}")
    changes = data.model_dump(exclude_unset=True, exclude_none=True)
    if user.id == actor.user_id and (
        changes.get("active") is False or changes.get("role", "admin") != "admin"
    ):
        raise StoreError("user_id: you cannot deactivate yourself or give up your own admin role")
    for key, value in changes.items():
        setattr(user, key, value)
    db.flush()
    admins = db.scalar(
        select(func.count())
        .select_from(m.User)
        .where(m.User.clinic_id == actor.clinic_id, m.User.role == "admin", m.User.active.is_(True))
    )
    if not admins:
        raise ConflictError("role: the clinic must keep at least one active admin")
    detail = ",".join(f"{k}={v}" for k, v in sorted(changes.items()))
    audit(db, actor, "update", "user", user.id, None, detail or None)
    return user


def authenticate(*, db: Session, email: str, password: str) -> m.User | None:
    """The active user with this e-mail and password, else None (constant work either way)."""
    user = db.scalar(select(m.User).where(m.User.email == email.strip().lower()))
    if user is not None:
        db.expunge(user)
    db.rollback()  # no transaction (nor SQLite's lock) is held while the password hash is checked
    if user is None:
        verify_password(DUMMY_HASH, password)
        return None
    if not verify_password(user.password_hash, password) or not user.active:
        return None
    return user


DUMMY_HASH = hash_password("not-a-real-password")


# --- patients ----------------------------------------------------------------------------------
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


def _patient(db: Session, patient_id: int, actor: Actor) -> m.Patient:
    patient = db.get(m.Patient, patient_id)
    if patient is None or patient.clinic_id != actor.clinic_id:
        raise NotFoundError(f"patient_id: no patient {patient_id}")
    return patient


def _patient_rows(
    *,
    db: Session,
    patient_id: int,
    actor: Actor,
    entity: str,
    query: Select[_Row],
    patient_column: InstrumentedAttribute[int],
) -> list[_Row]:
    """A patient's rows of one kind (``query`` narrowed to the patient), audited as a read."""
    patient = _patient(db, patient_id, actor)
    rows = list(db.scalars(query.where(patient_column == patient.id)))
    audit(db, actor, "read", entity, None, patient.id)
    return rows


def update_patient(*, db: Session, patient_id: int, data: PatientUpdate, actor: Actor) -> m.Patient:
    patient = _patient(db, patient_id, actor)
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


def audit_shown(db: Session, actor: Actor, listing: str, patient_ids: list[int]) -> None:
    """One ``list`` audit row per patient a list showed (who saw whose name, and where)."""
    for pid in dict.fromkeys(patient_ids):
        audit(db, actor, "list", listing, None, pid)


# --- medical history and screening -------------------------------------------------------------
def submit_history(
    *, db: Session, patient_id: int, answers: dict[str, Any], actor: Actor
) -> m.MedicalHistory:
    """Store a new version of the answers with their screening (ScreeningError names the field)."""
    patient = _patient(db, patient_id, actor)
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
    return _patient_rows(
        db=db,
        patient_id=patient_id,
        actor=actor,
        entity="medical_history",
        query=select(m.MedicalHistory).order_by(m.MedicalHistory.version.desc()),
        patient_column=m.MedicalHistory.patient_id,
    )


def latest_history(*, db: Session, patient_id: int, actor: Actor) -> m.MedicalHistory | None:
    patient = _patient(db, patient_id, actor)
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


# --- assessments and photos --------------------------------------------------------------------
def create_assessment(*, db: Session, patient_id: int, data: AssessmentCreate, actor: Actor) -> m.Assessment:
    patient = _patient(db, patient_id, actor)
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
    return _patient_rows(
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
    patient = _patient(db, assessment.patient_id, actor)
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
    patient = _patient(db, photo.assessment.patient_id, actor)
    try:
        content = (folder / photo.stored_as).read_bytes()
    except OSError:
        raise NotFoundError(f"photo_id: the file of photo {photo_id} is missing") from None
    if hashlib.sha256(content).hexdigest() != photo.sha256:
        raise ConflictError(f"photo_id: the file of photo {photo_id} does not match its sha256 checksum")
    audit(db, actor, "read", "photo", photo.id, patient.id)
    return photo, content


# --- plans -------------------------------------------------------------------------------------
def plan_preview(*, db: Session, patient_id: int, data: PlanCreate, actor: Actor) -> dict[str, Any]:
    """The model's preview of a plan for this patient, reviewed against the record — audited read."""
    patient = _patient(db, patient_id, actor)
    _, result = _review(db, patient, data)
    audit(db, actor, "read", "plan_preview", None, patient.id)
    return result


def _review(
    db: Session,
    patient: m.Patient,
    data: PlanCreate,
    at: dt.datetime | None = None,
    acknowledgements: tuple[ReviewAcknowledgement, ...] = (),
) -> tuple[Review, dict[str, Any]]:
    """:func:`rhytid.clinic.review_plan` of ``data`` on the patient's record at ``at`` (default now)."""
    at = at or utcnow()
    return preview(
        data,
        sex=patient.sex,
        age=age_on(patient.birth_date, at.date()),
        safety=patient_safety(db, patient),
        at=at,
        acknowledgements=acknowledgements,
    )


def create_plan(*, db: Session, patient_id: int, data: PlanCreate, actor: Actor) -> m.Plan:
    """Save a plan as ``ready`` (refused while a finding blocks: StoreError ``status``) or ``draft``."""
    patient = _patient(db, patient_id, actor)
    review, result = _review(db, patient, data)
    if data.status == "ready" and review.blocking:
        raise StoreError(f"status: this plan {review.summary()}. Change it, or save it as a draft")
    row = m.Plan(
        patient_id=patient_id,
        product=data.product,
        vial_units=data.vial_units,
        diluent_ml=data.diluent_ml,
        injections=result["plan"]["injections"],
        total_units=float(result["plan"]["total_units"]),
        status=data.status,
        preview={k: v for k, v in result.items() if k not in ("field", "check")},
        check=result["check"],
        created_by=actor.user_id,
    )
    db.add(row)
    db.flush()
    audit(db, actor, "create", "plan", row.id, patient_id, data.status)
    return row


def review_stored_plan(
    *, db: Session, patient_id: int, plan_id: int, actor: Actor, vial_id: int | None = None
) -> tuple[m.Plan, Review]:
    """A saved plan and its review on today's record, at the dilution of vial ``vial_id`` if given."""
    patient = _patient(db, patient_id, actor)
    plan = db.get(m.Plan, plan_id)
    if plan is None or plan.patient_id != patient.id:
        raise NotFoundError(f"plan_id: no plan {plan_id} for this patient")
    vial = db.get(m.Vial, vial_id) if vial_id is not None else None
    if vial is not None and (vial.clinic_id != actor.clinic_id or vial.product != plan.product):
        vial = None
    review, _ = _review(db, patient, _stored_plan(plan, vial))
    return plan, review


def mark_plan_ready(*, db: Session, patient_id: int, plan_id: int, actor: Actor) -> m.Plan:
    """Review a draft plan again on today's record and make it ``ready`` (StoreError while it blocks)."""
    patient = _patient(db, patient_id, actor)
    plan = db.get(m.Plan, plan_id, with_for_update=True)
    if plan is None or plan.patient_id != patient.id:
        raise NotFoundError(f"plan_id: no plan {plan_id} for this patient")
    review, result = _review(db, patient, _stored_plan(plan))
    plan.check = result["check"]
    if review.blocking:
        raise StoreError(f"status: this plan {review.summary()}. Change it in the planner")
    plan.status = "ready"
    audit(db, actor, "update", "plan", plan.id, patient.id, "ready")
    return plan


def _stored_plan(plan: m.Plan, vial: m.Vial | None = None) -> PlanCreate:
    """A stored plan as planner input, at the reconstitution of ``vial`` when given."""
    return PlanCreate(
        product=plan.product,
        vial_units=vial.vial_units if vial else plan.vial_units,
        diluent_ml=vial.diluent_ml if vial else plan.diluent_ml,
        injections=[
            ({"site": i["site"]} if i.get("site") else {"x_mm": i["x_mm"], "y_mm": i["y_mm"]})
            | {"units": i["units"], "depth": i["depth"]}
            for i in plan.injections
        ],
        status="draft",
    )


def list_plans(*, db: Session, patient_id: int, actor: Actor) -> list[m.Plan]:
    return _patient_rows(
        db=db,
        patient_id=patient_id,
        actor=actor,
        entity="plan",
        query=select(m.Plan).order_by(m.Plan.id.desc()),
        patient_column=m.Plan.patient_id,
    )


# --- vials -------------------------------------------------------------------------------------
def create_vial(*, db: Session, data: VialCreate, actor: Actor) -> m.Vial:
    """Add a reconstituted vial; an expired lot is refused (StoreError ``expiry``), nothing stored.

    A vial already past its use-by time (label shelf life after reconstitution) is accepted, so
    that the inventory matches the fridge, and flagged (:func:`vial_flags`); it is never offered
    for a treatment.
    """
    now = utcnow()
    if data.reconstituted_at > now + dt.timedelta(minutes=5):
        raise StoreError("reconstituted_at: lies in the future")
    if data.expiry < now.date():
        raise StoreError(
            f"expiry: lot {data.lot} expired on {data.expiry.isoformat()}; an expired vial cannot be "
            "added to the inventory (discard it)"
        )
    row = m.Vial(clinic_id=actor.clinic_id, units_left=data.vial_units, **data.model_dump())
    db.add(row)
    db.flush()
    audit(db, actor, "create", "vial", row.id, None, f"{data.product} lot {data.lot}")
    return row


def vial_flags(vial: m.Vial, at: dt.datetime) -> list[str]:
    """Why the vial must not be used at ``at``, in words (empty when it may be)."""
    flags: list[str] = []
    if vial.discarded:
        flags.append("discarded")
    if vial.expiry < at.date():
        flags.append(f"lot expired on {vial.expiry.isoformat()}")
    if at >= vial.reconstituted_at:
        flags += [
            f"past its use-by time {vial_use_by(vial.product, vial.reconstituted_at):%Y-%m-%d %H:%M} UTC: "
            + f.reason
            for f in check_vial_age(vial.product, vial.reconstituted_at, at)
        ]
    if vial.units_left <= 0:
        flags.append("empty")
    return flags


def _vial_problem(vial: m.Vial, product: str, at: dt.datetime, units: float) -> str | None:
    """Why the vial cannot be used for ``units`` of ``product`` at ``at`` (None when it can)."""
    if vial.discarded:
        return "the vial was discarded"
    if vial.product != product:
        return f"the vial holds {vial.product}, the plan uses {product}"
    if vial.expiry < at.date():
        return f"lot {vial.lot} expired on {vial.expiry.isoformat()}"
    if at < vial.reconstituted_at:
        return "the vial was reconstituted after the treatment time"
    findings = check_vial_age(vial.product, vial.reconstituted_at, at)
    if findings:
        return findings[0].reason
    if vial.units_left + 1e-9 < units:
        return f"{vial.units_left:g} U left, the plan needs {units:g} U"
    return None


def list_vials(*, db: Session, actor: Actor) -> list[m.Vial]:
    return list(
        db.scalars(select(m.Vial).where(m.Vial.clinic_id == actor.clinic_id).order_by(m.Vial.id.desc()))
    )


def usable_vials(*, db: Session, actor: Actor, product: str, units: float, at: dt.datetime) -> list[m.Vial]:
    return [v for v in list_vials(db=db, actor=actor) if _vial_problem(v, product, at, units) is None]


# --- treatments --------------------------------------------------------------------------------
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
    patient = _patient(db, patient_id, actor)
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
    problem = _vial_problem(vial, plan.product, at, plan.total_units)
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
        review, result = _review(db, patient, _stored_plan(plan, vial), at, acks)
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
    return _patient_rows(
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


# --- appointments ------------------------------------------------------------------------------
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
    _patient(db, data.patient_id, actor)
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
    try:
        with db.begin_nested():
            db.add(row)
            db.flush()
            for k in range(data.minutes // slot):
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
    audit(db, actor, "create", "appointment", row.id, data.patient_id, f"{data.kind} {start.isoformat()}")
    return row


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
        _patient(db, patient_id, actor)
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


# --- aftercare and adverse events --------------------------------------------------------------
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
    patient = _patient(db, patient_id, actor)
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
    return _patient_rows(
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
    _patient(db, row.patient_id, actor)
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
    patient = _patient(db, patient_id, actor)
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
    return _patient_rows(
        db=db,
        patient_id=patient_id,
        actor=actor,
        entity="adverse_event",
        query=select(m.AdverseEvent).order_by(m.AdverseEvent.id),
        patient_column=m.AdverseEvent.patient_id,
    )


# --- the whole record --------------------------------------------------------------------------
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
