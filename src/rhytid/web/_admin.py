"""Admin pages: the clinic's users (create, role, deactivate) and the audit log with filters."""

from __future__ import annotations

import datetime as dt
from zoneinfo import available_timezones

from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from rhytid.store import StoreError, repo, totp
from rhytid.store import schemas as s
from rhytid.web._auth import AdminUser, DbSession, actor_of
from rhytid.web._forms import CsrfForm, form_text, validation_message
from rhytid.web._render import redirect, render
from rhytid.web._routing import page_router

router = page_router()

_ROLES = ("admin", "clinician", "front_desk")


def _users_page(
    request: Request,
    db: DbSession,
    user: AdminUser,
    status: int = 200,
    values: dict[str, str] | None = None,
    error: str | None = None,
) -> HTMLResponse:
    rows = repo.list_users(db=db, actor=actor_of(user))
    second_factor = totp.enrolled_user_ids(db=db, actor=actor_of(user))
    db.commit()
    return render(
        request,
        "admin_users.html",
        status,
        rows=rows,
        second_factor=second_factor,
        roles=_ROLES,
        values=values or {"role": "front_desk"},  # a new user starts with the least privilege
        form_error=error,
        zones=sorted(available_timezones()),
    )


@router.get("/admin/users", response_class=HTMLResponse)
def users(request: Request, db: DbSession, user: AdminUser) -> HTMLResponse:
    return _users_page(request, db, user)


@router.post("/admin/users", response_class=HTMLResponse)
def create_user(request: Request, db: DbSession, user: AdminUser, form: CsrfForm) -> Response:
    values = {k: form_text(form, k) for k in ("email", "name", "role")}
    try:
        data = s.UserCreate.model_validate({**values, "password": str(form.get("password") or "")})
        repo.create_user(db=db, clinic_id=user.clinic_id, data=data, actor=actor_of(user))
        db.commit()
    except ValidationError as exc:
        db.rollback()
        return _users_page(request, db, user, 422, values, validation_message(exc))
    except StoreError as exc:
        db.rollback()
        return _users_page(request, db, user, 409 if "exists" in str(exc) else 422, values, str(exc))
    return redirect("/admin/users")


@router.post("/admin/users/{user_id}", response_class=HTMLResponse)
def update_user(request: Request, db: DbSession, user: AdminUser, user_id: int, form: CsrfForm) -> Response:
    raw: dict[str, object] = {}
    if form_text(form, "role"):
        raw["role"] = form_text(form, "role")
    if form_text(form, "active"):
        raw["active"] = form_text(form, "active")
    try:
        data = s.UserUpdate.model_validate(raw)
        repo.update_user(db=db, user_id=user_id, data=data, actor=actor_of(user))
        db.commit()
    except ValidationError as exc:
        db.rollback()
        return _users_page(request, db, user, 422, None, validation_message(exc))
    except StoreError as exc:
        if str(exc).startswith("user_id: no user"):
            raise
        db.rollback()
        return _users_page(request, db, user, 422, None, str(exc))
    return redirect("/admin/users")


@router.post("/admin/clinic", response_class=HTMLResponse)
def clinic_settings(request: Request, db: DbSession, user: AdminUser, form: CsrfForm) -> Response:
    """The clinic's time zone, in which vial and appointment times are entered and shown."""
    try:
        repo.set_clinic_time_zone(db=db, time_zone=form_text(form, "time_zone"), actor=actor_of(user))
        db.commit()
    except StoreError as exc:
        db.rollback()
        return _users_page(request, db, user, 422, None, str(exc))
    return redirect("/admin/users")


@router.get("/admin/audit", response_class=HTMLResponse)
def audit(
    request: Request,
    db: DbSession,
    user: AdminUser,
    patient_id: int | None = None,
    user_id: int | None = None,
    since: dt.date | None = None,
    until: dt.date | None = None,
) -> HTMLResponse:
    actor = actor_of(user)
    rows = repo.list_audit(
        db=db, actor=actor, patient_id=patient_id, user_id=user_id, since=since, until=until
    )
    values = {
        "patient_id": patient_id or "",
        "user_id": user_id or "",
        "since": since.isoformat() if since else "",
        "until": until.isoformat() if until else "",
    }
    users = repo.list_users(db=db, actor=actor_of(user))
    names = {u.id: u.name for u in users}
    patient_ids = {e.patient_id for e in rows if e.patient_id} | {
        e.entity_id for e in rows if e.entity == "patient" and e.entity_id
    }
    patients = {
        pid: f"{p.given_name} {p.family_name}"
        for pid, p in repo.patients_shown(
            db=db, actor=actor, patient_ids=patient_ids, listing="audit_log"
        ).items()
    }
    db.commit()  # the list rows of the patients named
    return render(
        request, "admin_audit.html", rows=rows, values=values, users=users, names=names, patients=patients
    )
