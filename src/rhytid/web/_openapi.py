"""The OpenAPI document as the API behaves: its security schemes and its error responses.

Every operation under ``/api/`` accepts HTTP Basic, a bearer token (``POST /api/auth/token``) or
the session cookie (unsafe methods then need ``X-CSRF-Token``); every error has the one shape
the app writes (``{"detail", "field", "message"}``, and ``errors`` for a 422 on malformed input;
``message`` is ``detail`` with its field in words, for the pages).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel

__all__ = ["ERROR_RESPONSES", "UNPARSEABLE_BODY", "ErrorBody", "install"]


class ErrorBody(BaseModel):
    """Every error: what was wrong and how to fix it, and the input at fault (if one)."""

    detail: str
    field: str | None = None
    #: ``detail`` for a person: the field named in words, not as a code (what the pages show)
    message: str | None = None


class FieldError(BaseModel):
    field: str
    msg: str
    type: str | None = None


class ValidationBody(ErrorBody):
    """A 422: the first problem in ``detail``/``field``; all of them in ``errors`` when the request
    was malformed (a rule of the clinic that refuses it gives no ``errors``)."""

    errors: list[FieldError] | None = None


#: The message of a body that cannot be parsed at all (not UTF-8 JSON, a broken multipart form).
UNPARSEABLE_BODY = "body: cannot be read; send UTF-8 JSON (or a well-formed multipart form)"

ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "The request body cannot be parsed (not UTF-8 JSON)"},
    401: {"model": ErrorBody, "description": "No valid credentials"},
    403: {"model": ErrorBody, "description": "The user's role may not do this, or a CSRF token is missing"},
    404: {"model": ErrorBody, "description": "No such record in this clinic"},
    409: {"model": ErrorBody, "description": "Conflicts with stored data"},
    413: {"model": ErrorBody, "description": "The request body is too large"},
    422: {"model": ValidationBody, "description": "Invalid input; ``field`` names it"},
    429: {"model": ErrorBody, "description": "Too many failed sign-ins"},
}

_SCHEMES = {
    "basic": {"type": "http", "scheme": "basic"},
    "bearer": {"type": "http", "scheme": "bearer", "description": "from POST /api/auth/token (12 h)"},
    "cookie": {"type": "apiKey", "in": "cookie", "name": "rhytid_session"},
}


def install(app: FastAPI) -> None:
    """Serve the document with the security schemes, required by every operation."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        doc = get_openapi(title=app.title, version=app.version, routes=app.routes)
        doc.setdefault("components", {})["securitySchemes"] = _SCHEMES
        doc["security"] = [{"basic": []}, {"bearer": []}, {"cookie": []}]
        app.openapi_schema = doc
        return doc

    app.openapi = openapi  # type: ignore[method-assign]
