"""Opening and submitting the forms a patient reaches through a signed link (intake, consent, aftercare).

The link's actor is the patient (``patient-link:<id>``); opening a form is an audited read and a
submission spends the single-use link in the caller's transaction.
"""

from __future__ import annotations

import hmac

from fastapi import HTTPException, Request
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from rhytid.store import Actor, links, repo
from rhytid.store import models as m
from rhytid.web._auth import PatientLink, has_staff_credentials, link_csrf, read_link

__all__ = ["link_actor", "link_patient", "link_submission", "open_link"]


def link_actor(patient: m.Patient) -> Actor:
    """The patient acting through a link (no user; role ``patient``)."""
    return Actor(clinic_id=patient.clinic_id, label=f"patient-link:{patient.id}", role="patient")


def link_patient(db: Session, patient_id: int) -> m.Patient:
    patient = db.get(m.Patient, patient_id)
    if patient is None:
        raise HTTPException(404, detail="link: not a valid link")
    return patient


def open_link(request: Request, db: Session, token: str, form: str) -> tuple[PatientLink, m.Patient]:
    """The link's ``form`` opened by its patient (an audited read; 404/410 for a bad link)."""
    link = read_link(request, db, token, form)
    patient = link_patient(db, link.patient_id)
    repo.audit(db, link_actor(patient), "read", f"{form}_form", None, patient.id)
    db.commit()
    return link, patient


def link_submission(
    request: Request, db: Session, token: str, form: str, data: FormData, *, witnessed: bool = False
) -> tuple[PatientLink, m.Patient, FormData]:
    """The link, its patient and the submitted ``data``; the link is spent in ``db``'s transaction
    (undone if the caller rolls back). 403 without the link's CSRF token or with staff credentials:
    staff record answers under their own name, never as the patient. A ``witnessed`` form (a
    consent the patient signs on the clinic's tablet) may be sent from a staff member's device:
    the row records that staff member as its witness."""
    if has_staff_credentials(request) and not witnessed:
        raise HTTPException(
            403, detail="link: staff cannot submit a patient's form; record the answers under your own name"
        )
    link = read_link(request, db, token, form)
    if not hmac.compare_digest(str(data.get("csrf_token") or ""), link_csrf(request, token)):
        raise HTTPException(403, detail="csrf_token: missing or invalid; reload the page")
    links.spend_link(db=db, link_id=link.link_id)
    return link, link_patient(db, link.patient_id), data
