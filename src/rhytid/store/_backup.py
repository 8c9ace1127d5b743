"""Consistent backups while the server runs.

SQLite: the SQLite online backup API (a consistent snapshot even with concurrent writers).
PostgreSQL: without ``pg_dump``, every table is read in one ``REPEATABLE READ`` transaction (one
snapshot) and written as JSON; restore empties the tables and loads the rows in one transaction,
then moves the id sequences past the restored ids.

A backup is written to a temporary file next to the target and renamed into place, so a failed
backup never leaves a half-written file under the target's name. A restore either succeeds completely
or changes nothing; afterwards the database is migrated to the newest revision (SQLite) or must
already be at the backup's revision (PostgreSQL).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3
from pathlib import Path
from typing import Any

from alembic.script import ScriptDirectory
from sqlalchemy import Engine, delete, insert, select, text
from sqlalchemy.exc import SQLAlchemyError

from rhytid.store._db import _alembic_config, migrate
from rhytid.store._errors import StoreError
from rhytid.store._models import Base

__all__ = ["backup", "restore"]


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


def _partial(target: Path) -> Path:
    return target.with_name(f".{target.name}.partial-{os.getpid()}")


def backup(engine: Engine, target: Path) -> None:
    """Write a consistent copy of the database to ``target`` (SQLite file or JSON for PostgreSQL)."""
    if target.is_dir():
        raise StoreError(f"target: {str(target)!r} is a folder; name a file to write")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(f"target: cannot create the folder of {str(target)!r} ({exc.strerror})") from None
    partial = _partial(target)
    try:
        if engine.dialect.name == "sqlite":
            _backup_sqlite(engine, partial)
        else:
            _backup_json(engine, partial)
        partial.replace(target)
    except OSError as exc:
        raise StoreError(f"target: cannot write {str(target)!r} ({exc.strerror})") from None
    finally:
        partial.unlink(missing_ok=True)


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


def restore(engine: Engine, source: Path) -> None:
    """Replace the database's contents with a backup made by :func:`backup`."""
    if not source.is_file():
        raise StoreError(f"backup: no file {str(source)!r}")
    if engine.dialect.name == "sqlite":
        _restore_sqlite(engine, source)
    else:
        _restore_json(engine, source)


def _restore_sqlite(engine: Engine, source: Path) -> None:
    try:
        src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"backup: cannot open {str(source)!r} ({exc})") from None
    try:
        try:
            row = src.execute("SELECT version_num FROM alembic_version").fetchone()
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"backup: {str(source)!r} is not a Rhytid SQLite backup ({exc})") from None
        if row is None or row[0] not in _known_revisions(engine):
            raise StoreError(
                f"backup: {str(source)!r} has schema revision {row[0] if row else None!r}, "
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


def _restore_json(engine: Engine, source: Path) -> None:
    try:
        data = json.loads(source.read_text(encoding="utf-8"), object_hook=_hook)
        tables = data["tables"]
        version = data["alembic"]
        if not isinstance(tables, dict) or not all(isinstance(v, list) for v in tables.values()):
            raise TypeError("tables must map names to lists of rows")
    except (ValueError, KeyError, TypeError) as exc:
        raise StoreError(f"backup: {str(source)!r} is not a Rhytid JSON backup ({exc})") from None
    migrate(engine)
    with engine.connect() as conn:
        current = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    if version != current:
        raise StoreError(
            f"backup: {str(source)!r} has schema revision {version!r}, the database {current!r}; "
            "restore it with the Rhytid version that wrote it, then upgrade"
        )
    unknown = sorted(set(tables) - set(Base.metadata.tables))
    if unknown:
        raise StoreError(f"backup: {str(source)!r} has unknown tables {unknown}")
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
            f"backup: the rows of {str(source)!r} do not fit the database "
            f"({type(exc).__name__}); nothing changed"
        ) from None
