"""Pages of the clinic's messages: clinic settings (admin), the outbox, alerts (acknowledge, close
with a note), links e-mailed from the record, and what the patient is told after a report.

The patient's result page says exactly what happened: whom the clinic e-mailed and when, or that
the message is still waiting, or that messaging is not set up; it never claims an alert reached
someone when it did not. Tap-to-call links for the clinic and the emergency number are on it.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from fastapi import HTTPException, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from rhytid.store import NotFoundError, StoreError, repo
from rhytid.store import _clinic_profile as clinic_profile
from rhytid.store import _messages as msg
from rhytid.store import models as m
from rhytid.store._hours import WEEKDAYS
from rhytid.web._auth import AdminUser, AnyUser, ClinicalUser, DbSession, actor_of, make_link, settings_of
from rhytid.web._consent import consent_url
from rhytid.web._delivery import delivery_of
from rhytid.web._forms import CsrfForm, form_text
from rhytid.web._render import redirect, render
from rhytid.web._routing import api_router, page_router

__all__ = ["api", "delivery_for", "patient_notice", "router", "today_status", "wake"]

router = page_router()
api = api_router(tags=["aftercare"])

#: How long the patient's result page waits for the on-call e-mail to go out before it says so.
_NOTICE_WAIT_S = 8.0


def delivery_for(request: Request) -> msg.Delivery:
    """What this app can deliver, linking back to the address the request came to."""
    base = str(request.base_url).rstrip("/")
    worker = getattr(request.app.state, "outbox", None)
    if worker is not None:
        worker.set_base_url(base)
    return delivery_of(settings_of(request), base)


def wake(request: Request) -> None:
    worker = getattr(request.app.state, "outbox", None)
    if worker is not None:
        worker.wake()


def today_status(request: Request, db: Session, clinic_id: int) -> dict[str, Any]:
    """For the Today page: whether messages can go out, and how many wait or fail."""
    delivery = delivery_of(settings_of(request))
    contact = msg.clinic_contact(db, clinic_id)
    return {
        **msg.outbox_summary(db, clinic_id),
        "email": delivery.email,
        "webhook": delivery.webhook,
        "emergency_number": contact.emergency_number,
        "notices": {
            n.report_id: n
            for n in db.scalars(select(m.AlertNotice).where(m.AlertNotice.clinic_id == clinic_id))
        },
    }


# --- clinic settings ---------------------------------------------------------------------------
_SETTINGS = ("name", "phone", "address", "emergency_number", "on_call_user_id", "on_call_email")


def _settings_page(
    request: Request,
    db: Session,
    user: m.User,
    values: dict[str, str] | None = None,
    error: str = "",
    hours: Mapping[int, tuple[str, str]] | None = None,
) -> HTMLResponse:
    """The settings page; ``hours`` are opening hours as entered (kept when they were refused)."""
    clinic = db.get(m.Clinic, user.clinic_id)
    contact = msg.clinic_contact(db, user.clinic_id)
    shown_hours = hours if hours is not None else clinic_profile.opening_hours(db, user.clinic_id)
    has_logo = clinic_profile.logo(db, user.clinic_id) is not None
    clinicians = [
        u for u in repo.list_users(db=db, actor=actor_of(user)) if u.role == "clinician" and u.active
    ]
    db.commit()
    assert clinic is not None
    shown = values or {
        "name": clinic.name,
        "phone": contact.phone or "",
        "address": contact.address or "",
        "emergency_number": contact.emergency_number or "",
        "on_call_user_id": str(contact.on_call_user_id or ""),
        "on_call_email": contact.on_call_email or "",
    }
    field = error.split(":", 1)[0] if error else ""
    return render(
        request,
        "clinic_settings.html",
        422 if error else 200,
        values=shown,
        clinicians=clinicians,
        contact=contact,
        delivery=delivery_of(settings_of(request)),
        escalation_minutes=msg.timing("escalation_minutes"),
        form_error=error,
        error_at=field if field in (*_SETTINGS, "opening_hours", "logo") else "",
        weekdays=WEEKDAYS,
        hours=shown_hours,
        has_logo=has_logo,
        max_logo_kb=clinic_profile.MAX_LOGO_BYTES // 1024,
        saved=request.query_params.get("saved", ""),
    )


@router.get("/admin/clinic", response_class=HTMLResponse)
def clinic_settings(request: Request, db: DbSession, user: AdminUser) -> HTMLResponse:
    return _settings_page(request, db, user)


@router.post("/admin/clinic/contact", response_class=HTMLResponse)
def save_clinic_settings(request: Request, db: DbSession, user: AdminUser, form: CsrfForm) -> Response:
    values = {k: str(form.get(k) or "").strip() for k in _SETTINGS}
    try:
        msg.update_contact(db=db, actor=actor_of(user), **values)
        db.commit()
    except StoreError as exc:
        db.rollback()
        return _settings_page(request, db, user, values, str(exc))
    return redirect("/admin/clinic?saved=1")


# --- the outbox --------------------------------------------------------------------------------
@router.get("/messages", response_class=HTMLResponse)
def outbox_page(request: Request, db: DbSession, user: ClinicalUser) -> HTMLResponse:
    rows = msg.list_outbox(db, user.clinic_id)
    summary = today_status(request, db, user.clinic_id)
    db.commit()
    return render(request, "outbox.html", rows=rows, state=summary)


# --- links by e-mail ---------------------------------------------------------------------------
@router.post("/patients/{patient_id}/links/email", response_class=HTMLResponse)
def email_link(request: Request, db: DbSession, user: AnyUser, patient_id: int, form: CsrfForm) -> Response:
    """E-mail the patient their intake, aftercare or consent link (through the outbox)."""
    kind = form_text(form, "form")
    patient = repo.get_patient(db=db, patient_id=patient_id, actor=actor_of(user))
    s = settings_of(request)
    if kind.startswith("consent:"):
        from rhytid.store._consent import KINDS, template

        what_kind = kind.partition(":")[2]
        if what_kind not in KINDS:
            raise HTTPException(422, detail=f"form: no consent {what_kind!r}")
        url = consent_url(request, db, patient.id, what_kind, actor_of(user))
        what, days = template(what_kind).label, s.aftercare_link_days
    elif kind in ("intake", "aftercare"):
        raw = form_text(form, "treatment_id")
        treatment_id = int(raw) if raw.isdigit() else None
        token, _ = make_link(
            request, db, patient_id=patient.id, form=kind, actor=actor_of(user), treatment_id=treatment_id
        )
        url = str(request.base_url).rstrip("/") + f"/p/{kind}/{token}"
        what = "medical history form" if kind == "intake" else "aftercare check-in form"
        days = s.intake_link_days if kind == "intake" else s.aftercare_link_days
    else:
        raise HTTPException(422, detail="form: must be intake, aftercare or consent:<kind>")
    try:
        row = msg.link_message(db, patient=patient, what=what, url=url, expires_days=days)
    except StoreError as exc:
        db.rollback()
        raise HTTPException(422, detail=str(exc)) from None
    repo.audit(db, actor_of(user), "create", "patient_link", row.id, patient.id, f"{kind} e-mailed")
    db.commit()
    wake(request)
    return render(
        request,
        "link_sent.html",
        patient=patient,
        row=row,
        what=what,
        delivery=delivery_of(settings_of(request)),
    )


# --- alerts ------------------------------------------------------------------------------------
def _alert_page(
    request: Request,
    db: Session,
    user: m.User,
    report_id: int,
    status: int = 200,
    error: str = "",
    note: str = "",
) -> HTMLResponse:
    report = db.get(m.AftercareReport, report_id)
    if report is None:
        raise NotFoundError(f"report_id: no aftercare report {report_id}")
    patient = repo.get_patient(db=db, patient_id=report.patient_id, actor=actor_of(user), clinical=True)
    notice = msg.notice_of(db, report.id)
    sent = (
        list(
            db.scalars(
                select(m.OutboxMessage)
                .where(m.OutboxMessage.alert_id == notice.id)
                .order_by(m.OutboxMessage.id)
            )
        )
        if notice
        else []
    )
    users = {u.id: u for u in repo.list_users(db=db, actor=actor_of(user))}
    db.commit()
    return render(
        request,
        "alert.html",
        status,
        report=report,
        patient=patient,
        notice=notice,
        messages=sent,
        users=users,
        form_error=error,
        note=note,
    )


@router.get("/alerts/{report_id}", response_class=HTMLResponse)
def alert_page(request: Request, db: DbSession, user: ClinicalUser, report_id: int) -> HTMLResponse:
    return _alert_page(request, db, user, report_id)


@router.post("/alerts/{report_id}/acknowledge")
def acknowledge(
    request: Request, db: DbSession, user: ClinicalUser, report_id: int, form: CsrfForm
) -> Response:
    msg.acknowledge_alert(db=db, report_id=report_id, actor=actor_of(user))
    db.commit()
    return redirect(f"/alerts/{report_id}")


@router.post("/alerts/{report_id}/close", response_class=HTMLResponse)
def close(request: Request, db: DbSession, user: ClinicalUser, report_id: int, form: CsrfForm) -> Response:
    note = str(form.get("note") or "")
    try:
        row = repo.close_alert(db=db, report_id=report_id, note=note, actor=actor_of(user))
        db.commit()
    except StoreError as exc:
        if isinstance(exc, NotFoundError):
            raise
        db.rollback()
        return _alert_page(request, db, user, report_id, 422, str(exc), note)
    return redirect(f"/patients/{row.patient_id}")


class AlertClose(BaseModel):
    note: str = Field(max_length=2000)


@api.post("/alerts/{report_id}/acknowledge")
def api_acknowledge(db: DbSession, user: ClinicalUser, report_id: int) -> dict[str, Any]:
    notice = msg.acknowledge_alert(db=db, report_id=report_id, actor=actor_of(user))
    db.commit()
    return {
        "report_id": report_id,
        "acknowledged_at": notice.acknowledged_at,
        "acknowledged_by": notice.acknowledged_by,
    }


@api.get("/messages")
def api_messages(db: DbSession, user: ClinicalUser) -> list[dict[str, Any]]:
    return [
        {
            "id": r.id,
            "channel": r.channel,
            "kind": r.kind,
            "recipient": r.recipient,
            "subject": r.subject,
            "status": r.status,
            "attempts": r.attempts,
            "last_error": r.last_error,
            "patient_id": r.patient_id,
            "alert_id": r.alert_id,
            "created_at": r.created_at,
            "sent_at": r.sent_at,
        }
        for r in msg.list_outbox(db, user.clinic_id)
    ]


# --- what the patient is told ------------------------------------------------------------------
def patient_notice(request: Request, report: m.AftercareReport) -> dict[str, Any]:
    """Whom the clinic reached about ``report`` (waits a few seconds for the e-mail to go out)."""
    wake(request)
    sessions = request.app.state.sessions
    delivery = delivery_of(settings_of(request))
    deadline = time.monotonic() + (
        _NOTICE_WAIT_S if report.alert_open and (delivery.email or delivery.webhook) else 0
    )
    while True:
        with sessions() as db:
            patient = db.get(m.Patient, report.patient_id)
            assert patient is not None
            contact = msg.clinic_contact(db, patient.clinic_id)
            clinic = db.get(m.Clinic, patient.clinic_id)
            notice = msg.notice_of(db, report.id)
            rows = (
                list(db.scalars(select(m.OutboxMessage).where(m.OutboxMessage.alert_id == notice.id)))
                if notice
                else []
            )
            db.commit()
        if not rows or all(r.status == "sent" for r in rows) or time.monotonic() >= deadline:
            break
        time.sleep(0.25)  # a worker thread of the route, never the event loop
    emailed = [r for r in rows if r.channel == "email" and r.status == "sent"]
    paged = [r for r in rows if r.channel == "webhook" and r.status == "sent"]
    return {
        "clinic_name": clinic.name if clinic else "the clinic",
        "clinic_phone": contact.phone,
        "emergency_number": contact.emergency_number,
        "notice": notice,
        "emailed": emailed,
        "paged": paged,
        "waiting": [r for r in rows if r.status != "sent"],
        "configured": delivery.email or delivery.webhook,
    }
