"""Posted forms as dependencies, so that the routes that use them can be plain ``def``.

Reading a request body is asynchronous; everything a route does with the database and with
passwords is not. A route that awaited ``request.form()`` itself had to be ``async def`` and then
ran its synchronous database and password work on the event loop, where one request waiting for
SQLite's write lock stalled every other request, including the one holding the lock (the reported
30 s freeze). Here the body is read on the event loop by an async dependency; the route itself is
a plain function that FastAPI runs in its threadpool.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from pydantic import ValidationError
from starlette.datastructures import FormData

from rhytid.web._auth import check_csrf
from rhytid.web._words import plain_message

__all__ = ["CsrfForm", "RawForm", "error_field", "form_text", "read_form", "validation_message"]

#: Most fields and files a form of the app has (the assessment form: grades, notes and photos).
MAX_FIELDS = 200
MAX_FILES = 20


async def read_form(request: Request) -> AsyncIterator[FormData]:
    """The posted form; its uploads' temporary files are closed after the response."""
    form = await request.form(max_files=MAX_FILES, max_fields=MAX_FIELDS)
    try:
        yield form
    finally:
        await form.close()


RawForm = Annotated[FormData, Depends(read_form)]


async def _checked_form(request: Request, form: RawForm) -> FormData:
    check_csrf(request, str(form.get("csrf_token") or ""))
    return form


#: A form of a signed-in user, its CSRF token checked (403 otherwise).
CsrfForm = Annotated[FormData, Depends(_checked_form)]


def form_text(form: FormData, key: str) -> str:
    """The text field ``key`` stripped of surrounding blanks ("" when absent or a file)."""
    value = form.get(key)
    return value.strip() if isinstance(value, str) else ""


def validation_message(exc: ValidationError) -> str:
    """The first validation error as "field: what is wrong" for the form's error line (what is
    wrong in words, :func:`rhytid.web._words.plain_message`; the page names the field in words)."""
    e = exc.errors()[0]
    field = ".".join(str(p) for p in e["loc"])
    return f"{field}: {plain_message(e)}"


def error_field(message: str | None) -> str | None:
    """The field a message names ("expiry: …" → "expiry"), to show it next to that field."""
    if not message:
        return None
    head, sep, _ = message.partition(":")
    return head.strip() if sep and head.strip().replace("_", "").isalnum() else None
