"""What the patient record page shows beyond the raw rows: a header summary of allergies and
medicines, who treated, the saved plans, a photo strip and before/after pairs of one standard view."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from rhytid.store import StoreError
from rhytid.store import models as m

__all__ = ["PHOTO_VIEWS", "check_view", "record_extras"]

#: The standard views of aesthetic photography of the upper face (what a photo shows).
PHOTO_VIEWS: Mapping[str, str] = {
    "frontal_rest": "front, at rest",
    "frontal_frown": "front, frowning",
    "frontal_raise_brows": "front, brows raised",
    "frontal_squint": "front, smiling / squinting",
    "oblique_left": "oblique, patient's left",
    "oblique_right": "oblique, patient's right",
}


def check_view(view: str, field: str = "photo_view") -> str | None:
    """The view code, None for none given; StoreError naming ``field`` for an unknown one."""
    if not view:
        return None
    if view not in PHOTO_VIEWS:
        raise StoreError(f"{field}: {view!r} is not a standard view; allowed: {', '.join(PHOTO_VIEWS)}")
    return view


def _words(code: str) -> str:
    return code.replace("_", " ")


def _summary(histories: list[m.MedicalHistory]) -> dict[str, Any]:
    """Allergies and medicines of the latest questionnaire, in words (None: not answered)."""
    if not histories:
        return {"history": None, "allergies": None, "medicines": None}
    answers = histories[0].answers
    allergies = answers.get("allergies")
    medicines = answers.get("medications")
    other = answers.get("other_medicines") or answers.get("other_medications")
    return {
        "history": histories[0],
        "allergies": None
        if allergies is None
        else [
            _words(str(a.get("substance", "")))
            + (f" ({_words(str(a['reaction']))})" if a.get("reaction") else "")
            for a in allergies
            if isinstance(a, dict)
        ],
        "medicines": None
        if medicines is None and not other
        else [_words(str(x)) for x in medicines or []] + ([str(other)] if other else []),
    }


def record_extras(db: Session, record: Mapping[str, Any]) -> dict[str, Any]:
    """Context for the record page: ``summary``, ``staff`` (user id → name), ``photos`` (newest
    last, with their assessment date) and ``compare`` (view → its photos, for views with two or more)."""
    ids = {t.clinician_id for t in record["treatments"]} | {p.created_by for p in record["plans"]}
    staff = {u.id: u.name for u in db.scalars(select(m.User).where(m.User.id.in_(ids)))} if ids else {}
    photos = [(a, p) for a in record["assessments"] for p in a.photos]
    compare: dict[str, list[tuple[m.Assessment, m.Photo]]] = {}
    for a, p in photos:
        if p.view:
            compare.setdefault(p.view, []).append((a, p))
    return {
        "summary": _summary(list(record["histories"])),
        "staff": staff,
        "photos": photos,
        "compare": {k: v for k, v in compare.items() if len(v) >= 2},
        "views": PHOTO_VIEWS,
    }
