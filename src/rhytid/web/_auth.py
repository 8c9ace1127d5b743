"""Sign-in sessions (signed cookie), CSRF tokens, API credentials and signed patient links.

- Pages: a signed, expiring session cookie (HttpOnly, SameSite=Lax, Secure over https or when
  configured) holding the user id and a CSRF token; every form posts the token back.
- API: the session cookie (unsafe methods then need the ``X-CSRF-Token`` header), HTTP Basic
  (e-mail and password) or a bearer token from ``POST /api/auth/token``.
- Second factor (optional, per account: ``rhytid.store.totp``): the sign-in form asks for the
  code after the password; over the API an account with a second factor cannot use HTTP Basic
  for anything but ``POST /api/auth/token``, which then needs the code in the ``X-TOTP-Code``
  header (a code is accepted once, so it cannot ride along on every request). Cookies and bearer
  tokens stand for a sign-in that already passed the second factor.
- Patients: ``/p/{form}/{token}`` links: a token signed with itsdangerous naming a stored link
  (``rhytid.store.links``) bound to one patient and one form, spent by its first accepted
  submission, revocable by staff, expiring after days. Staff credentials cannot submit them.
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
from fastapi.responses import RedirectResponse
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import select
from sqlalchemy.orm import Session

from rhytid.store import Actor, links, repo, sessions, totp, verify_password, verify_password_recent
from rhytid.store import models as m
from rhytid.web._ratelimit import RateLimiter
from rhytid.web._settings import Settings

__all__ = [
    "COOKIE",
    "ClinicalUser",
    "CurrentUser",
    "DbSession",
    "PatientLink",
    "check_api_second_factor",
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


def sign_in(request: Request, response: Response, user: m.User, db: Session) -> None:
    """Open a server-side session for ``user`` in ``db`` (the caller commits) and set its cookie."""
    row, key = sessions.open_session(
        db=db, user_id=user.id, kind="cookie", hours=settings_of(request).session_hours
    )
    token = _serializer(request, "session").dumps(
        {"sid": row.id, "k": key, "csrf": secrets.token_urlsafe(24)}
    )
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


def safe_next(nxt: str) -> str:
    """``nxt`` when it is a path of this site, else ``/`` (no open redirect)."""
    return nxt if nxt.startswith("/") and not nxt.startswith("//") else "/"


def finish_sign_in(
    request: Request, db: Session, user: m.User, nxt: str, detail: str | None = None
) -> Response:
    """Open the session of a user who passed every factor, audit it and commit; the redirect."""
    response = RedirectResponse(safe_next(nxt), status_code=303)
    sign_in(request, response, user, db)
    repo.audit(
        db,
        Actor(clinic_id=user.clinic_id, label=user.email, user_id=user.id),
        "signin",
        "user",
        user.id,
        None,
        detail,
    )
    db.commit()
    response.delete_cookie(PRE_COOKIE)
    return response


#: The sign-in form's own CSRF cookie (no session exists yet).
PRE_COOKIE = "rhytid_pre"
#: Seconds a user who gave the right password has to type the second factor's code.
PENDING_S = 300


def pending_sign_in(request: Request, user_id: int, pre: str) -> str:
    """A signed note that ``user_id`` gave the right password in the browser holding ``pre``."""
    return str(_serializer(request, "signin-pending").dumps({"u": user_id, "pre": pre}))


def read_pending_sign_in(request: Request, token: str, pre: str) -> int | None:
    """The user id of a pending sign-in of this browser (``pre``) younger than PENDING_S, else None."""
    try:
        data = _serializer(request, "signin-pending").loads(token, max_age=PENDING_S)
    except (BadSignature, SignatureExpired):
        return None
    if not isinstance(data, dict) or not hmac.compare_digest(str(data.get("pre", "")), pre):
        return None
    uid = data.get("u")
    return uid if isinstance(uid, int) and not isinstance(uid, bool) else None


def sign_out(request: Request, response: Response, db: Session) -> None:
    """Revoke the request's session or token in ``db`` (the caller commits); drop the cookie."""
    sid = getattr(request.state, "session_id", None)
    if sid is not None:
        sessions.revoke_session(db=db, session_id=sid)
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


def _basic(request: Request) -> tuple[str, str] | None:
    auth = request.headers.get("authorization", "")
    if not auth.lower().startswith("basic "):
        return None
    try:
        email, _, password = base64.b64decode(auth[6:], validate=True).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return ("", "")
    return email.strip().lower(), password


