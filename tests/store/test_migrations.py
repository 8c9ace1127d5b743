"""Migrations on SQLite and PostgreSQL: a database made at the first revision, with data in it, is
upgraded to the newest without losing a row; the newest schema is exactly what the models declare."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, MetaData, select, text

from rhytid.store import Actor, is_migrated, make_engine, migrate, repo, session_factory, transaction
from rhytid.store import models as m
from rhytid.store._db import _alembic_config
from rhytid.store.testing import temporary_database

from .conftest import COMPLETE_ANSWERS, KINDS, POSTGRES_URL

ROWS: list[tuple[str, dict[str, Any]]] = [
    ("clinics", {"id": 1, "name": "Old clinic", "slot_minutes": 15, "created_at": "2024-01-02 03:04:05"}),
    (
        "users",
        {
            "id": 1,
            "clinic_id": 1,
            "email": "old@example.org",
            "name": "Dr Old",
            "role": "clinician",
            "password_hash": "$argon2id$not-a-real-hash",
            "active": True,
            "created_at": "2024-01-02 03:04:05",
        },
    ),
    *[
        (
            "patients",
            {
                "id": i,
                "clinic_id": 1,
                "given_name": given,
                "family_name": family,
                "birth_date": "1970-05-06",
                "sex": "female",
                "phone": None,
                "email": None,
                "clinical_notes": "Zoë: bruises easily",
                "created_at": "2024-01-02 03:04:05",
            },
        )
        for i, (given, family) in enumerate([("Ada", "Old"), ("Bea", "Older"), ("Cy", "Oldest")], start=1)
    ],
    (
        "medical_histories",
        {
            "id": 1,
            "patient_id": 1,
            "version": 1,
            "answers": json.dumps(COMPLETE_ANSWERS),
            "screening": json.dumps({"decision": "proceed", "findings": []}),
            "decision": "proceed",
            "acknowledgements": "[]",
            "submitted_by": "patient link",
            "created_at": "2024-01-02 03:04:05",
        },
    ),
    (
        "vials",
        {
            "id": 1,
            "clinic_id": 1,
            "product": "onabotulinumtoxinA",
            "lot": "OLD-1",
            "expiry": "2030-01-01",
            "vial_units": 100.0,
            "diluent_ml": 2.5,
            "reconstituted_at": "2024-01-02 08:00:00",
            "units_left": 80.0,
            "discarded": False,
            "created_at": "2024-01-02 08:00:00",
        },
    ),
    *[
        (
            "plans",
            {
                "id": i,
                "patient_id": 1,
                "product": "onabotulinumtoxinA",
                "vial_units": 100.0,
                "diluent_ml": 2.5,
                "injections": json.dumps(
                    [
                        {
                            "site": "procerus",
                            "x_mm": 0.0,
                            "y_mm": 9.0,
                            "units": 4.0,
                            "volume_ml": 0.1,
                            "depth": "intramuscular",
                        }
                    ]
                ),
                "total_units": 4.0,
                "preview": "{}",
                "check": json.dumps({"blocking": blocking, "findings": []}),
                "created_by": 1,
                "created_at": "2024-01-02 08:00:00",
            },
        )
        for i, blocking in ((1, False), (2, True))
    ],
    (
        "treatments",
        {
            "id": 1,
            "patient_id": 1,
            "plan_id": 1,
            "vial_id": 1,
            "clinician_id": 1,
            "performed_at": "2024-01-02 09:00:00",
            "product": "onabotulinumtoxinA",
            "lot": "OLD-1",
            "expiry": "2030-01-01",
            "total_units": 4.0,
            "areas": '["glabellar"]',
            "notes": None,
            "created_at": "2024-01-02 09:00:00",
        },
    ),
    (
        "treatment_injections",
        {
            "id": 1,
            "treatment_id": 1,
            "site": "procerus",
            "x_mm": 0.0,
            "y_mm": 9.0,
            "units": 4.0,
            "depth": "intramuscular",
        },
    ),
    (
        "audit_log",
        {
            "id": 1,
            "at": "2024-01-02 03:04:05",
            "actor": "Dr Old",
            "user_id": 1,
            "action": "create",
            "entity": "patient",
            "entity_id": 1,
            "patient_id": 1,
            "detail": None,
        },
    ),
]


@pytest.fixture(params=KINDS)
def old_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A database migrated only to revision 0001 and filled with rows written by that schema."""
    with temporary_database(str(request.param), tmp_path, POSTGRES_URL) as url:
        engine = make_engine(url)
        command.upgrade(_alembic_config(engine), "0001")
        with engine.begin() as conn:
            for table, row in ROWS:
                cols = ", ".join(f'"{c}"' for c in row)
                conn.execute(
                    text(f"INSERT INTO {table} ({cols}) VALUES ({', '.join(':' + c for c in row)})"), row
                )
            if engine.dialect.name == "postgresql":
                for table in {table for table, _ in ROWS}:
                    conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), 10)"))
        yield engine
        engine.dispose()


