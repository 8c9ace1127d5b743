"""Hyaluronic-acid filler pages: the syringe inventory and the filler treatment form.

Bad input re-renders the form with the message next to the field it names and the input kept;
nothing is stored (the repository refuses in one transaction).
"""

from __future__ import annotations

import re

from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from rhytid.store import NotFoundError, StoreError, repo
from rhytid.store import _inventory as inv
from rhytid.store import models as m
from rhytid.store._models import utcnow
from rhytid.web._auth import ClinicalUser, Clinician, DbSession, actor_of
from rhytid.web._forms import CsrfForm, error_field, form_text, validation_message
from rhytid.web._render import redirect, render
from rhytid.web._routing import page_router

router = page_router()

#: rows of sites offered on the filler form
SITE_ROWS = 6
_SYRINGE_FIELDS = ("product", "lot", "expiry", "syringe_ml")


def _site_message(message: str, rows: list[int]) -> str:
    """A message about ``sites.N.key`` named by the form's field of that row (``site_R_key``)."""
    found = re.match(r"sites\.(\d+)\.(\w+):", message)
    if found and int(found.group(1)) < len(rows):
        return f"site_{rows[int(found.group(1))]}_{found.group(2)}:" + message[found.end() :]
    return message


# --- syringes ----------------------------------------------------------------------------------
def _syringes_page(
    request: Request,
    db: Session,
    user: m.User,
    values: dict[str, str],
    status: int = 200,
    error: str | None = None,
) -> HTMLResponse:
    rows = inv.list_syringes(db=db, actor=actor_of(user))
    db.commit()
    today = utcnow().date()
    return render(
        request,
        "syringes.html",
        status,
        rows=rows,
        today=today,
        values=values,
        form_error=error,
        field=error_field(error),
    )


@router.get("/syringes", response_class=HTMLResponse)
def syringes(request: Request, db: DbSession, user: ClinicalUser) -> HTMLResponse:
    return _syringes_page(request, db, user, {})


@router.post("/syringes", response_class=HTMLResponse)
def add_syringe(request: Request, db: DbSession, user: ClinicalUser, form: CsrfForm) -> Response:
    raw = {k: form_text(form, k) for k in _SYRINGE_FIELDS}
    try:
        data = inv.SyringeCreate.model_validate({k: v for k, v in raw.items() if v})
        inv.create_syringe(db=db, data=data, actor=actor_of(user))
        db.commit()
    except (ValidationError, StoreError) as exc:
        db.rollback()
        message = validation_message(exc) if isinstance(exc, ValidationError) else str(exc)
        return _syringes_page(request, db, user, raw, 422, message)
    return redirect("/syringes")


# --- filler treatments -------------------------------------------------------------------------
def _filler_page(
    request: Request,
    db: Session,
    user: m.User,
    patient_id: int,
    values: dict[str, str],
    status: int = 200,
    error: str | None = None,
) -> HTMLResponse:
    actor = actor_of(user)
    patient = repo.get_patient(db=db, patient_id=patient_id, actor=actor, clinical=True)
    syringes = inv.usable_syringes(db=db, actor=actor, at=utcnow())
    db.commit()
    return render(
        request,
        "filler.html",
        status,
        patient=patient,
        syringes=syringes,
        areas=inv.filler_codes("areas"),
        planes=inv.filler_codes("planes"),
        techniques=inv.filler_codes("techniques"),
        rows=range(1, SITE_ROWS + 1),
        values=values,
        form_error=error,
        field=error_field(error),
    )


@router.get("/patients/{patient_id}/fillers/new", response_class=HTMLResponse)
def filler_form(request: Request, db: DbSession, user: Clinician, patient_id: int) -> HTMLResponse:
    return _filler_page(request, db, user, patient_id, {})


@router.post("/patients/{patient_id}/fillers", response_class=HTMLResponse)
def record_filler(
    request: Request, db: DbSession, user: Clinician, patient_id: int, form: CsrfForm
) -> Response:
    keys = ["syringe_id", "technique", "hyaluronidase_on_hand", "notes"]
    keys += [f"site_{i}_{k}" for i in range(1, SITE_ROWS + 1) for k in ("area", "plane", "volume_ml")]
    values = {k: form_text(form, k) for k in keys}
    rows = [
        i
        for i in range(1, SITE_ROWS + 1)
        if any(values[f"site_{i}_{k}"] for k in ("area", "plane", "volume_ml"))
    ]
    sites = [{k: values[f"site_{i}_{k}"] for k in ("area", "plane", "volume_ml")} for i in rows]
    raw = {
        "syringe_id": values["syringe_id"] or None,
        "technique": values["technique"] or None,
        "hyaluronidase_on_hand": values["hyaluronidase_on_hand"] == "yes",
        "sites": sites,
        "notes": values["notes"] or None,
    }
    try:
        data = inv.FillerTreatmentCreate.model_validate(raw)
        row = inv.create_filler_treatment(db=db, patient_id=patient_id, data=data, actor=actor_of(user))
        db.commit()
    except (ValidationError, StoreError) as exc:
        if isinstance(exc, NotFoundError) and not str(exc).startswith("syringe_id"):
            raise
        db.rollback()
        if isinstance(exc, ValidationError):
            message = _site_message(validation_message(exc), rows)
            if message.startswith("sites:"):
                message = "site_1_area: enter at least one site (area, plane and volume)"
        else:
            message = str(exc)
        return _filler_page(request, db, user, patient_id, values, 422, message)
    return redirect(f"/patients/{patient_id}?filler={row.id}#fillers")
