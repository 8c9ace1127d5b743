"""Passwords of accounts: change one's own (the current password required), an admin's reset.

Either way the new password must pass the policy (``rhytid.store._security``), and every
session and token of the account ends, so a stolen session does not outlive a password change.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from rhytid.store import _models as m
from rhytid.store._audit import Actor, audit
from rhytid.store._errors import NotFoundError, PermissionDenied, StoreError
from rhytid.store._security import hash_password, password_problem, verify_password
from rhytid.store._sessions import revoke_user_sessions

__all__ = ["change_password", "get_user"]


def get_user(*, db: Session, user_id: int, actor: Actor) -> m.User:
    user = db.get(m.User, user_id)
    if user is None or user.clinic_id != actor.clinic_id:
        raise NotFoundError(f"user_id: no user {user_id}")
    return user


def change_password(*, db: Session, user_id: int, current: str | None, new: str, actor: Actor) -> m.User:
    """Set a new password. ``current`` given: one's own change (must match); None: an admin's reset."""
    user = get_user(db=db, user_id=user_id, actor=actor)
    if current is None:
        if actor.role != "admin":
            raise PermissionDenied("role: only an admin may reset another user's password")
    elif user.id != actor.user_id or not verify_password(user.password_hash, current):
        raise StoreError("current_password: not your current password", field="current_password")
    problem = password_problem(new, user.email)
    if problem:
        raise StoreError(f"new_password: {problem}", field="new_password")
    user.password_hash = hash_password(new)
    ended = revoke_user_sessions(db=db, user_id=user.id)
    kind = "reset" if current is None else "change"
    audit(db, actor, "password", "user", user.id, None, f"{kind}; {ended} sessions ended")
    return user
