"""The optional TOTP second factor over real HTTP (SQLite and PostgreSQL).

Enrolment (key shown once, confirmed by a code, recovery codes shown once); sign-in with the
right, a wrong and a replayed code through the form and the API (HTTP Basic only for a bearer
token, with ``X-TOTP-Code``); a recovery code signs in once; wrong codes lock the account like
wrong passwords; an admin resets a lost factor; every step audited.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import httpx
import pyotp
import pytest

from .test_auth import ADMIN, GOOD, _audit, _browser, _form_sign_in, _server, _user


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def c(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    from .conftest import POSTGRES_URL

    if request.param == "postgresql" and not POSTGRES_URL:
        pytest.skip("RHYTID_TEST_POSTGRES_URL is not set: PostgreSQL tests skipped")
    with _server(request.param, tmp_path_factory.mktemp("totp")) as client:
        yield client


def _enrolled(c: httpx.Client) -> tuple[int, str, pyotp.TOTP, list[str]]:
    """A new clinician with the second factor on: id, e-mail, authenticator, recovery codes."""
    uid, email = _user(c)
    who = (email, GOOD)
    assert c.get("/api/me/totp", auth=who).json() == {"enrolled": False}
    r = c.post("/api/me/totp", auth=who)
    assert r.status_code == 201, r.text
    secret = r.json()["secret"]
    assert r.json()["otpauth_uri"].startswith("otpauth://totp/") and secret in r.json()["otpauth_uri"]
    authenticator = pyotp.TOTP(secret)
    codes = c.post("/api/me/totp/confirm", auth=who, json={"code": authenticator.now()})
    assert codes.status_code == 200, codes.text
    recovery = codes.json()["recovery_codes"]
    assert len(recovery) == 10 and len(set(recovery)) == 10
    return uid, email, authenticator, recovery


def _not_now(authenticator: pyotp.TOTP) -> str:
    """A six-digit code that no step near now has (a wrong code)."""
    t = time.time()
    near = {authenticator.at(t + k * 30) for k in range(-2, 3)}
    return next(f"{n:06d}" for n in range(1_000_000) if f"{n:06d}" not in near)


def test_enrolment_needs_the_right_code_and_shows_the_key_once(c: httpx.Client) -> None:
    _, email = _user(c)
    who = (email, GOOD)
    secret = c.post("/api/me/totp", auth=who).json()["secret"]
    wrong = c.post("/api/me/totp/confirm", auth=who, json={"code": _not_now(pyotp.TOTP(secret))})
    assert wrong.status_code == 422 and wrong.json()["field"] == "code"
    assert c.get("/api/me/totp", auth=who).json() == {"enrolled": False}
    assert c.get("/api/me", auth=who).status_code == 200  # not on yet: HTTP Basic still works
    ok = c.post("/api/me/totp/confirm", auth=who, json={"code": pyotp.TOTP(secret).now()})
    assert ok.status_code == 200
    assert c.post("/api/me/totp", auth=who).status_code == 401  # Basic no longer signs in
    actions = [r["action"] for r in _audit(c, email)]
    assert "totp_begin" in actions and "totp_enrol" in actions


def test_api_sign_in_with_the_right_wrong_and_replayed_code(c: httpx.Client) -> None:
    _, email, authenticator, _ = _enrolled(c)
    who = (email, GOOD)
    plain = c.get("/api/me", auth=who)
    assert plain.status_code == 401 and "X-TOTP-Code" in plain.json()["detail"]
    assert c.post("/api/auth/token", auth=who).status_code == 401  # no code
    wrong = c.post("/api/auth/token", auth=who, headers={"X-TOTP-Code": _not_now(authenticator)})
    assert wrong.status_code == 401 and wrong.json()["field"] == "code"
    # the code used to confirm the enrolment was spent then: it is refused now (replay)
    code = authenticator.at(time.time() + 30)  # the next step's code, within the clock drift
    r = c.post("/api/auth/token", auth=who, headers={"X-TOTP-Code": code})
    assert r.status_code == 200, r.text
    bearer = {"Authorization": f"Bearer {r.json()['access_token']}"}
    assert c.get("/api/me", headers=bearer).json()["email"] == email
    replayed = c.post("/api/auth/token", auth=who, headers={"X-TOTP-Code": code})
    assert replayed.status_code == 401
    rows = _audit(c, email)
    failed = [r for r in rows if r["action"] == "signin_failed"]
    assert len(failed) == 2 and all("second factor" in (r["detail"] or "") for r in failed)
    assert any(r["action"] == "signin" and "second factor: totp" in (r["detail"] or "") for r in rows)


def _code_form(b: httpx.Client, email: str) -> dict[str, str]:
    page = _form_sign_in(b, email, GOOD)
    assert page.status_code == 200 and 'action="/signin/code"' in page.text, page.text[:300]
    assert "rhytid_session" not in b.cookies  # not signed in before the code
    return {
        k: re.search(rf'name="{k}" value="([^"]*)"', page.text).group(1) for k in ("pre", "pending", "next")
    }  # type: ignore[union-attr]


def test_form_sign_in_asks_for_the_code_and_takes_a_recovery_code_once(c: httpx.Client) -> None:
    _, email, authenticator, recovery = _enrolled(c)
    with _browser(c) as b:
        fields = _code_form(b, email)
        wrong = b.post("/signin/code", data={**fields, "code": _not_now(authenticator)})
        assert wrong.status_code == 401 and "not the current code" in wrong.text
        assert b.get("/").status_code == 303  # still signed out
        fields = {k: re.search(rf'name="{k}" value="([^"]*)"', wrong.text).group(1) for k in fields}  # type: ignore[union-attr]
        ok = b.post("/signin/code", data={**fields, "code": recovery[0].upper()})
        assert ok.status_code == 303, ok.text
        assert b.get("/").status_code == 200
    with _browser(c) as b:  # the recovery code is spent
        fields = _code_form(b, email)
        assert b.post("/signin/code", data={**fields, "code": recovery[0]}).status_code == 401
        # a forged or foreign pending sign-in is refused
        assert b.post("/signin/code", data={**fields, "pending": "x", "code": recovery[1]}).status_code == 403
        assert b.post("/signin/code", data={**fields, "code": recovery[1]}).status_code == 303
    rows = _audit(c, email)
    assert sum(r["action"] == "signin" and "recovery" in (r["detail"] or "") for r in rows) == 2


def test_wrong_codes_lock_the_account(c: httpx.Client) -> None:
    _, email, authenticator, recovery = _enrolled(c)
    with _browser(c) as b:
        fields = _code_form(b, email)
        for _ in range(5):
            r = b.post("/signin/code", data={**fields, "code": _not_now(authenticator)})
            assert r.status_code == 401
        locked = b.post("/signin/code", data={**fields, "code": recovery[0]})
        assert locked.status_code == 429 and "try again in 15 minutes" in locked.text


def test_an_admin_resets_a_lost_second_factor(c: httpx.Client) -> None:
    uid, email, _, _ = _enrolled(c)
    other, other_email = _user(c)
    assert c.post(f"/api/users/{uid}/totp/reset", auth=(other_email, GOOD)).status_code == 403
    assert c.post("/api/users/999999/totp/reset", auth=ADMIN).status_code == 404
    with _browser(c) as admin:
        page = _form_sign_in(admin, ADMIN[0], ADMIN[1])
        assert page.status_code == 303
        users = admin.get("/admin/users")
        assert f'action="/admin/users/{uid}/second-factor/reset"' in users.text
        assert f'action="/admin/users/{other}/second-factor/reset"' not in users.text
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', users.text).group(1)  # type: ignore[union-attr]
        done = admin.post(f"/admin/users/{uid}/second-factor/reset", data={"csrf_token": csrf})
        assert done.status_code == 303
    assert c.get("/api/me", auth=(email, GOOD)).status_code == 200  # the password alone again
    assert c.get("/api/me/totp", auth=(email, GOOD)).json() == {"enrolled": False}
    assert any(r["action"] == "totp_reset" for r in _audit(c, ADMIN[0]))


def test_the_enrolment_pages_show_the_qr_code_and_the_recovery_codes_once(c: httpx.Client) -> None:
    _, email = _user(c)
    with _browser(c) as b:
        assert _form_sign_in(b, email, GOOD).status_code == 303
        page = b.get("/account/second-factor")
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
        setup = b.post("/account/second-factor", data={"csrf_token": csrf})
        assert setup.status_code == 200 and "<svg" in setup.text
        secret = re.search(r'id="totp-secret">([A-Z2-7]+)<', setup.text).group(1)  # type: ignore[union-attr]
        bad = b.post("/account/second-factor/confirm", data={"csrf_token": csrf, "code": "12"})
        assert bad.status_code == 422 and "Code:" in bad.text
        setup = b.post("/account/second-factor", data={"csrf_token": csrf})  # a new key
        secret = re.search(r'id="totp-secret">([A-Z2-7]+)<', setup.text).group(1)  # type: ignore[union-attr]
        done = b.post(
            "/account/second-factor/confirm", data={"csrf_token": csrf, "code": pyotp.TOTP(secret).now()}
        )
        assert done.status_code == 200 and done.text.count("<li><code>") == 10
        again = b.get("/account/second-factor")
        assert "is on for your account" in again.text and "<code>" not in again.text


def test_form_sign_in_with_the_right_and_a_replayed_code(c: httpx.Client) -> None:
    _, email, authenticator, _ = _enrolled(c)
    code = authenticator.at(time.time() + 30)  # the next step's (the enrolment spent this one's)
    with _browser(c) as b:
        fields = _code_form(b, email)
        ok = b.post("/signin/code", data={**fields, "code": code})
        assert ok.status_code == 303 and b.get("/").status_code == 200
    with _browser(c) as b:  # the same code again, from another browser
        fields = _code_form(b, email)
        replayed = b.post("/signin/code", data={**fields, "code": code})
        assert replayed.status_code == 401 and b.get("/").status_code == 303
