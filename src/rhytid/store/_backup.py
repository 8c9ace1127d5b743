"""Consistent copies of the database while the server runs (the database part of a backup).

SQLite: the SQLite online backup API (a consistent snapshot even with concurrent writers).
PostgreSQL: without ``pg_dump``, every table is read in one ``REPEATABLE READ`` transaction (one
snapshot) and written as JSON; loading empties the tables and inserts the rows in one transaction,
then moves the id sequences past the restored ids.

Loading a copy either succeeds completely or changes nothing; afterwards the database is migrated
to the newest revision (SQLite) or must already be at the copy's revision (PostgreSQL). The backup
archive around the copy (with the photo files) is :mod:`rhytid.store._archive`; a copy on its own
is also what older versions of ``rhytid backup`` wrote, and it still restores.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

from alembic.script import ScriptDirectory
from sqlalchemy import Engine, delete, insert, select, text
from sqlalchemy.exc import SQLAlchemyError

from rhytid.store._db import _alembic_config, migrate
from rhytid.store._errors import StoreError
from rhytid.store._models import Base

__all__ = ["database_member", "dump_database", "load_database", "photo_rows"]


def _sqlite_path(engine: Engine) -> str:
    path = engine.url.database
    if not path or path == ":memory:":
        raise StoreError("database: an in-memory SQLite database cannot be backed up")
    return path


def _default(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return {"__date__": value.isoformat(), "t": isinstance(value, dt.datetime)}
    raise TypeError(type(value).__name__)


def _hook(obj: dict[str, Any]) -> Any:
    if "__date__" in obj:
        return (
            dt.datetime.fromisoformat(obj["__date__"]) if obj["t"] else dt.date.fromisoformat(obj["__date__"])
        )
    return obj


def _known_revisions(engine: Engine) -> set[str]:
    scripts = ScriptDirectory.from_config(_alembic_config(engine))
    return {rev.revision for rev in scripts.walk_revisions()}


def dump_database(engine: Engine, path: Path) -> None:
    """Write a consistent copy of the database to ``path`` (a SQLite file, or JSON for PostgreSQL)."""
    if engine.dialect.name == "sqlite":
        _backup_sqlite(engine, path)
    else:
        _backup_json(engine, path)


def database_member(dialect: str) -> str:
    """The name of the database copy inside a backup archive, by database kind."""
    return "database.sqlite3" if dialect == "sqlite" else "database.json"


def photo_rows(path: Path, dialect: str, label: str) -> list[tuple[int, str, str]]:
    """(id, stored_as, sha256) of every photo row in a database copy written by :func:`dump_database`."""
    try:
        if dialect == "sqlite":
            with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
                rows = conn.execute("SELECT id, stored_as, sha256 FROM photos ORDER BY id").fetchall()
        else:
            tables = json.loads(path.read_text(encoding="utf-8"))["tables"]
            rows = [(r["id"], r["stored_as"], r["sha256"]) for r in tables.get("photos", [])]
        return [(int(i), str(name), str(sha)) for i, name, sha in rows]
    except (sqlite3.DatabaseError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise StoreError(f"backup: {label} has no readable photos table ({type(exc).__name__})") from None


def _backup_sqlite(engine: Engine, partial: Path) -> None:
    path = _sqlite_path(engine)
    if not Path(path).is_file():
        raise StoreError(f"database: no SQLite database at {path!r}")
    src = sqlite3.connect(path, timeout=30)
    dst = sqlite3.connect(str(partial))
    try:
        # pages=-1 copies everything in one step under one read transaction: a consistent snapshot
        src.backup(dst, pages=-1)
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"database: cannot read {path!r} ({exc})") from None
    finally:
        dst.close()
        src.close()


def _backup_json(engine: Engine, partial: Path) -> None:
    try:
        with engine.connect().execution_options(isolation_level="REPEATABLE READ") as conn, conn.begin():
            version = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
            tables = {
                t.name: [dict(r._mapping) for r in conn.execute(select(t))]
                for t in Base.metadata.sorted_tables
            }
    except SQLAlchemyError as exc:
        raise StoreError(
            f"database: cannot read a Rhytid database ({type(getattr(exc, 'orig', None) or exc).__name__})"
        ) from None
    partial.write_text(json.dumps({"alembic": version, "tables": tables}, default=_default), encoding="utf-8")


def load_database(engine: Engine, source: Path, label: str | None = None) -> None:
    """Replace the database's contents with a copy written by :func:`dump_database`.

    ``label`` names the copy in error messages (default: its path).
    """
    label = label or repr(str(source))
    if engine.dialect.name == "sqlite":
        _restore_sqlite(engine, source, label)
    else:
        _restore_json(engine, source, label)


def _restore_sqlite(engine: Engine, source: Path, label: str) -> None:
    try:
        src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"backup: cannot open {label} ({exc})") from None
    try:
        try:
            row = src.execute("SELECT version_num FROM alembic_version").fetchone()
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"backup: {label} is not a Rhytid SQLite backup ({exc})") from None
        if row is None or row[0] not in _known_revisions(engine):
            raise StoreError(
                f"backup: {label} has schema revision {row[0] if row else None!r}, "
                "which this version of Rhytid does not know"
            )
        dst = sqlite3.connect(_sqlite_path(engine), timeout=30)
        try:
            src.backup(dst, pages=-1)
        finally:
            dst.close()
    finally:
        src.close()
    migrate(engine)  # an older backup is brought up to the newest schema


def _restore_json(engine: Engine, source: Path, label: str) -> None:
    try:
        data = json.loads(source.read_text(encoding="utf-8"), object_hook=_hook)
        tables = data["tables"]
        version = data["alembic"]
        if not isinstance(tables, dict) or not all(isinstance(v, list) for v in tables.values()):
            raise TypeError("tables must map names to lists of rows")
    except (ValueError, KeyError, TypeError) as exc:
        raise StoreError(f"backup: {label} is not a Rhytid JSON backup ({exc})") from None
    migrate(engine)
    with engine.connect() as conn:
        current = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    if version != current:
        raise StoreError(
            f"backup: {label} has schema revision {version!r}, the database {current!r}; "
            "restore it with the Rhytid version that wrote it, then upgrade"
        )
    unknown = sorted(set(tables) - set(Base.metadata.tables))
    if unknown:
        raise StoreError(f"backup: {label} has unknown tables {unknown}")
    try:
        with engine.begin() as conn:
            for t in reversed(Base.metadata.sorted_tables):
                conn.execute(delete(t))
            for t in Base.metadata.sorted_tables:
                rows = tables.get(t.name, [])
                if rows:
                    conn.execute(insert(t), rows)
                if "id" in t.c:
                    conn.execute(
                        text(
                            f"SELECT setval(pg_get_serial_sequence('{t.name}', 'id'), "
                            f"COALESCE((SELECT max(id) FROM {t.name}), 0) + 1, false)"
                        )
                    )
    except (SQLAlchemyError, TypeError, ValueError) as exc:
        raise StoreError(
            f"backup: the rows of {label} do not fit the database ({type(exc).__name__}); nothing changed"
        ) from None
