"""The clinic's opening hours and logo: set by an admin (audited), shown in the header and to patients.

Opening hours are clinic-local wall-clock times per weekday (``"0"`` Monday … ``"6"`` Sunday →
``["09:00", "17:30"]``); a day that is not listed is closed. A logo is a PNG or JPEG of at most
:data:`MAX_LOGO_BYTES`, recognised by its first bytes (not by the name or type the browser
sent), stored without its metadata (EXIF, text chunks) and base64-encoded so that the SQLite file
and the JSON backup of PostgreSQL both carry it. SVG is refused: it can carry scripts.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping

from sqlalchemy.orm import Session

from rhytid.store import _models as m
from rhytid.store._errors import StoreError
from rhytid.store._exif import strip_metadata
from rhytid.store._hours import WEEKDAYS
from rhytid.store._models import utcnow
from rhytid.store._repo import Actor, audit

__all__ = [
    "MAX_LOGO_BYTES",
    "logo",
    "opening_hours",
    "profile",
    "remove_logo",
    "set_logo",
    "set_opening_hours",
]

#: The largest logo accepted (a header logo needs far less).
MAX_LOGO_BYTES = 256 * 1024
_TIME = re.compile(r"^([01][0-9]|2[0-3]):([0-5][0-9])$")
_TYPES = ((b"\x89PNG\r\n\x1a\n", "image/png"), (b"\xff\xd8\xff", "image/jpeg"))


def profile(db: Session, clinic_id: int) -> m.ClinicProfile:
    """The clinic's profile row (created empty the first time it is asked)."""
    row = db.get(m.ClinicProfile, clinic_id)
    if row is None:
        row = m.ClinicProfile(clinic_id=clinic_id, opening_hours={})
        db.add(row)
        db.flush()
    return row


def opening_hours(db: Session, clinic_id: int) -> dict[int, tuple[str, str]]:
    """Weekday (0 Monday) -> (opens, closes) as ``HH:MM``; closed days are absent."""
    row = db.get(m.ClinicProfile, clinic_id)
    hours = row.opening_hours if row is not None else {}
    return {int(k): (str(v[0]), str(v[1])) for k, v in sorted(hours.items(), key=lambda kv: int(kv[0]))}


def _admin(actor: Actor) -> None:
    if actor.role != "admin":
        raise StoreError("role: only an admin may change the clinic settings")


def _minutes(text: str) -> int:
    match = _TIME.match(text)
    assert match is not None
    return int(match.group(1)) * 60 + int(match.group(2))


def set_opening_hours(
    *, db: Session, actor: Actor, hours: Mapping[int, tuple[str, str]]
) -> dict[int, tuple[str, str]]:
    """Replace the opening hours (``weekday -> (opens, closes)``, both ``HH:MM`` or both empty for a
    closed day); StoreError naming the day and what is wrong, nothing changed."""
    _admin(actor)
    clean: dict[str, list[str]] = {}
    for day, (opens, closes) in sorted(hours.items()):
        if day not in range(7):
            raise StoreError(f"opening_hours: no weekday {day}; 0 is Monday, 6 Sunday")
        name = WEEKDAYS[day]
        opens, closes = opens.strip(), closes.strip()
        if not opens and not closes:
            continue
        if not opens or not closes:
            missing = "opening" if not opens else "closing"
            raise StoreError(
                f"opening_hours: {name}: give the {missing} time too, or leave both empty if closed"
            )
        for what, text in (("opening", opens), ("closing", closes)):
            if not _TIME.match(text):
                raise StoreError(
                    f"opening_hours: {name}: the {what} time {text[:10]!r} is not a time like 09:00"
                )
        if _minutes(closes) <= _minutes(opens):
            raise StoreError(
                f"opening_hours: {name}: closes at {closes}, which is not after it opens at {opens}"
            )
        clean[str(day)] = [opens, closes]
    row = profile(db, actor.clinic_id)
    row.opening_hours = clean
    row.updated_at = utcnow()
    audit(db, actor, "update", "clinic_settings", actor.clinic_id, None, "opening hours")
    return opening_hours(db, actor.clinic_id)


def set_logo(*, db: Session, actor: Actor, content: bytes) -> str:
    """Store ``content`` as the clinic's logo; its media type. StoreError naming ``logo``."""
    _admin(actor)
    if not content:
        raise StoreError("logo: choose a PNG or JPEG file")
    if len(content) > MAX_LOGO_BYTES:
        raise StoreError(
            f"logo: the file is larger than {MAX_LOGO_BYTES // 1024} KB; "
            "use a smaller image, e.g. a PNG 400 px wide"
        )
    media = next((t for magic, t in _TYPES if content.startswith(magic)), None)
    if media is None:
        raise StoreError("logo: not a PNG or JPEG image (SVG and other formats are not accepted)")
    row = profile(db, actor.clinic_id)
    row.logo_type = media
    row.logo_b64 = base64.b64encode(strip_metadata(content)).decode("ascii")
    row.updated_at = utcnow()
    audit(db, actor, "update", "clinic_settings", actor.clinic_id, None, "logo")
    return media


def remove_logo(*, db: Session, actor: Actor) -> None:
    """The clinic shows no logo again."""
    _admin(actor)
    row = profile(db, actor.clinic_id)
    row.logo_type = row.logo_b64 = None
    row.updated_at = utcnow()
    audit(db, actor, "update", "clinic_settings", actor.clinic_id, None, "logo removed")


def logo(db: Session, clinic_id: int) -> tuple[bytes, str] | None:
    """The clinic's logo and its media type, if it has one."""
    row = db.get(m.ClinicProfile, clinic_id)
    if row is None or not row.logo_b64 or not row.logo_type:
        return None
    return base64.b64decode(row.logo_b64), row.logo_type
