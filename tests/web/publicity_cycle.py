"""Drive a post's yearly cycle (bpmn/post_cycle.bpmn) to publicity (公示) through the engine
services, each task completed by the person it is routed to: 自己找 (the holder), 互相查 and
领导点 (the department head, a member of the department too), 组织评 (the discipline
officer), 严格审核把关 (the direct manager). Used by the web and the browser tests."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select

from engine.models import HumanTask, TaskState
from engine.parsing import read_sources
from engine.programme.services import organisation
from engine.runtime import Runtime
from engine.services import deployment, instances, tasks
from engine.settings import PROJECT_ROOT

YEAR = 2011


def deploy_programme(rt: Runtime) -> None:
    with rt.uow() as uow:
        deployment.deploy(uow, read_sources([PROJECT_ROOT / "bpmn"]), deployed_by="tests")


def start_post_cycle(rt: Runtime, post_code: str, year: int = YEAR) -> int:
    with rt.uow(write=False) as uow:
        post = organisation.get_post(uow, post_code)
        data = {"post_code": post.code, "department_code": post.department.code,
                "unit_code": post.department.unit.code, "year": year, **post.attributes()}
    with rt.uow() as uow:
        return instances.start_instance(uow, "post_cycle", post_code, data,
                                       actor=organisation.actor_for(uow, "admin")).id


def open_task(rt: Runtime, instance_id: int, element: str) -> uuid.UUID:
    with rt.uow(write=False) as uow:
        found = list(uow.session.scalars(select(HumanTask.id).where(
            HumanTask.instance_id == instance_id, HumanTask.element_id == element,
            HumanTask.state == TaskState.OPEN)))
    assert found, f"no open {element} in instance {instance_id}"
    return found[0]


def complete(rt: Runtime, instance_id: int, element: str, username: str,
             data: dict[str, Any]) -> None:
    task_id = open_task(rt, instance_id, element)
    with rt.uow() as uow:
        tasks.complete_task(uow, task_id, organisation.actor_for(uow, username), data)


def risk(description: str, likelihood: str = "low") -> dict[str, str]:
    return {"category": "duty", "description": description, "likelihood": likelihood,
            "harm": "minor"}


def to_publicity(rt: Runtime, post_code: str, *, high_risk: bool = False,
                 year: int = YEAR) -> int:
    """Start the post's cycle and take it to publicity; ``high_risk``: a risk point of high
    likelihood makes it level 1 (else the post's rule decides)."""
    with rt.uow(write=False) as uow:
        leaders = organisation.leaders_for(uow, post_code)
    assert leaders.holder and leaders.department_head and leaders.discipline_officer
    iid = start_post_cycle(rt, post_code, year)
    complete(rt, iid, "self_identified", leaders.holder, {"risks": [
        risk(f"{post_code}:审批材料把关不严", "high" if high_risk else "low")]})
    complete(rt, iid, "peer_checked", leaders.department_head, {"risks": []})
    complete(rt, iid, "leader_pointed", leaders.department_head, {"risks": []})
    complete(rt, iid, "organization_reviewed", leaders.discipline_officer, {"risks": []})
    review = open_task(rt, iid, "review")
    with rt.uow(write=False) as uow:  # routed to the direct manager's scoped group
        [group] = tasks.get_task(uow, review).candidate_groups
    role = group.partition(":")[0]
    manager = getattr(leaders, role)
    assert manager, f"no {role} for {post_code}"
    complete(rt, iid, "review", manager, {"approved": True, "review_comment": "同意"})
    return iid
