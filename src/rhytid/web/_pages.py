"""Server-rendered pages (Jinja2). Forms post a CSRF token; patients reach only ``/p/`` links."""

from __future__ import annotations

import datetime as dt
import hmac
import secrets
from pathlib import Path
from typing import Any, get_args

from fastapi import HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from jinja2 import pass_context
from pydantic import ValidationError
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from starlette.datastructures import FormData, UploadFile

from rhytid.clinic import PRODUCTS, Review, vial_use_by
from rhytid.clinic._triage import symptom_codes
from rhytid.errors import RhytidError
from rhytid.store import Actor, ConflictError, NotFoundError, StoreError, links, repo, review, schedule
from rhytid.store import _consent as consent_store
from rhytid.store import _inventory as inv
from rhytid.store import models as m
from rhytid.store import schemas as s
from rhytid.store._models import utcnow
from rhytid.store._safety import DilutionChange, DilutionNotConfirmed, ReviewRefused
from rhytid.store._time import to_local, to_utc, zone
from rhytid.web._auth import (
    AccountLocked,
    AnyUser,
    ClinicalUser,
    Clinician,
    DbSession,
    PatientLink,
    actor_of,
    csrf_token,
    failed_sign_in,
    guard,
    has_staff_credentials,
    link_csrf,
    locked_response,
    make_link,
    read_link,
    settings_of,
    sign_in,
    sign_out,
)
from rhytid.web._forms import CsrfForm, RawForm
from rhytid.web._plot import grade_plot_svg
from rhytid.web._record import PHOTO_VIEWS, check_view, record_extras
from rhytid.web._routing import page_router
from rhytid.web._words import staff_words

router = page_router()
templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
templates.env.filters["label"] = lambda code: str(code).replace("_", " ")
templates.env.filters["words"] = staff_words  # an error message with its field in words
templates.env.globals["PRODUCTS"] = PRODUCTS
templates.env.globals["PHOTO_VIEWS"] = PHOTO_VIEWS

_PRE = "rhytid_pre"


def clinic_zone(request: Request) -> Any:
    """The ZoneInfo of the signed-in user's clinic (UTC for patient links and the sign-in page)."""
    return zone(getattr(request.state, "time_zone", None) or "UTC")


@pass_context
def _local(context: Any, value: dt.datetime | None, fmt: str = "%a %-d %b %Y %H:%M") -> str:
    """A stored (naive UTC) time as the clinic's wall-clock time."""
    return "" if value is None else to_local(value, context["tz"]).strftime(fmt)


templates.env.filters["local"] = _local


def _local_input(raw: str, request: Request, field: str) -> str:
    """A ``datetime-local`` form value (clinic wall clock) as an ISO UTC time for validation.

    Unparseable text is passed on unchanged so that validation names the field.
    """
    try:
        parsed = dt.datetime.fromisoformat(raw)
    except ValueError:
        return raw
    return to_utc(parsed, clinic_zone(request), field).isoformat()


