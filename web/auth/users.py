"""The signed-in user as the web layer sees it: a login, the official's name, and the
engine ``Actor`` that services check every action against."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from engine.actors import Actor
from engine.db import UnitOfWork
from engine.errors import Forbidden, NotFound
from engine.programme.models import Role
from engine.programme.services import organisation


@dataclass(frozen=True)
class User:
    """What Flask-Login keeps for a request (``current_user``)."""

    username: str
    name: str
    actor: Actor
    #: A digest of the stored password hash (which has a fresh salt after every change): a
    #: session that began before a password change no longer matches.
    password_stamp: str
    #: ``Account.session_version``: a session signed in under another version has ended.
    session_version: int = 0

    # Flask-Login's protocol.
    is_authenticated = True
    is_active = True
    is_anonymous = False

    def get_id(self) -> str:
        return self.username

    @property
    def roles(self) -> frozenset[str]:
        """The unscoped roles the user holds (stored, or implied by positions)."""
        return frozenset(r.value for r in Role if r.value in self.actor.groups)

    def has_role(self, *roles: str) -> bool:
        return self.actor.is_admin or any(role in self.actor.groups for role in roles)


def load_user(uow: UnitOfWork, username: str) -> User | None:
    """The user behind a session, or None if the account is gone or disabled."""
    try:
        account = organisation.get_account(uow, username)
        actor = organisation.actor_for(uow, username)
    except (NotFound, Forbidden):
        return None
    name = account.official.name if account.official is not None else account.username
    stamp = hashlib.sha256(account.password_hash.encode()).hexdigest()[:32]
    return User(account.username, name, actor, stamp, account.session_version)
