"""Errors of the store, under :class:`rhytid.errors.RhytidError`."""

from __future__ import annotations

from rhytid.errors import PermissionDenied, RhytidError

__all__ = ["ConflictError", "GoneError", "NotFoundError", "PermissionDenied", "StoreError"]


class StoreError(RhytidError, ValueError):
    """A request the store refuses; the message starts with the field at fault."""


class NotFoundError(StoreError, LookupError):
    """No such record (in this clinic)."""


class ConflictError(StoreError):
    """The request conflicts with stored data (a double booking, a duplicate)."""


class GoneError(StoreError):
    """The record existed but may no longer be used (a spent, revoked or expired link)."""
