"""Appointments as an iCalendar (RFC 5545) calendar; summaries carry initials, not names.

Times are stored as naive UTC and written as UTC (``DTSTART:20340110T080000Z``), which every
calendar shows in its own zone; a floating time would be read as local time, off by the clinic's
offset. A cancelled appointment stays in the calendar with ``STATUS:CANCELLED`` and a higher
``SEQUENCE``, so that a subscribed calendar removes it instead of keeping it for ever. Each event
names where it takes place (``LOCATION``: the clinic's name and address) and with whom
(``ORGANIZER`` with the clinician's name, and the name again in ``DESCRIPTION`` for calendars that
hide the organiser).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from icalendar import Calendar, Event, vCalAddress

__all__ = ["appointments_calendar"]

_KIND = {
    "consultation": "Consultation",
    "treatment": "Treatment",
    "review": "2-week review",
    "recall": "Recall",
}


def appointments_calendar(
    appointments: Iterable[Any],
    initials: Mapping[int, str],
    *,
    location: str | None = None,
    clinicians: Mapping[int, tuple[str, str]] | None = None,
) -> bytes:
    """One VEVENT per appointment, booked or cancelled, in UTC; ``clinicians`` maps a user id to
    (name, e-mail)."""
    cal = Calendar()
    cal.add("prodid", "-//Rhytid//clinic//EN")
    cal.add("version", "2.0")
    stamp = dt.datetime.now(dt.UTC)
    for a in appointments:
        ev = Event()
        ev.add("uid", f"appointment-{a.id}@rhytid")
        ev.add("dtstamp", stamp)
        start = a.starts_at.replace(tzinfo=dt.UTC) if a.starts_at.tzinfo is None else a.starts_at
        ev.add("dtstart", start.astimezone(dt.UTC))
        ev.add("dtend", start.astimezone(dt.UTC) + dt.timedelta(minutes=a.minutes))
        ev.add("summary", f"{_KIND.get(a.kind, a.kind)} — {initials.get(a.patient_id, '')}".strip(" —"))
        if location:
            ev.add("location", location)
        who = (clinicians or {}).get(a.clinician_id)
        if who is not None:
            organizer = vCalAddress(f"mailto:{who[1]}")
            organizer.params["cn"] = who[0]
            ev.add("organizer", organizer)
            ev.add("description", f"With {who[0]}")
        cancelled = a.status == "cancelled"
        ev.add("status", "CANCELLED" if cancelled else "CONFIRMED")
        ev.add("sequence", 1 if cancelled else 0)
        cal.add_component(ev)
    out: bytes = cal.to_ical()
    return out
