"""Helpers for tests: a throw-away database (SQLite file or a fresh PostgreSQL database)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

__all__ = ["temporary_database"]


@contextmanager
def temporary_database(kind: str, folder: Path, postgres_url: str | None = None) -> Iterator[str]:
    """Yield the URL of an empty database; a PostgreSQL one is created and dropped around it."""
    if kind == "sqlite":
        yield f"sqlite:///{folder / f'rhytid-{uuid.uuid4().hex[:8]}.sqlite3'}"
        return
    if not postgres_url:
        raise ValueError("postgres_url: needed for a PostgreSQL test database")
    base = make_url(postgres_url).set(drivername="postgresql+psycopg")
    name = f"rhytid_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
