"""Signed consents: versioned templates (``data/consent.yaml``), signatures stored immutably, verifiable.

A consent row keeps the template text exactly as the patient read it, the typed name, the drawn
signature (SVG path data: ``M x y L x y ...`` in canvas pixels), the time, the template version,
the IP address and the browser, and ``content_hash``: the SHA-256 of the canonical JSON (sorted
keys, no spaces) of all of these and the patient id. :func:`verify` recomputes it. Rows are never
updated or deleted through the ORM (a listener refuses it); a new signature is a new row.

A consent is *current* for an act at time ``t`` when it is of the act's kind, signed with the
template's current version, at most ``valid_days`` before ``t`` and not after it, its hash
verifies, and it was not withdrawn at or before ``t``. A withdrawal (:func:`withdraw_consent`) is
its own immutable row with the time, the reason and who recorded it; the signed row is untouched.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import event, exists, select
from sqlalchemy.orm import Session

from rhytid._data import load_yaml, sourced
from rhytid.store import _models as m
from rhytid.store._errors import NotFoundError, StoreError
from rhytid.store._models import utcnow

__all__ = [
    "KINDS",
    "ConsentTemplate",
    "consent_digest",
    "current_consent",
    "list_consents",
    "require_consent",
    "sign_consent",
    "template",
    "templates",
    "verify",
    "withdraw_consent",
]

KINDS = ("toxin_treatment", "filler_treatment", "photography")
_FILE = "consent.yaml"
#: A signature is SVG path data: move/line commands with numbers (canvas pixels).
_PATH = re.compile(r"^(?:[ML] ?-?\d+(?:\.\d+)? -?\d+(?:\.\d+)? ?)+$")
_MAX_SIGNATURE = 60_000
#: A drawn signature needs this many points at least (a tap or a stray dot is not a signature).
_MIN_POINTS = 8
_MAX_REASON = 2000
#: Clock difference tolerated between the signing device's request and the treatment time.
_CLOCK_SLACK = dt.timedelta(minutes=5)


@dataclass(frozen=True)
class ConsentTemplate:
    kind: str
    version: str
    title: str
    paragraphs: tuple[str, ...]
    valid_days: int

    @property
    def text(self) -> str:
        return "\n\n".join(self.paragraphs)

    @property
    def label(self) -> str:
        return self.title[0].lower() + self.title[1:] if self.title else self.kind


@cache
def templates() -> dict[str, ConsentTemplate]:
    """The current templates by kind (read once; a malformed file fails at start-up)."""
    raw = load_yaml(_FILE)["templates"]
    out: dict[str, ConsentTemplate] = {}
    for kind in KINDS:
        entry = raw[kind]
        where = f"{_FILE}:templates.{kind}"
        paragraphs = tuple(str(p) for p in sourced(entry["text"], f"{where}.text"))
        out[kind] = ConsentTemplate(
            kind=kind,
            version=str(sourced(entry["version"], f"{where}.version")),
            title=str(sourced(entry["title"], f"{where}.title")),
            paragraphs=paragraphs,
            valid_days=int(sourced(entry["valid_days"], f"{where}.valid_days")),
        )
    return out


def template(kind: str) -> ConsentTemplate:
    if kind not in KINDS:
        raise StoreError(f"kind: no consent {kind!r}; allowed: {', '.join(KINDS)}")
    return templates()[kind]


def consent_digest(fields: dict[str, Any]) -> str:
    """SHA-256 (hex) of the canonical JSON of a consent's signed content."""
    canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _content(row: m.Consent) -> dict[str, Any]:
    return {
        "patient_id": row.patient_id,
        "kind": row.kind,
        "template_version": row.template_version,
        "title": row.title,
        "text": row.text,
        "signed_name": row.signed_name,
        "signature": row.signature,
        "signed_at": row.signed_at.isoformat(timespec="seconds"),
        "ip_address": row.ip_address,
        "user_agent": row.user_agent,
        "via": row.via,
        "witness_id": row.witness_id,
    }


