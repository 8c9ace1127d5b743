"""The JSON API under ``/api/``: parse, call one repository function, commit, format."""

from __future__ import annotations

import datetime as dt
import json
import time
import unicodedata
from typing import Annotated, Any, Literal

from fastapi import Body, File, Form, HTTPException, Query, Request, Response, UploadFile
from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from sqlalchemy import select

from rhytid.clinic import vial_use_by
from rhytid.interop import appointments_calendar, patient_bundle
from rhytid.store import _inventory as inv
from rhytid.store import _messages as msg
from rhytid.store import _planner as planner
from rhytid.store import accounts, links, repo, review, schedule, sessions
from rhytid.store import models as m
from rhytid.store import schemas as s
from rhytid.store._clinical import anatomy
from rhytid.store._inventory import LotRecallPublic, lot_recall
from rhytid.store._models import utcnow
from rhytid.store._schemas import _Out as Out
from rhytid.toxin import label_pattern
from rhytid.web._auth import (
    TOKEN_HOURS,
    AdminUser,
    AnyUser,
    ClinicalUser,
    Clinician,
    DbSession,
    actor_of,
    api_token,
    link_days,
    make_link,
    settings_of,
    sign_out,
)
from rhytid.web._face_chart import face_chart
from rhytid.web._record import PHOTO_VIEWS, check_view
from rhytid.web._routing import api_router


def _utc(value: dt.datetime | None) -> dt.datetime | None:
    """A query time as naive UTC (an offset converted, a naive time taken as UTC)."""
    if value is None or value.tzinfo is None:
        return value
    return value.astimezone(dt.UTC).replace(tzinfo=None)


router = api_router()


