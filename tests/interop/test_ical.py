"""The appointments calendar in the clinic's time zone, read back by two independent parsers: the
Python ``icalendar`` package and Mozilla's ical.js (Thunderbird's parser, from the npm registry)."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar

from rhytid.interop._ical import appointments_calendar

ICAL_JS = (
    Path(__file__).resolve().parents[2]
    / "build"
    / "npm"
    / "node_modules"
    / "ical.js"
    / "dist"
    / "ical.es5.cjs"
)
READ = """
const ICAL = require(process.argv[1]);
const comp = new ICAL.Component(ICAL.parse(require("fs").readFileSync(0, "utf8")));
for (const zone of comp.getAllSubcomponents("vtimezone")) ICAL.TimezoneService.register(zone);
console.log(JSON.stringify(comp.getAllSubcomponents("vevent").map((e) => {
  const ev = new ICAL.Event(e);
  return [ev.uid, ev.startDate.toUnixTime(), ev.endDate.toUnixTime(), ev.startDate.toString()];
})));
"""

#: UTC starts: winter and summer, the hour after the spring change, and after 2037 (the end of
#: the icalendar package's default VTIMEZONE rules)
STARTS = [
    dt.datetime(2031, 1, 15, 14, 0),
    dt.datetime(2031, 7, 1, 13, 0),
    dt.datetime(2031, 3, 30, 1, 30),  # Berlin: 03:30 CEST, an hour after the clocks went forward
    dt.datetime(2045, 1, 1, 14, 0),
    dt.datetime(2045, 7, 1, 13, 0),
    dt.datetime(2046, 1, 1, 0, 30),  # New York: 19:30 on 31 December, the year before in UTC
]


def _appointments() -> list[Any]:
    return [
        SimpleNamespace(
            id=i, starts_at=t, minutes=45, kind="review", patient_id=1, clinician_id=1, status="booked"
        )
        for i, t in enumerate(STARTS)
    ]


def _calendar(zone: str) -> bytes:
    return appointments_calendar(_appointments(), {1: "TP"}, time_zone=zone)


@pytest.mark.parametrize("zone", ["Europe/Berlin", "America/New_York", "Australia/Sydney"])
def test_times_carry_the_clinic_zone_and_the_instant(zone: str) -> None:
    cal = Calendar.from_ical(_calendar(zone))
    assert str(cal["x-wr-timezone"]) == zone
    [vtz] = cal.walk("VTIMEZONE")
    assert str(vtz["tzid"]) == zone
    for ev in cal.walk("VEVENT"):
        start = ev.decoded("dtstart")
        utc = STARTS[int(str(ev["uid"]).split("-")[1].split("@")[0])].replace(tzinfo=dt.UTC)
        assert ev["dtstart"].params["TZID"] == zone
        assert start == utc  # the same instant ...
        assert start.replace(tzinfo=None) == utc.astimezone(ZoneInfo(zone)).replace(
            tzinfo=None
        )  # ... the clinic's wall time
        assert ev.decoded("dtend") - start == dt.timedelta(minutes=45)


def test_a_clinic_on_utc_writes_utc_times_and_no_zone() -> None:
    text = _calendar("UTC").decode()
    assert "BEGIN:VTIMEZONE" not in text and "TZID" not in text
    assert "DTSTART:20310115T140000Z" in text


@pytest.mark.skipif(
    shutil.which("node") is None or not ICAL_JS.exists(),
    reason="node or ical.js is missing: run `npm install --prefix build/npm ical.js@2`",
)
@pytest.mark.parametrize("zone", ["Europe/Berlin", "America/New_York", "Australia/Sydney", "UTC"])
def test_ical_js_reads_the_same_instants_and_wall_times(zone: str) -> None:
    out = subprocess.run(
        ["node", "-e", READ, str(ICAL_JS)], input=_calendar(zone), capture_output=True, check=True, timeout=60
    )
    events = {uid: (start, end, local) for uid, start, end, local in json.loads(out.stdout)}
    for i, t in enumerate(STARTS):
        utc = t.replace(tzinfo=dt.UTC)
        start, end, local = events[f"appointment-{i}@rhytid"]
        assert start == int(utc.timestamp()), (zone, t, local)
        assert end - start == 45 * 60
        wall = utc.astimezone(ZoneInfo(zone)).replace(tzinfo=None)
        assert local.rstrip("Z") == wall.isoformat()
