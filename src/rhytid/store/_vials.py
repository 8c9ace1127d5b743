"""Reconstituted vials of the clinic's inventory and why one may not be used."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from rhytid.clinic import check_vial_age, vial_use_by
from rhytid.store import _models as m
from rhytid.store._audit import Actor, audit
from rhytid.store._errors import StoreError
from rhytid.store._models import utcnow
from rhytid.store._schemas import VialCreate

__all__ = ["create_vial", "list_vials", "usable_vials", "vial_flags", "vial_problem"]


def create_vial(*, db: Session, data: VialCreate, actor: Actor) -> m.Vial:
    """Add a reconstituted vial; an expired lot is refused (StoreError ``expiry``), nothing stored.

    A vial already past its use-by time (label shelf life after reconstitution) is accepted, so
    that the inventory matches the fridge, and flagged (:func:`vial_flags`); it is never offered
    for a treatment.
    """
    now = utcnow()
    if data.reconstituted_at > now + dt.timedelta(minutes=5):
        raise StoreError("reconstituted_at: lies in the future")
    if data.expiry < now.date():
        raise StoreError(
            f"expiry: lot {data.lot} expired on {data.expiry.isoformat()}; an expired vial cannot be "
            "added to the inventory (discard it)"
        )
    row = m.Vial(clinic_id=actor.clinic_id, units_left=data.vial_units, **data.model_dump())
    db.add(row)
    db.flush()
    audit(db, actor, "create", "vial", row.id, None, f"{data.product} lot {data.lot}")
    return row


def vial_flags(vial: m.Vial, at: dt.datetime) -> list[str]:
    """Why the vial must not be used at ``at``, in words (empty when it may be)."""
    flags: list[str] = []
    if vial.discarded:
        flags.append("discarded")
    if vial.expiry < at.date():
        flags.append(f"lot expired on {vial.expiry.isoformat()}")
    if at >= vial.reconstituted_at:
        flags += [
            f"past its use-by time {vial_use_by(vial.product, vial.reconstituted_at):%Y-%m-%d %H:%M} UTC: "
            + f.reason
            for f in check_vial_age(vial.product, vial.reconstituted_at, at)
        ]
    if vial.units_left <= 0:
        flags.append("empty")
    return flags


def vial_problem(vial: m.Vial, product: str, at: dt.datetime, units: float) -> str | None:
    """Why the vial cannot be used for ``units`` of ``product`` at ``at`` (None when it can)."""
    if vial.discarded:
        return "the vial was discarded"
    if vial.product != product:
        return f"the vial holds {vial.product}, the plan uses {product}"
    if vial.expiry < at.date():
        return f"lot {vial.lot} expired on {vial.expiry.isoformat()}"
    if at < vial.reconstituted_at:
        return "the vial was reconstituted after the treatment time"
    findings = check_vial_age(vial.product, vial.reconstituted_at, at)
    if findings:
        return findings[0].reason
    if vial.units_left + 1e-9 < units:
        return f"{vial.units_left:g} U left, the plan needs {units:g} U"
    return None


def list_vials(*, db: Session, actor: Actor) -> list[m.Vial]:
    return list(
        db.scalars(select(m.Vial).where(m.Vial.clinic_id == actor.clinic_id).order_by(m.Vial.id.desc()))
    )


def usable_vials(*, db: Session, actor: Actor, product: str, units: float, at: dt.datetime) -> list[m.Vial]:
    return [v for v in list_vials(db=db, actor=actor) if vial_problem(v, product, at, units) is None]
