"""Where a task goes when 回避 takes its people out: one level up the responsibility chain.

Separation of duties (``engine.separation``) keeps a post's holder from checking their own
post; when that leaves a lane empty — the head's own post for 领导点, the deputy's own for
严格审核把关, the principal's own for 廉政谈话 — the runtime asks its ``escalation`` hook for
the next candidates, and this is the programme's, after the source's graded responsibility:
"对确定为一级廉政风险等级的,在单位分管领导直接管理的基础上,由单位主要领导负责;对确定为二级廉政
风险等级的,在内设机构领导直接管理的基础上,由单位分管领导负责;对确定为三级廉政风险等级的,由内设
机构领导直接管理和负责" — and above the unit, the city's discipline commission, which "负责监督
全市廉政风险防范管理工作":

=================================== ==========================================
emptied group                       goes to
=================================== ==========================================
``dept:<dept>`` (互相查's colleagues) ``department_head:<dept>``
``department_head:<dept>``          ``deputy_in_charge:<dept>``
``deputy_in_charge:<dept>``         ``principal:<unit>`` (the department's unit)
``principal:<unit>``                ``discipline_commission`` (the city's)
``discipline_officer:<unit>``       ``discipline_commission`` (the city's)
``discipline_commission``           ``admin`` (the administrators)
=================================== ==========================================

The runtime asks again while the next level is empty too (a vacancy, or the same person),
and gives the task to administrators when this has nothing above.
"""

from __future__ import annotations

from sqlalchemy import select

from ..assignment import Candidates, TaskContext
from ..db import UnitOfWork
from .models import Department, Unit

__all__ = ["ADMINISTRATORS", "CITY_COMMISSION", "next_group", "org_escalation"]

CITY_COMMISSION = "discipline_commission"
ADMINISTRATORS = "admin"
#: Scoped groups whose next level is scoped by the same code.
_SAME_SCOPE = {"dept": "department_head", "department_head": "deputy_in_charge"}


def _unit_of(uow: UnitOfWork, department_code: str) -> str | None:
    return uow.session.scalar(select(Unit.code).join(Department, Department.unit_id == Unit.id)
                              .where(Department.code == department_code))


def next_group(uow: UnitOfWork, group: str, data: dict[str, object]) -> str | None:
    """The group one level above ``group`` (see the module's table); None at the top or for
    a group outside the chain (a post, a plain role)."""
    if group == CITY_COMMISSION:
        return ADMINISTRATORS
    prefix, sep, code = group.partition(":")
    if not sep:
        return None
    if prefix in _SAME_SCOPE:
        return f"{_SAME_SCOPE[prefix]}:{code}"
    if prefix == "deputy_in_charge":
        unit = data.get("unit_code") if data.get("department_code") == code else None
        unit = unit if isinstance(unit, str) and unit else _unit_of(uow, code)
        return f"principal:{unit}" if unit else CITY_COMMISSION
    if prefix in ("principal", "discipline_officer"):
        return CITY_COMMISSION
    return None


def org_escalation(uow: UnitOfWork, ctx: TaskContext, emptied: Candidates) -> Candidates | None:
    """The runtime's ``escalation`` hook: each emptied group one level up."""
    above = {up for group in emptied.groups
             if (up := next_group(uow, group, ctx.data)) is not None}
    return Candidates((), tuple(sorted(above))) if above else None
