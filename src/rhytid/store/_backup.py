"""Consistent backups while the server runs.

SQLite: the SQLite online backup API (a consistent snapshot even with concurrent writers).
PostgreSQL: without ``pg_dump``, every table is read in one ``REPEATABLE READ`` transaction (one
snapshot) and written as JSON; restore empties the tables and loads the rows in one transaction,
then moves the id sequences past the restored ids.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, delete, insert, select, text

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


def backup(engine: Engine, target: Path) -> None:
    """Write a consistent copy of the database to ``target`` (SQLite file or JSON for PostgreSQL)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    if engine.dialect.name == "sqlite":
        src = sqlite3.connect(_sqlite_path(engine), timeout=30)
        dst = sqlite3.connect(str(target))
        try:
            src.backup(dst)
        finally:
            dst.close()
            src.close()
        return
    with engine.connect().execution_options(isolation_level="REPEATABLE READ") as conn, conn.begin():
        version = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
        tables = {
            t.name: [dict(r._mapping) for r in conn.execute(select(t))] for t in Base.metadata.sorted_tables
        }
    target.write_text(json.dumps({"alembic": version, "tables": tables}, default=_default), encoding="utf-8")


def restore(engine: Engine, source: Path) -> None:
    """Replace the database's contents with a backup made by :func:`backup`."""
    if not source.is_file():
        raise StoreError(f"backup: no file {str(source)!r}")
    if engine.dialect.name == "sqlite":
        try:
            src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
            src.execute("SELECT count(*) FROM alembic_version").fetchone()
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"backup: {str(source)!r} is not a Rhytid SQLite backup ({exc})") from None
        dst = sqlite3.connect(_sqlite_path(engine), timeout=30)
        try:
            src.backup(dst)
        finally:
            dst.close()
            src.close()
        return
    try:
        data = json.loads(source.read_text(encoding="utf-8"), object_hook=_hook)
        tables = data["tables"]
    except (ValueError, KeyError, TypeError) as exc:
        raise StoreError(f"backup: {str(source)!r} is not a Rhytid JSON backup ({exc})") from None
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
