"""Consent pages: the patient reads and signs (typed name, drawn signature) through a signed link,
on their phone or on the clinic's tablet; the record lists every signature with its hash check.

A link is ``/p/consent/{kind}/{token}`` (the token is bound to the patient and the kind). Opened
in a browser where a staff member is signed in (the clinic's tablet), the signature is stored as
given at the clinic, with that staff member as witness. A bad submission re-renders the form (422)
with the message next to the field, the typed name kept, and nothing stored.
"""

from __future__ import annotations

from typing import Any

from fastapi import HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from rhytid.store import Actor, NotFoundError, StoreError, repo, sessions
from rhytid.store import _consent as consent
from rhytid.store import models as m
from rhytid.web._auth import (
    AnyUser,
    ClinicalUser,
    DbSession,
    actor_of,
    link_csrf,
    make_link,
    read_session,
    settings_of,
)
from rhytid.web._forms import CsrfForm, RawForm, form_text
from rhytid.web._patient_links import link_submission, open_link
from rhytid.web._render import render
from rhytid.web._routing import api_router, page_router

__all__ = ["api", "router"]

router = page_router()
api = api_router(tags=["consent"])

_FIELDS = ("signed_name", "signature", "agree")  # shown next to their field (others: atop the form)


def link_form(kind: str) -> str:
    """The form name a consent link is signed for."""
    return f"consent:{kind}"


def consent_url(request: Request, db: Session, patient_id: int, kind: str, actor: Actor) -> str:
    """A new single-use link to the consent form of ``kind`` (its row is added to ``db``)."""
    token, _ = make_link(request, db, patient_id=patient_id, form=link_form(kind), actor=actor)
    return str(request.base_url).rstrip("/") + f"/p/consent/{kind}/{token}"


def _kind(kind: str) -> consent.ConsentTemplate:
    if kind not in consent.KINDS:
        raise HTTPException(404, detail="link: not a valid link")
    return consent.template(kind)


def _witness(request: Request, db: Session, patient: m.Patient) -> m.User | None:
    """The staff member signed in on this device (the clinic's tablet), if any."""
    data = read_session(request)
    if not data:
        return None
    row = sessions.check_session(
        db=db,
        session_id=data.get("sid"),
        key=data.get("k"),
        kind="cookie",
        idle_minutes=settings_of(request).idle_minutes,
    )
    user = db.get(m.User, row.user_id) if row is not None else None
    if user is None or not user.active or user.clinic_id != patient.clinic_id:
        return None
    return user


def _client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _page(
    request: Request,
    db: Session,
    patient: m.Patient,
    kind: str,
    token: str,
    values: dict[str, str] | None = None,
    error: str = "",
) -> HTMLResponse:
    tpl = _kind(kind)
    field = error.split(":", 1)[0] if error else ""
    return render(
        request,
        "consent.html",
        422 if error else 200,
        patient=patient,
        tpl=tpl,
        token=token,
        form_csrf=link_csrf(request, token),
        values=values or {},
        form_error=error,
        error_at=field if field in _FIELDS else "",
        witness=_witness(request, db, patient),
    )


@router.get("/p/consent/{kind}/{token}", response_class=HTMLResponse)
def consent_page(request: Request, db: DbSession, kind: str, token: str) -> HTMLResponse:
    _kind(kind)
    _, patient = open_link(request, db, token, link_form(kind))
    return _page(request, db, patient, kind, token)


