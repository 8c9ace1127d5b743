"""The JSON API under ``/api/``: parse, call one repository function, commit, format."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, HTTPException, Query, Request, Response, UploadFile
from pydantic import BaseModel, ConfigDict

from rhytid.interop import appointments_calendar, patient_bundle
from rhytid.store import repo
from rhytid.store import schemas as s
from rhytid.store._clinical import anatomy
from rhytid.toxin import label_pattern
from rhytid.web._auth import (
    AdminUser,
    AnyUser,
    ClinicalUser,
    Clinician,
    DbSession,
    actor_of,
    api_token,
    make_link,
    settings_of,
)

router = APIRouter(prefix="/api")


class TokenPublic(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int


class LinkCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    form: Literal["intake", "aftercare"]
    treatment_id: int | None = None


class LinkPublic(BaseModel):
    url: str
    form: str
    expires_in_days: float


class HistoryCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    answers: dict[str, Any]


class AftercareCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    treatment_id: int | None = None
    report: dict[str, Any]


class AlertPublic(BaseModel):
    id: int
    patient_id: int
    patient_name: str
    level: str
    created_at: dt.datetime


class FollowUpDue(BaseModel):
    kind: str
    due: dt.date
    patient_id: int
    patient_name: str
    treatment_id: int


def _history_public(row: Any) -> s.HistoryPublic:
    out = s.HistoryPublic.model_validate(row)
    done = {c for a in row.acknowledgements for c in a["codes"]}
    out.unacknowledged = [
        f["code"]
        for f in row.screening["findings"]
        if f["severity"] == "precaution" and f["code"] not in done
    ]
    return out


def _treatment_public(row: Any) -> s.TreatmentPublic:
    out = s.TreatmentPublic.model_validate(row)
    out.follow_up = repo.treatment_follow_up(row).to_dict()
    return out


# --- auth and users ----------------------------------------------------------------------------
@router.post("/auth/token", response_model=TokenPublic, tags=["auth"])
def issue_token(request: Request, user: AnyUser) -> TokenPublic:
    """A bearer token (12 h) for the user of the given HTTP Basic credentials or session."""
    return TokenPublic(access_token=api_token(request, user), expires_in=12 * 3600)


@router.get("/me", response_model=s.UserPublic, tags=["auth"])
def me(user: AnyUser) -> Any:
    return user


@router.get("/users", response_model=list[s.UserPublic], tags=["users"])
def list_users(db: DbSession, user: AdminUser) -> Any:
    return repo.list_users(db=db, actor=actor_of(user))


@router.post("/users", response_model=s.UserPublic, status_code=201, tags=["users"])
def create_user(db: DbSession, user: AdminUser, data: s.UserCreate) -> Any:
    row = repo.create_user(db=db, clinic_id=user.clinic_id, data=data, actor=actor_of(user))
    db.commit()
    return row


@router.patch("/users/{user_id}", response_model=s.UserPublic, tags=["users"])
def update_user(db: DbSession, user: AdminUser, user_id: int, data: s.UserUpdate) -> Any:
    row = repo.update_user(db=db, user_id=user_id, data=data, actor=actor_of(user))
    db.commit()
    return row


@router.get("/audit", response_model=list[s.AuditPublic], tags=["users"])
def audit_log(
    db: DbSession,
    user: AdminUser,
    patient_id: int | None = None,
    user_id: int | None = None,
    since: dt.date | None = None,
    until: dt.date | None = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 500,
) -> Any:
    return repo.list_audit(
        db=db,
        actor=actor_of(user),
        patient_id=patient_id,
        user_id=user_id,
        since=since,
        until=until,
        limit=limit,
    )


# --- patients ----------------------------------------------------------------------------------
@router.get("/patients", response_model=list[s.PatientPublic], tags=["patients"])
def search_patients(db: DbSession, user: AnyUser, q: Annotated[str, Query(max_length=100)] = "") -> Any:
    rows = repo.search_patients(db=db, query=q, actor=actor_of(user))
    db.commit()
    return rows


@router.post("/patients", response_model=s.PatientPublic, status_code=201, tags=["patients"])
def create_patient(db: DbSession, user: AnyUser, data: s.PatientCreate) -> Any:
    if data.clinical_notes is not None and user.role == "front_desk":
        raise HTTPException(403, detail="clinical_notes: the front desk cannot write clinical notes")
    row = repo.create_patient(db=db, data=data, actor=actor_of(user))
    db.commit()
    return row


@router.get("/patients/{patient_id}", response_model=s.PatientClinical | s.PatientPublic, tags=["patients"])
def read_patient(db: DbSession, user: AnyUser, patient_id: int) -> Any:
    clinical = user.role != "front_desk"
    row = repo.get_patient(db=db, patient_id=patient_id, actor=actor_of(user), clinical=clinical)
    db.commit()
    return s.PatientClinical.model_validate(row) if clinical else s.PatientPublic.model_validate(row)


@router.patch("/patients/{patient_id}", response_model=s.PatientPublic, tags=["patients"])
def update_patient(db: DbSession, user: AnyUser, patient_id: int, data: s.PatientUpdate) -> Any:
    if "clinical_notes" in data.model_fields_set and user.role == "front_desk":
        raise HTTPException(403, detail="clinical_notes: the front desk cannot write clinical notes")
    row = repo.update_patient(db=db, patient_id=patient_id, data=data, actor=actor_of(user))
    db.commit()
    return row


@router.post("/patients/{patient_id}/links", response_model=LinkPublic, status_code=201, tags=["patients"])
def create_link(
    request: Request, db: DbSession, user: AnyUser, patient_id: int, data: LinkCreate
) -> LinkPublic:
    """A signed, expiring link that opens only this patient's intake or aftercare form."""
    repo.get_patient(db=db, patient_id=patient_id, actor=actor_of(user))
    token = make_link(request, patient_id=patient_id, form=data.form, treatment_id=data.treatment_id)
    repo.audit(db, actor_of(user), "create", "patient_link", None, patient_id, data.form)
    db.commit()
    days = (
        settings_of(request).intake_link_days
        if data.form == "intake"
        else settings_of(request).aftercare_link_days
    )
    return LinkPublic(
        url=str(request.base_url).rstrip("/") + f"/p/{data.form}/{token}",
        form=data.form,
        expires_in_days=days,
    )


