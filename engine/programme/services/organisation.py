"""The organisation as the rest of IRPM asks about it: who leads what, who may act as whom.

Responsibility follows the source's graded management ("分级管理、分级负责"): level 1 —
"在单位分管领导直接管理的基础上,由单位主要领导负责"; level 2 — "在内设机构领导直接管理的基础上,
由单位分管领导负责"; level 3 — "由内设机构领导直接管理和负责". ``leaders_for`` therefore
names, for one post, the principal, the deputy in charge, the department head — and the
unit's discipline officer, who runs "组织评" — as login names, so a lane can be turned into the
person who gets the task.

``groups_of`` gives the group codes an ``Actor`` carries:

==================================== =====================================================
group                                who
==================================== =====================================================
the account's roles                  as stored (``staff``, ``designer``, ``admin``…)
``staff``, ``unit:<unit>``           every account linked to an official of that unit
``post:<post>``, ``dept:<dept>``     the holder of that post (a member of its department)
``principal``, ``principal:<unit>``  the unit's principal (单位主要领导)
``deputy_in_charge``,                the deputy overseeing that department (分管领导)
``deputy_in_charge:<dept>``
``department_head``,                 the department's head (内设机构领导), also ``dept:<dept>``
``department_head:<dept>``
``discipline_officer:<unit>``        the unit's discipline officer (纪检监察; the city's
                                     commission, 市纪委, is the stored role
                                     ``discipline_commission``)
==================================== =====================================================

Leadership roles follow from positions, so appointing a new head in an import is enough to
move the routing; stored roles add what positions cannot say (designer, admin, city-level
discipline commission staff).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import TypeVar

from sqlalchemy import or_, select
from sqlalchemy.orm import selectinload

from ...actors import Actor
from ...db import UnitOfWork
from ...errors import Forbidden, NotFound, ValidationFailed
from ...passwords import hash_password, verify_password
from ...services import clock
from ..models import Account, Department, Official, Post, Role, Unit

USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@\-]{0,63}$")


T = TypeVar("T")


def _one(row: T | None, what: str, code: str) -> T:
    if row is None:
        raise NotFound(f"no {what} with code '{code}'")
    return row


def get_unit(uow: UnitOfWork, code: str) -> Unit:
    return _one(uow.session.scalar(select(Unit).where(Unit.code == code)), "unit", code)


def get_department(uow: UnitOfWork, code: str) -> Department:
    return _one(uow.session.scalar(select(Department).where(Department.code == code)),
                "department", code)


def get_post(uow: UnitOfWork, code: str) -> Post:
    return _one(uow.session.scalar(select(Post).where(Post.code == code)), "post", code)


def get_official(uow: UnitOfWork, code: str) -> Official:
    return _one(uow.session.scalar(select(Official).where(Official.code == code)),
                "official", code)


def get_account(uow: UnitOfWork, username: str) -> Account:
    account = uow.session.scalar(select(Account).where(Account.username == username))
    if account is None:
        raise NotFound(f"no account '{username}'")
    return account


def list_units(uow: UnitOfWork) -> list[Unit]:
    return list(uow.session.scalars(select(Unit).order_by(Unit.code)))


def departments_of(uow: UnitOfWork, unit_code: str) -> list[Department]:
    unit = get_unit(uow, unit_code)
    return list(uow.session.scalars(
        select(Department).where(Department.unit_id == unit.id).order_by(Department.code)))


def posts_of(uow: UnitOfWork, unit_code: str) -> list[Post]:
    """Every post of a unit — "覆盖每项权力、每个岗位、每个人" — by department, then code."""
    unit = get_unit(uow, unit_code)
    return list(uow.session.scalars(
        select(Post).join(Post.department).where(Department.unit_id == unit.id)
        .options(selectinload(Post.department)).order_by(Department.code, Post.code)))


# ------------------------------------------------------------------------------ leaders


@dataclass(frozen=True)
class Leaders:
    """Login names (None: the position is vacant or its official has no active account)."""

    post: str
    unit: str
    department: str
    holder: str | None
    department_head: str | None
    deputy_in_charge: str | None
    principal: str | None
    discipline_officer: str | None


def _usernames(uow: UnitOfWork, official_ids: set[int | None]) -> dict[int, str]:
    ids = {i for i in official_ids if i is not None}
    if not ids:
        return {}
    rows = uow.session.execute(select(Account.official_id, Account.username).where(
        Account.official_id.in_(ids), Account.active.is_(True)))
    return {official_id: username for official_id, username in rows if official_id}


def leaders_for(uow: UnitOfWork, post_code: str) -> Leaders:
    post = get_post(uow, post_code)
    department = post.department
    unit = department.unit
    names = _usernames(uow, {post.holder_id, department.head_id,
                             department.deputy_in_charge_id, unit.principal_id,
                             unit.discipline_officer_id})

    def name(official_id: int | None) -> str | None:
        return names.get(official_id) if official_id is not None else None

    return Leaders(post=post.code, unit=unit.code, department=department.code,
                   holder=name(post.holder_id), department_head=name(department.head_id),
                   deputy_in_charge=name(department.deputy_in_charge_id),
                   principal=name(unit.principal_id),
                   discipline_officer=name(unit.discipline_officer_id))


# ------------------------------------------------------------------------------- actors


def _position_groups(uow: UnitOfWork, official: Official) -> set[str]:
    s = uow.session
    groups = {Role.STAFF.value, f"unit:{official.unit.code}"}
    for unit in s.scalars(select(Unit).where(
            or_(Unit.principal_id == official.id, Unit.discipline_officer_id == official.id))):
        if unit.principal_id == official.id:
            groups |= {Role.PRINCIPAL.value, f"principal:{unit.code}"}
        if unit.discipline_officer_id == official.id:
            # Scoped only: a unit's discipline officer is not the city's commission, whose
            # plain role sees every unit.
            groups.add(f"discipline_officer:{unit.code}")
    for dept in s.scalars(select(Department).where(or_(
            Department.head_id == official.id, Department.deputy_in_charge_id == official.id))):
        if dept.head_id == official.id:
            groups |= {Role.DEPARTMENT_HEAD.value, f"department_head:{dept.code}",
                       f"dept:{dept.code}"}
        if dept.deputy_in_charge_id == official.id:
            groups |= {Role.DEPUTY_IN_CHARGE.value, f"deputy_in_charge:{dept.code}"}
    for post in s.scalars(select(Post).where(Post.holder_id == official.id)
                          .options(selectinload(Post.department))):
        groups |= {f"post:{post.code}", f"dept:{post.department.code}"}
    return groups


def _groups(uow: UnitOfWork, account: Account) -> frozenset[str]:
    groups = set(account.roles)
    if account.official is not None:
        groups |= _position_groups(uow, account.official)
    return frozenset(groups)


def groups_of(uow: UnitOfWork, username: str) -> frozenset[str]:
    return _groups(uow, get_account(uow, username))


def actor_for(uow: UnitOfWork, username: str) -> Actor:
    """The engine's view of a logged-in user; a disabled account may not act."""
    account = get_account(uow, username)
    if not account.active:
        raise Forbidden(f"account '{username}' is disabled")
    return Actor(username, _groups(uow, account), is_admin=Role.ADMIN in account.roles)