@router.post("/p/consent/{kind}/{token}", response_class=HTMLResponse)
def consent_submit(request: Request, db: DbSession, kind: str, token: str, data: RawForm) -> HTMLResponse:
    _kind(kind)
    _, patient, form = link_submission(request, db, token, link_form(kind), data, witnessed=True)
    values = {k: form_text(form, k) for k in (*_FIELDS, "template_version")}
    try:
        if values["agree"] != "yes":
            raise StoreError("agree: tick the box to confirm you have read and understood the text")
        row = consent.sign_consent(
            db=db,
            patient_id=patient.id,
            kind=kind,
            version=values["template_version"],
            signed_name=values["signed_name"],
            signature=values["signature"],
            ip_address=_client_ip(request),
            user_agent=request.headers.get("user-agent", ""),
            witness=_witness(request, db, patient),
            clinic_id=patient.clinic_id,
        )
        db.commit()
    except StoreError as exc:
        db.rollback()
        values.pop("signature")  # the drawing is not put back: the patient signs again
        return _page(request, db, patient, kind, token, values, str(exc))
    return render(request, "consent_done.html", patient=patient, row=row)


def _consents_page(
    request: Request,
    db: Session,
    user: m.User,
    patient_id: int,
    status: int = 200,
    error: str = "",
    withdraw: dict[str, Any] | None = None,
) -> HTMLResponse:
    patient = repo.get_patient(db=db, patient_id=patient_id, actor=actor_of(user), clinical=True)
    rows = consent.list_consents(db, patient.id)
    current = {k: consent.current_consent(db, patient.id, k) for k in consent.KINDS}
    repo.audit(db, actor_of(user), "read", "consent", None, patient.id)
    db.commit()
    return render(
        request,
        "consents.html",
        status,
        patient=patient,
        rows=rows,
        verified={r.id: consent.verify(r) for r in rows},
        current=current,
        templates=consent.templates(),
        form_error=error,
        withdraw=withdraw or {},
    )


@router.get("/patients/{patient_id}/consents", response_class=HTMLResponse)
def consents(request: Request, db: DbSession, user: ClinicalUser, patient_id: int) -> HTMLResponse:
    return _consents_page(request, db, user, patient_id)


@router.post("/patients/{patient_id}/consents/{consent_id}/withdraw", response_class=HTMLResponse)
def withdraw(
    request: Request, db: DbSession, user: ClinicalUser, patient_id: int, consent_id: int, form: CsrfForm
) -> Response:
    """Record the patient's withdrawal of a signed consent; a bad reason re-renders the page (422)
    with the message next to that consent's reason box, and nothing is stored."""
    reason = form_text(form, "reason")
    repo.get_patient(db=db, patient_id=patient_id, actor=actor_of(user), clinical=True)
    try:
        consent.withdraw_consent(
            db=db, patient_id=patient_id, consent_id=consent_id, reason=reason, recorded_by=user
        )
    except StoreError as exc:
        db.rollback()
        status = 404 if isinstance(exc, NotFoundError) else 422
        if status == 404:
            raise HTTPException(404, detail=str(exc)) from exc
        info = {"consent_id": consent_id, "reason": reason, "error": str(exc)}
        return _consents_page(request, db, user, patient_id, status, withdraw=info)
    db.commit()
    return RedirectResponse(f"/patients/{patient_id}/consents#consent-{consent_id}", status_code=303)


@router.post("/patients/{patient_id}/consents/sign-here")
def sign_here(request: Request, db: DbSession, user: AnyUser, patient_id: int, form: CsrfForm) -> Response:
    """Open the consent form on this device (the clinic's tablet), witnessed by the signed-in user."""
    kind = form_text(form, "kind")
    if kind not in consent.KINDS:
        raise HTTPException(422, detail=f"kind: must be one of {', '.join(consent.KINDS)}")
    url = consent_url(request, db, patient_id, kind, actor_of(user))  # the link row is audited
    db.commit()
    return RedirectResponse(url, status_code=303)


@router.post("/patients/{patient_id}/consents/link", response_class=HTMLResponse)
def show_link(
    request: Request, db: DbSession, user: AnyUser, patient_id: int, form: CsrfForm
) -> HTMLResponse:
    """The patient's consent link, to open on their phone (or send by any other means)."""
    kind = form_text(form, "kind")
    if kind not in consent.KINDS:
        raise HTTPException(422, detail=f"kind: must be one of {', '.join(consent.KINDS)}")
    patient = repo.get_patient(db=db, patient_id=patient_id, actor=actor_of(user))
    url = consent_url(request, db, patient_id, kind, actor_of(user))  # the link row is audited
    db.commit()
    return render(request, "link.html", patient=patient, url=url, kind=consent.template(kind).label)


