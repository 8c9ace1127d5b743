"""The clinic's opening hours and logo on the clinic settings page, and the logo in the header.

Both forms post to their own route and come back to ``/admin/clinic``; a bad entry re-renders the
settings page (422) with the message next to the form it concerns and the entries kept.
"""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import UploadFile

from rhytid.store import StoreError
from rhytid.store import _clinic_profile as profile
from rhytid.store._hours import WEEKDAYS
from rhytid.web._auth import AdminUser, AnyUser, DbSession, actor_of
from rhytid.web._clinic_messages import _settings_page
from rhytid.web._forms import CsrfForm, form_text
from rhytid.web._render import redirect
from rhytid.web._routing import page_router

__all__ = ["router"]

router = page_router()


@router.post("/admin/clinic/hours", response_class=HTMLResponse)
def save_opening_hours(request: Request, db: DbSession, user: AdminUser, form: CsrfForm) -> Response:
    hours = {d: (form_text(form, f"opens_{d}"), form_text(form, f"closes_{d}")) for d in range(len(WEEKDAYS))}
    try:
        profile.set_opening_hours(db=db, actor=actor_of(user), hours=hours)
        db.commit()
    except StoreError as exc:
        db.rollback()
        return _settings_page(request, db, user, None, str(exc), hours=hours)
    return redirect("/admin/clinic?saved=hours")


@router.post("/admin/clinic/logo", response_class=HTMLResponse)
def save_logo(request: Request, db: DbSession, user: AdminUser, form: CsrfForm) -> Response:
    try:
        if form_text(form, "remove") == "yes":
            profile.remove_logo(db=db, actor=actor_of(user))
        else:
            upload = form.get("logo")
            content = upload.file.read(profile.MAX_LOGO_BYTES + 1) if isinstance(upload, UploadFile) else b""
            profile.set_logo(db=db, actor=actor_of(user), content=content)
        db.commit()
    except StoreError as exc:
        db.rollback()
        return _settings_page(request, db, user, None, str(exc))
    return redirect("/admin/clinic?saved=logo")


@router.get("/clinic/logo")
def clinic_logo(db: DbSession, user: AnyUser) -> Response:
    """The signed-in user's clinic logo (404 when it has none)."""
    found = profile.logo(db, user.clinic_id)
    db.commit()
    if found is None:
        return Response(status_code=404)
    content, media = found
    return Response(
        content,
        media_type=media,
        headers={"Cache-Control": "private, max-age=300", "X-Content-Type-Options": "nosniff"},
    )
