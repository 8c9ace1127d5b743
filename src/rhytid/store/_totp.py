"""An optional TOTP second factor for sign-in (RFC 6238 through ``pyotp``), with recovery codes.

Enrolment has two steps: :func:`begin_enrolment` draws a secret (shown once, as a QR code and as
text) and :func:`confirm_enrolment` turns the factor on when the user types a code their
authenticator made from it; it returns ten one-time recovery codes, shown once, of which only
SHA-256 hashes are kept. Once on, signing in needs a current code or an unused recovery code
(:func:`check_code`). A code is accepted in the step it was made for and one step either side
(±30 s of clock drift) and only once: the last accepted step is stored, and an older or equal step
is refused (RFC 6238 §5.2). An admin of the clinic can take the factor off an account
(:func:`reset`), for a user who lost the authenticator and the recovery codes. Every change is
audited; failed codes count as failed sign-ins (rate limit and lockout: ``rhytid.store.sessions``).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

import pyotp
from sqlalchemy import select
from sqlalchemy.orm import Session

from rhytid.store import _models as m
from rhytid.store._audit import Actor, audit
from rhytid.store._errors import ConflictError, NotFoundError, PermissionDenied, StoreError
from rhytid.store._models import utcnow

__all__ = [
    "ISSUER",
    "RECOVERY_CODES",
    "begin_enrolment",
    "check_code",
    "confirm_enrolment",
    "enrolled_user_ids",
    "is_enrolled",
    "pending_user",
    "reset",
]

ISSUER = "Rhytid"
RECOVERY_CODES = 10
STEP_S = 30
#: Steps either side of now in which a code is still accepted (clock drift).
DRIFT_STEPS = 1


def _hash(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


def _normal(code: str) -> str:
    """The code without blanks and dashes, lower case (recovery codes are typed as shown)."""
    return "".join(ch for ch in code if ch not in " -\t").lower()


def is_enrolled(*, db: Session, user_id: int) -> bool:
    """True when the user's TOTP factor is confirmed (sign-in then needs a code)."""
    row = db.get(m.UserTotp, user_id)
    return row is not None and row.confirmed_at is not None


def begin_enrolment(*, db: Session, user: m.User, actor: Actor) -> tuple[str, str]:
    """A new secret for ``user`` and its ``otpauth://`` URI (for the QR code); the factor is not on
    until :func:`confirm_enrolment`. ConflictError once a factor is confirmed (an admin resets it)."""
    row = db.get(m.UserTotp, user.id, with_for_update=True)
    if row is not None and row.confirmed_at is not None:
        raise ConflictError("totp: a second factor is on already; an admin can reset it")
    secret = pyotp.random_base32(32)
    if row is None:
        row = m.UserTotp(user_id=user.id, secret=secret, recovery_hashes=[], last_step=0)
        db.add(row)
    else:
        row.secret, row.created_at = secret, utcnow()
    db.flush()
    audit(db, actor, "totp_begin", "user", user.id, None)
    uri = pyotp.TOTP(secret, interval=STEP_S).provisioning_uri(name=user.email, issuer_name=ISSUER)
    return secret, uri


def _step_of(secret: str, code: str, now: float) -> int | None:
    """The time step within ±DRIFT_STEPS of ``now`` whose code is ``code``, else None."""
    if len(code) != 6 or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret, interval=STEP_S)
    current = int(now // STEP_S)
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        if hmac.compare_digest(totp.at(step * STEP_S), code):
            return step
    return None


def confirm_enrolment(
    *, db: Session, user: m.User, code: str, actor: Actor, now: float | None = None
) -> list[str]:
    """Turn the factor on with a code made from the new secret; the recovery codes (shown once)."""
    row = db.get(m.UserTotp, user.id, with_for_update=True)
    if row is None:
        raise NotFoundError("totp: start the enrolment first")
    if row.confirmed_at is not None:
        raise ConflictError("totp: a second factor is on already")
    step = _step_of(row.secret, _normal(code), time.time() if now is None else now)
    if step is None:
        raise StoreError("code: not the current code of the authenticator; check its clock and try again")
    codes = [f"{secrets.token_hex(4)}-{secrets.token_hex(4)}" for _ in range(RECOVERY_CODES)]
    row.confirmed_at = utcnow()
    row.last_step = step
    row.recovery_hashes = [_hash(_normal(c)) for c in codes]
    audit(db, actor, "totp_enrol", "user", user.id, None)
    return codes


def check_code(*, db: Session, user_id: int, code: str, now: float | None = None) -> str | None:
    """Spend ``code`` for the user's sign-in: ``"totp"`` or ``"recovery"`` when accepted, else None.

    A TOTP code of a step at or before the last accepted one is refused (replay); a recovery code
    is crossed off. The caller commits (and audits the outcome).
    """
    row = db.get(m.UserTotp, user_id, with_for_update=True)
    if row is None or row.confirmed_at is None:
        return None
    typed = _normal(code)[:64]
    step = _step_of(row.secret, typed, time.time() if now is None else now)
    if step is not None:
        if step <= row.last_step:
            return None
        row.last_step = step
        return "totp"
    digest = _hash(typed)
    left = [h for h in row.recovery_hashes if not hmac.compare_digest(h, digest)]
    if len(left) < len(row.recovery_hashes):
        row.recovery_hashes = left
        return "recovery"
    return None


def reset(*, db: Session, user_id: int, actor: Actor) -> bool:
    """An admin takes the second factor off a user of the clinic (audited); True if one was there."""
    if actor.role != "admin":
        raise PermissionDenied("role: only an admin may reset a second factor")
    user = db.get(m.User, user_id)
    if user is None or user.clinic_id != actor.clinic_id:
        raise NotFoundError(f"user_id: no user {user_id}")
    row = db.get(m.UserTotp, user_id, with_for_update=True)
    if row is not None:
        db.delete(row)
    audit(db, actor, "totp_reset", "user", user_id, None)
    return row is not None


def enrolled_user_ids(*, db: Session, actor: Actor) -> set[int]:
    """Ids of the clinic's users whose second factor is on."""
    return set(
        db.scalars(
            select(m.UserTotp.user_id)
            .join(m.User, m.User.id == m.UserTotp.user_id)
            .where(m.User.clinic_id == actor.clinic_id, m.UserTotp.confirmed_at.is_not(None))
        )
    )


def pending_user(*, db: Session, user_id: int) -> m.User | None:
    """The active user of a pending sign-in (password given, code awaited), else None."""
    user = db.get(m.User, user_id)
    return user if user is not None and user.active else None
