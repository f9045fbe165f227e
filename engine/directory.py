"""Who people are, as far as the runtime needs to know: an extension point.

The runtime owns no user accounts and no organisation. When it must know whether a login
exists and may act, what groups a person is in, who is in a group (to notify them), or
whether a task may be handed from one person to another, it asks the ``Directory`` its
runtime was built with. ``OpenDirectory`` — the default — knows nobody in particular: every
name is an active login in no group, and any delegation is allowed. The integrity programme
plugs in its organisation (``engine.programme.directory``) in its composition root.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Protocol

from .actors import Actor

if TYPE_CHECKING:
    from .db import UnitOfWork


class Directory(Protocol):
    def actor_for(self, uow: UnitOfWork, username: str) -> Actor:
        """The acting person behind a login, with their groups. Raises ``NotFound`` for an
        unknown login and ``Forbidden`` for one that may not act (e.g. disabled)."""
        ...

    def is_active(self, uow: UnitOfWork, username: str) -> bool:
        """Whether ``username`` is a login that may act now."""
        ...

    def members(self, uow: UnitOfWork, groups: Iterable[str]) -> dict[str, set[str]]:
        """The active logins in each of ``groups`` (a group nobody is in maps to an empty
        set) — whom to tell about a task offered to those groups."""
        ...

    def may_delegate(self, uow: UnitOfWork, holder: str, to_username: str) -> bool:
        """Whether a task held by ``holder`` may be handed to ``to_username``."""
        ...


class OpenDirectory:
    """The runtime on its own: every name is an active login in no group."""

    def actor_for(self, uow: UnitOfWork, username: str) -> Actor:
        return Actor(username)

    def is_active(self, uow: UnitOfWork, username: str) -> bool:
        return bool(username)

    def members(self, uow: UnitOfWork, groups: Iterable[str]) -> dict[str, set[str]]:
        return {group: set() for group in groups}

    def may_delegate(self, uow: UnitOfWork, holder: str, to_username: str) -> bool:
        return True