@router.get("/patients/{patient_id}/fhir", tags=["export"])
def export_fhir(db: DbSession, user: ClinicalUser, patient_id: int) -> Response:
    """The patient's record as a FHIR R4 collection Bundle."""
    record = repo.patient_record(db=db, patient_id=patient_id, actor=actor_of(user))
    repo.audit(db, actor_of(user), "export", "patient", patient_id, patient_id, "fhir")
    db.commit()
    return Response(patient_bundle(record), media_type="application/fhir+json")


# --- clinical ----------------------------------------------------------------------------------
@router.get("/patients/{patient_id}/histories", response_model=list[s.HistoryPublic], tags=["clinical"])
def histories(db: DbSession, user: ClinicalUser, patient_id: int) -> Any:
    rows = repo.list_histories(db=db, patient_id=patient_id, actor=actor_of(user))
    db.commit()
    return [_history_public(r) for r in rows]


@router.post(
    "/patients/{patient_id}/histories", response_model=s.HistoryPublic, status_code=201, tags=["clinical"]
)
def submit_history(db: DbSession, user: ClinicalUser, patient_id: int, data: HistoryCreate) -> Any:
    row = repo.submit_history(db=db, patient_id=patient_id, answers=data.answers, actor=actor_of(user))
    db.commit()
    return _history_public(row)


@router.post(
    "/patients/{patient_id}/screening/acknowledge", response_model=s.HistoryPublic, tags=["clinical"]
)
def acknowledge(db: DbSession, user: Clinician, patient_id: int, data: s.AcknowledgeRequest) -> Any:
    row = repo.acknowledge_precautions(db=db, patient_id=patient_id, codes=data.codes, actor=actor_of(user))
    db.commit()
    return _history_public(row)


@router.get("/patients/{patient_id}/assessments", response_model=list[s.AssessmentPublic], tags=["clinical"])
def assessments(db: DbSession, user: ClinicalUser, patient_id: int) -> Any:
    rows = repo.list_assessments(db=db, patient_id=patient_id, actor=actor_of(user))
    db.commit()
    return rows


@router.post(
    "/patients/{patient_id}/assessments",
    response_model=s.AssessmentPublic,
    status_code=201,
    tags=["clinical"],
)
def create_assessment(db: DbSession, user: Clinician, patient_id: int, data: s.AssessmentCreate) -> Any:
    row = repo.create_assessment(db=db, patient_id=patient_id, data=data, actor=actor_of(user))
    db.commit()
    db.refresh(row)
    return s.AssessmentPublic(
        id=row.id,
        patient_id=row.patient_id,
        assessed_on=row.assessed_on,
        grades=row.grades,
        notes=row.notes,
        photos=[],
    )