# --- JSON API ----------------------------------------------------------------------------------
class ConsentSign(BaseModel):
    kind: str = Field(max_length=30)
    template_version: str = Field(max_length=30)
    signed_name: str = Field(max_length=300)
    signature: str = Field(max_length=60_000)


class ConsentPublic(BaseModel):
    id: int
    patient_id: int
    kind: str
    template_version: str
    title: str
    signed_name: str
    signed_at: Any
    ip_address: str
    via: str
    witness_id: int | None
    content_hash: str
    verified: bool
    current: bool
    withdrawn_at: Any = None
    withdrawal_reason: str | None = None


class ConsentWithdraw(BaseModel):
    reason: str = Field(max_length=4000)


def _public(db: Session, row: m.Consent) -> ConsentPublic:
    now_current = consent.current_consent(db, row.patient_id, row.kind)
    return ConsentPublic(
        id=row.id,
        patient_id=row.patient_id,
        kind=row.kind,
        template_version=row.template_version,
        title=row.title,
        signed_name=row.signed_name,
        signed_at=row.signed_at,
        ip_address=row.ip_address,
        via=row.via,
        witness_id=row.witness_id,
        content_hash=row.content_hash,
        verified=consent.verify(row),
        current=now_current is not None and now_current.id == row.id,
        withdrawn_at=row.withdrawal.withdrawn_at if row.withdrawal else None,
        withdrawal_reason=row.withdrawal.reason if row.withdrawal else None,
    )


@api.get("/consent-templates")
def consent_templates(user: AnyUser) -> list[dict[str, Any]]:
    return [
        {"kind": t.kind, "version": t.version, "title": t.title, "text": t.text, "valid_days": t.valid_days}
        for t in consent.templates().values()
    ]


@api.get("/patients/{patient_id}/consents", response_model=list[ConsentPublic])
def list_patient_consents(db: DbSession, user: ClinicalUser, patient_id: int) -> Any:
    patient = repo.get_patient(db=db, patient_id=patient_id, actor=actor_of(user), clinical=True)
    out = [_public(db, r) for r in consent.list_consents(db, patient.id)]
    db.commit()
    return out


@api.post("/patients/{patient_id}/consents", response_model=ConsentPublic, status_code=201)
def sign_at_clinic(request: Request, db: DbSession, user: AnyUser, patient_id: int, data: ConsentSign) -> Any:
    """A consent signed at the clinic (e.g. a signature pad), witnessed by the calling user."""
    patient = repo.get_patient(db=db, patient_id=patient_id, actor=actor_of(user))
    row = consent.sign_consent(
        db=db,
        patient_id=patient.id,
        kind=data.kind,
        version=data.template_version,
        signed_name=data.signed_name,
        signature=data.signature,
        ip_address=_client_ip(request),
        user_agent=request.headers.get("user-agent", ""),
        witness=db.get(m.User, user.id),
        clinic_id=user.clinic_id,
    )
    db.commit()
    return _public(db, row)


@api.post("/patients/{patient_id}/consents/{consent_id}/withdraw", response_model=ConsentPublic)
def withdraw_api(
    db: DbSession, user: ClinicalUser, patient_id: int, consent_id: int, data: ConsentWithdraw
) -> Any:
    """Record the patient's withdrawal of a signed consent (the signed row is kept unchanged)."""
    repo.get_patient(db=db, patient_id=patient_id, actor=actor_of(user), clinical=True)
    consent.withdraw_consent(
        db=db, patient_id=patient_id, consent_id=consent_id, reason=data.reason, recorded_by=user
    )
    db.commit()
    row = db.get(m.Consent, consent_id)
    assert row is not None
    return _public(db, row)
