"""Ids in paths and queries: one beyond what any table holds is refused before it reaches the
database (where SQLite cannot even bind it: the reported 500s for ids of 2^63 and more)."""

from __future__ import annotations

from fastapi import HTTPException, Request

from rhytid.store._schemas import MAX_ID

__all__ = ["bounded_ids"]


def bounded_ids(request: Request) -> None:
    """An id beyond what any table holds names no record: 404 in a path, 422 in a query."""
    for where, values, status in (
        ("path", request.path_params, 404),
        ("query", request.query_params, 422),
    ):
        for name, raw in values.items():
            if name.endswith("_id") and str(raw).lstrip("+-").isdigit() and not 1 <= int(raw) <= MAX_ID:
                noun = name.removesuffix("_id").replace("_", " ")
                detail = f"{name}: no {noun} {raw}" if where == "path" else f"{name}: must be 1..{MAX_ID}"
                raise HTTPException(status, detail=detail)