def _local_day_bounds(request: Request, day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    tz = clinic_zone(request)
    start = dt.datetime.combine(day, dt.time())
    return to_utc(start, tz, "day"), to_utc(start + dt.timedelta(days=1), tz, "day")


def _local_today(request: Request) -> dt.date:
    return to_local(utcnow(), clinic_zone(request)).date()


def _render(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
    """A page; its error messages name their field in words (``Plan: …``, never ``plan_id: …``)."""
    user = getattr(request.state, "user", None)
    for key in ("error", "form_error", "message"):
        if isinstance(context.get(key), str):
            context[key] = staff_words(context[key])
    return templates.TemplateResponse(
        request,
        name,
        {
            "user": user,
            "csrf": csrf_token(request),
            "tz": clinic_zone(request),
            "clinic_name": getattr(request.state, "clinic_name", None),
            "clinic_logo": getattr(request.state, "clinic_logo", False),
            **context,
        },
        status_code=status,
    )


def error_page(request: Request, status: int, message: str) -> HTMLResponse:
    return _render(request, "error.html", status=status, status_code=status, message=message)


def _redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def _s(form: FormData, key: str) -> str:
    value = form.get(key)
    return value.strip() if isinstance(value, str) else ""


def _validation_message(exc: ValidationError) -> str:
    e = exc.errors()[0]
    field = ".".join(str(p) for p in e["loc"])
    return f"{field}: {str(e['msg']).removeprefix('Value error, ')}"


# --- sign-in -----------------------------------------------------------------------------------
@router.get("/signin", response_class=HTMLResponse)
def signin_page(request: Request, next: str = "/") -> HTMLResponse:
    pre = secrets.token_urlsafe(16)
    response = _render(request, "signin.html", next=next if next.startswith("/") else "/", pre=pre)
    response.set_cookie(_PRE, pre, httponly=True, samesite="strict", max_age=3600)
    return response


@router.post("/signin", response_class=HTMLResponse)
def signin(request: Request, db: DbSession, form: RawForm) -> Response:
    pre = request.cookies.get(_PRE, "")
    if not pre or not hmac.compare_digest(pre, str(form.get("pre") or "")):
        return error_page(request, 403, "csrf_token: the sign-in form expired; reload the page")
    email = _s(form, "email").lower()[:254]
    nxt = _s(form, "next")
    try:
        guard(request, db, email)
    except AccountLocked as exc:
        db.rollback()
        raise locked_response(request, exc) from None
    user = repo.authenticate(db=db, email=email, password=str(form.get("password") or ""))
    if user is None:
        db.rollback()
        failed_sign_in(request, email, "sign-in form")
        new = secrets.token_urlsafe(16)
        response: Response = _render(
            request, "signin.html", 401, error="email/password: not recognised", next=nxt, pre=new
        )
        response.set_cookie(_PRE, new, httponly=True, samesite="strict", max_age=3600)
        return response
    response = _redirect(nxt if nxt.startswith("/") and not nxt.startswith("//") else "/")
    sign_in(request, response, user, db)
    repo.audit(
        db,
        Actor(clinic_id=user.clinic_id, label=user.email, user_id=user.id),
        "signin",
        "user",
        user.id,
        None,
    )
    db.commit()
    response.delete_cookie(_PRE)
    return response


@router.post("/signout")
def signout(request: Request, db: DbSession, user: AnyUser, form: CsrfForm) -> Response:
    response = _redirect("/signin")
    sign_out(request, response, db)
    repo.audit(db, actor_of(user), "signout", "user", user.id, None)
    db.commit()
    return response


# --- today -------------------------------------------------------------------------------------
@router.get("/", response_class=HTMLResponse)
def today(request: Request, db: DbSession, user: AnyUser) -> HTMLResponse:
    actor = actor_of(user)
    start, end = _local_day_bounds(request, _local_today(request))
    appts = repo.list_appointments(db=db, actor=actor, start=start, end=end)
    patients = {a.patient_id: db.get(m.Patient, a.patient_id) for a in appts}
    due = repo.due_follow_ups(db=db, actor=actor, today=dt.date.today())
    alerts = repo.open_alerts(db=db, actor=actor)
    from rhytid.web._clinic_messages import today_status  # the outbox's state (alerts: _clinic_messages)

    messages = today_status(request, db, actor.clinic_id)
    db.commit()
    return _render(
        request,
        "today.html",
        appointments=appts,
        patients=patients,
        due=due,
        alerts=alerts,
        messages=messages,
    )


# --- patients ----------------------------------------------------------------------------------
@router.get("/patients", response_class=HTMLResponse)
def patients(request: Request, db: DbSession, user: AnyUser, q: str = "") -> HTMLResponse:
    rows = repo.search_patients(db=db, query=q[:100], actor=actor_of(user)) if q else []
    db.commit()
    return _render(request, "patients.html", q=q, rows=rows, values={})


@router.post("/patients", response_class=HTMLResponse)
def create_patient(request: Request, db: DbSession, user: AnyUser, form: CsrfForm) -> Response:
    values = {k: _s(form, k) for k in ("given_name", "family_name", "birth_date", "sex", "phone", "email")}
    try:
        data = s.PatientCreate.model_validate({k: v for k, v in values.items() if v})
        same = schedule.possible_duplicates(db=db, data=data, actor=actor_of(user))
        if same and _s(form, "confirm_new") != "yes":
            db.commit()  # the audited search only: nothing is registered until the user confirms
            return _render(request, "patients.html", 409, q="", rows=[], values=values, duplicates=same)
        row = repo.create_patient(db=db, data=data, actor=actor_of(user))
        db.commit()
    except ValidationError as exc:
        return _render(
            request, "patients.html", 422, q="", rows=[], values=values, error=_validation_message(exc)
        )
    return _redirect(f"/patients/{row.id}")


@router.get("/patients/{patient_id}", response_class=HTMLResponse)
def patient_page(request: Request, db: DbSession, user: AnyUser, patient_id: int) -> HTMLResponse:
    actor = actor_of(user)
    if user.role == "front_desk":
        patient = repo.get_patient(db=db, patient_id=patient_id, actor=actor)
        appts = repo.list_appointments(db=db, actor=actor, patient_id=patient_id)
        db.commit()
        return _render(
            request, "patient.html", patient=patient, appointments=appts, clinical=False, record=None
        )
    record = repo.patient_record(db=db, patient_id=patient_id, actor=actor)
    db.commit()
    timeline: list[tuple[dt.datetime, str, str]] = []
    for h in record["histories"]:
        timeline.append(
            (h.created_at, "history", f"Medical history v{h.version}: {h.decision.replace('_', ' ')}")
        )
    for t in record["treatments"]:
        timeline.append(
            (
                t.performed_at,
                "treatment",
                f"{t.total_units:g} U {t.product}, lot {t.lot} (exp. {t.expiry}) — {', '.join(t.areas)}",
            )
        )
    for r in record["aftercare"]:
        timeline.append(
            (r.created_at, f"aftercare {r.level}", f"Aftercare report: {r.level.replace('_', ' ')}")
        )
    for ae in record["adverse_events"]:
        timeline.append(
            (
                dt.datetime.combine(ae.onset_date, dt.time()),
                "adverse",
                f"Adverse event: {ae.kind} ({ae.severity})",
            )
        )
    for ap in record["appointments"]:
        timeline.append((ap.starts_at, "appointment", f"Appointment: {ap.kind}"))
    timeline.sort(key=lambda e: e[0], reverse=True)
    follow = {t.id: repo.treatment_follow_up(t) for t in record["treatments"]}
    return _render(
        request,
        "patient.html",
        patient=record["patient"],
        record=record,
        appointments=record["appointments"],
        clinical=True,
        timeline=timeline,
        follow=follow,
        plot=grade_plot_svg(record["assessments"]),
        **record_extras(db, record),
    )


@router.post("/patients/{patient_id}/links", response_class=HTMLResponse)
def create_link(
    request: Request, db: DbSession, user: AnyUser, patient_id: int, form: CsrfForm
) -> HTMLResponse:
    kind = _s(form, "form")
    if kind not in ("intake", "aftercare"):
        raise HTTPException(422, detail="form: must be intake or aftercare")
    treatment_id = int(_s(form, "treatment_id")) if _s(form, "treatment_id").isdigit() else None
    patient = repo.get_patient(db=db, patient_id=patient_id, actor=actor_of(user))
    token, _ = make_link(
        request, db, patient_id=patient_id, form=kind, treatment_id=treatment_id, actor=actor_of(user)
    )
    db.commit()
    url = str(request.base_url).rstrip("/") + f"/p/{kind}/{token}"
    return _render(request, "link.html", patient=patient, url=url, kind=kind)


# --- patient links (the intake form is in _intake) ----------------------------------------------
def _link_actor(patient: m.Patient) -> Actor:
    return Actor(clinic_id=patient.clinic_id, label=f"patient-link:{patient.id}", role="patient")


def _link_patient(db: Session, patient_id: int) -> m.Patient:
    patient = db.get(m.Patient, patient_id)
    if patient is None:
        raise HTTPException(404, detail="link: not a valid link")
    return patient


def open_link(request: Request, db: Session, token: str, form: str) -> tuple[PatientLink, m.Patient]:
    """The link's ``form`` opened by its patient (an audited read; 404/410 for a bad link)."""
    link = read_link(request, db, token, form)
    patient = _link_patient(db, link.patient_id)
    repo.audit(db, _link_actor(patient), "read", f"{form}_form", None, patient.id)
    db.commit()
    return link, patient


def link_submission(
    request: Request, db: Session, token: str, form: str, data: FormData, *, witnessed: bool = False
) -> tuple[PatientLink, m.Patient, FormData]:
    """The link, its patient and the submitted ``data``; the link is spent in ``db``'s transaction
    (undone if the caller rolls back). 403 without the link's CSRF token or with staff credentials:
    staff record answers under their own name, never as the patient. A ``witnessed`` form (a
    consent the patient signs on the clinic's tablet) may be sent from a staff member's device:
    the row records that staff member as its witness."""
    if has_staff_credentials(request) and not witnessed:
        raise HTTPException(
            403, detail="link: staff cannot submit a patient's form; record the answers under your own name"
        )
    link = read_link(request, db, token, form)
    if not hmac.compare_digest(str(data.get("csrf_token") or ""), link_csrf(request, token)):
        raise HTTPException(403, detail="csrf_token: missing or invalid; reload the page")
    links.spend_link(db=db, link_id=link.link_id)
    return link, _link_patient(db, link.patient_id), data


# --- screening ---------------------------------------------------------------------------------
@router.get("/patients/{patient_id}/screening", response_class=HTMLResponse)
def screening_page(request: Request, db: DbSession, user: ClinicalUser, patient_id: int) -> HTMLResponse:
    patient = repo.get_patient(db=db, patient_id=patient_id, actor=actor_of(user), clinical=True)
    history = repo.latest_history(db=db, patient_id=patient_id, actor=actor_of(user))
    proposals = review.pending(db=db, patient_id=patient_id, actor=actor_of(user))
    db.commit()
    done = {c for a in (history.acknowledgements if history else []) for c in a["codes"]}
    return _render(
        request, "screening.html", patient=patient, history=history, done=done, proposals=proposals
    )


@router.post("/patients/{patient_id}/histories/{history_id}/confirm")
def confirm_history(
    request: Request, db: DbSession, user: Clinician, patient_id: int, history_id: int, form: CsrfForm
) -> Response:
    """A clinician brings a proposed history into force from the screening page."""
    review.confirm_history(db=db, patient_id=patient_id, history_id=history_id, actor=actor_of(user))
    db.commit()
    return _redirect(f"/patients/{patient_id}/screening")


@router.post("/patients/{patient_id}/histories/{history_id}/reject")
def reject_history(
    request: Request, db: DbSession, user: Clinician, patient_id: int, history_id: int, form: CsrfForm
) -> Response:
    """A clinician keeps a proposed history out of force from the screening page."""
    review.reject_history(db=db, patient_id=patient_id, history_id=history_id, actor=actor_of(user))
    db.commit()
    return _redirect(f"/patients/{patient_id}/screening")


@router.post("/patients/{patient_id}/screening/acknowledge")
def acknowledge(
    request: Request, db: DbSession, user: Clinician, patient_id: int, form: CsrfForm
) -> Response:
    codes = [str(c) for c in form.getlist("code")]
    if not codes:
        raise HTTPException(422, detail="codes: tick at least one precaution to acknowledge")
    repo.acknowledge_precautions(db=db, patient_id=patient_id, codes=codes, actor=actor_of(user))
    db.commit()
    return _redirect(f"/patients/{patient_id}/screening")


# --- planner and treatment ---------------------------------------------------------------------
@router.get("/patients/{patient_id}/planner", response_class=HTMLResponse)
def planner(request: Request, db: DbSession, user: ClinicalUser, patient_id: int) -> HTMLResponse:
    patient = repo.get_patient(db=db, patient_id=patient_id, actor=actor_of(user), clinical=True)
    db.commit()
    return _render(request, "planner.html", patient=patient)


@router.get("/patients/{patient_id}/treatments/new", response_class=HTMLResponse)
def treatment_form(
    request: Request, db: DbSession, user: ClinicalUser, patient_id: int, plan_id: int
) -> HTMLResponse:
    return _treatment_page(request, db, user, patient_id, plan_id, {})


_MAX_ACKS = 50


def _treatment_page(
    request: Request,
    db: Session,
    user: m.User,
    patient_id: int,
    plan_id: int,
    values: dict[str, str],
    status: int = 200,
    error: str | None = None,
    review: Review | None = None,
    dilution: DilutionChange | None = None,
) -> HTMLResponse:
    """The treatment form: the plan's review on today's record first, then vial, volumes, record."""
    actor = actor_of(user)
    patient = repo.get_patient(db=db, patient_id=patient_id, actor=actor, clinical=True)
    vial_id = int(values["vial_id"]) if values.get("vial_id", "").isdigit() else None
    plan, current = repo.review_stored_plan(
        db=db, patient_id=patient_id, plan_id=plan_id, actor=actor, vial_id=vial_id
    )
    vials = repo.usable_vials(db=db, actor=actor, product=plan.product, units=plan.total_units, at=utcnow())
    db.commit()
    shown = review or current
    reasons = {values.get(f"ack_ref_{i}", ""): values.get(f"ack_reason_{i}", "") for i in range(1, _MAX_ACKS)}
    return _render(
        request,
        "treatment.html",
        status,
        patient=patient,
        plan=plan,
        plan_units_per_ml=plan.vial_units / plan.diluent_ml,
        review=shown,
        reasons=reasons,
        dilution=dilution,
        vials=vials,
        values=values,
        form_error=error,
        consent=consent_store.current_consent(db, patient.id, "toxin_treatment"),
        consent_template=consent_store.template("toxin_treatment"),
    )


@router.post("/patients/{patient_id}/treatments", response_class=HTMLResponse)
def record_treatment(
    request: Request, db: DbSession, user: Clinician, patient_id: int, form: CsrfForm
) -> Response:
    keys = ["plan_id", "vial_id", "notes", "confirm_units_per_ml"]
    keys += [f"ack_{k}_{i}" for i in range(1, _MAX_ACKS) for k in ("ref", "reason")]
    values = {k: _s(form, k) for k in keys}
    if not values["plan_id"].isdigit():
        raise HTTPException(422, detail="plan_id: open the treatment form from a saved plan")
    plan_id = int(values["plan_id"])
    acks = [
        {"ref": values[f"ack_ref_{i}"], "reason": values[f"ack_reason_{i}"]}
        for i in range(1, _MAX_ACKS)
        if values[f"ack_ref_{i}"] and values[f"ack_reason_{i}"]
    ]
    try:
        data = s.TreatmentCreate.model_validate(
            {
                "plan_id": plan_id,
                "vial_id": values["vial_id"],
                "notes": values["notes"] or None,
                "confirm_units_per_ml": values["confirm_units_per_ml"] or None,
                "acknowledgements": acks,
            }
        )
    except ValidationError as exc:
        return _treatment_page(request, db, user, patient_id, plan_id, values, 422, _validation_message(exc))
    try:
        row = repo.create_treatment(db=db, patient_id=patient_id, data=data, actor=actor_of(user))
        db.commit()
    except ReviewRefused as exc:
        db.rollback()
        message = "Not recorded: this treatment " + exc.review.summary()
        return _treatment_page(request, db, user, patient_id, plan_id, values, 422, message, exc.review)
    except DilutionNotConfirmed as exc:
        db.rollback()
        message = "Not recorded yet: " + exc.change.message().split(": ", 1)[1]
        return _treatment_page(
            request, db, user, patient_id, plan_id, values, 409, message, dilution=exc.change
        )
    except RhytidError as exc:
        if isinstance(exc, NotFoundError) and not str(exc).startswith("vial_id"):
            raise
        db.rollback()  # e.g. an expired vial or one reconstituted too long ago: the form again, with why
        message = str(exc)
        if message.startswith("plan_id:") and "is a draft" in message:  # in words, not as a field
            message = "Not recorded: this plan is a draft" + message.split("is a draft", 1)[1]
        return _treatment_page(request, db, user, patient_id, plan_id, values, 422, message)
    return _redirect(f"/patients/{patient_id}?treated={row.id}")


@router.post("/patients/{patient_id}/plans/{plan_id}/ready", response_class=HTMLResponse)
def plan_ready(
    request: Request, db: DbSession, user: Clinician, patient_id: int, plan_id: int, form: CsrfForm
) -> Response:
    """Review a draft plan again on today's record and make it ready, or show what still blocks."""
    try:
        repo.mark_plan_ready(db=db, patient_id=patient_id, plan_id=plan_id, actor=actor_of(user))
        db.commit()
    except StoreError as exc:
        if isinstance(exc, NotFoundError):
            raise
        db.rollback()
        message = "Still a draft: " + str(exc).split(": ", 1)[1]
        return _treatment_page(request, db, user, patient_id, plan_id, {}, 422, message)
    return _redirect(f"/patients/{patient_id}/treatments/new?plan_id={plan_id}")


# --- appointments ------------------------------------------------------------------------------
@router.get("/appointments", response_class=HTMLResponse)
def appointment_book(
    request: Request,
    db: DbSession,
    user: AnyUser,
    day: dt.date | None = None,
    patient_id: int | None = None,
    kind: str = "",
    at: str = "",
    q: str = "",
    clinician_id: int | None = None,
) -> HTMLResponse:
    values = {
        "patient_id": str(patient_id or ""),
        "kind": kind,
        "starts_at": at,
        "q": q[:100],
        "clinician_id": str(clinician_id or ""),
    }
    return _appointment_page(request, db, user, day or _local_today(request), values)


def _appointment_page(
    request: Request,
    db: Session,
    user: m.User,
    day: dt.date,
    values: dict[str, str],
    status: int = 200,
    error: str | None = None,
) -> HTMLResponse:
    start, end = _local_day_bounds(request, day)
    rows = repo.list_appointments(db=db, actor=actor_of(user), start=start, end=end)
    patients = {a.patient_id: db.get(m.Patient, a.patient_id) for a in rows}
    clinicians = [u for u in repo.list_users(db=db, actor=actor_of(user)) if u.role == "clinician"]
    # the patient picker: a chosen patient by id, else the matches of a search by name, birth date, phone
    picked = None
    if values.get("patient_id", "").isdigit():
        found_one = db.get(m.Patient, int(values["patient_id"]))
        picked = found_one if found_one is not None and found_one.clinic_id == user.clinic_id else None
    found = (
        repo.search_patients(db=db, query=values["q"], actor=actor_of(user))
        if values.get("q") and picked is None
        else []
    )
    db.commit()
    return _render(
        request,
        "appointments.html",
        status,
        day=day,
        rows=rows,
        patients=patients,
        clinicians=clinicians,
        values=values,
        picked=picked,
        found=found,
        form_error=error,
    )


@router.post("/appointments", response_class=HTMLResponse)
def book(request: Request, db: DbSession, user: AnyUser, form: CsrfForm) -> Response:
    values = {
        k: _s(form, k) for k in ("patient_id", "clinician_id", "kind", "starts_at", "minutes", "treatment_id")
    }
    try:
        raw = {k: v for k, v in values.items() if v}
        if "starts_at" in raw:
            raw["starts_at"] = _local_input(raw["starts_at"], request, "starts_at")
        data = s.AppointmentCreate.model_validate(raw)
        row = repo.book_appointment(db=db, data=data, actor=actor_of(user))
        db.commit()
    except (ValidationError, StoreError) as exc:
        if isinstance(exc, NotFoundError) and not str(exc).startswith(("patient_id", "clinician_id")):
            raise
        db.rollback()
        message = _validation_message(exc) if isinstance(exc, ValidationError) else str(exc)
        status = 409 if isinstance(exc, ConflictError) else 422
        try:
            day = dt.date.fromisoformat(values["starts_at"][:10])
        except ValueError:
            day = _local_today(request)
        return _appointment_page(request, db, user, day, values, status, message)
    day = to_local(row.starts_at, clinic_zone(request)).date()
    return _redirect(f"/appointments?day={day.isoformat()}")


# cancelling (with a reason), statuses and rescheduling: web/_schedule.py


# --- aftercare (signed link) -------------------------------------------------------------------
_ONSET_CODES = ("facial_droop", "eyelid_droop", "severe_sudden_headache", "asymmetry", "brow_droop")


@router.get("/p/aftercare/{token}", response_class=HTMLResponse)
def aftercare_page(request: Request, db: DbSession, token: str) -> HTMLResponse:
    _, patient = open_link(request, db, token, "aftercare")
    return _render(
        request,
        "aftercare.html",
        patient=patient,
        token=token,
        form_csrf=link_csrf(request, token),
        symptoms=symptom_codes(),
        onset_codes=_ONSET_CODES,
    )


@router.post("/p/aftercare/{token}", response_class=HTMLResponse)
def aftercare_submit(request: Request, db: DbSession, token: str, posted: RawForm) -> HTMLResponse:
    link, patient, form = link_submission(request, db, token, "aftercare", posted)
    treatment = db.get(m.Treatment, link.treatment_id) if link.treatment_id else None
    if treatment is not None and treatment.patient_id != patient.id:
        raise HTTPException(404, detail="link: not a valid link")
    symptoms = []
    for code in form.getlist("symptom"):
        entry: dict[str, Any] = {"code": str(code)}
        for key in ("onset", "location"):
            if _s(form, f"{code}_{key}"):
                entry[key] = _s(form, f"{code}_{key}")
        symptoms.append(entry)
    filler = inv.latest_filler(db, patient.id, utcnow()) if treatment is None else None
    if treatment is not None:
        days = max((utcnow() - treatment.performed_at).total_seconds() / 86400, 0.0)
        areas = list(treatment.areas)
    elif filler is not None:  # an aftercare link after filler: its red flags apply (submit_aftercare)
        days, areas = max((utcnow() - filler.performed_at).total_seconds() / 86400, 0.0), []
    else:
        try:
            days = float(_s(form, "days_since_treatment"))
        except ValueError:
            raise HTTPException(
                422, detail="days_since_treatment: give the number of days since the treatment"
            ) from None
        areas = []
    report = {"days_since_treatment": round(days, 2), "treated_areas": areas, "symptoms": symptoms}
    from rhytid.web._clinic_messages import delivery_for, patient_notice

    row = repo.submit_aftercare(
        db=db,
        patient_id=patient.id,
        treatment_id=treatment.id if treatment else None,
        report=report,
        actor=_link_actor(patient),
        delivery=delivery_for(request),
    )
    db.commit()
    notice = patient_notice(request, row)
    return _render(request, "aftercare_result.html", patient=patient, row=row, **notice)


# --- adverse events and inventory --------------------------------------------------------------
@router.get("/patients/{patient_id}/adverse-events/new", response_class=HTMLResponse)
def adverse_form(request: Request, db: DbSession, user: Clinician, patient_id: int) -> HTMLResponse:
    return _adverse_page(request, db, user, patient_id, {})


def _adverse_page(
    request: Request,
    db: Session,
    user: m.User,
    patient_id: int,
    values: dict[str, str],
    status: int = 200,
    error: str | None = None,
) -> HTMLResponse:
    patient = repo.get_patient(db=db, patient_id=patient_id, actor=actor_of(user), clinical=True)
    treatments = repo.list_treatments(db=db, patient_id=patient_id, actor=actor_of(user))
    db.commit()
    return _render(
        request,
        "adverse.html",
        status,
        patient=patient,
        treatments=treatments,
        values=values,
        form_error=error,
    )


@router.post("/patients/{patient_id}/adverse-events", response_class=HTMLResponse)
def adverse_submit(
    request: Request, db: DbSession, user: Clinician, patient_id: int, form: CsrfForm
) -> Response:
    raw = {
        k: _s(form, k) for k in ("treatment_id", "onset_date", "kind", "severity", "description", "outcome")
    }
    try:
        data = s.AdverseEventCreate.model_validate({k: v for k, v in raw.items() if v})
        repo.create_adverse_event(db=db, patient_id=patient_id, data=data, actor=actor_of(user))
        db.commit()
    except (ValidationError, StoreError) as exc:
        if isinstance(exc, NotFoundError) and not str(exc).startswith("treatment_id"):
            raise
        db.rollback()
        message = _validation_message(exc) if isinstance(exc, ValidationError) else str(exc)
        return _adverse_page(request, db, user, patient_id, raw, 422, message)
    return _redirect(f"/patients/{patient_id}")


@router.get("/vials", response_class=HTMLResponse)
def vials(request: Request, db: DbSession, user: ClinicalUser) -> HTMLResponse:
    return _vials_page(request, db, user, {})


def _vials_page(
    request: Request,
    db: Session,
    user: m.User,
    values: dict[str, str],
    status: int = 200,
    error: str | None = None,
) -> HTMLResponse:
    rows = repo.list_vials(db=db, actor=actor_of(user))
    syringes = inv.list_syringes(db=db, actor=actor_of(user))
    db.commit()
    flags = {v.id: repo.vial_flags(v, utcnow()) for v in rows}
    use_by = {v.id: vial_use_by(v.product, v.reconstituted_at) for v in rows}
    now = to_local(utcnow(), clinic_zone(request)).strftime("%Y-%m-%dT%H:%M")
    values = {"vial_units": "100", "diluent_ml": "2.5", "reconstituted_at": now, **values}
    return _render(
        request,
        "vials.html",
        status,
        rows=rows,
        flags=flags,
        use_by=use_by,
        syringes=syringes,
        values=values,
        form_error=error,
        field=_error_field(error),
    )


def _error_field(message: str | None) -> str | None:
    """The field a message names ("expiry: …" → "expiry"), to show it next to that field."""
    if not message:
        return None
    head, sep, _ = message.partition(":")
    return head.strip() if sep and head.strip().replace("_", "").isalnum() else None


@router.get("/recall", response_class=HTMLResponse)
def recall_page(request: Request, db: DbSession, user: ClinicalUser, lot: str = "") -> HTMLResponse:
    """Which patients received lot X, when and how much (toxin and filler; audited per patient)."""
    lot = lot.strip()[:60]
    rows = inv.lot_recall(db=db, lot=lot, actor=actor_of(user)) if lot else []
    db.commit()
    return _render(request, "recall.html", lot=lot, rows=rows)


@router.post("/vials", response_class=HTMLResponse)
def add_vial(request: Request, db: DbSession, user: ClinicalUser, form: CsrfForm) -> Response:
    raw = {
        k: _s(form, k) for k in ("product", "lot", "expiry", "vial_units", "diluent_ml", "reconstituted_at")
    }
    try:
        given = {k: v for k, v in raw.items() if v}
        if "reconstituted_at" in given:
            given["reconstituted_at"] = _local_input(given["reconstituted_at"], request, "reconstituted_at")
        data = s.VialCreate.model_validate(given)
        repo.create_vial(db=db, data=data, actor=actor_of(user))
        db.commit()
    except (ValidationError, StoreError) as exc:
        db.rollback()
        message = _validation_message(exc) if isinstance(exc, ValidationError) else str(exc)
        return _vials_page(request, db, user, raw, 422, message)
    return _redirect("/vials")


# --- assessments and photos --------------------------------------------------------------------
AREAS: tuple[str, ...] = get_args(s.Area)
_GRADE_FIELDS = [f"{area}_{kind}" for area in AREAS for kind in ("rest", "max")]


@router.get("/patients/{patient_id}/assessments/new", response_class=HTMLResponse)
def assessment_form(request: Request, db: DbSession, user: Clinician, patient_id: int) -> HTMLResponse:
    patient = repo.get_patient(db=db, patient_id=patient_id, actor=actor_of(user), clinical=True)
    db.commit()
    values = {"assessed_on": dt.date.today().isoformat()}
    return _render(request, "assessment.html", patient=patient, areas=AREAS, values=values, form_error=None)


@router.post("/patients/{patient_id}/assessments", response_class=HTMLResponse)
def assessment_submit(
    request: Request, db: DbSession, user: Clinician, patient_id: int, form: CsrfForm
) -> Response:
    """Grades per area (at rest, at maximum contraction), notes and photos, all in one transaction."""
    return _save_assessment(request, db, user, patient_id, form)


def _save_assessment(
    request: Request, db: Session, user: m.User, patient_id: int, form: FormData
) -> Response:
    actor = actor_of(user)
    values = {k: _s(form, k) for k in ("assessed_on", "notes", "photo_view", *_GRADE_FIELDS)}
    uploads = [f for f in form.getlist("photos") if isinstance(f, UploadFile) and f.filename]

    def again(status: int, message: str) -> HTMLResponse:
        db.rollback()
        patient = repo.get_patient(db=db, patient_id=patient_id, actor=actor, clinical=True)
        db.commit()
        return _render(
            request,
            "assessment.html",
            status,
            patient=patient,
            areas=AREAS,
            values=values,
            form_error=message,
        )

    grades = {
        area: {"rest": values[f"{area}_rest"] or None, "max": values[f"{area}_max"] or None}
        for area in AREAS
        if values[f"{area}_rest"] or values[f"{area}_max"]
    }
    raw = {"assessed_on": values["assessed_on"] or None, "grades": grades, "notes": values["notes"] or None}
    try:
        data = s.AssessmentCreate.model_validate(raw)
    except ValidationError as exc:
        message = _validation_message(exc)
        if message.startswith("grades:"):
            message = "grades: enter the grade at rest and at maximum contraction of at least one area"
        return again(422, message)
    try:
        view = check_view(values["photo_view"])
    except StoreError as exc:
        return again(422, str(exc))
    photos: list[tuple[str, str, bytes]] = []
    for upload in uploads:
        content = upload.file.read(repo.MAX_PHOTO_BYTES + 1)
        name, ctype = upload.filename or "photo", upload.content_type or ""
        try:
            repo.check_photo(filename=name, content_type=ctype, content=content, field="photos")
        except StoreError as exc:
            return again(413 if len(content) > repo.MAX_PHOTO_BYTES else 422, str(exc))
        photos.append((name, ctype, content))
    try:
        row = repo.create_assessment(db=db, patient_id=patient_id, data=data, actor=actor)
        for name, ctype, content in photos:
            stored = repo.add_photo(
                db=db,
                assessment_id=row.id,
                filename=name,
                content_type=ctype,
                content=content,
                folder=settings_of(request).photo_dir,
                actor=actor,
            )
            stored.view = view
        db.commit()
    except NotFoundError:
        raise
    except StoreError as exc:
        return again(422, str(exc))
    except SQLAlchemyError as exc:  # refused by the database itself: nothing stored, no file kept
        return again(409, f"assessment: the database refused it ({type(exc).__name__}); nothing was saved")
    return _redirect(f"/patients/{patient_id}#assessments")


@router.get("/photos/{photo_id}")
def photo(request: Request, db: DbSession, user: ClinicalUser, photo_id: int) -> Response:
    row, content = repo.get_photo(
        db=db, photo_id=photo_id, folder=settings_of(request).photo_dir, actor=actor_of(user)
    )
    db.commit()
    return Response(
        content,
        media_type=row.content_type,
        headers={"Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff"},
    )
