"""Who acts, in words: the names behind logins and the groups a task is offered to.

Task lists carry logins (``czj-0011``) and scoped groups (``department_head:CZJ-BGS``,
``post:CZJ-BGS-02``); people asking "who acts next" need the official's name and the role
with the unit, department or post it is scoped to. One page's logins and groups are named
together: one query per kind of code, never one per row.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import select

from ...db import UnitOfWork
from ..models import Account, Department, Official, Post, Unit

__all__ = ["GroupName", "PeopleNames", "names"]

#: Scoped groups by the tier their scope is a code of (``engine.programme.routing``).
_UNIT_SCOPED = frozenset({"unit", "principal", "discipline_officer"})
_DEPARTMENT_SCOPED = frozenset({"dept", "department_head", "deputy_in_charge"})


@dataclass(frozen=True)
class GroupName:
    """A group as people say it: its role (``post``, ``dept``, ``unit`` for a tier's
    members) and the name of what it is scoped to (None: an unscoped role)."""

    role: str
    scope: str | None


@dataclass(frozen=True)
class PeopleNames:
    logins: dict[str, str] = field(default_factory=dict)
    groups: dict[str, GroupName] = field(default_factory=dict)


def names(uow: UnitOfWork, logins: Iterable[str], groups: Iterable[str]) -> PeopleNames:
    """The officials' names of ``logins`` (a login without an official is left out) and
    each of ``groups`` named (a scope that no longer exists keeps its code)."""
    wanted = sorted(set(logins))
    found = PeopleNames()
    if wanted:
        found.logins.update((login, name) for login, name in uow.session.execute(
            select(Account.username, Official.name)
            .join(Official, Account.official_id == Official.id)
            .where(Account.username.in_(wanted))))
    parsed = {g: g.partition(":") for g in set(groups)}
    scopes = {kind: sorted({code for role, _c, code in parsed.values() if code and
                            role in roles})
              for kind, roles in (("unit", _UNIT_SCOPED), ("dept", _DEPARTMENT_SCOPED),
                                  ("post", frozenset({"post"})))}
    named: dict[str, dict[str, str]] = {"unit": {}, "dept": {}, "post": {}}
    for kind, model in (("unit", Unit), ("dept", Department), ("post", Post)):
        if scopes[kind]:
            named[kind].update((code, name) for code, name in uow.session.execute(
                select(model.code, model.name).where(model.code.in_(scopes[kind]))))
    for group, (role, _colon, code) in parsed.items():
        tier = ("unit" if role in _UNIT_SCOPED else "dept" if role in _DEPARTMENT_SCOPED
                else "post" if role == "post" else None)
        scope = named[tier].get(code, code) if tier and code else None
        found.groups[group] = GroupName(role, scope)
    return found
