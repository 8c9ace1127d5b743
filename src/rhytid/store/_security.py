"""Password hashing (argon2id) and the password policy.

Policy (NIST SP 800-63B 5.1.1.2): at least ``MIN_LENGTH`` characters, at most ``MAX_LENGTH``,
kept exactly as typed (no whitespace is stripped, every character counts), not one of the common
passwords shipped in ``rhytid/data/common_passwords.txt`` (compared without case; its source is
in its header), and not the account's own e-mail address or its name part.

Each argon2id check costs tens of milliseconds of CPU by design. HTTP Basic sends the password
with every request, so :func:`verify_password_recent` remembers a successful check for
``RECENT_SECONDS``: the memory holds an HMAC (under a key drawn at start-up) of the stored hash and
the password, never the password; a changed password has a new hash and so misses; failures are
never remembered, so guessing stays as slow as before.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import secrets
import threading
import time
from importlib import resources

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

__all__ = [
    "MAX_LENGTH",
    "MIN_LENGTH",
    "RECENT_SECONDS",
    "hash_password",
    "password_problem",
    "verify_password",
    "verify_password_recent",
]

_hasher = PasswordHasher()
MIN_LENGTH = 10
MAX_LENGTH = 200
RECENT_SECONDS = 300.0
_RECENT_MAX = 4096
_recent_key = secrets.token_bytes(32)
_recent: dict[bytes, float] = {}  # HMAC(hash, password) -> time.monotonic() when it lapses
_recent_lock = threading.Lock()
#: the memory's clock, a name of this module: a test moves it without moving ``time.monotonic``,
#: which every thread's event loop reads
_clock = time.monotonic


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def verify_password_recent(password_hash: str, password: str) -> bool:
    """:func:`verify_password`, answered from memory when the same check succeeded less than
    ``RECENT_SECONDS`` ago (see the module docstring)."""
    tag = hmac.new(_recent_key, f"{password_hash}\0{password}".encode(), hashlib.sha256).digest()
    now = _clock()
    with _recent_lock:
        lapses = _recent.get(tag)
    if lapses is not None and lapses > now:
        return True
    if not verify_password(password_hash, password):
        return False
    with _recent_lock:
        if len(_recent) >= _RECENT_MAX:
            for old in [t for t, at in _recent.items() if at <= now] or list(_recent):
                del _recent[old]
        _recent[tag] = now + RECENT_SECONDS
    return True


@functools.cache
def common_passwords() -> frozenset[str]:
    text = resources.files("rhytid.data").joinpath("common_passwords.txt").read_text(encoding="utf-8")
    return frozenset(
        line.strip().lower() for line in text.splitlines() if line.strip() and not line.startswith("#")
    )


def password_problem(password: str, email: str | None = None) -> str | None:
    """What is wrong with ``password`` (a sentence), or None when the policy accepts it."""
    if len(password) < MIN_LENGTH:
        return f"at least {MIN_LENGTH} characters, got {len(password)}"
    if len(password) > MAX_LENGTH:
        return f"at most {MAX_LENGTH} characters, got {len(password)}"
    if password.lower() in common_passwords() or password.strip().lower() in common_passwords():
        return "this is one of the most common passwords; choose another"
    if email and password.lower() in (email.lower(), email.lower().partition("@")[0]):
        return "must not be the e-mail address; choose another"
    return None
