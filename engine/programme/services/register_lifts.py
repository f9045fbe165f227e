"""Level lifts: what follows when a post's level in force changes during its year.

Source: "根据岗位廉政风险不同等级,实行分级管理、分级负责和重点防控。对确定为一级廉政风险等级的,在
单位分管领导直接管理的基础上,由单位主要领导负责……" and "认真落实廉政谈话……等制度". A risk point
recorded after the grading (群众提, a self-check's or the monitoring's finding, a disposal's,
a changed risk point) can raise the level (``register_grading.regrade_if_graded``); so can a
reviewer. The register has written the new level and roles with their cause by then; this
module carries the change into the post's running cycle (bpmn/post_cycle.bpmn):

- the data its lanes resolve from (``post_level``, ``responsible_role``,
  ``direct_manager_role``) takes the new values, and its open tasks — prevention and
  monitoring waiting for a person — are routed again by them, to the new responsible leader
  or direct manager (``engine.services.amendments.amend``; ``task_rerouted`` events);
- on a rise it gets the message ``post_level_raised``, whose event subprocess 风险等级提升
  adds what the new level requires: for level 1 the 廉政谈话, when the cycle's own talk
  gateway was already passed without one (``talk_outstanding``).

Nothing here commits: the lift is part of the write that caused it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from ...db import UnitOfWork
from ...models import ACTIVE_STATUSES, HumanTask, InstanceVariable, ProcessInstance, TaskState
from ...services.amendments import amend
from ..models import PostGrading, RiskPoint

#: The post's yearly cycle (business key: the post code) and the message a rise sends it.
POST_CYCLE, MESSAGE = "post_cycle", "post_level_raised"
#: post_cycle's talks (the control phase's and the lift's) and a step of its control phase.
TALK_ELEMENTS, CONTROL_ELEMENT = ("integrity_talk", "lift_talk"), "monitoring"
#: How a risk point's channel reads in a cause.
CHANNELS = {"self_identified": "自己找", "public_suggested": "群众提", "peer_checked": "互相查",
            "leader_pointed": "领导点", "organization_reviewed": "组织评",
            "complaint": "举报投诉", "financial_audit": "财务审计",
            "enforcement_inspection": "执法检查", "questionnaire": "问卷调查"}


@dataclass(frozen=True)
class Standing:
    """A grading's level in force and the roles answering for it."""

    level: int
    responsible_role: str
    direct_manager_role: str

    @classmethod
    def of(cls, grading: PostGrading) -> Standing:
        return cls(grading.effective_level, grading.responsible_role,
                   grading.direct_manager_role)

    def as_data(self) -> dict[str, Any]:
        return {"post_level": self.level, "responsible_role": self.responsible_role,
                "direct_manager_role": self.direct_manager_role}


def cause(points: Sequence[RiskPoint], level: int) -> str:
    """Why a re-grading after ``points`` changed the level in force (``level`` before): the
    reason its register history carries."""
    if not points:
        return f"重新定级(原为{level}级)"
    named = "、".join(f"风险点#{p.id}({CHANNELS.get(p.found_by, p.found_by)},{p.level}级)"
                     for p in points)
    return f"定级后新记入或变更的{named}:按决策表重新定级(原为{level}级)"


def follow(uow: UnitOfWork, grading: PostGrading, before: Standing, why: str,
           who: str) -> bool:
    """Carry a change of ``grading``'s level in force or roles (from ``before``) into the
    post's running cycle of that year; False when nothing changed or no cycle runs."""
    after = Standing.of(grading)
    if after == before:
        return False
    instance_id = running_cycle(uow, grading.post.code, grading.year)
    if instance_id is None:
        return False
    message = None
    if after.level < before.level:
        message = (MESSAGE, {**after.as_data(), "previous_level": before.level, "cause": why,
                             "talk_outstanding": after.level == 1
                             and talk_outstanding(uow, instance_id)})
    return amend(uow, instance_id, after.as_data(), reason=why, message=message, actor=who)


def running_cycle(uow: UnitOfWork, post_code: str, year: int) -> int | None:
    """The active post cycle of ``post_code`` for ``year`` (its variable ``year``), newest
    first, or None."""
    year_variable = select(InstanceVariable.instance_id).where(
        InstanceVariable.name == "year", InstanceVariable.value == str(year))
    return uow.session.scalar(select(ProcessInstance.id).where(
        ProcessInstance.process_id == POST_CYCLE, ProcessInstance.business_key == post_code,
        ProcessInstance.status.in_(ACTIVE_STATUSES), ProcessInstance.id.in_(year_variable))
        .order_by(ProcessInstance.id.desc()).limit(1))


def talk_outstanding(uow: UnitOfWork, instance_id: int) -> bool:
    """The cycle's control phase has begun (its monitoring task exists) and no 廉政谈话 was
    held or is waiting in it — before the control phase, its own talk gateway reads the new
    level."""
    elements = dict.fromkeys(uow.session.scalars(select(HumanTask.element_id).where(
        HumanTask.instance_id == instance_id, HumanTask.state != TaskState.CANCELLED,
        HumanTask.element_id.in_([CONTROL_ELEMENT, *TALK_ELEMENTS]))))
    return CONTROL_ELEMENT in elements and not any(e in elements for e in TALK_ELEMENTS)
