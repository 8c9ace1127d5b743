"""The clinic database: SQLAlchemy models, keyword-only repositories, Alembic migrations.

>>> from rhytid.store import make_engine, migrate, session_factory, transaction
>>> engine = make_engine("sqlite:///clinic.sqlite3")   # doctest: +SKIP
>>> migrate(engine)                                     # doctest: +SKIP
"""

from rhytid.store import _models as models
from rhytid.store import _repo as repo
from rhytid.store import _schedule as schedule
from rhytid.store import _schemas as schemas
from rhytid.store._db import database_url, is_migrated, make_engine, migrate, session_factory, transaction
from rhytid.store._errors import ConflictError, NotFoundError, StoreError
from rhytid.store._repo import Actor
from rhytid.store._security import hash_password, verify_password

__all__ = [
    "Actor",
    "ConflictError",
    "NotFoundError",
    "StoreError",
    "database_url",
    "hash_password",
    "is_migrated",
    "make_engine",
    "migrate",
    "models",
    "repo",
    "schedule",
    "schemas",
    "session_factory",
    "transaction",
    "verify_password",
]
