"""Appointments as an iCalendar (RFC 5545) calendar; summaries carry initials, not names.

Times are stored as naive UTC. They are written in the clinic's time zone with its rules
(``DTSTART;TZID=Europe/Berlin:20340110T090000`` and a ``VTIMEZONE`` component, ``X-WR-TIMEZONE``
for calendars that read it), so that the file says the time the patient was given and every
calendar converts it to its own zone; a clinic on UTC gets UTC times (``...T080000Z``). A floating
time (no zone) is never written: it would be read as the reader's local time.

A cancelled appointment stays in the calendar with ``STATUS:CANCELLED`` and a higher
``SEQUENCE``, so that a subscribed calendar removes it instead of keeping it for ever. Each event
names where it takes place (``LOCATION``: the clinic's name and address) and with whom
(``ORGANIZER`` with the clinician's name, and the name again in ``DESCRIPTION`` for calendars that
hide the organiser).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any
from zoneinfo import ZoneInfo

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
    time_zone: str = "UTC",
) -> bytes:
    """One VEVENT per appointment, booked or cancelled, its times in ``time_zone`` (an IANA name,
    the clinic's); ``clinicians`` maps a user id to (name, e-mail)."""
    tz = dt.UTC if time_zone == "UTC" else ZoneInfo(time_zone)
    cal = Calendar()
    cal.add("prodid", "-//Rhytid//clinic//EN")
    cal.add("version", "2.0")
    cal.add("x-wr-timezone", time_zone)
    stamp = dt.datetime.now(dt.UTC)
    rows = list(appointments)
    for a in rows:
        ev = Event()
        ev.add("uid", f"appointment-{a.id}@rhytid")
        ev.add("dtstamp", stamp)
        start = a.starts_at.replace(tzinfo=dt.UTC) if a.starts_at.tzinfo is None else a.starts_at
        end = start + dt.timedelta(minutes=a.minutes)  # in UTC: a DST change keeps the length
        ev.add("dtstart", start.astimezone(tz))
        ev.add("dtend", end.astimezone(tz))
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
    if tz is not dt.UTC and rows:
        # the VTIMEZONE of the zone's rules over the calendar's own years (not only 1970-2037),
        # a year to spare on each side: a local date may lie in the year before or after UTC's
        years = [a.starts_at.year for a in rows]
        cal.add_missing_timezones(dt.date(min(years) - 1, 1, 1), dt.date(max(years) + 2, 1, 1))
        _one_date_per_rdate(cal)
    out: bytes = cal.to_ical()
    return out


def _one_date_per_rdate(cal: Calendar) -> None:
    """Write each change of a VTIMEZONE observance as its own ``RDATE`` line, its first one
    (``DTSTART``) included. RFC 5545 allows one line listing them all, and the first change in
    DTSTART only, but readers such as ical.js (Thunderbird) take only a line's first date and skip
    DTSTART once an RDATE is there, and then show summer times an hour off."""
    for zone in cal.walk("VTIMEZONE"):
        for observance in zone.subcomponents:
            listed = observance.pop("RDATE", None)
            if listed is None:
                continue
            lines = listed if isinstance(listed, list) else [listed]
            changes = [observance.decoded("DTSTART")] + [w.dt for line in lines for w in line.dts]
            for when in sorted(set(changes)):
                observance.add("rdate", when)
