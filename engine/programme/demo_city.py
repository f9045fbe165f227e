"""The demo city generated from a seed: units, departments, posts, officials and accounts,
as rows in the organisation file's terms — no database (``engine.programme.demo`` loads it).

The catalogue (``engine.programme.demo_catalogue``) says what each unit does; this module
staffs it: six internal departments (内设机构) per unit including the leadership team (领导班子),
eight posts (岗位) per department, one official (公职人员) per post and a login for every
official.

Leadership follows the routing rules: every unit has its principal ("由单位主要领导负责"), two or
three deputies in charge who each oversee named departments ("单位分管领导直接管理 / 负责"), a
head for every department ("内设机构领导直接管理和负责") and a discipline officer (纪检组长), who
runs "组织评" for the unit.

Generation is plain Python and deterministic: one ``random.Random(seed)`` draws names, the
number of deputies and who oversees what, so the same seed gives the same city and a
byte-identical export.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .demo_catalogue import (
    FIRST_GIVEN,
    FLAGS,
    FUNCTIONS_PER_DEPARTMENT,
    LEADERSHIP,
    OFFICE,
    SECOND_GIVEN,
    SINGLE_GIVEN,
    SURNAME_WEIGHTS,
    SURNAMES,
    UNITS,
    DepartmentKind,
    UnitKind,
)
from .models import POST_ATTRIBUTES, Role
from .orgfile import Tables, read_csv, write_csv

DEFAULT_SEED = 2011
#: The unit whose leaders get the documented demo logins (财政局).
SHOWCASE_UNIT = "CZJ"


def _attributes(flags: Iterable[str]) -> dict[str, bool]:
    present = set("".join(flags))
    return {FLAGS[f]: f in present for f in FLAGS}


@dataclass(frozen=True)
class DemoAccount:
    username: str
    roles: tuple[str, ...]
    official_code: str | None = None


@dataclass(frozen=True)
class DemoLogin:
    """A documented demo login (README, "演示城市 · Demo city")."""

    username: str
    role: str  #: a role, or the group that makes it (``discipline_officer:CZJ``)
    unit: str  #: unit code, or "" for city-level accounts
    official_code: str | None = None
    name: str = ""
    post: str = ""


@dataclass
class City:
    """The generated city, as rows in the organisation file's terms, plus its accounts."""

    seed: int
    units: list[dict[str, Any]] = field(default_factory=list)
    officials: list[dict[str, Any]] = field(default_factory=list)
    departments: list[dict[str, Any]] = field(default_factory=list)
    posts: list[dict[str, Any]] = field(default_factory=list)
    accounts: list[DemoAccount] = field(default_factory=list)
    logins: list[DemoLogin] = field(default_factory=list)

    def rows(self) -> dict[str, list[dict[str, Any]]]:
        return {"units": self.units, "officials": self.officials,
                "departments": self.departments, "posts": self.posts}

    def csv_files(self) -> dict[str, bytes]:
        """The city as the four CSV files an administrator would import."""
        return write_csv(self.rows())

    def tables(self) -> Tables:
        """The city read back from its CSV files, as an uploaded organisation file is read."""
        return read_csv(self.csv_files())

    def levels(self, level_of: Callable[[Mapping[str, bool]], int]) -> dict[int, int]:
        """Posts per level by ``level_of`` (the post rule: ``engine.programme.grading``'s
        ``post_rule_level`` with a unit of work), asked once per distinct combination of the
        eight attributes — a city has hundreds of posts but few combinations."""
        combos = Counter(tuple(p[name] for name in POST_ATTRIBUTES) for p in self.posts)
        counts: Counter[int] = Counter()
        for combo, posts in combos.items():
            counts[level_of(dict(zip(POST_ATTRIBUTES, combo, strict=True)))] += posts
        return {level: counts.get(level, 0) for level in (1, 2, 3)}


