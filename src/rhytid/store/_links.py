"""Patient links: one row per link, spent by its first accepted submission, revocable, expiring.

The URL carries a token signed by the web layer that names the row; the row keeps only the
token's SHA-256, so a copy of the database does not hold usable links. A link is usable while it
is neither spent, revoked nor past ``expires_at``; spending is a conditional update, so of two
simultaneous submissions of one link exactly one is accepted.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from rhytid.store import _models as m
from rhytid.store._audit import Actor, audit
from rhytid.store._errors import GoneError, NotFoundError
from rhytid.store._models import utcnow
from rhytid.store._patients import clinic_patient

__all__ = ["FORMS", "create_link", "list_links", "open_link", "revoke_link", "set_token", "spend_link"]

FORMS = ("intake", "aftercare")


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_link(
    *, db: Session, patient_id: int, form: str, treatment_id: int | None, days: float, actor: Actor
) -> m.PatientLink:
    """A new link row (audited); give it its token with :func:`set_token` before the commit."""
    patient = clinic_patient(db, patient_id, actor)
    if treatment_id is not None:
        treatment = db.get(m.Treatment, treatment_id)
        if treatment is None or treatment.patient_id != patient.id:
            raise NotFoundError(f"treatment_id: no treatment {treatment_id} for this patient")
    now = utcnow()
    row = m.PatientLink(
        clinic_id=patient.clinic_id,
        patient_id=patient.id,
        form=form,
        treatment_id=treatment_id,
        token_hash="",
        created_by=actor.label,
        created_at=now,
        expires_at=now + dt.timedelta(days=days),
    )
    db.add(row)
    db.flush()
    audit(db, actor, "create", "patient_link", row.id, patient.id, form)
    return row


def set_token(row: m.PatientLink, token: str) -> None:
    row.token_hash = _digest(token)


def open_link(*, db: Session, link_id: int, token: str, form: str) -> m.PatientLink:
    """The usable link ``link_id`` of ``form`` whose token is ``token``.

    NotFoundError for an unknown link, another form's or a token that does not match; GoneError
    once spent, revoked or expired.
    """
    row = db.get(m.PatientLink, link_id)
    if row is None or row.form != form or not hmac.compare_digest(row.token_hash, _digest(token)):
        raise NotFoundError("link: not a valid link")
    if row.revoked_at is not None:
        raise GoneError("link: this link was withdrawn by the clinic; ask the clinic for a new one")
    if row.used_at is not None:
        raise GoneError("link: this link has been used already; ask the clinic for a new one")
    if row.expires_at <= utcnow():
        raise GoneError("link: this link has expired; ask the clinic for a new one")
    return row


def spend_link(*, db: Session, link_id: int) -> None:
    """Mark the link used, in the caller's transaction (GoneError when another submission won)."""
    result = db.execute(
        update(m.PatientLink)
        .where(
            m.PatientLink.id == link_id,
            m.PatientLink.used_at.is_(None),
            m.PatientLink.revoked_at.is_(None),
        )
        .values(used_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if getattr(result, "rowcount", 0) != 1:
        raise GoneError("link: this link has been used already; ask the clinic for a new one")


def list_links(*, db: Session, patient_id: int, actor: Actor) -> list[m.PatientLink]:
    patient = clinic_patient(db, patient_id, actor)
    return list(
        db.scalars(
            select(m.PatientLink)
            .where(m.PatientLink.patient_id == patient.id)
            .order_by(m.PatientLink.id.desc())
        )
    )


def revoke_link(*, db: Session, link_id: int, actor: Actor) -> m.PatientLink:
    """Withdraw a link of the actor's clinic (audited); revoking twice changes nothing more."""
    row = db.get(m.PatientLink, link_id)
    if row is None or row.clinic_id != actor.clinic_id:
        raise NotFoundError(f"link_id: no link {link_id}")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        row.revoked_by = actor.label
        audit(db, actor, "revoke", "patient_link", row.id, row.patient_id, row.form)
    return row
