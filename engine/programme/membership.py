"""Who is in a group: the organisation's answer to ``Directory.members`` (``OrgDirectory``).

The groups are those ``organisation.groups_of`` gives a person, expanded the other way round —
from a group to its people — in a few set-based queries, so a task offered to a department
or a unit's discipline officer (or a card for it) is addressed without loading anyone's
actor. Notifications (``engine.services.notifications``) ask through the runtime's directory;
the programme's own services (feedback, the rehearsal) call ``members`` here.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from sqlalchemy import select

from ..db import UnitOfWork
from .models import Account, AccountRole, Department, Official, Post, Unit

#: Codes or ids per statement.
CHUNK = 500


def _official_groups(uow: UnitOfWork, prefix: str, codes: set[str]) -> Iterator[
        tuple[str, int | None]]:
    """(group, official id) for the scoped groups ``prefix:<code>`` (see
    ``organisation.groups_of``)."""
    s = uow.session
    rows: Iterable[Any] = ()
    if prefix == "post":
        rows = s.execute(select(Post.code, Post.holder_id).where(Post.code.in_(codes)))
    elif prefix == "dept":
        rows = [*s.execute(select(Department.code, Post.holder_id).join(Post.department)
                           .where(Department.code.in_(codes))),
                *s.execute(select(Department.code, Department.head_id)
                           .where(Department.code.in_(codes)))]
    elif prefix in ("department_head", "deputy_in_charge"):
        column = Department.head_id if prefix == "department_head" \
            else Department.deputy_in_charge_id
        rows = s.execute(select(Department.code, column).where(Department.code.in_(codes)))
    elif prefix in ("principal", "discipline_officer"):
        column = Unit.principal_id if prefix == "principal" else Unit.discipline_officer_id
        rows = s.execute(select(Unit.code, column).where(Unit.code.in_(codes)))
    elif prefix == "unit":
        rows = s.execute(select(Unit.code, Official.id).join(Official, Official.unit_id == Unit.id)
                         .where(Unit.code.in_(codes)))
    for code, official_id in rows:
        yield f"{prefix}:{code}", official_id


#: Unscoped leadership roles, implied by positions (as ``organisation.groups_of`` does).
_POSITION_ROLES = {"principal": Unit.principal_id, "department_head": Department.head_id,
                   "deputy_in_charge": Department.deputy_in_charge_id}


def members(uow: UnitOfWork, groups: Iterable[str]) -> dict[str, set[str]]:
    """The active logins in each group, as ``organisation.groups_of`` defines the groups: the
    officials holding the positions of a scoped group (``post:…``, ``dept:…``,
    ``department_head:…``, ``principal:…``, ``discipline_officer:…``, ``unit:…``); for an
    unscoped role, the accounts holding it as a stored role (and, for the leadership roles,
    through their positions). ``staff`` — everyone — is not expanded."""
    wanted = set(groups)
    found: dict[str, set[str]] = {g: set() for g in wanted}
    scoped, plain = _split(wanted)
    by_official: list[tuple[str, int | None]] = []
    for prefix, codes in scoped.items():
        for chunk in _chunks(sorted(codes)):
            by_official += _official_groups(uow, prefix, set(chunk))
    for role in plain & _POSITION_ROLES.keys():
        column = _POSITION_ROLES[role]
        by_official += [(role, official_id) for official_id in uow.session.scalars(
            select(column).where(column.is_not(None)).distinct())]
    logins = _logins(uow, {i for _g, i in by_official if i is not None})
    for group, official_id in by_official:
        if official_id in logins:
            found[group].add(logins[official_id])
    if plain:
        for role, username in uow.session.execute(
                select(AccountRole.role, Account.username).join(
                    Account, Account.id == AccountRole.account_id)
                .where(AccountRole.role.in_(sorted(plain)), Account.active.is_(True))):
            found[role].add(username)
    return found


def _split(groups: set[str]) -> tuple[dict[str, set[str]], set[str]]:
    """Scoped groups as {prefix: codes}, and the unscoped roles (but ``staff``)."""
    scoped: dict[str, set[str]] = defaultdict(set)
    plain: set[str] = set()
    for group in groups:
        prefix, sep, code = group.partition(":")
        if sep:
            scoped[prefix].add(code)
        elif group != "staff":
            plain.add(group)
    return scoped, plain


def _logins(uow: UnitOfWork, official_ids: set[int]) -> dict[int, str]:
    """The active login of each official that has one."""
    logins: dict[int, str] = {}
    for chunk in _chunks(sorted(official_ids)):
        for official_id, username in uow.session.execute(
                select(Account.official_id, Account.username).where(
                    Account.official_id.in_(chunk), Account.active.is_(True))):
            if official_id is not None:
                logins[official_id] = username
    return logins


def _chunks(items: Sequence[Any], size: int = CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]
