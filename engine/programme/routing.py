"""Who gets a task: BPMN lanes resolved through the organisation of the instance's unit.

The process models name lanes after roles, not people. A lane id is one of the roles below;
the task's data says whose post, department and unit it concerns (``post_code``,
``department_code``, ``unit_code``), and the lane becomes a *scoped group* such as
``department_head:CZJ-YSK``. ``engine.programme.services.organisation.groups_of`` gives every
account
the scoped groups of the positions its official holds, so when a head is replaced in the
organisation, the next login routes that department's tasks to the new head — no task data
names a person.

The level-dependent lanes follow the responsibility rule of bpmn/responsibility.dmn, which
the process evaluates into ``responsible_role`` / ``direct_manager_role``: 对确定为一级廉政风险
等级的,在单位分管领导直接管理的基础上,由单位主要领导负责;二级……由单位分管领导负责;三级……由内设
机构领导直接管理和负责.
"""

from __future__ import annotations

from typing import Any

from ..assignment import Candidates, TaskContext, default_resolver

#: role -> the task-data key holding the code that scopes it.
SCOPES = {
    "post_holder": ("post", "post_code"),
    "peer": ("dept", "department_code"),
    "department_head": ("department_head", "department_code"),
    "deputy_in_charge": ("deputy_in_charge", "department_code"),
    "principal": ("principal", "unit_code"),
    "discipline_officer": ("discipline_officer", "unit_code"),
}
#: Lanes whose role comes from task data: the responsibility decision's outputs, and the
#: leader one up from the responsible one (``supervising_role``: 内设机构领导 → 分管领导 →
#: 单位主要领导 → 纪委), whom 后期处置 escalates an overdue step of the responsible leader to.
ROLE_LANES = {"responsible_leader": "responsible_role", "direct_manager": "direct_manager_role",
              "supervising_leader": "supervising_role"}
#: City-level roles: unscoped groups.
CITY_ROLES = frozenset({"discipline_commission", "admin", "designer"})


class RoutingError(ValueError):
    pass


def scoped_group(role: str, data: dict[str, Any]) -> str:
    if role in CITY_ROLES:
        return role
    if role not in SCOPES:
        raise RoutingError(f"unknown role '{role}'; lanes use one of "
                           f"{', '.join(sorted([*SCOPES, *ROLE_LANES, *CITY_ROLES]))}")
    prefix, key = SCOPES[role]
    code = data.get(key)
    if not isinstance(code, str) or not code:
        raise RoutingError(f"lane '{role}' needs '{key}' in the task data to find the person")
    return f"{prefix}:{code}"


def org_resolver(ctx: TaskContext, evaluate: Any) -> Candidates:
    """Explicit candidate properties first; else the lane through the organisation."""
    properties = ctx.element.get("properties", {})
    lane = ctx.element.get("lane")
    if "candidateUsers" in properties or "candidateGroups" in properties or not lane:
        return default_resolver(ctx, evaluate)
    role = lane
    if lane in ROLE_LANES:
        role = ctx.data.get(ROLE_LANES[lane])
        if not isinstance(role, str):
            raise RoutingError(f"lane '{lane}' needs '{ROLE_LANES[lane]}' in the task data "
                               "(the responsibility decision's output)")
    if role not in SCOPES and role not in CITY_ROLES:
        return default_resolver(ctx, evaluate)
    return Candidates((), (scoped_group(role, ctx.data),))