# --------------------------------------------------------------------------- colleagues


def _official_departments(uow: UnitOfWork, official_ids: set[int]) -> dict[int, set[str]]:
    """Department codes per official: where they hold a post, and what they head."""
    found: dict[int, set[str]] = {i: set() for i in official_ids}
    if not official_ids:
        return found
    held = uow.session.execute(select(Post.holder_id, Department.code).join(Post.department)
                               .where(Post.holder_id.in_(official_ids)))
    headed = uow.session.execute(select(Department.head_id, Department.code)
                                 .where(Department.head_id.in_(official_ids)))
    for official_id, code in [*held, *headed]:
        found[official_id].add(code)
    return found


def department_codes(uow: UnitOfWork, username: str) -> frozenset[str]:
    """The departments (内设机构) a login belongs to: where its official holds a post or is
    the head. Empty for logins without an official."""
    official_id = uow.session.scalar(select(Account.official_id).where(
        Account.username == username))
    if official_id is None:
        return frozenset()
    return frozenset(_official_departments(uow, {official_id})[official_id])


def share_department(uow: UnitOfWork, username: str, other: str) -> bool:
    return bool(department_codes(uow, username) & department_codes(uow, other))


def is_active_account(uow: UnitOfWork, username: str) -> bool:
    return bool(uow.session.scalar(select(Account.active).where(Account.username == username)))


@dataclass(frozen=True)
class Colleague:
    username: str
    name: str
    posts: tuple[str, ...]