class TokenPublic(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int


class LinkCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    form: Literal["intake", "aftercare"]
    treatment_id: s.Id | None = None


class LinkPublic(BaseModel):
    id: int
    url: str
    form: str
    expires_in_days: float


class LinkStatus(Out):
    id: int
    patient_id: int
    form: str
    created_by: str
    created_at: dt.datetime
    expires_at: dt.datetime
    used_at: dt.datetime | None
    revoked_at: dt.datetime | None
    state: Literal["open", "used", "revoked", "expired"]

    @classmethod
    def of(cls, row: m.PatientLink) -> LinkStatus:
        state: Literal["open", "used", "revoked", "expired"] = (
            "revoked"
            if row.revoked_at
            else "used"
            if row.used_at
            else "expired"
            if row.expires_at <= utcnow()
            else "open"
        )
        return cls(
            id=row.id,
            patient_id=row.patient_id,
            form=row.form,
            created_by=row.created_by,
            created_at=row.created_at,
            expires_at=row.expires_at,
            used_at=row.used_at,
            revoked_at=row.revoked_at,
            state=state,
        )


#: The longest free text in answers or reports: the intake form's notes field (its maxlength).
MAX_TEXT = 5000
#: The largest answers or report as JSON (bytes); the full questionnaire is under 4 kB.
MAX_JSON_BYTES = 64 * 1024


def _bounded_json(value: dict[str, Any]) -> dict[str, Any]:
    def walk(v: Any, where: str) -> None:
        if isinstance(v, str) and len(v) > MAX_TEXT:
            raise ValueError(f"{where}: at most {MAX_TEXT} characters, got {len(v)}")
        if isinstance(v, dict):
            for k, x in v.items():
                walk(x, f"{where}.{k}" if where else str(k))
        if isinstance(v, list):
            for i, x in enumerate(v):
                walk(x, f"{where}[{i}]")

    walk(value, "")
    size = len(json.dumps(value))
    if size > MAX_JSON_BYTES:
        raise ValueError(f"at most {MAX_JSON_BYTES} bytes of JSON, got {size}")
    return value


BoundedJson = Annotated[dict[str, Any], AfterValidator(_bounded_json)]


class HistoryCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    answers: BoundedJson


class AftercareCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    treatment_id: s.Id | None = None
    report: BoundedJson


class CancelRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str | None = Field(default=None, max_length=500)


class AlertPublic(Out):
    id: int
    patient_id: int
    patient_name: str
    level: str
    created_at: dt.datetime


class AlertClose(BaseModel):
    note: str = Field(max_length=2000, description="what was done, e.g. 'called the patient; seen at A&E'")


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
def issue_token(request: Request, db: DbSession, user: AnyUser) -> TokenPublic:
    """A bearer token (12 h, never extended) for the user of the given HTTP Basic credentials or
    session; a bearer token cannot issue another (403)."""
    if request.headers.get("authorization", "").lower().startswith("bearer "):
        raise HTTPException(403, detail="credentials: a bearer token cannot renew itself; use HTTP Basic")
    token = api_token(request, user, db)
    used = getattr(request.state, "second_factor_used", None)
    detail = "api token" + (f"; second factor: {used}" if used else "")
    repo.audit(db, actor_of(user), "signin", "user", user.id, None, detail)
    db.commit()
    return TokenPublic(access_token=token, expires_in=TOKEN_HOURS * 3600)


@router.post("/auth/signout", status_code=204, tags=["auth"])
def api_sign_out(request: Request, db: DbSession, user: AnyUser) -> Response:
    """Revoke the credential of this request (the session cookie or bearer token)."""
    response = Response(status_code=204)
    sign_out(request, response, db)
    repo.audit(db, actor_of(user), "signout", "user", user.id, None)
    db.commit()
    return response


@router.post("/me/password", status_code=204, tags=["auth"])
def change_password(db: DbSession, user: AnyUser, data: s.PasswordChange) -> Response:
    """Change one's own password (the current one is required); every session and token ends."""
    accounts.change_password(
        db=db, user_id=user.id, current=data.current_password, new=data.new_password, actor=actor_of(user)
    )
    db.commit()
    return Response(status_code=204)


@router.post("/users/{user_id}/password", status_code=204, tags=["users"])
def reset_password(db: DbSession, user: AdminUser, user_id: int, data: s.PasswordReset) -> Response:
    """An admin sets a user's password; that user's sessions and tokens end."""
    accounts.change_password(
        db=db, user_id=user_id, current=None, new=data.new_password, actor=actor_of(user)
    )
    db.commit()
    return Response(status_code=204)


@router.post("/users/{user_id}/sessions/revoke", tags=["users"])
def revoke_sessions(db: DbSession, user: AdminUser, user_id: int) -> dict[str, int]:
    """End every session and token of a user of the clinic; how many were live."""
    target = accounts.get_user(db=db, user_id=user_id, actor=actor_of(user))
    count = sessions.revoke_user_sessions(db=db, user_id=target.id)
    repo.audit(db, actor_of(user), "revoke", "auth_session", target.id, None, f"{count} sessions")
    db.commit()
    return {"revoked": count}


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
    since: s.Day | None = None,
    until: s.Day | None = None,
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
    """A single-use, expiring link that opens only this patient's intake or aftercare form."""
    repo.get_patient(db=db, patient_id=patient_id, actor=actor_of(user))
    token, link_id = make_link(
        request,
        db,
        patient_id=patient_id,
        form=data.form,
        treatment_id=data.treatment_id,
        actor=actor_of(user),
    )
    db.commit()
    return LinkPublic(
        id=link_id,
        url=str(request.base_url).rstrip("/") + f"/p/{data.form}/{token}",
        form=data.form,
        expires_in_days=link_days(request, data.form),
    )


@router.get("/patients/{patient_id}/links", response_model=list[LinkStatus], tags=["patients"])
def list_links(db: DbSession, user: AnyUser, patient_id: int) -> Any:
    """The patient's links and whether each is open, used, revoked or expired (never the token)."""
    rows = links.list_links(db=db, patient_id=patient_id, actor=actor_of(user))
    db.commit()
    return [LinkStatus.of(r) for r in rows]


@router.post("/links/{link_id}/revoke", response_model=LinkStatus, tags=["patients"])
def revoke_link(db: DbSession, user: AnyUser, link_id: int) -> Any:
    """Withdraw a link: it no longer opens its form."""
    row = links.revoke_link(db=db, link_id=link_id, actor=actor_of(user))
    db.commit()
    return LinkStatus.of(row)


@router.get(
    "/patients/{patient_id}/fhir",
    tags=["export"],
    response_class=Response,
    responses={
        200: {
            "description": "A FHIR R5 Bundle of type collection",
            "content": {"application/fhir+json": {"schema": {"type": "object"}}},
        }
    },
)
def export_fhir(db: DbSession, user: ClinicalUser, patient_id: int) -> Response:
    """The patient's record as a FHIR R5 collection Bundle."""
    record = repo.patient_record(db=db, patient_id=patient_id, actor=actor_of(user))
    body = patient_bundle(record)  # built first: an export that fails is not logged as done
    repo.audit(db, actor_of(user), "export", "patient", patient_id, patient_id, "fhir")
    db.commit()
    return Response(
        body,
        media_type="application/fhir+json",
        headers={"Content-Disposition": f'attachment; filename="{fhir_filename(record["patient"])}"'},
    )


def fhir_filename(patient: Any) -> str:
    """``patient-12-garcia-lopez-2026-12-02.fhir.json``: the id, the family name in plain ASCII
    letters and today's date, so that a download folder sorts and tells the files apart."""
    ascii_name = unicodedata.normalize("NFKD", str(patient.family_name)).encode("ascii", "ignore").decode()
    slug = "-".join("".join(c if c.isalnum() else " " for c in ascii_name.lower()).split())[:40]
    return f"patient-{patient.id}{'-' + slug if slug else ''}-{utcnow().date().isoformat()}.fhir.json"


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
    "/patients/{patient_id}/histories/{history_id}/confirm", response_model=s.HistoryPublic, tags=["clinical"]
)
def confirm_history(db: DbSession, user: Clinician, patient_id: int, history_id: int) -> Any:
    """Bring a proposed history (one that clears a recorded finding) into force."""
    row = review.confirm_history(db=db, patient_id=patient_id, history_id=history_id, actor=actor_of(user))
    db.commit()
    return _history_public(row)


