"""Clinic-local time conversions: stored UTC, entered and shown on the clinic's wall clock."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rhytid.store import StoreError
from rhytid.store._time import to_local, to_utc, zone

BERLIN = zone("Europe/Berlin")


@pytest.mark.parametrize(
    ("local", "utc"),
    [
        (dt.datetime(2026, 1, 15, 9, 30), dt.datetime(2026, 1, 15, 8, 30)),  # CET, UTC+1
        (dt.datetime(2026, 7, 15, 9, 30), dt.datetime(2026, 7, 15, 7, 30)),  # CEST, UTC+2
        (dt.datetime(2026, 10, 25, 2, 30), dt.datetime(2026, 10, 25, 0, 30)),  # repeated hour: the first
        (dt.datetime(2026, 1, 1, 0, 30), dt.datetime(2025, 12, 31, 23, 30)),  # across midnight and year
    ],
    ids=["winter", "summer", "autumn-fold", "new-year"],
)
def test_to_utc_and_back(local: dt.datetime, utc: dt.datetime) -> None:
    assert to_utc(local, BERLIN, "starts_at") == utc
    assert to_local(utc, BERLIN) == local


def test_a_skipped_wall_clock_time_is_refused_naming_the_field() -> None:
    with pytest.raises(StoreError, match=r"^starts_at: 2026-03-29 02:30 does not exist in Europe/Berlin"):
        to_utc(dt.datetime(2026, 3, 29, 2, 30), BERLIN, "starts_at")


def test_an_aware_time_is_converted_as_given() -> None:
    aware = dt.datetime(2026, 1, 15, 9, 30, tzinfo=dt.timezone(dt.timedelta(hours=-5)))
    assert to_utc(aware, BERLIN, "x") == dt.datetime(2026, 1, 15, 14, 30)


@pytest.mark.parametrize("name", ["Mars/Olympus", "", "../etc/passwd", "europe/berlin ", "/UTC"])
def test_unknown_zones_are_refused(name: str) -> None:
    with pytest.raises(StoreError, match=r"^time_zone: .* is not an IANA time zone"):
        zone(name)


@given(st.datetimes(min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2100, 1, 1)))
def test_utc_round_trips_through_local_time(utc: dt.datetime) -> None:
    for tz in (BERLIN, zone("America/New_York"), zone("Australia/Lord_Howe"), zone("UTC")):
        assert to_utc(to_local(utc, tz), tz, "t") == utc  # the repeated hour keeps its fold