def colleagues(uow: UnitOfWork, username: str) -> list[Colleague]:
    """The active logins sharing a department with ``username`` (not itself), by name —
    whom a task may be delegated to."""
    departments = department_codes(uow, username)
    if not departments:
        return []
    dept_ids = select(Department.id).where(Department.code.in_(departments))
    members = select(Post.holder_id).where(Post.department_id.in_(dept_ids)).union(
        select(Department.head_id).where(Department.id.in_(dept_ids)))
    rows = uow.session.execute(
        select(Account.username, Official.name, Official.id).join(Account.official)
        .where(Official.id.in_(members), Account.active.is_(True),
               Account.username != username).order_by(Official.name, Account.username)).all()
    posts: dict[int, list[str]] = {}
    for holder_id, name in uow.session.execute(
            select(Post.holder_id, Post.name).where(Post.holder_id.in_([r[2] for r in rows]),
                                                    Post.department_id.in_(dept_ids))
            .order_by(Post.code)):
        if holder_id is not None:
            posts.setdefault(holder_id, []).append(name)
    return [Colleague(user, name, tuple(posts.get(official_id, ()))) for user, name, official_id
            in rows]


# ----------------------------------------------------------------------------- accounts


class _Keep:
    """Marks "leave as it is" where None has a meaning of its own (unlink the official)."""


KEEP = _Keep()


def _check_account_input(username: str, password: str | None, password_hash: str | None,
                         roles: set[str] | frozenset[str] | None) -> None:
    if not USERNAME.match(username):
        raise ValidationFailed(f"'{username}' is not a username: letters, digits, '_', '.', "
                               "'@', '-', at most 64 characters", {"username": ["invalid"]})
    if password is not None and password_hash is not None:
        raise ValidationFailed("give a password or a password hash, not both")
    if roles is not None:
        unknown = sorted(set(roles) - {r.value for r in Role})
        if unknown:
            raise ValidationFailed(f"unknown role(s) {', '.join(unknown)}; roles are "
                                   + ", ".join(r.value for r in Role), {"roles": unknown})


def _link_official(uow: UnitOfWork, account: Account, official_code: str | None) -> None:
    """One login per official, so a leader's tasks reach exactly one account."""
    if official_code is None:
        account.official = None
        return
    official = get_official(uow, official_code)
    taken = uow.session.scalar(select(Account.username).where(
        Account.official_id == official.id, Account.username != account.username))
    if taken:
        raise ValidationFailed(f"official {official_code} already has the account '{taken}'",
                               {"official_code": ["has an account"]})
    account.official = official


def save_account(uow: UnitOfWork, username: str, *, password: str | None = None,
                 password_hash: str | None = None,
                 official_code: str | _Keep | None = KEEP,
                 roles: set[str] | frozenset[str] | None = None,
                 active: bool | None = None) -> Account:
    """Create an account (a password is then required) or update the given fields of one.
    A new password ends the account's sessions (``Account.session_version``).

    ``password_hash`` lets a bulk loader hash one shared demo password once: scrypt is slow
    on purpose, and hundreds of hashes would make loading the demo city crawl.
    """
    _check_account_input(username, password, password_hash, roles)
    now = clock.now(uow)
    account = uow.session.scalar(select(Account).where(Account.username == username))
    if account is None:
        if password is None and password_hash is None:
            raise ValidationFailed(f"a new account ('{username}') needs a password",
                                   {"password": ["required"]})
        account = Account(username=username, active=True, created_at=now)
        uow.session.add(account)
    if password is not None:
        account.set_password(password, now)
    elif password_hash is not None and password_hash != account.password_hash:
        account.password_hash, account.password_changed_at = password_hash, now
        account.end_sessions()
    if not isinstance(official_code, _Keep):
        _link_official(uow, account, official_code)
    if roles is not None:
        account.set_roles(frozenset(roles))
    if active is not None:
        account.active = active
    uow.session.flush()
    uow.commit()
    return account


@cache
def _decoy_hash() -> str:
    return hash_password("decoy password, never matches")


def authenticate(uow: UnitOfWork, username: str, password: str) -> Account | None:
    """The active account whose password matches, else None. An unknown name costs the same
    scrypt time as a wrong password, so timing does not tell which names exist."""
    account = uow.session.scalar(select(Account).where(Account.username == username))
    if account is None:
        verify_password(_decoy_hash(), password)
        return None
    if not account.active or not account.check_password(password):
        return None
    return account