def verify(row: m.Consent) -> bool:
    """True when the stored content still matches its hash."""
    return consent_digest(_content(row)) == row.content_hash


def check_signature(name: str, signature: str) -> tuple[str, str]:
    """The typed name and signature path, cleaned; StoreError naming the field otherwise."""
    name = " ".join(name.split())
    if len(name) < 2:
        raise StoreError("signed_name: type your full name")
    if len(name) > 200:
        raise StoreError(f"signed_name: at most 200 characters, got {len(name)}")
    path = " ".join(signature.split())
    if not path:
        raise StoreError("signature: sign in the box with your finger or the mouse")
    if len(path) > _MAX_SIGNATURE or not _PATH.match(path):
        raise StoreError("signature: not a drawn signature; clear the box and sign again")
    if len(re.findall(r"[ML]", path)) < _MIN_POINTS:
        raise StoreError("signature: too short to be a signature; sign your name in the box")
    return name, path


def sign_consent(
    *,
    db: Session,
    patient_id: int,
    kind: str,
    version: str,
    signed_name: str,
    signature: str,
    ip_address: str,
    user_agent: str,
    witness: m.User | None,
    clinic_id: int,
) -> m.Consent:
    """Store a signature of the current template of ``kind`` (StoreError naming the field).

    ``version`` is the version the patient was shown; a template changed in between is refused,
    so nobody signs a text they did not read.
    """
    tpl = template(kind)
    patient = db.get(m.Patient, patient_id)
    if patient is None or patient.clinic_id != clinic_id:
        raise NotFoundError(f"patient_id: no patient {patient_id}")
    if version != tpl.version:
        raise StoreError(
            f"template_version: the consent text changed (now version {tpl.version}); read it again and sign"
        )
    name, path = check_signature(signed_name, signature)
    row = m.Consent(
        patient_id=patient.id,
        kind=kind,
        template_version=tpl.version,
        title=tpl.title,
        text=tpl.text,
        signed_name=name,
        signature=path,
        signed_at=utcnow().replace(microsecond=0),
        ip_address=ip_address[:64],
        user_agent=user_agent[:300],
        via="clinic" if witness is not None else "link",
        witness_id=witness.id if witness is not None else None,
        content_hash="",
    )
    row.content_hash = consent_digest(_content(row))
    db.add(row)
    db.flush()
    db.add(
        m.AuditEntry(
            actor=witness.email if witness is not None else f"patient-link:{patient.id}",
            user_id=witness.id if witness is not None else None,
            action="create",
            entity="consent",
            entity_id=row.id,
            patient_id=patient.id,
            detail=f"{kind} v{tpl.version} sha256 {row.content_hash}",
        )
    )
    return row


def list_consents(db: Session, patient_id: int) -> list[m.Consent]:
    return list(
        db.scalars(select(m.Consent).where(m.Consent.patient_id == patient_id).order_by(m.Consent.id.desc()))
    )


def current_consent(
    db: Session, patient_id: int, kind: str, at: dt.datetime | None = None
) -> m.Consent | None:
    """The newest consent of ``kind`` that is current at ``at`` (default now), else None."""
    tpl = template(kind)
    at = at or utcnow()
    rows = db.scalars(
        select(m.Consent)
        .where(
            m.Consent.patient_id == patient_id,
            m.Consent.kind == kind,
            m.Consent.template_version == tpl.version,
            m.Consent.signed_at <= at + _CLOCK_SLACK,
            m.Consent.signed_at >= at - dt.timedelta(days=tpl.valid_days),
            ~exists().where(
                m.ConsentWithdrawal.consent_id == m.Consent.id, m.ConsentWithdrawal.withdrawn_at <= at
            ),
        )
        .order_by(m.Consent.signed_at.desc())
    )
    return next((r for r in rows if verify(r)), None)


