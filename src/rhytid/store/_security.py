"""Password hashing (argon2id) and the password policy.

Policy (NIST SP 800-63B 5.1.1.2): at least ``MIN_LENGTH`` characters, at most ``MAX_LENGTH``,
kept exactly as typed (no whitespace is stripped, every character counts), not one of the common
passwords shipped in ``rhytid/data/common_passwords.txt`` (compared without case; its source is
in its header), and not the account's own e-mail address or its name part.
"""

from __future__ import annotations

import functools
from importlib import resources

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

__all__ = ["MAX_LENGTH", "MIN_LENGTH", "hash_password", "password_problem", "verify_password"]

_hasher = PasswordHasher()
MIN_LENGTH = 10
MAX_LENGTH = 200


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


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
