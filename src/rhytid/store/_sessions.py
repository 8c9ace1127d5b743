"""Server-side sign-in sessions and API tokens, failed sign-ins and lockout.

A session row is what a cookie or bearer token stands for: the credential carries the row's id
and a random key whose SHA-256 the row keeps. It stops working when it is revoked (sign-out, an
admin, a password change), when it expires (``expires_at``: 12 h after sign-in, never extended)
and, for a cookie, after ``idle`` minutes without a request. A token cannot renew itself.

Failed sign-ins are audit rows (``signin_failed``, actor = the e-mail given); an account with
``LOCKOUT_FAILURES`` failures in the last ``LOCKOUT_MINUTES`` is locked until they age out,
whatever the password (OWASP Authentication Cheat Sheet: account lockout after a small number of
failures for a limited time; NIST SP 800-63B 5.2.2: at most 100 consecutive failures).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from rhytid.store import _models as m
from rhytid.store._models import utcnow

__all__ = [
    "LOCKOUT_FAILURES",
    "LOCKOUT_MINUTES",
    "check_session",
    "is_locked",
    "open_session",
    "revoke_session",
    "revoke_user_sessions",
    "touch_session",
]

LOCKOUT_FAILURES = 5
LOCKOUT_MINUTES = 15
#: A session's last use is written at most this often (seconds), not on every request.
TOUCH_EVERY_S = 60


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def open_session(*, db: Session, user_id: int, kind: str, hours: float) -> tuple[m.AuthSession, str]:
    """A new session row and its key (the caller signs ``(id, key)`` into the credential)."""
    key = secrets.token_urlsafe(32)
    now = utcnow()
    row = m.AuthSession(
        user_id=user_id,
        kind=kind,
        token_hash=_digest(key),
        created_at=now,
        last_seen_at=now,
        expires_at=now + dt.timedelta(hours=hours),
    )
    db.add(row)
    db.flush()
    return row, key


def check_session(
    *, db: Session, session_id: object, key: object, kind: str, idle_minutes: float | None
) -> m.AuthSession | None:
    """The live session ``session_id`` of ``kind`` whose key is ``key``, else None."""
    if not isinstance(session_id, int) or isinstance(session_id, bool) or not isinstance(key, str):
        return None
    if not 1 <= session_id <= 2**31 - 1:
        return None
    row = db.get(m.AuthSession, session_id)
    now = utcnow()
    if row is None or row.kind != kind or not hmac.compare_digest(row.token_hash, _digest(key)):
        return None
    if row.revoked_at is not None or row.expires_at <= now:
        return None
    if idle_minutes is not None and now - row.last_seen_at > dt.timedelta(minutes=idle_minutes):
        return None
    return row


def touch_session(*, db: Session, row: m.AuthSession) -> bool:
    """Record the session's use when the last record is older than ``TOUCH_EVERY_S``; True if written."""
    now = utcnow()
    if now - row.last_seen_at < dt.timedelta(seconds=TOUCH_EVERY_S):
        return False
    db.execute(update(m.AuthSession).where(m.AuthSession.id == row.id).values(last_seen_at=now))
    return True


def revoke_session(*, db: Session, session_id: int) -> None:
    db.execute(
        update(m.AuthSession)
        .where(m.AuthSession.id == session_id, m.AuthSession.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )


def revoke_user_sessions(*, db: Session, user_id: int) -> int:
    """Revoke every live session and token of a user; how many."""
    result = db.execute(
        update(m.AuthSession)
        .where(m.AuthSession.user_id == user_id, m.AuthSession.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    return int(getattr(result, "rowcount", 0) or 0)


def is_locked(*, db: Session, email: str) -> bool:
    """True while ``email`` has LOCKOUT_FAILURES failed sign-ins within LOCKOUT_MINUTES."""
    since = utcnow() - dt.timedelta(minutes=LOCKOUT_MINUTES)
    last_ok = db.scalar(
        select(func.max(m.AuditEntry.at)).where(
            m.AuditEntry.actor == email, m.AuditEntry.action == "signin", m.AuditEntry.at >= since
        )
    )
    failures = db.scalar(
        select(func.count(m.AuditEntry.id)).where(
            m.AuditEntry.actor == email,
            m.AuditEntry.action == "signin_failed",
            m.AuditEntry.at >= max(since, last_ok) if last_ok else m.AuditEntry.at >= since,
        )
    )
    return int(failures or 0) >= LOCKOUT_FAILURES
