"""The organisation as the runtime's ``Directory``: logins are accounts, groups are the
roles and scoped positions ``organisation.groups_of`` gives, and a task may be delegated only
to a colleague of the same department (``organisation.share_department``)."""

from __future__ import annotations

from collections.abc import Iterable

from ..actors import Actor
from ..db import UnitOfWork
from . import membership
from .services import organisation


class OrgDirectory:
    def actor_for(self, uow: UnitOfWork, username: str) -> Actor:
        return organisation.actor_for(uow, username)

    def is_active(self, uow: UnitOfWork, username: str) -> bool:
        return organisation.is_active_account(uow, username)

    def members(self, uow: UnitOfWork, groups: Iterable[str]) -> dict[str, set[str]]:
        return membership.members(uow, groups)

    def may_delegate(self, uow: UnitOfWork, holder: str, to_username: str) -> bool:
        return organisation.share_department(uow, holder, to_username)
