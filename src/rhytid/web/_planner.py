"""The planner's JSON API beyond the preview: maps of a day, the draft, the last treatment as a
starting plan, and the explicit conversion of units when the product is switched."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import Request, Response

from rhytid.clinic import convert_plan_units
from rhytid.store import _planner as planner
from rhytid.store import schemas as s
from rhytid.store._time import to_local
from rhytid.web._auth import AnyUser, ClinicalUser, DbSession, actor_of
from rhytid.web._render import clinic_zone
from rhytid.web._routing import api_router

__all__ = ["api"]

api = api_router(tags=["planning"])


def _shown(request: Request, at: dt.datetime, fmt: str) -> str:
    """A stored (naive UTC) time as the clinic's wall clock, for a person to read."""
    return to_local(at, clinic_zone(request)).strftime(fmt)


@api.post("/patients/{patient_id}/preview/maps")
def maps(db: DbSession, user: ClinicalUser, patient_id: int, data: s.MapsRequest) -> dict[str, Any]:
    """Wrinkle depth at maximum contraction before treatment and on ``day`` for the plan's treated
    areas (the model's field maps, µm), and the block of the nerve endings on that day."""
    result = planner.planner_maps(
        db=db, patient_id=patient_id, data=data.plan, day=data.day, actor=actor_of(user)
    )
    db.commit()
    return result


@api.get("/patients/{patient_id}/plan-draft")
def read_draft(request: Request, db: DbSession, user: ClinicalUser, patient_id: int) -> dict[str, Any]:
    """The planner as this user left it for this patient (``state`` null when there is none);
    ``kept``: when, on the clinic's clock, in words (``Wed 2 Dec 2026 09:08``)."""
    draft = planner.get_draft(db=db, patient_id=patient_id, actor=actor_of(user))
    db.commit()
    if draft is None:
        return {"state": None, "updated_at": None, "kept": None}
    return {**draft, "kept": _shown(request, draft["updated_at"], "%a %-d %b %Y %H:%M")}


@api.put("/patients/{patient_id}/plan-draft")
def save_draft(db: DbSession, user: ClinicalUser, patient_id: int, data: s.DraftState) -> dict[str, Any]:
    """Keep the planner's state as this user's draft for this patient (saved as it is edited)."""
    draft = planner.save_draft(db=db, patient_id=patient_id, data=data, actor=actor_of(user))
    db.commit()
    return draft


@api.delete("/patients/{patient_id}/plan-draft", status_code=204)
def discard_draft(db: DbSession, user: ClinicalUser, patient_id: int) -> Response:
    """Drop this user's draft for this patient (the planner's Clear, or after saving the plan)."""
    planner.discard_draft(db=db, patient_id=patient_id, actor=actor_of(user))
    db.commit()
    return Response(status_code=204)


@api.get("/patients/{patient_id}/last-treatment")
def last_treatment(request: Request, db: DbSession, user: ClinicalUser, patient_id: int) -> dict[str, Any]:
    """The latest recorded toxin treatment as a starting plan (``treatment`` null when none);
    ``performed``: its day on the clinic's clock, in words (``Wed 2 Dec 2026``)."""
    row = planner.last_treatment(db=db, patient_id=patient_id, actor=actor_of(user))
    db.commit()
    if row is None:
        return {"treatment": None}
    return {"treatment": {**row, "performed": _shown(request, row["performed_at"], "%a %-d %b %Y")}}


@api.post("/unit-conversion")
def unit_conversion(user: AnyUser, data: s.UnitConversionRequest) -> dict[str, Any]:
    """Each point's units in another product's units (approximate; low end of the range)."""
    return convert_plan_units(data.units, data.from_product, data.to_product)
