"""Clinics and their users: create, list, change (always one active admin left) and authenticate."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from rhytid.store import _models as m
from rhytid.store._audit import Actor, audit
from rhytid.store._errors import ConflictError, NotFoundError, StoreError
from rhytid.store._schemas import UserCreate, UserUpdate
from rhytid.store._security import hash_password, verify_password
from rhytid.store._time import zone

__all__ = [
    "DUMMY_HASH",
    "authenticate",
    "create_clinic",
    "create_user",
    "list_users",
    "set_clinic_time_zone",
    "update_user",
]


def create_clinic(*, db: Session, name: str, slot_minutes: int = 15, time_zone: str = "UTC") -> m.Clinic:
    zone(time_zone)
    clinic = m.Clinic(name=name, slot_minutes=slot_minutes, time_zone=time_zone)
    db.add(clinic)
    db.flush()
    return clinic


def set_clinic_time_zone(*, db: Session, time_zone: str, actor: Actor) -> m.Clinic:
    """The IANA zone in which the clinic's times are entered and shown (audited)."""
    zone(time_zone.strip())
    clinic = db.get(m.Clinic, actor.clinic_id)
    if clinic is None:
        raise NotFoundError(f"clinic_id: no clinic {actor.clinic_id}")
    clinic.time_zone = time_zone.strip()
    audit(db, actor, "update", "clinic", clinic.id, None, f"time_zone={clinic.time_zone}")
    return clinic


def create_user(*, db: Session, clinic_id: int, data: UserCreate, actor: Actor | None = None) -> m.User:
    email = data.email.lower()
    if db.scalar(select(m.User.id).where(m.User.email == email)) is not None:
        raise ConflictError(f"email: a user with {email!r} exists already")
    user = m.User(
        clinic_id=clinic_id,
        email=email,
        name=data.name,
        role=data.role,
        password_hash=hash_password(data.password),
    )
    db.add(user)
    db.flush()
    if actor is not None:
        audit(db, actor, "create", "user", user.id, None, f"role={data.role}")
    return user


def list_users(*, db: Session, actor: Actor) -> list[m.User]:
    return list(db.scalars(select(m.User).where(m.User.clinic_id == actor.clinic_id).order_by(m.User.id)))


def update_user(*, db: Session, user_id: int, data: UserUpdate, actor: Actor) -> m.User:
    """Change a user's name, role or active flag (audited); the clinic always keeps an active admin."""
    user = db.get(m.User, user_id, with_for_update=True)
    if user is None or user.clinic_id != actor.clinic_id:
        raise NotFoundError(f"user_id: no user {user_id}")
    changes = data.model_dump(exclude_unset=True, exclude_none=True)
    if user.id == actor.user_id and (
        changes.get("active") is False or changes.get("role", "admin") != "admin"
    ):
        raise StoreError("user_id: you cannot deactivate yourself or give up your own admin role")
    for key, value in changes.items():
        setattr(user, key, value)
    db.flush()
    admins = db.scalar(
        select(func.count())
        .select_from(m.User)
        .where(m.User.clinic_id == actor.clinic_id, m.User.role == "admin", m.User.active.is_(True))
    )
    if not admins:
        raise ConflictError("role: the clinic must keep at least one active admin")
    detail = ",".join(f"{k}={v}" for k, v in sorted(changes.items()))
    audit(db, actor, "update", "user", user.id, None, detail or None)
    return user


def authenticate(*, db: Session, email: str, password: str) -> m.User | None:
    """The active user with this e-mail and password, else None (constant work either way)."""
    user = db.scalar(select(m.User).where(m.User.email == email.strip().lower()))
    if user is not None:
        db.expunge(user)
    db.rollback()  # no transaction (nor SQLite's lock) is held while the password hash is checked
    if user is None:
        verify_password(DUMMY_HASH, password)
        return None
    if not verify_password(user.password_hash, password) or not user.active:
        return None
    return user


DUMMY_HASH = hash_password("not-a-real-password")
