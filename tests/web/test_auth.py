"""Authentication over real HTTP (SQLite and PostgreSQL).

Reported: 400 wrong passwords in 97 s with no delay, lockout or audit row; the session cookie
still worked after sign-out; a bearer token renewed itself for ever; no idle timeout; any
10-character password accepted and whitespace silently stripped; no password change or reset;
no audit of sign-in, sign-out or denied access.
"""

from __future__ import annotations

import dataclasses
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from rhytid._cli_web import create_demo_data
from rhytid.store.testing import temporary_database
from rhytid.web import create_app, load_settings

from .conftest import KINDS, POSTGRES_URL, auth, serve

ADMIN = auth("admin")
GOOD = "violet-harbour-lantern"


@contextmanager
def _server(kind: str, folder: Path, **change: Any) -> Iterator[httpx.Client]:
    with temporary_database(kind, folder, POSTGRES_URL) as url:
        create_demo_data(url)
        settings = load_settings(url, secret_key="test-secret-key", data_dir=folder, cookie_secure=False)
        app = create_app(url, settings=dataclasses.replace(settings, **change))
        try:
            with serve(app) as base, httpx.Client(base_url=base, timeout=30) as c:
                yield c
        finally:
            app.state.engine.dispose()


@pytest.fixture(scope="module", params=KINDS)
def kind_name(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="module")
def c(kind_name: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    with _server(kind_name, tmp_path_factory.mktemp("auth")) as client:
        yield client


_count = iter(range(10_000))


def _user(c: httpx.Client, password: str = GOOD, role: str = "clinician") -> tuple[int, str]:
    email = f"user{next(_count)}@auth.example"
    r = c.post(
        "/api/users", auth=ADMIN, json={"email": email, "name": "U", "role": role, "password": password}
    )
    assert r.status_code == 201, r.text
    return int(r.json()["id"]), email


def _audit(c: httpx.Client, actor: str) -> list[dict[str, Any]]:
    r = c.get("/api/audit", auth=ADMIN, params={"limit": 5000})
    assert r.status_code == 200, r.text
    return [e for e in r.json() if e["actor"] == actor]


def _form_sign_in(c: httpx.Client, email: str, password: str) -> httpx.Response:
    page = c.get("/signin")
    pre = re.search(r'name="pre" value="([^"]+)"', page.text)
    assert pre
    return c.post("/signin", data={"email": email, "password": password, "pre": pre.group(1), "next": "/"})


def _browser(c: httpx.Client) -> httpx.Client:
    return httpx.Client(base_url=str(c.base_url), timeout=30)


def _token(c: httpx.Client, who: tuple[str, str]) -> dict[str, str]:
    r = c.post("/api/auth/token", auth=who)
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def test_failed_sign_ins_lock_the_account_and_are_audited(c: httpx.Client) -> None:
    _, email = _user(c)
    with _browser(c) as b:
        for _ in range(5):
            assert _form_sign_in(b, email, "wrong-password-1").status_code == 401
        locked = _form_sign_in(b, email, GOOD)  # the right password, too late
        assert locked.status_code == 429 and "try again in 15 minutes" in locked.text
    assert c.get("/api/me", auth=(email, GOOD)).status_code == 429  # HTTP Basic too
    rows = _audit(c, email)
    assert [r["action"] for r in rows].count("signin_failed") == 5
    assert "signin_locked" in [r["action"] for r in rows]
    # another account is not affected
    _, other = _user(c)
    with _browser(c) as b:
        assert _form_sign_in(b, other, GOOD).status_code == 303
    assert "signin" in [r["action"] for r in _audit(c, other)]


def test_sign_out_ends_the_session_cookie(c: httpx.Client) -> None:
    _, email = _user(c)
    with _browser(c) as b:
        assert _form_sign_in(b, email, GOOD).status_code == 303
        cookie = b.cookies["rhytid_session"]
        home = b.get("/")
        assert home.status_code == 200
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', home.text)
        assert csrf
        assert b.post("/signout", data={"csrf_token": csrf.group(1)}).status_code == 303
    with _browser(c) as thief:  # the old cookie, replayed
        thief.cookies.set("rhytid_session", cookie)
        assert thief.get("/", follow_redirects=False).status_code == 303
        assert thief.get("/api/me").status_code == 401
    assert {"signin", "signout"} <= {r["action"] for r in _audit(c, email)}


def test_tokens_do_not_renew_themselves_and_end_on_sign_out_or_by_an_admin(c: httpx.Client) -> None:
    uid, email = _user(c)
    bearer = _token(c, (email, GOOD))
    assert c.get("/api/me", headers=bearer).status_code == 200
    renewed = c.post("/api/auth/token", headers=bearer)
    assert renewed.status_code == 403 and renewed.json()["field"] == "credentials"
    assert c.post("/api/auth/signout", headers=bearer).status_code == 204
    assert c.get("/api/me", headers=bearer).status_code == 401
    one, two = _token(c, (email, GOOD)), _token(c, (email, GOOD))
    r = c.post(f"/api/users/{uid}/sessions/revoke", auth=ADMIN)
    assert r.status_code == 200 and r.json()["revoked"] == 2
    assert c.get("/api/me", headers=one).status_code == 401
    assert c.get("/api/me", headers=two).status_code == 401
    assert c.get("/api/me", auth=(email, GOOD)).status_code == 200  # the password still works


def test_password_change_and_reset(c: httpx.Client) -> None:
    uid, email = _user(c)
    bearer = _token(c, (email, GOOD))
    wrong = c.post(
        "/api/me/password",
        auth=(email, GOOD),
        json={"current_password": "nope-nope-nope", "new_password": "amber-quiet-meadow"},
    )
    assert wrong.status_code == 422 and wrong.json()["field"] == "current_password"
    common = c.post(
        "/api/me/password", auth=(email, GOOD), json={"current_password": GOOD, "new_password": "qwertyuiop"}
    )
    assert common.status_code == 422 and common.json()["field"] == "new_password"
    ok = c.post(
        "/api/me/password",
        auth=(email, GOOD),
        json={"current_password": GOOD, "new_password": "amber-quiet-meadow"},
    )
    assert ok.status_code == 204, ok.text
    assert c.get("/api/me", headers=bearer).status_code == 401  # its sessions ended
    assert c.get("/api/me", auth=(email, GOOD)).status_code == 401
    assert c.get("/api/me", auth=(email, "amber-quiet-meadow")).status_code == 200
    # an admin resets it; only an admin may
    assert (
        c.post(
            f"/api/users/{uid}/password", auth=auth("clinician"), json={"new_password": "x" * 12}
        ).status_code
        == 403
    )
    reset = c.post(f"/api/users/{uid}/password", auth=ADMIN, json={"new_password": "copper-silent-orchard"})
    assert reset.status_code == 204, reset.text
    assert c.get("/api/me", auth=(email, "copper-silent-orchard")).status_code == 200
    actions = [r["action"] for r in _audit(c, ADMIN[0]) if r["entity"] == "user" and r["entity_id"] == uid]
    assert "password" in actions


@pytest.mark.parametrize(
    ("password", "words"),
    [("password123", "common"), ("1234567890", "common"), ("short-pw", "at least 10")],
)
def test_common_and_short_passwords_are_refused(c: httpx.Client, password: str, words: str) -> None:
    r = c.post(
        "/api/users",
        auth=ADMIN,
        json={"email": "weak@auth.example", "name": "W", "role": "clinician", "password": password},
    )
    assert r.status_code == 422 and r.json()["field"] == "password" and words in r.json()["detail"], r.text


def test_whitespace_in_a_password_is_kept_as_typed(c: httpx.Client) -> None:
    spaced = "  mossy granite bridge  "
    _, email = _user(c, spaced)
    assert c.get("/api/me", auth=(email, spaced)).status_code == 200
    assert c.get("/api/me", auth=(email, spaced.strip())).status_code == 401


def test_denied_access_is_audited(c: httpx.Client) -> None:
    _, email = _user(c, role="front_desk")
    assert c.get("/api/vials", auth=(email, GOOD)).status_code == 403
    denied = [r for r in _audit(c, email) if r["action"] == "denied"]
    assert denied and denied[0]["detail"] == "GET /api/vials"


def test_failed_sign_ins_from_one_address_are_rate_limited(kind_name: str, tmp_path: Path) -> None:
    with _server(kind_name, tmp_path, signin_per_minute=6) as c:
        for i in range(6):
            assert c.get("/api/me", auth=(f"nobody{i}@auth.example", "wrong-password")).status_code == 401
        r = c.get("/api/me", auth=ADMIN)  # right credentials, but this address spent its attempts
        assert r.status_code == 429 and r.headers["retry-after"] == "60"


def test_an_idle_session_lapses(kind_name: str, tmp_path: Path) -> None:
    with _server(kind_name, tmp_path, idle_minutes=1.5 / 60) as c, _browser(c) as b:
        assert _form_sign_in(b, auth("clinician")[0], auth("clinician")[1]).status_code == 303
        assert b.get("/", follow_redirects=False).status_code == 200
        time.sleep(2.0)
        assert b.get("/", follow_redirects=False).status_code == 303
