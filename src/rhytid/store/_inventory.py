"""Hyaluronic-acid filler from the inventory, and the lot recall list of toxin and filler.

- :func:`create_syringe` adds a filler syringe (product, lot, expiry, volume); an expired lot is
  refused. :func:`create_filler_treatment` records a filler treatment from one syringe: sites
  with area, depth (plane) and volume, needle or cannula, and the confirmation that hyaluronidase
  is in the room (clinic.yaml ``fillers.hyaluronidase_required``); the volume is taken from the
  syringe, and nothing is stored when anything is wrong.
- :func:`lot_recall`: which patients received lot X, when and how much, toxin and filler alike,
  audited once per patient listed (the list reveals their treatment).

Codes (areas, planes, techniques) and limits come from ``clinic.yaml`` (section ``fillers``).
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from rhytid.clinic._rules import number, rules
from rhytid.store import _models as m
from rhytid.store._audit import Actor, audit
from rhytid.store._consent import require_consent
from rhytid.store._errors import NotFoundError, StoreError
from rhytid.store._models import utcnow
from rhytid.store._patients import clinic_patient
from rhytid.store._safety import in_force_history

__all__ = [
    "FillerSiteIn",
    "FillerTreatmentCreate",
    "FillerTreatmentPublic",
    "LotRecallPublic",
    "SyringeCreate",
    "SyringePublic",
    "create_filler_treatment",
    "create_syringe",
    "filler_codes",
    "latest_filler",
    "list_filler_treatments",
    "list_syringes",
    "lot_recall",
    "usable_syringes",
]


def filler_codes(name: Literal["areas", "planes", "techniques"]) -> tuple[str, ...]:
    """The allowed codes of a filler record field (clinic.yaml ``fillers``)."""
    return tuple(str(c) for c in rules().fillers[name].value)


def _code(value: str, name: Literal["areas", "planes", "techniques"], what: str) -> str:
    allowed = filler_codes(name)
    if value not in allowed:
        raise ValueError(f"unknown {what} {value!r}; allowed: {', '.join(allowed)}")
    return value


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class SyringeCreate(_In):
    product: str = Field(min_length=1, max_length=100)
    lot: str = Field(min_length=1, max_length=60)
    expiry: dt.date
    syringe_ml: float = Field(gt=0)

    @field_validator("syringe_ml")
    @classmethod
    def _size(cls, v: float) -> float:
        limit = number("fillers", "max_syringe_ml")
        if v > limit:
            raise ValueError(f"a filler syringe holds at most {limit:g} mL, got {v:g}")
        return v


class SyringePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    product: str
    lot: str
    expiry: dt.date
    syringe_ml: float
    ml_left: float
    discarded: bool


class FillerSiteIn(_In):
    area: str
    plane: str
    volume_ml: float = Field(gt=0)

    @field_validator("area")
    @classmethod
    def _area(cls, v: str) -> str:
        return _code(v, "areas", "area")

    @field_validator("plane")
    @classmethod
    def _plane(cls, v: str) -> str:
        return _code(v, "planes", "plane")


class FillerTreatmentCreate(_In):
    syringe_id: int
    technique: str
    hyaluronidase_on_hand: bool
    sites: list[FillerSiteIn] = Field(min_length=1, max_length=30)
    performed_at: dt.datetime | None = None
    notes: str | None = Field(default=None, max_length=20000)

    @field_validator("technique")
    @classmethod
    def _technique(cls, v: str) -> str:
        return _code(v, "techniques", "technique")


class FillerSitePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    area: str
    plane: str
    volume_ml: float


class FillerTreatmentPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    patient_id: int
    syringe_id: int
    performed_at: dt.datetime
    product: str
    lot: str
    expiry: dt.date
    syringe_ml: float
    volume_ml: float
    technique: str
    hyaluronidase_on_hand: bool
    notes: str | None
    sites: list[FillerSitePublic] = []


class LotRecallPublic(BaseModel):
    """One administration of a recalled lot: who, when, what and how much."""

    kind: Literal["toxin", "filler"]
    treatment_id: int
    patient_id: int
    patient_name: str
    performed_at: dt.datetime
    product: str
    lot: str
    expiry: dt.date
    amount: float
    unit: Literal["U", "mL"]


# --- syringes ----------------------------------------------------------------------------------
def create_syringe(*, db: Session, data: SyringeCreate, actor: Actor) -> m.FillerSyringe:
    """Add a filler syringe to the inventory; an expired lot is refused (StoreError ``expiry``)."""
    if data.expiry < utcnow().date():
        raise StoreError(
            f"expiry: lot {data.lot} expired on {data.expiry.isoformat()}; an expired syringe cannot "
            "be added to the inventory (discard it)"
        )
    row = m.FillerSyringe(
        clinic_id=actor.clinic_id, ml_left=data.syringe_ml, discarded=False, **data.model_dump()
    )
    db.add(row)
    db.flush()
    audit(db, actor, "create", "filler_syringe", row.id, None, f"{data.product} lot {data.lot}")
    return row


def list_syringes(*, db: Session, actor: Actor) -> list[m.FillerSyringe]:
    return list(
        db.scalars(
            select(m.FillerSyringe)
            .where(m.FillerSyringe.clinic_id == actor.clinic_id)
            .order_by(m.FillerSyringe.id.desc())
        )
    )


def _syringe_problem(syringe: m.FillerSyringe, at: dt.datetime, volume: float) -> str | None:
    if syringe.discarded:
        return "the syringe was discarded"
    if syringe.expiry < at.date():
        return f"lot {syringe.lot} expired on {syringe.expiry.isoformat()}"
    tolerance = number("fillers", "volume_tolerance_ml")
    if volume > syringe.ml_left + tolerance:
        return f"{syringe.ml_left:g} mL left in the syringe, the sites add up to {volume:g} mL"
    return None


def usable_syringes(*, db: Session, actor: Actor, at: dt.datetime) -> list[m.FillerSyringe]:
    return [s for s in list_syringes(db=db, actor=actor) if _syringe_problem(s, at, 0.0) is None]


# --- filler treatments -------------------------------------------------------------------------
def create_filler_treatment(
    *, db: Session, patient_id: int, data: FillerTreatmentCreate, actor: Actor
) -> m.FillerTreatment:
    """Record a filler treatment from a syringe of the inventory (see the module docstring).

    Refused (nothing stored): an actor who is not a clinician, no medical history on file, an
    infection at the injection site in it, hyaluronidase not confirmed on hand, a syringe that is
    unknown, discarded, expired or holds less than the sites add up to.
    """
    if actor.role != "clinician":
        raise StoreError("role: only a clinician may record a treatment")
    patient = clinic_patient(db, patient_id, actor)
    history = in_force_history(db, patient.id)
    if history is None:
        raise StoreError(
            "history: no medical history on file; the patient must complete the intake before treatment"
        )
    if history.answers.get("infection_at_injection_site"):
        raise StoreError("history: infection at the injection site recorded in the intake; do not inject")
    if rules().fillers["hyaluronidase_required"].value and not data.hyaluronidase_on_hand:
        raise StoreError(
            "hyaluronidase_on_hand: confirm that hyaluronidase is in the room before injecting "
            "hyaluronic-acid filler (it dissolves the filler if a blood vessel is blocked)"
        )
    at = data.performed_at.replace(tzinfo=None) if data.performed_at else utcnow()
    require_consent(db, patient, "filler_treatment", at)
    syringe = db.get(m.FillerSyringe, data.syringe_id, with_for_update=True)
    if syringe is None or syringe.clinic_id != actor.clinic_id:
        raise NotFoundError(f"syringe_id: no syringe {data.syringe_id}")
    volume = round(sum(s.volume_ml for s in data.sites), 3)
    problem = _syringe_problem(syringe, at, volume)
    if problem:
        raise StoreError(f"syringe_id: {problem}")
    syringe.ml_left = round(max(syringe.ml_left - volume, 0.0), 3)
    row = m.FillerTreatment(
        patient_id=patient.id,
        syringe_id=syringe.id,
        clinician_id=actor.user_id,
        performed_at=at,
        product=syringe.product,
        lot=syringe.lot,
        expiry=syringe.expiry,
        syringe_ml=syringe.syringe_ml,
        volume_ml=volume,
        technique=data.technique,
        hyaluronidase_on_hand=data.hyaluronidase_on_hand,
        notes=data.notes,
    )
    db.add(row)
    db.flush()
    for site in data.sites:
        db.add(m.FillerSite(treatment_id=row.id, **site.model_dump()))
    db.flush()
    audit(
        db,
        actor,
        "create",
        "filler_treatment",
        row.id,
        patient.id,
        f"{volume:g} mL {syringe.product} lot {syringe.lot} ({data.technique})",
    )
    return row


def list_filler_treatments(*, db: Session, patient_id: int, actor: Actor) -> list[m.FillerTreatment]:
    patient = clinic_patient(db, patient_id, actor)
    rows = list(
        db.scalars(
            select(m.FillerTreatment)
            .where(m.FillerTreatment.patient_id == patient.id)
            .options(selectinload(m.FillerTreatment.sites))
            .order_by(m.FillerTreatment.performed_at.desc())
        )
    )
    audit(db, actor, "read", "filler_treatment", None, patient.id)
    return rows


def latest_filler(db: Session, patient_id: int, at: dt.datetime) -> m.FillerTreatment | None:
    """The patient's latest filler treatment within ``fillers.aftercare_days`` before ``at``."""
    since = at - dt.timedelta(days=number("fillers", "aftercare_days"))
    return db.scalar(
        select(m.FillerTreatment)
        .where(
            m.FillerTreatment.patient_id == patient_id,
            m.FillerTreatment.performed_at >= since,
            m.FillerTreatment.performed_at <= at,
        )
        .order_by(m.FillerTreatment.performed_at.desc())
        .limit(1)
    )


