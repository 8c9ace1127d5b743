"""Engines, sessions and migrations.

SQLite (WAL, foreign keys, ``synchronous=FULL`` so an acknowledged write survives a power cut,
``BEGIN IMMEDIATE`` so concurrent writers queue instead of failing, a short busy timeout so a
stuck writer costs a prompt 503 rather than a long stall) is the default, in the user's data
directory; PostgreSQL through ``RHYTID_DATABASE_URL``. Sessions that only read
(``session_factory(engine, read_only=True)``: credentials, health checks) begin a deferred
transaction on SQLite, so they never take or wait for the write lock.
Migrations ship inside the package (``rhytid/store/migrations``) and run programmatically.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import platformdirs
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.orm import Session, sessionmaker

from rhytid.store._errors import StoreError

__all__ = [
    "StoreError",
    "database_url",
    "is_migrated",
    "make_engine",
    "migrate",
    "session_factory",
    "transaction",
]

_MIGRATIONS = Path(__file__).with_name("migrations")
#: How long (ms) a SQLite connection waits for another writer's lock before giving up (503).
BUSY_TIMEOUT_MS = 5000
_READ_ONLY = "rhytid_read_only"


def database_url(explicit: str | None = None) -> str:
    """The database URL: ``explicit``, else ``RHYTID_DATABASE_URL``, else SQLite in the data dir."""
    if explicit:
        return explicit
    env = os.environ.get("RHYTID_DATABASE_URL")
    if env:
        return env
    folder = Path(platformdirs.user_data_dir("rhytid", appauthor=False))
    folder.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{folder / 'clinic.sqlite3'}"


def _private(database: str | None) -> None:
    """The clinic database and its WAL files readable by their owner only (0600)."""
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    for suffix in ("", "-wal", "-shm"):
        path = Path(database + suffix)
        if path.exists() and path.stat().st_mode & 0o077:
            path.chmod(0o600)


def _sqlite_setup(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cur = dbapi_connection.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA synchronous=FULL")
        cur.close()
        _private(engine.url.database)  # the file exists now (WAL mode wrote its header)

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        read_only = conn.get_execution_options().get(_READ_ONLY, False)
        conn.exec_driver_sql("BEGIN DEFERRED" if read_only else "BEGIN IMMEDIATE")


def make_engine(url: str | None = None) -> Engine:
    """An engine for ``url`` (see :func:`database_url`); StoreError for an unusable URL."""
    raw = database_url(url)
    try:
        parsed = make_url(raw)
    except ArgumentError:
        raise StoreError(f"database: not a database URL: {raw!r}") from None
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        engine = create_engine(
            parsed, connect_args={"check_same_thread": False, "timeout": BUSY_TIMEOUT_MS / 1000}
        )
        _sqlite_setup(engine)
        return engine
    if parsed.get_backend_name() == "postgresql":
        return create_engine(parsed, pool_size=10, max_overflow=40, pool_pre_ping=True)
    raise StoreError(f"database: unsupported backend {parsed.get_backend_name()!r}; use sqlite or postgresql")


def _alembic_config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(_MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


def migrate(engine: Engine) -> None:
    """Upgrade the database to the newest migration (creates it when empty)."""
    command.upgrade(_alembic_config(engine), "head")


def is_migrated(engine: Engine) -> bool:
    """True when the database is reachable and at the newest migration."""
    head = ScriptDirectory.from_config(_alembic_config(engine)).get_current_head()
    with engine.execution_options(**{_READ_ONLY: True}).connect() as conn:
        conn.execute(text("SELECT 1"))
        current = MigrationContext.configure(conn).get_current_revision()
    return current == head


def session_factory(engine: Engine, *, read_only: bool = False) -> sessionmaker[Session]:
    """Sessions on ``engine``; ``read_only`` ones begin deferred on SQLite (no write lock)."""
    bind = engine.execution_options(**{_READ_ONLY: True}) if read_only else engine
    return sessionmaker(bind=bind, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: commit at the end, roll everything back on any error."""
    with factory() as db, db.begin():
        yield db
