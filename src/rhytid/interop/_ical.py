"""Appointments as an iCalendar (RFC 5545) calendar; summaries carry initials, not names."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from icalendar import Calendar, Event

__all__ = ["appointments_calendar"]

_KIND = {
    "consultation": "Consultation",
    "treatment": "Treatment",
    "review": "2-week review",
    "recall": "Recall",
}


def appointments_calendar(appointments: Iterable[Any], initials: Mapping[int, str]) -> bytes:
    """One VEVENT per appointment (clinic-local floating times)."""
    cal = Calendar()
    cal.add("prodid", "-//Rhytid//clinic//EN")
    cal.add("version", "2.0")
    stamp = dt.datetime.now(dt.UTC)
    for a in appointments:
        ev = Event()
        ev.add("uid", f"appointment-{a.id}@rhytid")
        ev.add("dtstamp", stamp)
        ev.add("dtstart", a.starts_at)
        ev.add("dtend", a.starts_at + dt.timedelta(minutes=a.minutes))
        ev.add("summary", f"{_KIND.get(a.kind, a.kind)} — {initials.get(a.patient_id, '')}".strip(" —"))
        ev.add("status", "CONFIRMED" if a.status == "booked" else "CANCELLED")
        cal.add_component(ev)
    out: bytes = cal.to_ical()
    return out
