"""Errors of the store, under :class:`rhytid.errors.RhytidError`."""

from __future__ import annotations

from rhytid.errors import RhytidError

__all__ = ["ConflictError", "NotFoundError", "StoreError"]


class StoreError(RhytidError, ValueError):
    """A request the store refuses; the message starts with the field at fault."""


class NotFoundError(StoreError, LookupError):
    """No such record (in this clinic)."""


class ConflictError(StoreError):
    """The request conflicts with stored data (a double booking, a duplicate)."""