@router.post(
    "/patients/{patient_id}/histories/{history_id}/reject", response_model=s.HistoryPublic, tags=["clinical"]
)
def reject_history(db: DbSession, user: Clinician, patient_id: int, history_id: int) -> Any:
    """Keep a proposed history out of force; the history in force stays as it is."""
    row = review.reject_history(db=db, patient_id=patient_id, history_id=history_id, actor=actor_of(user))
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
    request: Request,
    db: DbSession,
    user: Clinician,
    assessment_id: int,
    file: Annotated[UploadFile, File()],
    view: Annotated[str, Form(description="standard view: " + ", ".join(PHOTO_VIEWS))] = "",
) -> Any:
    checked = check_view(view, "view")
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
    row.view = checked
    db.commit()
    return row


@router.get("/anatomy", tags=["planning"])
def face(user: AnyUser, sex: Literal["female", "male"] = "female") -> dict[str, Any]:
    """The reference face for the planner: landmarks, sites, muscles, areas, danger-zone cells and
    ``chart``, the face's illustration with its danger zones and site labels (SVG paths, mm)."""
    return {**anatomy(sex), "chart": face_chart(sex)}


@router.get("/label-pattern", tags=["planning"])
def pattern(
    user: AnyUser,
    area: Literal["glabellar", "forehead", "lateral_canthal"] = "glabellar",
    product: str = "onabotulinumtoxinA",
) -> dict[str, float]:
    """Units per named site of the product's label pattern for an area."""
    return label_pattern(area, product)


@router.post("/patients/{patient_id}/preview", tags=["planning"])
def preview(
    db: DbSession, user: ClinicalUser, patient_id: int, data: s.PlanCreate, response: Response
) -> dict[str, Any]:
    """The model's prediction for a plan on this patient over the timeline: grades from the
    patient's latest assessment, blocks, brow and lid, risks, the review, one message per point.
    ``Server-Timing`` says how long the server took (ms)."""
    started = time.perf_counter()
    result = planner.planner_preview(db=db, patient_id=patient_id, data=data, actor=actor_of(user))
    db.commit()
    response.headers["Server-Timing"] = f"preview;dur={(time.perf_counter() - started) * 1000:.1f}"
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


