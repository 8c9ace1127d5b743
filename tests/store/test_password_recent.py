"""A successful password check is remembered for a while (HTTP Basic), a failed one never."""

from __future__ import annotations

import pytest

from rhytid.store import _security
from rhytid.store._security import RECENT_SECONDS, hash_password, verify_password_recent


@pytest.fixture
def argon2_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every argon2 verification made, by password; the memory starts empty."""
    calls: list[str] = []
    real = _security.verify_password

    def counted(password_hash: str, password: str) -> bool:
        calls.append(password)
        return real(password_hash, password)

    monkeypatch.setattr(_security, "verify_password", counted)
    monkeypatch.setattr(_security, "_recent", {})
    return calls


def test_success_is_remembered_failure_is_not(argon2_calls: list[str]) -> None:
    stored = hash_password("lilac-harbour-91")
    assert verify_password_recent(stored, "lilac-harbour-91")
    assert verify_password_recent(stored, "lilac-harbour-91")
    assert argon2_calls == ["lilac-harbour-91"]
    for _ in range(2):
        assert not verify_password_recent(stored, "lilac-harbour-92")
    assert argon2_calls[1:] == ["lilac-harbour-92"] * 2


def test_a_new_hash_or_another_account_is_checked_afresh(argon2_calls: list[str]) -> None:
    old, new = hash_password("lilac-harbour-91"), hash_password("amber-quarry-17")
    assert verify_password_recent(old, "lilac-harbour-91")
    assert not verify_password_recent(new, "lilac-harbour-91")  # the password was changed
    other = hash_password("lilac-harbour-91")  # same password, another salt
    assert verify_password_recent(other, "lilac-harbour-91")
    assert len(argon2_calls) == 3


def test_memory_lapses(argon2_calls: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    stored = hash_password("lilac-harbour-91")
    assert verify_password_recent(stored, "lilac-harbour-91")
    now = _security._clock()
    # the module's clock only: patching time.monotonic itself stalled the timers of every test
    # server's event loop in this process for RECENT_SECONDS (their shutdown hung in CI)
    monkeypatch.setattr(_security, "_clock", lambda: now + RECENT_SECONDS + 1)
    assert verify_password_recent(stored, "lilac-harbour-91")
    assert len(argon2_calls) == 2


def test_memory_holds_no_password(argon2_calls: list[str]) -> None:
    stored = hash_password("lilac-harbour-91")
    verify_password_recent(stored, "lilac-harbour-91")
    assert all(b"lilac" not in tag and len(tag) == 32 for tag in _security._recent)
