"""Clinic-local time: the database stores naive UTC; people enter and read the clinic's wall clock.

``to_utc`` refuses a wall-clock time that does not exist (skipped when the clocks go forward) and
takes the first of two that repeat (when they go back), the ``fold=0`` convention of PEP 495.
"""

from __future__ import annotations

import datetime as dt
import functools
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from rhytid.store._errors import StoreError

__all__ = ["to_local", "to_utc", "zone"]


@functools.lru_cache(maxsize=64)
def zone(name: str, field: str = "time_zone") -> ZoneInfo:
    """The IANA zone ``name`` (e.g. ``Europe/Berlin``); StoreError naming ``field`` otherwise."""
    bad = StoreError(f"{field}: {name!r} is not an IANA time zone such as 'Europe/Berlin'")
    if name != "UTC" and name not in available_timezones():
        raise bad
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise bad from None


def to_utc(local: dt.datetime, tz: ZoneInfo, field: str) -> dt.datetime:
    """Naive UTC of a clinic wall-clock time (an aware ``local`` is converted as it is)."""
    if local.tzinfo is not None:
        return local.astimezone(dt.UTC).replace(tzinfo=None)
    utc = local.replace(tzinfo=tz).astimezone(dt.UTC)
    if utc.astimezone(tz).replace(tzinfo=None) != local:
        raise StoreError(
            f"{field}: {local:%Y-%m-%d %H:%M} does not exist in {tz.key} (the clocks go forward then)"
        )
    return utc.replace(tzinfo=None)


def to_local(utc: dt.datetime, tz: ZoneInfo) -> dt.datetime:
    """Naive clinic wall-clock time of a naive UTC time."""
    return utc.replace(tzinfo=dt.UTC).astimezone(tz).replace(tzinfo=None)