def _user_from_request(request: Request, db: Session) -> m.User | None:
    """The user of the request's credentials, detached from ``db`` (whose transaction ends here)."""
    request.state.via_cookie = False
    request.state.session_id = None
    request.state.session_row = None
    request.state.second_factor = False
    auth = request.headers.get("authorization", "")
    user: m.User | None = None
    basic = _basic(request)
    if basic is not None:
        email, password = basic
        if not email:
            return None
        guard(request, db, email)
        user = db.scalar(select(m.User).where(m.User.email == email))
        if user is not None:
            db.expunge(user)
        db.rollback()  # no lock is held while the password hash is checked
        if user is None:
            verify_password(repo.DUMMY_HASH, password)
            return None
        if not (user.active and verify_password_recent(user.password_hash, password)):
            return None
        request.state.second_factor = totp.is_enrolled(db=db, user_id=user.id)
        return user
    if auth.lower().startswith("bearer "):
        try:
            data = _serializer(request, "api-token").loads(auth[7:].strip(), max_age=TOKEN_HOURS * 3600)
        except (BadSignature, SignatureExpired):
            return None
        kind, idle = "bearer", None
    else:
        data = read_session(request)
        if data is None:
            return None
        kind, idle = "cookie", settings_of(request).idle_minutes
        request.state.via_cookie = True
    if not isinstance(data, dict):
        return None
    row = sessions.check_session(
        db=db, session_id=data.get("sid"), key=data.get("k"), kind=kind, idle_minutes=idle
    )
    if row is None:
        return None
    user = db.get(m.User, row.user_id)
    if user is None or not user.active:
        return None
    request.state.session_id = row.id
    request.state.session_row = row
    db.expunge(user)
    db.expunge(row)
    return user


def guard(request: Request, db: Session, email: str) -> None:
    """429 while the client's address has spent its sign-in attempts or ``email`` is locked out."""
    if limiter_of(request).blocked(client_of(request)):
        raise HTTPException(
            429,
            detail="credentials: too many sign-in attempts from here; wait a minute",
            headers={"Retry-After": "60"},
        )
    if sessions.is_locked(db=db, email=email):
        raise AccountLocked(email)


class AccountLocked(Exception):
    """Too many failed sign-ins for an account: refused whatever the password (audited)."""

    def __init__(self, email: str) -> None:
        super().__init__(email)
        self.email = email


def locked_response(request: Request, exc: AccountLocked) -> HTTPException:
    write_audit(request, Actor(clinic_id=0, label=exc.email), "signin_locked", "user", None)
    minutes = sessions.LOCKOUT_MINUTES
    return HTTPException(
        429,
        detail=f"credentials: too many failed sign-ins for this account; try again in {minutes} minutes",
        headers={"Retry-After": str(minutes * 60)},
    )


def write_audit(
    request: Request, actor: Actor, action: str, entity: str, entity_id: int | None, detail: str | None = None
) -> None:
    """One audit row in its own short transaction (authentication events, denials); a row about
    an account named only by its e-mail (a failed sign-in) names the account's id when it exists."""
    with request.app.state.sessions() as db, db.begin():
        if entity == "user" and entity_id is None and actor.user_id is None:
            entity_id = db.scalar(select(m.User.id).where(m.User.email == actor.label))
        repo.audit(db, actor, action, entity, entity_id, None, detail)


def client_of(request: Request) -> str:
    return request.client.host if request.client else "-"


def failed_sign_in(request: Request, email: str, how: str) -> None:
    """Count a failed sign-in against the client's address and audit it (own transaction)."""
    limiter_of(request).failed(client_of(request))
    write_audit(request, Actor(clinic_id=0, label=email or "-"), "signin_failed", "user", None, how)


def limiter_of(request: Request) -> RateLimiter:
    limiter: RateLimiter = request.app.state.signin_limiter
    return limiter


TOKEN_HOURS = 12


def api_token(request: Request, user: m.User, db: Session) -> str:
    """A new bearer token (a session row of TOKEN_HOURS; the caller commits)."""
    row, key = sessions.open_session(db=db, user_id=user.id, kind="bearer", hours=TOKEN_HOURS)
    return str(_serializer(request, "api-token").dumps({"sid": row.id, "k": key}))