@router.post("/patients/{patient_id}/plans/{plan_id}/ready", response_model=s.PlanPublic, tags=["planning"])
def mark_plan_ready(db: DbSession, user: Clinician, patient_id: int, plan_id: int) -> Any:
    """Review a draft plan again on today's record and make it ready (422 while a finding blocks)."""
    row = repo.mark_plan_ready(db=db, patient_id=patient_id, plan_id=plan_id, actor=actor_of(user))
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


def _vial_public(row: Any, now: dt.datetime) -> s.VialPublic:
    out = s.VialPublic.model_validate(row)
    out.use_by = vial_use_by(row.product, row.reconstituted_at)
    out.flags = repo.vial_flags(row, now)
    return out


@router.get("/vials", response_model=list[s.VialPublic], tags=["inventory"])
def vials(db: DbSession, user: ClinicalUser) -> Any:
    """The inventory; ``flags`` says why a vial may not be used now (expired, past its use-by time)."""
    now = utcnow()
    return [_vial_public(v, now) for v in repo.list_vials(db=db, actor=actor_of(user))]


@router.get("/recall", response_model=list[LotRecallPublic], tags=["inventory"])
def recall(db: DbSession, user: ClinicalUser, lot: Annotated[str, Query(min_length=1, max_length=60)]) -> Any:
    """Which patients received lot ``lot`` (toxin or filler), when and how much (audited per patient)."""
    rows = lot_recall(db=db, lot=lot, actor=actor_of(user))
    db.commit()
    return rows


@router.post("/vials", response_model=s.VialPublic, status_code=201, tags=["inventory"])
def create_vial(db: DbSession, user: ClinicalUser, data: s.VialCreate) -> Any:
    row = repo.create_vial(db=db, data=data, actor=actor_of(user))
    db.commit()
    return _vial_public(row, utcnow())


@router.get("/syringes", response_model=list[inv.SyringePublic], tags=["inventory"])
def syringes(db: DbSession, user: ClinicalUser) -> Any:
    """Hyaluronic-acid filler syringes of the inventory."""
    return inv.list_syringes(db=db, actor=actor_of(user))


@router.post("/syringes", response_model=inv.SyringePublic, status_code=201, tags=["inventory"])
def create_syringe(db: DbSession, user: ClinicalUser, data: inv.SyringeCreate) -> Any:
    row = inv.create_syringe(db=db, data=data, actor=actor_of(user))
    db.commit()
    return row


@router.get(
    "/patients/{patient_id}/filler-treatments",
    response_model=list[inv.FillerTreatmentPublic],
    tags=["clinical"],
)
def filler_treatments(db: DbSession, user: ClinicalUser, patient_id: int) -> Any:
    rows = inv.list_filler_treatments(db=db, patient_id=patient_id, actor=actor_of(user))
    db.commit()
    return rows


@router.post(
    "/patients/{patient_id}/filler-treatments",
    response_model=inv.FillerTreatmentPublic,
    status_code=201,
    tags=["clinical"],
)
def create_filler_treatment(
    db: DbSession, user: Clinician, patient_id: int, data: inv.FillerTreatmentCreate
) -> Any:
    """Record a hyaluronic-acid filler treatment from a syringe of the inventory."""
    row = inv.create_filler_treatment(db=db, patient_id=patient_id, data=data, actor=actor_of(user))
    db.commit()
    db.refresh(row)
    return row


@router.get("/patients/{patient_id}/aftercare", response_model=list[s.AftercarePublic], tags=["aftercare"])
def aftercare(db: DbSession, user: ClinicalUser, patient_id: int) -> Any:
    rows = repo.list_aftercare(db=db, patient_id=patient_id, actor=actor_of(user))
    db.commit()
    return rows


