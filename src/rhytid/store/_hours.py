"""When a clinician can be booked: never in the past, and within their working hours if they have any.

Working hours are clinic-local wall-clock spans per weekday (0 Monday … 6 Sunday), stored as
minutes from midnight; a clinician without any is bookable at every time of day (as before
working hours existed). Appointments are stored in naive UTC and compared in the clinic's zone.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from rhytid.store import _models as m
from rhytid.store._errors import StoreError
from rhytid.store._models import utcnow
from rhytid.store._time import to_local, zone

__all__ = ["WEEKDAYS", "check_bookable", "hours_of", "minutes_text"]

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def minutes_text(minutes: int) -> str:
    """``HH:MM`` of minutes from midnight."""
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def hours_of(db: Session, clinician_id: int) -> dict[int, tuple[int, int]]:
    """The clinician's working hours: weekday -> (start, end) in clinic-local minutes from midnight."""
    rows = db.scalars(select(m.WorkingHours).where(m.WorkingHours.clinician_id == clinician_id))
    return {r.weekday: (r.starts_min, r.ends_min) for r in rows}


def check_bookable(
    db: Session,
    *,
    clinic: m.Clinic,
    clinician: m.User,
    start: dt.datetime,
    minutes: int,
    now: dt.datetime | None = None,
) -> None:
    """StoreError naming ``starts_at`` when ``start`` (naive UTC) lies in the past or outside hours."""
    tz = zone(clinic.time_zone)
    local = to_local(start, tz)
    if start < (now or utcnow()):
        raise StoreError(f"starts_at: {local:%a %d %b %Y %H:%M} has already passed; book a time from now on")
    hours = hours_of(db, clinician.id)
    if not hours:
        return
    day = local.weekday()
    begin = local.hour * 60 + local.minute
    end = begin + minutes
    span = hours.get(day)
    if (
        span is None
        or begin < span[0]
        or end > span[1]
        or local.date() != to_local(start + dt.timedelta(minutes=minutes - 1), tz).date()
    ):
        works = (
            f"works {minutes_text(span[0])}–{minutes_text(span[1])} on {WEEKDAYS[day]}s"
            if span
            else f"does not work on {WEEKDAYS[day]}s"
        )
        raise StoreError(
            f"starts_at: {clinician.name} {works}; {local:%H:%M} for {minutes} minutes is outside"
        )
