"""Store fixtures: every test runs on SQLite and, when RHYTID_TEST_POSTGRES_URL is set, PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from rhytid.store import Actor, make_engine, migrate, repo, session_factory, transaction
from rhytid.store import _consent as consent
from rhytid.store import models as m
from rhytid.store import schemas as s
from rhytid.store.testing import temporary_database
from rhytid.toxin import label_pattern

POSTGRES_URL = os.environ.get("RHYTID_TEST_POSTGRES_URL")
#: The database kinds a test runs on.
KINDS = [
    "sqlite",
    pytest.param(
        "postgresql",
        marks=pytest.mark.skipif(
            not POSTGRES_URL, reason="RHYTID_TEST_POSTGRES_URL is not set: PostgreSQL tests skipped"
        ),
    ),
]

# a fully answered history with nothing to report (shared with the clinic-rule tests)
COMPLETE_ANSWERS: dict[str, object] = json.loads(
    (Path(__file__).resolve().parents[2] / "examples" / "histories" / "nothing-to-report.json").read_text()
)
GLABELLAR = [
    {"site": site, "units": units} for site, units in label_pattern("glabellar", "onabotulinumtoxinA").items()
]


@pytest.fixture(scope="session", params=KINDS)
def engine(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    with temporary_database(request.param, tmp_path_factory.mktemp("db"), POSTGRES_URL) as url:
        eng = make_engine(url)
        migrate(eng)
        yield eng
        eng.dispose()


@pytest.fixture(scope="session")
def factory(engine: Engine) -> sessionmaker[Session]:
    return session_factory(engine)


@dataclass
class World:
    clinic_id: int
    clinician: Actor
    front_desk: Actor
    clinician_id: int


_counter = iter(range(1, 10**6))


@pytest.fixture()
def world(factory: sessionmaker[Session]) -> World:
    n = next(_counter)
    with transaction(factory) as db:
        clinic = repo.create_clinic(db=db, name=f"Clinic {n}")
        doc = repo.create_user(
            db=db,
            clinic_id=clinic.id,
            data=s.UserCreate(
                email=f"doc{n}-{id(db)}@example.org",
                name="Dr Who",
                role="clinician",
                password="a-long-password",
            ),
        )
        desk = repo.create_user(
            db=db,
            clinic_id=clinic.id,
            data=s.UserCreate(
                email=f"desk{n}-{id(db)}@example.org",
                name="Desk",
                role="front_desk",
                password="a-long-password",
            ),
        )
        return World(
            clinic.id,
            Actor(clinic.id, doc.email, doc.id, "clinician"),
            Actor(clinic.id, desk.email, desk.id, "front_desk"),
            doc.id,
        )


#: A drawn signature as the consent form's canvas stores it (SVG path data).
SIGNATURE = "M10 50 " + " ".join(f"L{10 + 12 * i} {50 + (15 if i % 2 else -15)}" for i in range(1, 20))
CONSENTED = ("toxin_treatment", "photography")


def sign_consents(db: Session, patient_id: int, actor: Actor, kinds: tuple[str, ...] = CONSENTED) -> None:
    """The patient signs the current consent of each of ``kinds`` at the clinic (``actor`` witnesses)."""
    witness = db.get(m.User, actor.user_id)
    for kind in kinds:
        consent.sign_consent(
            db=db,
            patient_id=patient_id,
            kind=kind,
            version=consent.template(kind).version,
            signed_name="Ann Lee",
            signature=SIGNATURE,
            ip_address="127.0.0.1",
            user_agent="pytest",
            witness=witness,
            clinic_id=actor.clinic_id,
        )


def new_patient(
    factory: sessionmaker[Session], actor: Actor, consents: tuple[str, ...] = CONSENTED, **answers: object
) -> int:
    """A patient with a complete history (``answers`` override) who signed ``consents``."""
    with transaction(factory) as db:
        p = repo.create_patient(
            db=db,
            data=s.PatientCreate(
                given_name="Ann", family_name="Lee", birth_date=dt.date(1980, 5, 1), sex="female"
            ),
            actor=actor,
        )
        if answers is not None:
            repo.submit_history(db=db, patient_id=p.id, answers={**COMPLETE_ANSWERS, **answers}, actor=actor)
        sign_consents(db, p.id, actor, consents)
        return p.id