def require_consent(db: Session, patient: m.Patient, kind: str, at: dt.datetime | None = None) -> m.Consent:
    """The current consent of ``kind``; StoreError (field ``consent``) that a clinician understands."""
    row = current_consent(db, patient.id, kind, at)
    if row is None:
        tpl = template(kind)
        older = db.scalar(
            select(m.Consent)
            .where(m.Consent.patient_id == patient.id, m.Consent.kind == kind)
            .order_by(m.Consent.signed_at.desc(), m.Consent.id.desc())
            .limit(1)
        )
        if older is None:
            why = "none has been signed"
        elif older.withdrawal is not None:
            w = older.withdrawal
            why = f"the patient withdrew the last one on {w.withdrawn_at:%Y-%m-%d %H:%M} UTC ({w.reason})"
        else:
            why = f"the last one (version {older.template_version}) is out of date or expired"
        raise StoreError(
            f"consent: {patient.given_name} {patient.family_name} has no current signed {tpl.label} "
            f"(version {tpl.version}); {why}. Have the patient sign it from the record (Consent) first"
        )
    return row


def withdraw_consent(
    *, db: Session, patient_id: int, consent_id: int, reason: str, recorded_by: m.User
) -> m.ConsentWithdrawal:
    """Record the patient's withdrawal of consent ``consent_id`` now (StoreError naming the field).

    The signed row is not changed; a new :class:`~rhytid.store.models.ConsentWithdrawal` row is
    stored and audited, and from now on the consent is no longer current.
    """
    row = db.get(m.Consent, consent_id)
    patient = db.get(m.Patient, patient_id)
    if (
        row is None
        or patient is None
        or row.patient_id != patient_id
        or patient.clinic_id != recorded_by.clinic_id
    ):
        raise NotFoundError(f"consent_id: no consent {consent_id} of patient {patient_id}")
    why = " ".join(reason.split())
    if len(why) < 3:
        raise StoreError("reason: say how the patient withdrew it and why (at least 3 characters)")
    if len(why) > _MAX_REASON:
        raise StoreError(f"reason: at most {_MAX_REASON} characters, got {len(why)}")
    if row.withdrawal is not None:
        raise StoreError(
            f"consent_id: consent {consent_id} was already withdrawn on "
            f"{row.withdrawal.withdrawn_at:%Y-%m-%d %H:%M} UTC"
        )
    out = m.ConsentWithdrawal(
        consent_id=row.id,
        patient_id=patient_id,
        withdrawn_at=utcnow().replace(microsecond=0),
        reason=why,
        recorded_by=recorded_by.id,
    )
    db.add(out)
    db.flush()
    db.add(
        m.AuditEntry(
            actor=recorded_by.email,
            user_id=recorded_by.id,
            action="withdraw",
            entity="consent",
            entity_id=row.id,
            patient_id=patient_id,
            detail=f"{row.kind} v{row.template_version} withdrawn: {why}"[:2000],
        )
    )
    db.expire(row, ["withdrawal"])
    return out


@event.listens_for(m.ConsentWithdrawal, "before_update")
def _no_withdrawal_update(_mapper: Any, _conn: Any, target: m.ConsentWithdrawal) -> None:
    raise StoreError(f"consent_id: the withdrawal of consent {target.consent_id} cannot be changed")


@event.listens_for(m.ConsentWithdrawal, "before_delete")
def _no_withdrawal_delete(_mapper: Any, _conn: Any, target: m.ConsentWithdrawal) -> None:
    raise StoreError(f"consent_id: the withdrawal of consent {target.consent_id} cannot be deleted")


@event.listens_for(m.Consent, "before_update")
def _no_update(_mapper: Any, _conn: Any, target: m.Consent) -> None:
    raise StoreError(f"consent_id: signed consent {target.id} cannot be changed; sign a new one")


@event.listens_for(m.Consent, "before_delete")
def _no_delete(_mapper: Any, _conn: Any, target: m.Consent) -> None:
    raise StoreError(f"consent_id: signed consent {target.id} cannot be deleted")