@router.post(
    "/assessments/{assessment_id}/photos", response_model=s.PhotoPublic, status_code=201, tags=["clinical"]
)
def upload_photo(
    request: Request, db: DbSession, user: Clinician, assessment_id: int, file: Annotated[UploadFile, File()]
) -> Any:
    content = file.file.read(repo.MAX_PHOTO_BYTES + 1)
    row = repo.add_photo(
        db=db,
        assessment_id=assessment_id,
        filename=file.filename or "photo",
        content_type=file.content_type or "",
        content=content,
        folder=settings_of(request).photo_dir,
        actor=actor_of(user),
    )
    db.commit()
    return row


@router.get("/anatomy", tags=["planning"])
def face(user: AnyUser, sex: Literal["female", "male"] = "female") -> dict[str, Any]:
    """The reference face for the planner: landmarks, sites, muscles, areas and danger-zone cells."""
    return anatomy(sex)


@router.get("/label-pattern", tags=["planning"])
def pattern(
    user: AnyUser,
    area: Literal["glabellar", "forehead", "lateral_canthal"] = "glabellar",
    product: str = "onabotulinumtoxinA",
) -> dict[str, float]:
    """Units per named site of the product's label pattern for an area."""
    return label_pattern(area, product)


@router.post("/patients/{patient_id}/preview", tags=["planning"])
def preview(db: DbSession, user: ClinicalUser, patient_id: int, data: s.PlanCreate) -> dict[str, Any]:
    """The model's prediction for a plan on this patient: day-30 grades, blocks, risks, checks, field."""
    result = repo.plan_preview(db=db, patient_id=patient_id, data=data, actor=actor_of(user))
    db.commit()
    return result


@router.get("/patients/{patient_id}/plans", response_model=list[s.PlanPublic], tags=["planning"])
def plans(db: DbSession, user: ClinicalUser, patient_id: int) -> Any:
    rows = repo.list_plans(db=db, patient_id=patient_id, actor=actor_of(user))
    db.commit()
    return rows


@router.post("/patients/{patient_id}/plans", response_model=s.PlanPublic, status_code=201, tags=["planning"])
def create_plan(db: DbSession, user: Clinician, patient_id: int, data: s.PlanCreate) -> Any:
    row = repo.create_plan(db=db, patient_id=patient_id, data=data, actor=actor_of(user))
    db.commit()
    return row


@router.get("/patients/{patient_id}/treatments", response_model=list[s.TreatmentPublic], tags=["clinical"])
def treatments(db: DbSession, user: ClinicalUser, patient_id: int) -> Any:
    rows = repo.list_treatments(db=db, patient_id=patient_id, actor=actor_of(user))
    db.commit()
    return [_treatment_public(r) for r in rows]


@router.post(
    "/patients/{patient_id}/treatments", response_model=s.TreatmentPublic, status_code=201, tags=["clinical"]
)
def create_treatment(db: DbSession, user: Clinician, patient_id: int, data: s.TreatmentCreate) -> Any:
    row = repo.create_treatment(db=db, patient_id=patient_id, data=data, actor=actor_of(user))
    db.commit()
    return _treatment_public(row)


@router.get("/vials", response_model=list[s.VialPublic], tags=["inventory"])
def vials(db: DbSession, user: ClinicalUser) -> Any:
    return repo.list_vials(db=db, actor=actor_of(user))


@router.post("/vials", response_model=s.VialPublic, status_code=201, tags=["inventory"])
def create_vial(db: DbSession, user: ClinicalUser, data: s.VialCreate) -> Any:
    row = repo.create_vial(db=db, data=data, actor=actor_of(user))
    db.commit()
    return row


@router.get("/patients/{patient_id}/aftercare", response_model=list[s.AftercarePublic], tags=["aftercare"])
def aftercare(db: DbSession, user: ClinicalUser, patient_id: int) -> Any:
    rows = repo.list_aftercare(db=db, patient_id=patient_id, actor=actor_of(user))
    db.commit()
    return rows