def current_user(request: Request) -> m.User:
    try:
        with request.app.state.read_sessions() as db:  # a deferred read: no write lock
            user = _user_from_request(request, db)
            if user is not None:
                request.state.time_zone = db.scalar(
                    select(m.Clinic.time_zone).where(m.Clinic.id == user.clinic_id)
                )
                request.state.clinic_name = db.scalar(
                    select(m.Clinic.name).where(m.Clinic.id == user.clinic_id)
                )
                request.state.clinic_logo = (
                    db.scalar(
                        select(m.ClinicProfile.logo_type).where(m.ClinicProfile.clinic_id == user.clinic_id)
                    )
                    is not None
                )
            db.rollback()
    except AccountLocked as exc:
        raise locked_response(request, exc) from None
    basic = _basic(request)
    if user is None and basic is not None and basic[0]:
        failed_sign_in(request, basic[0], "http basic")
    if user is not None and request.state.second_factor:
        check_api_second_factor(request, user)
    row = getattr(request.state, "session_row", None)
    if row is not None:
        with request.app.state.sessions() as db, db.begin():
            sessions.touch_session(db=db, row=row)
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


#: The one request HTTP Basic may make for an account with a second factor (with ``X-TOTP-Code``).
TOKEN_PATH = "/api/auth/token"
TOTP_HEADER = "x-totp-code"


def check_api_second_factor(request: Request, user: m.User) -> None:
    """401 unless this HTTP Basic request of an account with a second factor asks for a bearer
    token with a valid, unused code in ``X-TOTP-Code`` (which it spends; a wrong code counts as a
    failed sign-in)."""
    code = request.headers.get(TOTP_HEADER, "")
    if request.url.path != TOKEN_PATH or request.method != "POST" or not code:
        raise HTTPException(
            401,
            detail="credentials: this account has a second factor; get a bearer token from POST "
            "/api/auth/token with HTTP Basic and the current code in the X-TOTP-Code header",
            headers={"WWW-Authenticate": 'Bearer realm="rhytid"'},
        )
    with request.app.state.sessions() as db, db.begin():
        used = totp.check_code(db=db, user_id=user.id, code=code)
    if used is None:
        failed_sign_in(request, user.email, "second factor (api)")
        raise HTTPException(
            401,
            detail="code: not a valid code (or one already used); use the current code",
            headers={"WWW-Authenticate": 'Bearer realm="rhytid"'},
        )
    request.state.second_factor_used = used


CurrentUser = Annotated[m.User, Depends(current_user)]


def require(*roles: str) -> Any:
    """A dependency admitting only users with one of ``roles`` (403 otherwise)."""

    def dependency(request: Request, user: CurrentUser) -> m.User:
        if user.role not in roles:
            write_audit(
                request, actor_of(user), "denied", "request", None, f"{request.method} {request.url.path}"
            )
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
    link_id: int = 0


def link_days(request: Request, form: str) -> float:
    s = settings_of(request)
    return s.intake_link_days if form == "intake" else s.aftercare_link_days


def make_link(
    request: Request,
    db: Session,
    *,
    patient_id: int,
    form: str,
    actor: Actor,
    treatment_id: int | None = None,
) -> tuple[str, int]:
    """A new single-use link's token and id (its row is added to ``db``; the caller commits)."""
    row = links.create_link(
        db=db,
        patient_id=patient_id,
        form=form,
        treatment_id=treatment_id,
        days=link_days(request, form),
        actor=actor,
    )
    token = str(_serializer(request, "patient-link").dumps({"l": row.id, "k": secrets.token_urlsafe(16)}))
    links.set_token(row, token)
    return token, row.id


def read_link(request: Request, db: Session, token: str, form: str) -> PatientLink:
    """The link's patient and form; 404 for a forged, unknown or other-form link, 410 once it
    expired, was used or was withdrawn."""
    try:
        data = _serializer(request, "patient-link").loads(
            token, max_age=int(link_days(request, form) * 86400)
        )
    except SignatureExpired:
        raise HTTPException(410, detail="link: this link has expired; ask the clinic for a new one") from None
    except BadSignature:
        raise HTTPException(404, detail="link: not a valid link") from None
    if not isinstance(data, dict) or not isinstance(data.get("l"), int) or isinstance(data.get("l"), bool):
        raise HTTPException(404, detail="link: not a valid link")
    row = links.open_link(db=db, link_id=data["l"], token=token, form=form)
    return PatientLink(row.patient_id, row.form, row.treatment_id, row.id)


def has_staff_credentials(request: Request) -> bool:
    """True when the request carries a staff session cookie or API credentials."""
    return read_session(request) is not None or bool(request.headers.get("authorization"))


def link_csrf(request: Request, token: str) -> str:
    """The CSRF token of a patient form: an HMAC of the link token."""
    key = settings_of(request).secret_key.encode()
    return hmac.new(key, b"link-csrf:" + token.encode(), "sha256").hexdigest()