@router.post(
    "/patients/{patient_id}/aftercare", response_model=s.AftercarePublic, status_code=201, tags=["aftercare"]
)
def submit_aftercare(
    request: Request, db: DbSession, user: ClinicalUser, patient_id: int, data: AftercareCreate
) -> Any:
    """A report taken by the clinic (e.g. on the phone); triaged like the patient's own."""
    from rhytid.web._clinic_messages import delivery_for, wake

    row = repo.submit_aftercare(
        db=db,
        patient_id=patient_id,
        treatment_id=data.treatment_id,
        report=data.report,
        actor=actor_of(user),
        delivery=delivery_for(request),
    )
    db.commit()
    wake(request)
    return row


@router.get("/alerts", response_model=list[AlertPublic], tags=["aftercare"])
def alerts(db: DbSession, user: AnyUser) -> list[AlertPublic]:
    """Open aftercare alerts (level and patient only; the symptoms are clinical)."""
    shown = repo.open_alerts(db=db, actor=actor_of(user))
    db.commit()  # the audit rows of the patients listed
    return [
        AlertPublic(
            id=r.id,
            patient_id=p.id,
            patient_name=f"{p.given_name} {p.family_name}",
            level=r.level,
            created_at=r.created_at,
        )
        for r, p in shown
    ]


@router.post("/alerts/{report_id}/close", response_model=s.AftercarePublic, tags=["aftercare"])
def close_alert(db: DbSession, user: ClinicalUser, report_id: int, data: AlertClose) -> Any:
    """Close an alert with a note of what was done (``note``, required)."""
    row = repo.close_alert(db=db, report_id=report_id, note=data.note, actor=actor_of(user))
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
    start: s.Moment | None = None,
    end: s.Moment | None = None,
    patient_id: int | None = None,
) -> Any:
    rows = repo.list_appointments(
        db=db, actor=actor_of(user), start=_utc(start), end=_utc(end), patient_id=patient_id
    )
    db.commit()
    return rows


@router.get(
    "/appointments.ics",
    tags=["export"],
    response_class=Response,
    responses={
        200: {
            "description": "An iCalendar file (RFC 5545)",
            "content": {"text/calendar": {"schema": {"type": "string"}}},
        }
    },
)
def appointments_ics(
    db: DbSession, user: AnyUser, start: s.Moment | None = None, end: s.Moment | None = None
) -> Response:
    """The clinic's appointments as an iCalendar file (patients' initials only)."""
    rows = repo.list_appointments(
        db=db, actor=actor_of(user), start=_utc(start), end=_utc(end), include_cancelled=True
    )
    names = {
        r.patient_id: repo.get_patient(db=db, patient_id=r.patient_id, actor=actor_of(user)) for r in rows
    }
    clinic = db.get(m.Clinic, user.clinic_id)
    address = msg.clinic_contact(db, user.clinic_id).address
    place = ", ".join(p for p in (clinic.name if clinic else None, address) if p)
    staff = {
        u.id: (u.name, u.email) for u in db.scalars(select(m.User).where(m.User.clinic_id == user.clinic_id))
    }
    body = appointments_calendar(
        rows,
        {k: v.given_name[:1] + v.family_name[:1] for k, v in names.items()},
        location=place or None,
        clinicians=staff,
        time_zone=clinic.time_zone if clinic else "UTC",
    )
    repo.audit(db, actor_of(user), "export", "appointment", None, None, f"ics: {len(rows)} appointments")
    db.commit()  # after the calendar was built: a failed export is not logged as done
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
def cancel(
    db: DbSession, user: AnyUser, appointment_id: int, data: Annotated[CancelRequest | None, Body()] = None
) -> Any:
    """Cancel a booked appointment; the body gives the reason (required)."""
    row = schedule.set_status(
        db=db,
        appointment_id=appointment_id,
        status="cancelled",
        reason=data.reason if data else None,
        actor=actor_of(user),
    )
    db.commit()
    return row


@router.get("/follow-ups", response_model=list[FollowUpDue], tags=["appointments"])
def follow_ups(
    db: DbSession, user: AnyUser, days: Annotated[int, Query(ge=0, le=365)] = 7
) -> list[FollowUpDue]:
    due = repo.due_follow_ups(db=db, actor=actor_of(user), today=dt.date.today(), horizon_days=days)
    db.commit()  # the audit rows of the patients listed
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
