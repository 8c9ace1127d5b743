"""Rendering of staff and patient pages: the templates, the clinic's wall clock, redirects.

Every page module renders through :func:`render` (the signed-in user, the CSRF token and the
clinic's time zone are in every template) and converts times with the helpers here: stored times
are naive UTC; forms and pages use the clinic's zone.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates
from jinja2 import pass_context

from rhytid.clinic import PRODUCTS
from rhytid.store._models import utcnow
from rhytid.store._time import to_local, to_utc, zone
from rhytid.web._auth import csrf_token
from rhytid.web._record import PHOTO_VIEWS
from rhytid.web._words import staff_words

__all__ = [
    "clinic_zone",
    "error_page",
    "local_day_bounds",
    "local_input",
    "local_today",
    "redirect",
    "render",
    "templates",
]

templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
templates.env.filters["label"] = lambda code: str(code).replace("_", " ")
templates.env.filters["words"] = staff_words  # an error message with its field in words
templates.env.globals["PRODUCTS"] = PRODUCTS
templates.env.globals["PHOTO_VIEWS"] = PHOTO_VIEWS


def clinic_zone(request: Request) -> Any:
    """The ZoneInfo of the signed-in user's clinic (UTC for patient links and the sign-in page)."""
    return zone(getattr(request.state, "time_zone", None) or "UTC")


@pass_context
def _local(context: Any, value: dt.datetime | None, fmt: str = "%a %-d %b %Y %H:%M") -> str:
    """A stored (naive UTC) time as the clinic's wall-clock time."""
    return "" if value is None else to_local(value, context["tz"]).strftime(fmt)


templates.env.filters["local"] = _local


def local_input(raw: str, request: Request, field: str) -> str:
    """A ``datetime-local`` form value (clinic wall clock) as an ISO UTC time for validation.

    Unparseable text is passed on unchanged so that validation names the field.
    """
    try:
        parsed = dt.datetime.fromisoformat(raw)
    except ValueError:
        return raw
    return to_utc(parsed, clinic_zone(request), field).isoformat()


def local_day_bounds(request: Request, day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """The UTC start and end of the clinic's calendar ``day``."""
    tz = clinic_zone(request)
    start = dt.datetime.combine(day, dt.time())
    return to_utc(start, tz, "day"), to_utc(start + dt.timedelta(days=1), tz, "day")


def local_today(request: Request) -> dt.date:
    """Today's date on the clinic's wall clock."""
    return to_local(utcnow(), clinic_zone(request)).date()


def render(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
    """Template ``name`` with the user, CSRF token, clinic zone, name and logo beside ``context``;
    its error messages name their field in words (``Plan: …``, never ``plan_id: …``)."""
    user = getattr(request.state, "user", None)
    for key in ("error", "form_error", "message"):
        if isinstance(context.get(key), str):
            context[key] = staff_words(context[key])
    return templates.TemplateResponse(
        request,
        name,
        {
            "user": user,
            "csrf": csrf_token(request),
            "tz": clinic_zone(request),
            "clinic_name": getattr(request.state, "clinic_name", None),
            "clinic_logo": getattr(request.state, "clinic_logo", False),
            **context,
        },
        status_code=status,
    )


def error_page(request: Request, status: int, message: str) -> HTMLResponse:
    return render(request, "error.html", status=status, status_code=status, message=message)


def redirect(url: str) -> RedirectResponse:
    """303 See Other: the browser GETs ``url`` after a form POST."""
    return RedirectResponse(url, status_code=303)
