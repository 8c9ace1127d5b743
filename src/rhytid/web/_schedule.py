"""The week calendar per clinician: statuses, cancellation with a reason, rescheduling, working hours.

Pages (``/schedule``, ``/appointments/{id}/…``) and their JSON twins under ``/api/``; each route
parses, calls one function of :mod:`rhytid.store._schedule`, commits and formats.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import HTTPException, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, ConfigDict, Field, field_validator

from rhytid.store import ConflictError, NotFoundError, StoreError, repo, schedule
from rhytid.store import models as m
from rhytid.store import schemas as s
from rhytid.store._hours import WEEKDAYS, hours_of, minutes_text
from rhytid.store._time import to_local, to_utc
from rhytid.web._auth import AdminUser, AnyUser, DbSession, actor_of
from rhytid.web._forms import CsrfForm, form_text
from rhytid.web._render import clinic_zone, local_today, redirect, render
from rhytid.web._routing import api_router, page_router

__all__ = ["api", "router"]

router = page_router()
api = api_router(tags=["appointments"])


class StatusChange(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    status: str = Field(min_length=1, max_length=20)
    reason: str | None = Field(default=None, max_length=500)


class Reschedule(BaseModel):
    model_config = ConfigDict(extra="forbid")
    starts_at: dt.datetime
    clinician_id: int | None = None

    @field_validator("starts_at")
    @classmethod
    def _naive(cls, v: dt.datetime) -> dt.datetime:
        return v.astimezone(dt.UTC).replace(tzinfo=None) if v.tzinfo else v


class DayHours(BaseModel):
    model_config = ConfigDict(extra="forbid")
    weekday: int = Field(ge=0, le=6)
    starts: dt.time
    ends: dt.time


def _minutes(t: dt.time) -> int:
    return t.hour * 60 + t.minute


def _monday(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def _safe_next(raw: str, fallback: str) -> str:
    return raw if raw.startswith("/") and not raw.startswith("//") else fallback


def _week_url(request: Request, row: m.Appointment) -> str:
    day = to_local(row.starts_at, clinic_zone(request)).date()
    return f"/schedule?clinician_id={row.clinician_id}&week={_monday(day).isoformat()}"


# --- pages -------------------------------------------------------------------------------------
@router.get("/schedule", response_class=HTMLResponse)
def week(
    request: Request,
    db: DbSession,
    user: AnyUser,
    week: dt.date | None = None,
    clinician_id: int | None = None,
) -> HTMLResponse:
    return _week_page(request, db, user, week, clinician_id)


def _week_page(
    request: Request,
    db: Any,
    user: m.User,
    week: dt.date | None,
    clinician_id: int | None,
    status: int = 200,
    error: str | None = None,
) -> HTMLResponse:
    actor = actor_of(user)
    tz = clinic_zone(request)
    staff = schedule.clinicians(db=db, actor=actor)
    chosen = next((c for c in staff if c.id == clinician_id), staff[0] if staff else None)
    monday = _monday(week or local_today(request))
    days: list[dict[str, Any]] = []
    hours: dict[int, tuple[int, int]] = {}
    if chosen is not None:
        start = to_utc(dt.datetime.combine(monday, dt.time()), tz, "week")
        end = to_utc(dt.datetime.combine(monday + dt.timedelta(days=7), dt.time()), tz, "week")
        rows = schedule.week_appointments(db=db, actor=actor, clinician_id=chosen.id, start=start, end=end)
        hours = hours_of(db, chosen.id)
        for k in range(7):
            day = monday + dt.timedelta(days=k)
            span = hours.get(k)
            days.append(
                {
                    "date": day,
                    "name": WEEKDAYS[k],
                    "hours": f"{minutes_text(span[0])}–{minutes_text(span[1])}" if span else None,
                    "rows": [(a, p) for a, p in rows if to_local(a.starts_at, tz).date() == day],
                }
            )
    db.commit()
    today = local_today(request)
    return render(
        request,
        "schedule.html",
        status,
        clinicians=staff,
        chosen=chosen,
        monday=monday,
        prev_week=monday - dt.timedelta(days=7),
        next_week=monday + dt.timedelta(days=7),
        days=days,
        today=today,
        hours={k: (minutes_text(a), minutes_text(b)) for k, (a, b) in hours.items()},
        weekdays=WEEKDAYS,
        labels=schedule.STATUS_LABELS,
        transitions=schedule.TRANSITIONS,
        form_error=error,
    )


@router.post("/appointments/{appointment_id}/status")
def change_status(
    request: Request, db: DbSession, user: AnyUser, appointment_id: int, form: CsrfForm
) -> Response:
    try:
        row = schedule.set_status(
            db=db,
            appointment_id=appointment_id,
            status=form_text(form, "status"),
            reason=form_text(form, "reason") or None,
            actor=actor_of(user),
        )
        db.commit()
    except NotFoundError:
        raise
    except StoreError as exc:
        db.rollback()
        again = db.get(m.Appointment, appointment_id)
        day = to_local(again.starts_at, clinic_zone(request)).date() if again else None
        return _week_page(
            request,
            db,
            user,
            day,
            again.clinician_id if again else None,
            409 if isinstance(exc, ConflictError) else 422,
            str(exc),
        )
    return redirect(_safe_next(form_text(form, "next"), _week_url(request, row)))


@router.post("/appointments/{appointment_id}/cancel")
def cancel(request: Request, db: DbSession, user: AnyUser, appointment_id: int, form: CsrfForm) -> Response:
    """Cancel with a reason (the day list's and the calendar's Cancel)."""
    try:
        row = schedule.set_status(
            db=db,
            appointment_id=appointment_id,
            status="cancelled",
            reason=form_text(form, "reason") or None,
            actor=actor_of(user),
        )
        db.commit()
    except NotFoundError:
        raise
    except StoreError as exc:
        db.rollback()
        raise HTTPException(409 if isinstance(exc, ConflictError) else 422, detail=str(exc)) from None
    day = to_local(row.starts_at, clinic_zone(request)).date().isoformat()
    return redirect(_safe_next(form_text(form, "next"), f"/appointments?day={day}"))


@router.get("/appointments/{appointment_id}/reschedule", response_class=HTMLResponse)
def reschedule_form(request: Request, db: DbSession, user: AnyUser, appointment_id: int) -> HTMLResponse:
    return _reschedule_page(request, db, user, appointment_id, {})


def _reschedule_page(
    request: Request,
    db: Any,
    user: m.User,
    appointment_id: int,
    values: dict[str, str],
    status: int = 200,
    error: str | None = None,
) -> HTMLResponse:
    actor = actor_of(user)
    row = db.get(m.Appointment, appointment_id)
    if row is None or row.clinic_id != actor.clinic_id:
        raise NotFoundError(f"appointment_id: no appointment {appointment_id}")
    patient = repo.get_patient(db=db, patient_id=row.patient_id, actor=actor)
    staff = schedule.clinicians(db=db, actor=actor)
    db.commit()
    local = to_local(row.starts_at, clinic_zone(request))
    values = {"starts_at": local.strftime("%Y-%m-%dT%H:%M"), "clinician_id": str(row.clinician_id), **values}
    return render(
        request,
        "reschedule.html",
        status,
        row=row,
        patient=patient,
        clinicians=staff,
        values=values,
        form_error=error,
        labels=schedule.STATUS_LABELS,
    )


@router.post("/appointments/{appointment_id}/reschedule", response_class=HTMLResponse)
def reschedule_submit(
    request: Request, db: DbSession, user: AnyUser, appointment_id: int, form: CsrfForm
) -> Response:
    values = {k: form_text(form, k) for k in ("starts_at", "clinician_id")}
    try:
        try:
            local = dt.datetime.fromisoformat(values["starts_at"])
        except ValueError:
            raise StoreError(
                f"starts_at: {values['starts_at']!r} is not a date and time such as 2031-05-04T09:30"
            ) from None
        clinician = int(values["clinician_id"]) if values["clinician_id"].isdigit() else None
        row = schedule.reschedule(
            db=db,
            appointment_id=appointment_id,
            starts_at=to_utc(local, clinic_zone(request), "starts_at"),
            clinician_id=clinician,
            actor=actor_of(user),
        )
        db.commit()
    except StoreError as exc:
        if isinstance(exc, NotFoundError) and str(exc).startswith("appointment_id"):
            raise
        db.rollback()
        code = 409 if isinstance(exc, ConflictError) else 422
        return _reschedule_page(request, db, user, appointment_id, values, code, str(exc))
    return redirect(_week_url(request, row))


@router.post("/schedule/hours", response_class=HTMLResponse)
def hours_submit(request: Request, db: DbSession, user: AdminUser, form: CsrfForm) -> Response:
    raw = form_text(form, "clinician_id")
    clinician_id = int(raw) if raw.isdigit() else 0
    hours: dict[int, tuple[int, int] | None] = {}
    try:
        for k, name in enumerate(WEEKDAYS):
            a, b = form_text(form, f"start_{k}"), form_text(form, f"end_{k}")
            if not a and not b:
                hours[k] = None
                continue
            try:
                hours[k] = (_minutes(dt.time.fromisoformat(a)), _minutes(dt.time.fromisoformat(b)))
            except ValueError:
                raise StoreError(
                    f"hours_{k}: give {name}'s start and end as HH:MM, or leave both empty"
                ) from None
        schedule.set_working_hours(db=db, clinician_id=clinician_id, hours=hours, actor=actor_of(user))
        db.commit()
    except StoreError as exc:
        if isinstance(exc, NotFoundError):
            raise
        db.rollback()
        return _week_page(request, db, user, None, clinician_id, 422, str(exc))
    return redirect(f"/schedule?clinician_id={clinician_id}")


# --- JSON API ----------------------------------------------------------------------------------
@api.post("/appointments/{appointment_id}/status", response_model=s.AppointmentPublic)
def api_status(db: DbSession, user: AnyUser, appointment_id: int, data: StatusChange) -> Any:
    """Move an appointment to arrived, done, no_show or cancelled (a cancellation needs a reason)."""
    row = schedule.set_status(
        db=db, appointment_id=appointment_id, status=data.status, reason=data.reason, actor=actor_of(user)
    )
    db.commit()
    return row


@api.post("/appointments/{appointment_id}/reschedule", response_model=s.AppointmentPublic)
def api_reschedule(db: DbSession, user: AnyUser, appointment_id: int, data: Reschedule) -> Any:
    """Move a booked appointment to a new start (UTC, or with its offset), optionally another clinician."""
    row = schedule.reschedule(
        db=db,
        appointment_id=appointment_id,
        starts_at=data.starts_at,
        clinician_id=data.clinician_id,
        actor=actor_of(user),
    )
    db.commit()
    return row


@api.get("/clinicians/{clinician_id}/working-hours", response_model=list[DayHours])
def api_hours(db: DbSession, user: AnyUser, clinician_id: int) -> list[DayHours]:
    staff = {c.id for c in schedule.clinicians(db=db, actor=actor_of(user))}
    if clinician_id not in staff:
        raise NotFoundError(f"clinician_id: no clinician {clinician_id}")
    return [
        DayHours(
            weekday=k,
            starts=dt.time(a // 60, a % 60),
            ends=dt.time(b // 60, b % 60) if b < 1440 else dt.time(23, 59),
        )
        for k, (a, b) in sorted(hours_of(db, clinician_id).items())
    ]


@api.put("/clinicians/{clinician_id}/working-hours", response_model=list[DayHours])
def api_set_hours(db: DbSession, user: AdminUser, clinician_id: int, data: list[DayHours]) -> list[DayHours]:
    """Replace a clinician's working hours (clinic-local); days left out are days off."""
    days = [d.weekday for d in data]
    if len(set(days)) != len(days):
        raise StoreError("weekday: each weekday at most once")
    hours: dict[int, tuple[int, int] | None] = {
        d.weekday: (_minutes(d.starts), _minutes(d.ends)) for d in data
    }
    schedule.set_working_hours(db=db, clinician_id=clinician_id, hours=hours, actor=actor_of(user))
    db.commit()
    return sorted(data, key=lambda d: d.weekday)
