"""Personal API tokens: created and revoked by their owner, presented as ``Bearer`` tokens.

A token is ``irpm_`` followed by 32 random bytes in URL-safe base64 (43 characters). The
database keeps the sha256 of those bytes, never the token, so a token can be shown exactly
once — by ``create_token`` — and never recovered. A token acts as its account: the same
person the runtime's directory makes of the login (``Directory.actor_for``: roles and
groups), refused once revoked, expired, or when the directory says the login may not act.

A token row points at its account by id (``api_token.account_id``, a foreign key into the
``account`` table). The runtime knows that table only by name — the logins' id and
username, through ``_ACCOUNT`` — never the programme's model: who the login is, and whether
it may act, is the directory's to say.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import Integer, String, column, func, select, table, update

from ..actors import Actor
from ..db import UnitOfWork
from ..errors import Forbidden, NotFound, ValidationFailed
from ..models import ApiToken
from . import clock

PREFIX = "irpm_"
SECRET_BYTES = 32
MAX_NAME = 100
#: Tokens expire: at most a year, three months unless asked otherwise.
MAX_DAYS, DEFAULT_DAYS = 365, 90
#: Live (neither revoked nor expired) tokens one account may hold.
MAX_LIVE_TOKENS = 20
#: ``last_used_at`` is written at most this often per token (a write per request would
#: serialize every API call on SQLite's write lock).
TOUCH_INTERVAL = timedelta(minutes=1)
#: The table ``api_token.account_id`` refers to, as far as tokens need it: a login's id.
_ACCOUNT = table("account", column("id", Integer), column("username", String))


@dataclass(frozen=True)
class NewToken:
    """A token just created: ``secret`` is the only copy of the token there will ever be."""

    token: ApiToken
    secret: str


@dataclass(frozen=True)
class TokenUse:
    """A presented token that is good: who it acts as, and whether to record the use."""

    token_id: int
    actor: Actor
    needs_touch: bool


def _digest(secret: bytes) -> str:
    return hashlib.sha256(secret).hexdigest()


def _secret_of(token: str) -> bytes | None:
    """The 32 bytes a well-formed token carries, else None."""
    if not token.startswith(PREFIX) or len(token) != len(PREFIX) + 43:
        return None
    try:
        raw = base64.urlsafe_b64decode(token[len(PREFIX):] + "=")
    except (binascii.Error, ValueError):
        return None
    return raw if len(raw) == SECRET_BYTES else None


def _check_input(name: str, expires_in_days: int) -> str:
    text = (name or "").strip()
    errors: dict[str, object] = {}
    if not text:
        errors["name"] = ["required"]
    elif len(text) > MAX_NAME:
        errors["name"] = [f"at most {MAX_NAME} characters"]
    if not 1 <= expires_in_days <= MAX_DAYS:
        errors["expires_in_days"] = [f"between 1 and {MAX_DAYS}"]
    if errors:
        raise ValidationFailed("invalid API token: " + ", ".join(errors), errors)
    return text


def _account_id(uow: UnitOfWork, username: str) -> int:
    """The id of the login's account row; ``NotFound`` if there is none."""
    found = uow.session.scalar(select(_ACCOUNT.c.id).where(_ACCOUNT.c.username == username))
    if found is None:
        raise NotFound(f"no account '{username}'")
    return int(found)


def _active_account_id(uow: UnitOfWork, username: str) -> int:
    account_id = _account_id(uow, username)
    if not uow.runtime.directory.is_active(uow, username):
        raise Forbidden(f"account '{username}' is disabled")
    return account_id


def create_token(uow: UnitOfWork, username: str, name: str, *,
                 expires_in_days: int = DEFAULT_DAYS) -> NewToken:
    text = _check_input(name, expires_in_days)
    account_id = _active_account_id(uow, username)
    now = clock.now(uow)
    live = uow.session.scalar(select(func.count()).select_from(ApiToken).where(
        ApiToken.account_id == account_id, ApiToken.revoked_at.is_(None),
        ApiToken.expires_at > now)) or 0
    if live >= MAX_LIVE_TOKENS:
        raise ValidationFailed(f"'{username}' already has {live} live API tokens; revoke one "
                               "first", {"name": [f"at most {MAX_LIVE_TOKENS} live tokens"]})
    raw = secrets.token_bytes(SECRET_BYTES)
    secret = PREFIX + base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")
    token = ApiToken(account_id=account_id, name=text, token_hash=_digest(raw),
                     prefix=secret[:len(PREFIX) + 4], created_at=now,
                     expires_at=now + timedelta(days=expires_in_days))
    uow.session.add(token)
    uow.session.flush()
    uow.commit()
    return NewToken(token, secret)


def list_tokens(uow: UnitOfWork, username: str) -> list[ApiToken]:
    """The account's tokens, newest first (revoked and expired ones included)."""
    account_id = _account_id(uow, username)
    return list(uow.session.scalars(select(ApiToken).where(ApiToken.account_id == account_id)
                                    .order_by(ApiToken.id.desc())))


def revoke_token(uow: UnitOfWork, username: str, token_id: int) -> ApiToken:
    """Revoke one of the account's own tokens (again: harmless). Another account's token is
    ``NotFound``, so token ids reveal nothing."""
    account_id = _account_id(uow, username)
    token = uow.session.scalar(select(ApiToken).where(
        ApiToken.id == token_id, ApiToken.account_id == account_id).with_for_update())
    if token is None:
        raise NotFound(f"'{username}' has no API token {token_id}")
    if token.revoked_at is None:
        token.revoked_at = clock.now(uow)
        uow.commit()
    return token


def authenticate_token(uow: UnitOfWork, token: str) -> TokenUse | None:
    """Who a presented token acts as, or None if it is malformed, unknown, revoked, expired,
    or its account is disabled or gone. Reads only."""
    raw = _secret_of(token)
    if raw is None:
        return None
    row = uow.session.execute(
        select(ApiToken.id, ApiToken.revoked_at, ApiToken.expires_at, ApiToken.last_used_at,
               _ACCOUNT.c.username)
        .join(_ACCOUNT, _ACCOUNT.c.id == ApiToken.account_id)
        .where(ApiToken.token_hash == _digest(raw))).one_or_none()
    if row is None:
        return None
    now = clock.now(uow)
    if row.revoked_at is not None or now >= row.expires_at:
        return None
    try:
        actor = uow.runtime.directory.actor_for(uow, row.username)
    except (Forbidden, NotFound):
        return None
    stale = row.last_used_at is None or now - row.last_used_at >= TOUCH_INTERVAL
    return TokenUse(row.id, actor, stale)


def touch_token(uow: UnitOfWork, token_id: int) -> None:
    """Record that the token was used just now."""
    uow.session.execute(update(ApiToken).where(ApiToken.id == token_id)
                        .values(last_used_at=clock.now(uow))
                        .execution_options(synchronize_session=False))
    uow.commit()
