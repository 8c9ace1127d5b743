"""Sign-in sessions (signed cookie), CSRF tokens, API credentials and signed patient links.

- Pages: a signed, expiring session cookie (HttpOnly, SameSite=Lax, Secure over https or when
  configured) holding the user id and a CSRF token; every form posts the token back.
- API: the session cookie (unsafe methods then need the ``X-CSRF-Token`` header), HTTP Basic
  (e-mail and password) or a bearer token from ``POST /api/auth/token``.
- Patients: ``/p/{token}`` links signed with itsdangerous, bound to one patient and one form,
  expiring after days.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request, Response
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import select
from sqlalchemy.orm import Session

from rhytid.store import Actor, repo, verify_password
from rhytid.store import models as m
from rhytid.web._settings import Settings

__all__ = [
    "COOKIE",
    "ClinicalUser",
    "CurrentUser",
    "DbSession",
    "PatientLink",
    "check_csrf",
    "make_link",
    "read_link",
    "require",
    "sign_in",
    "sign_out",
]

COOKIE = "rhytid_session"
CLINICAL_ROLES = ("admin", "clinician")


def settings_of(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _serializer(request: Request, salt: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(settings_of(request).secret_key, salt=salt)


def get_db(request: Request) -> Iterator[Session]:
    """A session; routes commit explicitly, anything not committed is rolled back.

    Synchronous, like every route that uses it: FastAPI runs this teardown in its threadpool,
    never on the event loop, so no request's open transaction waits for the loop while another
    request blocks the loop (see ``rhytid.web._forms``).
    """
    db: Session = request.app.state.sessions()
    try:
        yield db
    finally:
        db.rollback()
        db.close()


DbSession = Annotated[Session, Depends(get_db)]


def read_session(request: Request) -> dict[str, Any] | None:
    raw = request.cookies.get(COOKIE)
    if not raw:
        return None
    try:
        data: dict[str, Any] = _serializer(request, "session").loads(
            raw, max_age=int(settings_of(request).session_hours * 3600)
        )
    except (BadSignature, SignatureExpired):
        return None
    return data


def sign_in(request: Request, response: Response, user: m.User) -> None:
    token = _serializer(request, "session").dumps({"uid": user.id, "csrf": secrets.token_urlsafe(24)})
    secure = settings_of(request).cookie_secure
    response.set_cookie(
        COOKIE,
        token,
        max_age=int(settings_of(request).session_hours * 3600),
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https" if secure is None else secure,
        path="/",
    )


def sign_out(response: Response) -> None:
    response.delete_cookie(COOKIE, path="/")


def csrf_token(request: Request) -> str:
    data = read_session(request)
    return str(data.get("csrf", "")) if data else ""


def check_csrf(request: Request, token: str | None) -> None:
    expected = csrf_token(request)
    if not expected or not token or not hmac.compare_digest(expected, token):
        raise HTTPException(403, detail="csrf_token: missing or invalid; reload the page and try again")


class NotSignedIn(Exception):
    """A page needs a signed-in user (redirect to sign-in)."""


def _user_from_request(request: Request, db: Session) -> m.User | None:
    """The user of the request's credentials, detached from ``db`` (whose transaction ends here)."""
    request.state.via_cookie = False
    auth = request.headers.get("authorization", "")
    user: m.User | None = None
    if auth.lower().startswith("basic "):
        try:
            email, _, password = base64.b64decode(auth[6:], validate=True).decode("utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None
        user = db.scalar(select(m.User).where(m.User.email == email.strip().lower()))
        if user is not None:
            db.expunge(user)
        db.rollback()  # no lock is held while the password hash is checked
        if user is None:
            verify_password(repo.DUMMY_HASH, password)
            return None
        return user if user.active and verify_password(user.password_hash, password) else None
    if auth.lower().startswith("bearer "):
        try:
            uid = _serializer(request, "api-token").loads(auth[7:].strip(), max_age=12 * 3600)["uid"]
        except (BadSignature, SignatureExpired, KeyError, TypeError):
            return None
        user = db.get(m.User, uid)
    else:
        data = read_session(request)
        if data is None:
            return None
        user = db.get(m.User, data.get("uid"))
        request.state.via_cookie = True
    if user is None or not user.active:
        return None
    db.expunge(user)
    return user


def api_token(request: Request, user: m.User) -> str:
    return str(_serializer(request, "api-token").dumps({"uid": user.id}))


def current_user(request: Request) -> m.User:
    with request.app.state.read_sessions() as db:  # a deferred read: no write lock
        user = _user_from_request(request, db)
        if user is not None:
            request.state.time_zone = db.scalar(
                select(m.Clinic.time_zone).where(m.Clinic.id == user.clinic_id)
            )
        db.rollback()
    if user is None:
        if request.url.path.startswith("/api/"):
            raise HTTPException(
                401,
                detail="credentials: sign in, or give HTTP Basic or a bearer token",
                headers={"WWW-Authenticate": 'Basic realm="rhytid"'},
            )
        raise NotSignedIn()
    if (
        request.state.via_cookie
        and request.method not in ("GET", "HEAD", "OPTIONS")
        and request.url.path.startswith("/api/")
    ):
        check_csrf(request, request.headers.get("x-csrf-token"))
    request.state.user = user
    return user


CurrentUser = Annotated[m.User, Depends(current_user)]


def require(*roles: str) -> Any:
    """A dependency admitting only users with one of ``roles`` (403 otherwise)."""

    def dependency(user: CurrentUser) -> m.User:
        if user.role not in roles:
            raise HTTPException(403, detail=f"role: {user.role} may not do this; allowed: {', '.join(roles)}")
        return user

    return Depends(dependency)


ClinicalUser = Annotated[m.User, require(*CLINICAL_ROLES)]
Clinician = Annotated[m.User, require("clinician")]
AdminUser = Annotated[m.User, require("admin")]
AnyUser = Annotated[m.User, require("admin", "clinician", "front_desk")]


def actor_of(user: m.User) -> Actor:
    return Actor(clinic_id=user.clinic_id, label=user.email, user_id=user.id, role=user.role)


@dataclass(frozen=True)
class PatientLink:
    patient_id: int
    form: str  # intake | aftercare
    treatment_id: int | None


def make_link(request: Request, *, patient_id: int, form: str, treatment_id: int | None = None) -> str:
    token = _serializer(request, "patient-link").dumps({"p": patient_id, "f": form, "t": treatment_id})
    return str(token)


def read_link(request: Request, token: str, form: str) -> PatientLink:
    """The link's patient and form; 404 for a forged or other-form link, 410 once expired."""
    s = settings_of(request)
    days = s.intake_link_days if form == "intake" else s.aftercare_link_days
    try:
        data = _serializer(request, "patient-link").loads(token, max_age=int(days * 86400))
    except SignatureExpired:
        raise HTTPException(410, detail="link: this link has expired; ask the clinic for a new one") from None
    except BadSignature:
        raise HTTPException(404, detail="link: not a valid link") from None
    if not isinstance(data, dict) or data.get("f") != form:
        raise HTTPException(404, detail="link: not a valid link for this form")
    return PatientLink(int(data["p"]), form, data.get("t"))


def link_csrf(request: Request, token: str) -> str:
    """The CSRF token of a patient form: an HMAC of the link token."""
    key = settings_of(request).secret_key.encode()
    return hmac.new(key, b"link-csrf:" + token.encode(), "sha256").hexdigest()