@router.post(
    "/patients/{patient_id}/aftercare", response_model=s.AftercarePublic, status_code=201, tags=["aftercare"]
)
def submit_aftercare(db: DbSession, user: ClinicalUser, patient_id: int, data: AftercareCreate) -> Any:
    """A report taken by the clinic (e.g. on the phone); triaged like the patient's own."""
    row = repo.submit_aftercare(
        db=db, patient_id=patient_id, treatment_id=data.treatment_id, report=data.report, actor=actor_of(user)
    )
    db.commit()
    return row


@router.get("/alerts", response_model=list[AlertPublic], tags=["aftercare"])
def alerts(db: DbSession, user: AnyUser) -> list[AlertPublic]:
    """Open aftercare alerts (level and patient only; the symptoms are clinical)."""
    return [
        AlertPublic(
            id=r.id,
            patient_id=p.id,
            patient_name=f"{p.given_name} {p.family_name}",
            level=r.level,
            created_at=r.created_at,
        )
        for r, p in repo.open_alerts(db=db, actor=actor_of(user))
    ]


@router.post("/alerts/{report_id}/close", response_model=s.AftercarePublic, tags=["aftercare"])
def close_alert(db: DbSession, user: ClinicalUser, report_id: int) -> Any:
    row = repo.close_alert(db=db, report_id=report_id, actor=actor_of(user))
    db.commit()
    return row


@router.get(
    "/patients/{patient_id}/adverse-events", response_model=list[s.AdverseEventPublic], tags=["clinical"]
)
def adverse_events(db: DbSession, user: ClinicalUser, patient_id: int) -> Any:
    rows = repo.list_adverse_events(db=db, patient_id=patient_id, actor=actor_of(user))
    db.commit()
    return rows


@router.post(
    "/patients/{patient_id}/adverse-events",
    response_model=s.AdverseEventPublic,
    status_code=201,
    tags=["clinical"],
)
def create_adverse_event(db: DbSession, user: Clinician, patient_id: int, data: s.AdverseEventCreate) -> Any:
    row = repo.create_adverse_event(db=db, patient_id=patient_id, data=data, actor=actor_of(user))
    db.commit()
    return row


# --- appointments ------------------------------------------------------------------------------
@router.get("/appointments", response_model=list[s.AppointmentPublic], tags=["appointments"])
def appointments(
    db: DbSession,
    user: AnyUser,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
    patient_id: int | None = None,
) -> Any:
    rows = repo.list_appointments(db=db, actor=actor_of(user), start=start, end=end, patient_id=patient_id)
    db.commit()
    return rows


@router.get("/appointments.ics", tags=["export"])
def appointments_ics(
    db: DbSession, user: AnyUser, start: dt.datetime | None = None, end: dt.datetime | None = None
) -> Response:
    """The clinic's appointments as an iCalendar file (patients' initials only)."""
    rows = repo.list_appointments(db=db, actor=actor_of(user), start=start, end=end)
    names = {
        r.patient_id: repo.get_patient(db=db, patient_id=r.patient_id, actor=actor_of(user)) for r in rows
    }
    db.commit()
    body = appointments_calendar(rows, {k: v.given_name[:1] + v.family_name[:1] for k, v in names.items()})
    return Response(
        body,
        media_type="text/calendar",
        headers={"Content-Disposition": 'attachment; filename="appointments.ics"'},
    )


@router.post("/appointments", response_model=s.AppointmentPublic, status_code=201, tags=["appointments"])
def book(db: DbSession, user: AnyUser, data: s.AppointmentCreate) -> Any:
    row = repo.book_appointment(db=db, data=data, actor=actor_of(user))
    db.commit()
    return row


@router.post(
    "/appointments/{appointment_id}/cancel", response_model=s.AppointmentPublic, tags=["appointments"]
)
def cancel(db: DbSession, user: AnyUser, appointment_id: int) -> Any:
    row = repo.cancel_appointment(db=db, appointment_id=appointment_id, actor=actor_of(user))
    db.commit()
    return row


@router.get("/follow-ups", response_model=list[FollowUpDue], tags=["appointments"])
def follow_ups(
    db: DbSession, user: AnyUser, days: Annotated[int, Query(ge=0, le=365)] = 7
) -> list[FollowUpDue]:
    due = repo.due_follow_ups(db=db, actor=actor_of(user), today=dt.date.today(), horizon_days=days)
    return [
        FollowUpDue(
            kind=d["kind"],
            due=d["due"],
            patient_id=d["patient"].id,
            patient_name=f"{d['patient'].given_name} {d['patient'].family_name}",
            treatment_id=d["treatment_id"],
        )
        for d in due
    ]
