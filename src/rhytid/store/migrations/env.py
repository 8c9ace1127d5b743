"""Alembic environment: run with the engine passed in ``config.attributes['engine']``.

On SQLite, foreign-key enforcement is switched off while migrations run (a batch migration copies
and drops tables, which the checks would refuse) and the foreign keys are checked afterwards; the
per-connection pragma is restored before the connection goes back to the pool.
"""

from __future__ import annotations

from typing import Any

from alembic import context
from sqlalchemy import create_engine

from rhytid.store._models import Base

config = context.config
target_metadata = Base.metadata


def run() -> None:
    engine = config.attributes.get("engine")
    if engine is None:
        engine = create_engine(config.get_main_option("sqlalchemy.url") or "sqlite://")
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        raw: Any = connection.connection.driver_connection
        if sqlite:  # outside any transaction, where the pragma takes effect
            raw.execute("PRAGMA foreign_keys=OFF")
        try:
            context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
            with context.begin_transaction():
                context.run_migrations()
                if sqlite:
                    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                    if broken:
                        raise RuntimeError(f"migration left rows with broken foreign keys: {broken[:5]}")
            connection.commit()
        finally:
            if sqlite:
                raw.execute("PRAGMA foreign_keys=ON")


run()
