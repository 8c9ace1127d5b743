"""When a clinician can be booked (``store._hours.check_bookable``): from now on, and inside the
working hours, both ends included."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.orm import Session, sessionmaker

from rhytid.store import Actor, schedule, transaction
from rhytid.store import models as m
from rhytid.store._errors import StoreError
from rhytid.store._hours import check_bookable

from .conftest import World

NOW = dt.datetime(2031, 3, 3, 8, 7)  # a Monday, 08:07 UTC (the clinic's zone is UTC)
MONDAY = dt.datetime(2031, 3, 3)


def _check(factory: sessionmaker[Session], world: World, start: dt.datetime, minutes: int) -> None:
    with transaction(factory) as db:
        clinic = db.get(m.Clinic, world.clinic_id)
        clinician = db.get(m.User, world.clinician_id)
        assert clinic is not None and clinician is not None and clinic.time_zone == "UTC"
        check_bookable(db, clinic=clinic, clinician=clinician, start=start, minutes=minutes, now=NOW)


def test_a_time_already_passed_is_refused_to_the_minute(factory: sessionmaker[Session], world: World) -> None:
    with pytest.raises(StoreError, match=r"starts_at: .* has already passed"):
        _check(factory, world, NOW - dt.timedelta(minutes=1), 15)
    _check(factory, world, NOW, 15)


def test_working_hours_include_their_start_and_end(factory: sessionmaker[Session], world: World) -> None:
    admin = Actor(world.clinic_id, "admin", None, "admin")
    with transaction(factory) as db:
        schedule.set_working_hours(
            db=db, clinician_id=world.clinician_id, hours={0: (9 * 60, 12 * 60)}, actor=admin
        )
    _check(factory, world, MONDAY + dt.timedelta(hours=9), 15)  # from the start
    _check(factory, world, MONDAY + dt.timedelta(hours=11, minutes=45), 15)  # to the end
    for start, minutes in (
        (MONDAY + dt.timedelta(hours=8, minutes=45), 15),
        (MONDAY + dt.timedelta(hours=11, minutes=45), 30),
    ):
        with pytest.raises(StoreError, match=r"starts_at: Dr Who works 09:00.12:00 on Mondays"):
            _check(factory, world, start, minutes)
    with pytest.raises(StoreError, match="does not work on Tuesdays"):
        _check(factory, world, MONDAY + dt.timedelta(days=1, hours=10), 15)