class _Names:
    """Chinese names, unique within the city (two colleagues with one name confuse a demo)."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.used: set[str] = set()

    def __call__(self) -> str:
        rng = self.rng
        while True:
            surname = rng.choices(SURNAMES, weights=SURNAME_WEIGHTS)[0]
            given = (rng.choice(SINGLE_GIVEN) if rng.random() < 0.3
                     else rng.choice(FIRST_GIVEN) + rng.choice(SECOND_GIVEN))
            if surname + given not in self.used:
                self.used.add(surname + given)
                return surname + given


@dataclass
class _Post:
    name: str
    flags: str
    role: str = "staff"  #: principal, deputy, discipline, head, staff


def _leadership_posts(kind: UnitKind, deputies: int, overseen: list[list[DepartmentKind]]
                      ) -> list[_Post]:
    """领导班子: the principal (正职), the deputies (graded by what they oversee), the
    discipline officer, the unit's 总师 and non-leading ranks (调研员) — eight posts."""
    deputy_title = "副" + kind.chief
    posts = [_Post(kind.chief, "P", "principal")]
    for i in range(deputies):
        flags = "".join(f for dept in overseen[i] for _, fl in dept.functions for f in fl
                        if f != "P")
        posts.append(_Post(("常务" if i == 0 else "") + deputy_title, flags, "deputy"))
    posts.append(_Post("纪检组长", "", "discipline"))
    posts.append(_Post(*kind.chief_officer))
    posts.append(_Post("调研员", ""))
    posts += [_Post("副调研员", "") for _ in range(4 - deputies)]
    return posts


def _department_posts(dept: DepartmentKind, rng: random.Random) -> list[_Post]:
    """科长 and 副科长 (graded by everything the department does), six 科员 with functions."""
    keep = sorted(rng.sample(range(len(dept.functions)), FUNCTIONS_PER_DEPARTMENT))
    functions = [dept.functions[i] for i in keep]
    flags = "".join(fl for _, fl in functions)
    return [_Post(f"{dept.name}{dept.head}", flags, "head"),
            _Post(f"{dept.name}副{dept.head}", flags),
            *(_Post(f"科员（{name}）", fl) for name, fl in functions)]


def _oversight(kind: UnitKind, deputies: int, rng: random.Random) -> list[list[DepartmentKind]]:
    """Which departments each deputy oversees: the first (常务) deputy always has 办公室; the
    rest are dealt out at random so that every deputy oversees at least one."""
    rest = list(kind.departments[1:])
    rng.shuffle(rest)
    overseen: list[list[DepartmentKind]] = [[kind.departments[0]]] + [[] for _ in
                                                                      range(deputies - 1)]
    for i, dept in enumerate(rest):
        overseen[(i + 1) % deputies].append(dept)
    order = {d.abbr: n for n, d in enumerate(kind.departments)}
    return [sorted(group, key=lambda d: order[d.abbr]) for group in overseen]


def generate_city(seed: int = DEFAULT_SEED) -> City:
    """The whole city from ``seed``; no database. Same seed, same city."""
    rng = random.Random(seed)
    names = _Names(rng)
    city = City(seed)
    for kind in UNITS:
        _add_unit(city, kind, rng, names)
    city.accounts += [DemoAccount("admin", (Role.ADMIN.value,)),
                      DemoAccount("jiwei", (Role.DISCIPLINE_COMMISSION.value,)),
                      DemoAccount("designer", (Role.DESIGNER.value,))]
    city.logins = _logins(city)
    return city