# --- lot recall --------------------------------------------------------------------------------
def lot_recall(*, db: Session, lot: str, actor: Actor) -> list[LotRecallPublic]:
    """Every administration of ``lot`` in the actor's clinic, newest first (audited per patient)."""
    if actor.role not in ("admin", "clinician"):
        raise StoreError("role: only an admin or a clinician may list a lot recall")
    lot = lot.strip()
    if not lot:
        raise StoreError("lot: give the lot number to recall")
    out: list[LotRecallPublic] = []
    toxin = db.execute(
        select(m.Treatment, m.Patient)
        .join(m.Patient, m.Patient.id == m.Treatment.patient_id)
        .where(m.Patient.clinic_id == actor.clinic_id, m.Treatment.lot == lot)
    ).all()
    for t, p in toxin:
        out.append(
            LotRecallPublic(
                kind="toxin",
                treatment_id=t.id,
                patient_id=p.id,
                patient_name=f"{p.given_name} {p.family_name}",
                performed_at=t.performed_at,
                product=t.product,
                lot=t.lot,
                expiry=t.expiry,
                amount=t.total_units,
                unit="U",
            )
        )
    filler = db.execute(
        select(m.FillerTreatment, m.Patient)
        .join(m.Patient, m.Patient.id == m.FillerTreatment.patient_id)
        .where(m.Patient.clinic_id == actor.clinic_id, m.FillerTreatment.lot == lot)
    ).all()
    for f, p in filler:
        out.append(
            LotRecallPublic(
                kind="filler",
                treatment_id=f.id,
                patient_id=p.id,
                patient_name=f"{p.given_name} {p.family_name}",
                performed_at=f.performed_at,
                product=f.product,
                lot=f.lot,
                expiry=f.expiry,
                amount=f.volume_ml,
                unit="mL",
            )
        )
    out.sort(key=lambda r: r.performed_at, reverse=True)
    for pid in sorted({r.patient_id for r in out}):
        audit(db, actor, "read", "lot_recall", None, pid, f"lot {lot}")
    audit(db, actor, "search", "lot_recall", None, None, f"lot {lot}: {len(out)} administrations")
    return out