def _contents(engine: Engine) -> dict[str, list[dict[str, Any]]]:
    meta = MetaData()
    meta.reflect(engine)
    with engine.connect() as conn:
        return {
            name: [dict(r._mapping) for r in conn.execute(select(t).order_by(*t.primary_key.columns))]
            for name, t in meta.tables.items()
            if name != "alembic_version"
        }


NEW_COLUMNS = {"appointments": ("cancel_reason", "status_at"), "photos": ("view",)}


def test_upgrade_keeps_every_row(old_database: Engine) -> None:
    engine = old_database
    assert not is_migrated(engine)
    before = _contents(engine)
    assert len(before["patients"]) == 3
    migrate(engine)
    assert is_migrated(engine)
    after = _contents(engine)
    assert set(after) >= set(before)
    assert all(after[name] == [] for name in set(after) - set(before))  # new tables start empty
    for name, rows in before.items():  # every old row and value kept (columns added beside them)
        assert [{k: r[k] for k in old} for r, old in zip(after[name], rows, strict=True)] == rows, name
    assert [r["time_zone"] for r in after["clinics"]] == ["UTC"]  # how its times were shown until now
    # plans saved with a blocking check are drafts; treatments keep the dilution they were drawn at
    assert [r["status"] for r in after["plans"]] == ["ready", "draft"]
    assert [(r["vial_units"], r["diluent_ml"]) for r in after["treatments"]] == [(100.0, 2.5)]
    assert [r["volume_ml"] for r in after["treatment_injections"]] == [pytest.approx(0.1)]
    for name, new in NEW_COLUMNS.items():  # the planner's new columns are empty on old rows
        assert [{k: r[k] for k in new} for r in after[name]] == [dict.fromkeys(new) for _ in before[name]]
    assert {"patient_links", "auth_sessions"} <= set(after)  # links and sign-ins made before stop working
    assert all(  # every existing history stays in force
        (r["status"], r["reviewed_by"], r["reviewed_at"]) == ("accepted", None, None)
        for r in after["medical_histories"]
    )
    # the app works on the upgraded rows
    factory = session_factory(engine)
    actor = Actor(1, "Dr Old", 1, "clinician")
    with transaction(factory) as db:
        found = repo.search_patients(db=db, query="old", actor=actor)
        assert [p.given_name for p in found] == ["Ada", "Bea", "Cy"]
        assert repo.get_patient(db=db, patient_id=1, actor=actor).clinical_notes == "Zoë: bruises easily"
        clinic = db.get(m.Clinic, 1)
        assert clinic is not None and clinic.time_zone == "UTC"
        new = repo.create_clinic(db=db, name="New clinic")
    assert new.id > 1


def test_downgrade_and_upgrade_again_keep_the_rows(old_database: Engine) -> None:
    engine = old_database
    before = _contents(engine)
    migrate(engine)
    command.downgrade(_alembic_config(engine), "0001")
    assert _contents(engine) == before
    migrate(engine)
    assert is_migrated(engine)


def test_newest_schema_is_what_the_models_declare(old_database: Engine) -> None:
    migrate(old_database)
    with old_database.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), m.Base.metadata) == []
