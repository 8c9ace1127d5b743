"""The clinic database: SQLAlchemy models, keyword-only repositories, Alembic migrations.

>>> from rhytid.store import make_engine, migrate, session_factory, transaction
>>> engine = make_engine("sqlite:///clinic.sqlite3")   # doctest: +SKIP
>>> migrate(engine)                                     # doctest: +SKIP
"""

from rhytid.store import _accounts as accounts
from rhytid.store import _links as links
from rhytid.store import _models as models
from rhytid.store import _repo as repo
from rhytid.store import _review as review
from rhytid.store import _schedule as schedule
from rhytid.store import _schemas as schemas
from rhytid.store import _sessions as sessions
from rhytid.store import _totp as totp
from rhytid.store._audit import Actor
from rhytid.store._db import database_url, is_migrated, make_engine, migrate, session_factory, transaction
from rhytid.store._errors import ConflictError, GoneError, NotFoundError, PermissionDenied, StoreError
from rhytid.store._security import hash_password, verify_password, verify_password_recent

__all__ = [
    "Actor",
    "ConflictError",
    "GoneError",
    "NotFoundError",
    "PermissionDenied",
    "StoreError",
    "accounts",
    "database_url",
    "hash_password",
    "is_migrated",
    "links",
    "make_engine",
    "migrate",
    "models",
    "repo",
    "review",
    "schedule",
    "schemas",
    "session_factory",
    "sessions",
    "totp",
    "transaction",
    "verify_password",
    "verify_password_recent",
]
