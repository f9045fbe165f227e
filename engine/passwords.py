"""Password hashing: werkzeug's salted scrypt, so a leaked database does not leak passwords.

Kept in one module so the method and the password policy are changed in one place; the hash
string records its own method and parameters, so old hashes keep verifying after a change.
"""

from __future__ import annotations

from werkzeug.security import check_password_hash, generate_password_hash

from .errors import ValidationFailed

METHOD = "scrypt"
MIN_LENGTH = 8


def hash_password(password: str) -> str:
    """A salted scrypt hash of ``password``; refuses passwords too short to be worth hashing."""
    if len(password) < MIN_LENGTH:
        raise ValidationFailed(f"a password needs at least {MIN_LENGTH} characters",
                               {"password": [f"shorter than {MIN_LENGTH} characters"]})
    return generate_password_hash(password, method=METHOD)


def verify_password(password_hash: str, password: str) -> bool:
    """True if ``password`` matches; False for a wrong password or an unusable hash."""
    if not password_hash or not password:
        return False
    try:
        return check_password_hash(password_hash, password)
    except ValueError:  # a malformed or unknown-method hash never matches
        return False
