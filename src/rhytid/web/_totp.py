"""The optional TOTP second factor on the web: the sign-in code step, enrolment, admin reset.

Pages: after a right password, an account with a second factor gets the code form
(``POST /signin/code``, within :data:`~rhytid.web._auth.PENDING_S` seconds, in the same browser);
``/account/second-factor`` sets one up (QR code and key shown once, then a code to confirm, then
the recovery codes shown once); an admin resets a user's factor from the users page.
API: ``GET/POST /api/me/totp``, ``POST /api/me/totp/confirm``, ``POST /api/users/{id}/totp/reset``;
a bearer token for such an account comes from ``POST /api/auth/token`` with HTTP Basic and the
``X-TOTP-Code`` header (``rhytid.web._auth``). Wrong codes count as failed sign-ins (rate limit,
lockout, audit rows).
"""

from __future__ import annotations

import hmac
import secrets

import segno
from fastapi import Request, Response
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from rhytid.store import StoreError, totp
from rhytid.store import models as m
from rhytid.web._auth import (
    PRE_COOKIE,
    AccountLocked,
    AdminUser,
    AnyUser,
    DbSession,
    actor_of,
    failed_sign_in,
    finish_sign_in,
    guard,
    locked_response,
    pending_sign_in,
    read_pending_sign_in,
)
from rhytid.web._forms import CsrfForm, RawForm, form_text
from rhytid.web._render import error_page, redirect, render
from rhytid.web._routing import api_router, page_router

__all__ = ["api", "ask_for_code", "router"]

router = page_router()
api = api_router(tags=["auth"])


def ask_for_code(request: Request, user_id: int, nxt: str, error: str = "", pre: str = "") -> HTMLResponse:
    """The second step of a sign-in: the code form, bound to this browser by a new ``pre`` cookie."""
    pre = pre or secrets.token_urlsafe(16)
    response = render(
        request,
        "signin_code.html",
        401 if error else 200,
        pending=pending_sign_in(request, user_id, pre),
        pre=pre,
        next=nxt,
        error=error,
    )
    response.set_cookie(PRE_COOKIE, pre, httponly=True, samesite="strict", max_age=3600)
    return response


@router.post("/signin/code", response_class=HTMLResponse)
def signin_code(request: Request, db: DbSession, form: RawForm) -> Response:
    pre = request.cookies.get(PRE_COOKIE, "")
    if not pre or not hmac.compare_digest(pre, form_text(form, "pre")):
        return error_page(request, 403, "csrf_token: the sign-in form expired; sign in again")
    user_id = read_pending_sign_in(request, form_text(form, "pending"), pre)
    user = totp.pending_user(db=db, user_id=user_id) if user_id is not None else None
    if user is None:
        return error_page(request, 403, "code: this sign-in expired; sign in again with your password")
    nxt = form_text(form, "next")
    try:
        guard(request, db, user.email)
    except AccountLocked as exc:
        db.rollback()
        raise locked_response(request, exc) from None
    uid, email = user.id, user.email  # read before the rollback expires the row
    used = totp.check_code(db=db, user_id=uid, code=form_text(form, "code"))
    if used is None:
        db.rollback()
        failed_sign_in(request, email, "second factor")
        return ask_for_code(request, uid, nxt, "code: not the current code (or one already used)", pre)
    return finish_sign_in(request, db, user, nxt, f"second factor: {used}")


def _account_page(
    request: Request, db: Session, user: m.User, status: int = 200, **context: object
) -> HTMLResponse:
    enrolled = totp.is_enrolled(db=db, user_id=user.id)
    db.commit()
    return render(request, "second_factor.html", status, enrolled=enrolled, **context)


@router.get("/account/second-factor", response_class=HTMLResponse)
def account(request: Request, db: DbSession, user: AnyUser) -> HTMLResponse:
    return _account_page(request, db, user)


@router.post("/account/second-factor", response_class=HTMLResponse)
def begin(request: Request, db: DbSession, user: AnyUser, form: CsrfForm) -> HTMLResponse:
    try:
        secret, uri = totp.begin_enrolment(db=db, user=user, actor=actor_of(user))
    except StoreError as exc:
        db.rollback()
        return _account_page(request, db, user, 409, form_error=str(exc))
    db.commit()
    qr_svg = segno.make(uri, error="m").svg_inline(scale=5, title="QR code of the key")
    return render(request, "second_factor.html", secret=secret, qr_svg=qr_svg, enrolled=False)


@router.post("/account/second-factor/confirm", response_class=HTMLResponse)
def confirm(request: Request, db: DbSession, user: AnyUser, form: CsrfForm) -> HTMLResponse:
    try:
        codes = totp.confirm_enrolment(db=db, user=user, code=form_text(form, "code"), actor=actor_of(user))
    except StoreError as exc:
        db.rollback()
        return _account_page(request, db, user, 422, form_error=f"{exc} Set it up again to get a new key.")
    db.commit()
    return render(request, "second_factor.html", recovery_codes=codes, enrolled=True)


@router.post("/admin/users/{user_id}/second-factor/reset")
def admin_reset(db: DbSession, user: AdminUser, user_id: int, form: CsrfForm) -> Response:
    totp.reset(db=db, user_id=user_id, actor=actor_of(user))
    db.commit()
    return redirect("/admin/users")


# --- API ---------------------------------------------------------------------------------------
class TotpStatus(BaseModel):
    enrolled: bool


class TotpEnrolment(BaseModel):
    secret: str = Field(description="The shared key (base32), shown once")
    otpauth_uri: str = Field(description="The key as an otpauth:// URI for an authenticator's QR code")


class TotpConfirm(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: str = Field(min_length=6, max_length=10, description="The authenticator's current code")


class RecoveryCodes(BaseModel):
    recovery_codes: list[str] = Field(description="One-time codes that stand in for a code, shown once")


@api.get("/me/totp", response_model=TotpStatus)
def totp_status(db: DbSession, user: AnyUser) -> TotpStatus:
    """Whether the signed-in user's second factor is on."""
    return TotpStatus(enrolled=totp.is_enrolled(db=db, user_id=user.id))


@api.post("/me/totp", response_model=TotpEnrolment, status_code=201)
def totp_begin(db: DbSession, user: AnyUser) -> TotpEnrolment:
    """Draw a new key for the signed-in user (409 once a second factor is on); it counts only
    after ``POST /api/me/totp/confirm``."""
    secret, uri = totp.begin_enrolment(db=db, user=user, actor=actor_of(user))
    db.commit()
    return TotpEnrolment(secret=secret, otpauth_uri=uri)


@api.post("/me/totp/confirm", response_model=RecoveryCodes)
def totp_confirm(db: DbSession, user: AnyUser, data: TotpConfirm) -> RecoveryCodes:
    """Turn the second factor on with the authenticator's current code; the recovery codes."""
    codes = totp.confirm_enrolment(db=db, user=user, code=data.code, actor=actor_of(user))
    db.commit()
    return RecoveryCodes(recovery_codes=codes)


@api.post("/users/{user_id}/totp/reset", status_code=204, tags=["users"])
def totp_reset(db: DbSession, user: AdminUser, user_id: int) -> Response:
    """An admin takes the second factor off a user of the clinic (who lost phone and codes)."""
    totp.reset(db=db, user_id=user_id, actor=actor_of(user))
    db.commit()
    return Response(status_code=204)