def _add_unit(city: City, kind: UnitKind, rng: random.Random, names: _Names) -> None:
    deputies = rng.choice((2, 3))
    overseen = _oversight(kind, deputies, rng)
    leadership_code = f"{kind.code}-{LEADERSHIP[0]}"
    groups: list[tuple[str, str, list[_Post]]] = [
        (leadership_code, LEADERSHIP[1], _leadership_posts(kind, deputies, overseen))]
    groups += [(f"{kind.code}-{d.abbr}", d.name, _department_posts(d, rng))
               for d in kind.departments]

    holders: dict[str, list[str]] = {}  # role → official codes
    holder_of_dept: dict[str, str] = {}
    number = 0
    for dept_code, _, posts in groups:
        for i, post in enumerate(posts, start=1):
            number += 1
            official = f"{kind.code}-{number:04d}"
            city.officials.append({"code": official, "name": names(), "unit_code": kind.code})
            city.posts.append({"code": f"{dept_code}-{i:02d}", "department_code": dept_code,
                               "name": post.name, "holder_code": official,
                               **_attributes(post.flags)})
            holders.setdefault(post.role, []).append(official)
            if post.role == "head":
                holder_of_dept[dept_code] = official
    principal, deputy_codes = holders["principal"][0], holders["deputy"]
    holder_of_dept[leadership_code] = principal
    deputy_of = {leadership_code: deputy_codes[0]}
    for i, group in enumerate(overseen):
        deputy_of.update({f"{kind.code}-{d.abbr}": deputy_codes[i] for d in group})

    city.units.append({"code": kind.code, "name": kind.name, "principal_code": principal,
                       "discipline_officer_code": holders["discipline"][0]})
    for dept_code, name, _ in groups:
        city.departments.append({"code": dept_code, "unit_code": kind.code, "name": name,
                                 "head_code": holder_of_dept[dept_code],
                                 "deputy_in_charge_code": deputy_of[dept_code]})
    roles: dict[str, set[str]] = {}
    for code in holder_of_dept.values():
        roles.setdefault(code, set()).add(Role.DEPARTMENT_HEAD.value)
    for code in deputy_of.values():
        roles.setdefault(code, set()).add(Role.DEPUTY_IN_CHARGE.value)
    roles.setdefault(principal, set()).add(Role.PRINCIPAL.value)
    first = len(city.officials) - number
    for row in city.officials[first:]:
        held = sorted({Role.STAFF.value} | roles.get(row["code"], set()))
        city.accounts.append(DemoAccount(row["code"].lower(), tuple(held), row["code"]))


def _logins(city: City) -> list[DemoLogin]:
    """The documented logins: the city-level accounts, and one official of each leadership
    role in 财政局 — the deputy overseeing 办公室, its head and one of its staff, so the
    four of them see one another's tasks."""
    unit = next(u for u in city.units if u["code"] == SHOWCASE_UNIT)
    office = next(d for d in city.departments if d["code"] == f"{SHOWCASE_UNIT}-{OFFICE.abbr}")
    staff = next(p["holder_code"] for p in city.posts
                 if p["department_code"] == office["code"] and p["name"].startswith("科员"))
    people = {o["code"]: o["name"] for o in city.officials}
    post_of = {p["holder_code"]: p["name"] for p in city.posts}

    def official(role: str, code: str) -> DemoLogin:
        return DemoLogin(code.lower(), role, SHOWCASE_UNIT, code, people[code], post_of[code])

    return [DemoLogin("admin", Role.ADMIN.value, ""),
            DemoLogin("jiwei", Role.DISCIPLINE_COMMISSION.value, ""),
            DemoLogin("designer", Role.DESIGNER.value, ""),
            official(Role.PRINCIPAL.value, unit["principal_code"]),
            official(Role.DEPUTY_IN_CHARGE.value, office["deputy_in_charge_code"]),
            official(Role.DEPARTMENT_HEAD.value, office["head_code"]),
            official(Role.STAFF.value, staff),
            # The unit's discipline officer, scoped to the unit (the plain role
            # ``discipline_commission`` is the city commission's, which sees every unit).
            official(f"discipline_officer:{SHOWCASE_UNIT}",
                     unit["discipline_officer_code"])]


__all__ = ["DEFAULT_SEED", "SHOWCASE_UNIT", "City", "DemoAccount", "DemoLogin", "generate_city"]
