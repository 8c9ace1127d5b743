"""The two kinds of router every web module makes, so that each route gets the same guards.

A JSON API router answers under ``/api/``, documents the errors it really sends and refuses ids
beyond the database's integer range before any query (404/422, never a 500); a page router is
left out of the OpenAPI document and has the same id bounds.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends

from rhytid.web._bounds import bounded_ids
from rhytid.web._openapi import ERROR_RESPONSES

__all__ = ["api_router", "page_router"]


def api_router(**kwargs: Any) -> APIRouter:
    """A router of the JSON API (``tags=…`` and the like pass through)."""
    return APIRouter(prefix="/api", dependencies=[Depends(bounded_ids)], responses=ERROR_RESPONSES, **kwargs)


def page_router() -> APIRouter:
    """A router of server-rendered pages."""
    return APIRouter(include_in_schema=False, dependencies=[Depends(bounded_ids)])
