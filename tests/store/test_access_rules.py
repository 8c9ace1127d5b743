"""Sign-in, session, second-factor, consent and password rules at their boundaries (SQLite and
PostgreSQL): lockout counts the failures since the last success, an expired session is dead at its
expiry, a code more than one step away is refused, a consent lapses after ``valid_days``, and a
password may not be the e-mail or its local part."""

from __future__ import annotations

import datetime as dt

import pyotp
import pytest
from sqlalchemy.orm import Session, sessionmaker

from rhytid.store import _consent as consent
from rhytid.store import models as m
from rhytid.store import sessions, totp, transaction
from rhytid.store._models import utcnow
from rhytid.store._security import password_problem

from .conftest import World, new_patient


def _sign_ins(db: Session, email: str, actions: list[str]) -> None:
    start = utcnow() - dt.timedelta(minutes=5)
    for k, action in enumerate(actions):  # one second apart, in order
        db.add(m.AuditEntry(at=start + dt.timedelta(seconds=k), actor=email, action=action, entity="user"))


def test_lockout_counts_the_failures_since_the_last_successful_sign_in(
    factory: sessionmaker[Session], world: World
) -> None:
    n = sessions.LOCKOUT_FAILURES
    email = f"lock-{world.clinic_id}@example.org"
    with transaction(factory) as db:
        _sign_ins(db, email, ["signin_failed"] * (n - 1) + ["signin"] + ["signin_failed"] * (n - 1))
    with transaction(factory) as db:
        assert not sessions.is_locked(db=db, email=email)
        _sign_ins(db, email + ".x", ["signin_failed"] * n)
    with transaction(factory) as db:
        assert sessions.is_locked(db=db, email=email + ".x")


def test_a_session_is_dead_from_its_expiry(factory: sessionmaker[Session], world: World) -> None:
    assert world.clinician.user_id is not None
    with transaction(factory) as db:
        row, key = sessions.open_session(db=db, user_id=world.clinician.user_id, kind="web", hours=1)
        sid = row.id
    with transaction(factory) as db:
        assert sessions.check_session(db=db, session_id=sid, key=key, kind="web", idle_minutes=None)
        live = db.get(m.AuthSession, sid)
        assert live is not None
        live.expires_at = utcnow() - dt.timedelta(seconds=1)
    with transaction(factory) as db:
        assert sessions.check_session(db=db, session_id=sid, key=key, kind="web", idle_minutes=None) is None


def test_a_code_more_than_one_step_away_is_refused(factory: sessionmaker[Session], world: World) -> None:
    with transaction(factory) as db:
        user = db.get(m.User, world.clinician.user_id)
        assert user is not None
        secret, _ = totp.begin_enrolment(db=db, user=user, actor=world.clinician)
    now = 1_900_000_000.0 - 1_900_000_000.0 % totp.STEP_S + 1.0  # just after a step begins
    code = pyotp.TOTP(secret, interval=totp.STEP_S)
    with transaction(factory) as db:
        user = db.get(m.User, world.clinician.user_id)
        assert user is not None
        totp.confirm_enrolment(db=db, user=user, code=code.at(now), actor=world.clinician, now=now)
    uid = world.clinician.user_id
    assert uid is not None
    later = now + 10 * totp.STEP_S
    with transaction(factory) as db:
        too_old = code.at(later - (totp.DRIFT_STEPS + 1) * totp.STEP_S)
        assert totp.check_code(db=db, user_id=uid, code=too_old, now=later) is None
        old = code.at(later - totp.DRIFT_STEPS * totp.STEP_S)
        assert totp.check_code(db=db, user_id=uid, code=old, now=later) == "totp"


def test_a_consent_is_current_for_valid_days_after_it_was_signed(
    factory: sessionmaker[Session], world: World
) -> None:
    pid = new_patient(factory, world.clinician, consents=("toxin_treatment",))
    days = consent.template("toxin_treatment").valid_days
    with transaction(factory) as db:
        signed = consent.current_consent(db, pid, "toxin_treatment")
        assert signed is not None
        at = signed.signed_at + dt.timedelta(days=days)
        assert consent.current_consent(db, pid, "toxin_treatment", at=at) is not None
        late = at + dt.timedelta(minutes=1)
        assert consent.current_consent(db, pid, "toxin_treatment", at=late) is None


@pytest.mark.parametrize("password", ["dr.ann.lee", "Dr.Ann.Lee", "dr.ann.lee@example.org"])
def test_the_e_mail_or_its_local_part_is_not_a_password(password: str) -> None:
    assert password_problem(password, "dr.ann.lee@example.org") is not None
    assert password_problem("a quite different phrase", "dr.ann.lee@example.org") is None
