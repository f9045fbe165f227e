"""Who may see and do what through the API, beyond what the engine services check
themselves (``view_task``, ``claim_task``…): the units a role covers, the people around a
post, and the instances a person may look into.

============================ ==========================================================
object                       who
============================ ==========================================================
every unit, instance, post   administrators and the city's discipline commission
a unit and its organisation  its officials (``unit:<u>``), principal, discipline officer
a post's register            its holder, its department head and deputy in charge, the
                             unit's principal and discipline officer
adding risks to a post       the same people, and administrators
an instance                  whoever started it, acted in it, or may see one of its tasks
starting an instance         administrators and the city's discipline commission
administrative acts          administrators only (``engine.services.admin_rule``): the
(steer, move, migrate, …)    commission reads everything and acts nowhere
============================ ==========================================================
"""

from __future__ import annotations

from engine.actors import Actor
from engine.db import UnitOfWork
from engine.models import EventType, ProcessInstance
from engine.programme.models import Post
from engine.services import instances, task_access, tasks

from .base import oversees_all

#: How a person stands to a post: the group that says so, and the task data code it scopes.
_AROUND_POST = (("post", "holder"), ("department_head", "department_head"),
                ("deputy_in_charge", "deputy_in_charge"), ("principal", "principal"),
                ("discipline_officer", "discipline_officer"))
#: How each relation finds risks (自己找 / 领导点 / 组织评).
FOUND_BY = {"holder": "self_identified", "department_head": "leader_pointed",
            "deputy_in_charge": "leader_pointed", "principal": "leader_pointed",
            "discipline_officer": "organization_reviewed", None: "organization_reviewed"}


def covers_unit(who: Actor, unit_code: str) -> bool:
    return oversees_all(who) or any(f"{prefix}:{unit_code}" in who.groups
                                    for prefix in ("unit", "principal", "discipline_officer"))


def relation_to_post(who: Actor, post: Post) -> str | None:
    """``holder``, ``department_head``, ``deputy_in_charge``, ``principal``,
    ``discipline_officer``, or None. ``post`` needs its department (and unit) loaded."""
    department = post.department
    codes = {"post": post.code, "department_head": department.code,
             "deputy_in_charge": department.code, "principal": department.unit.code,
             "discipline_officer": department.unit.code}
    for group, relation in _AROUND_POST:
        if f"{group}:{codes[group]}" in who.groups:
            return relation
    return None


def may_read_register(who: Actor, post: Post) -> bool:
    return oversees_all(who) or relation_to_post(who, post) is not None


def may_add_risks(who: Actor, post: Post) -> bool:
    return who.is_admin or relation_to_post(who, post) is not None


def may_start(who: Actor) -> bool:
    """Start instances (the programme's work, recorded as the instance's ``started_by``; not
    an administrative act — those are ``engine.services.admin_rule``'s)."""
    return oversees_all(who)


def may_see_instance(uow: UnitOfWork, who: Actor, instance: ProcessInstance) -> bool:
    if oversees_all(who) or instance.started_by == who.user:
        return True
    events = instances.instance_events(uow, instance.id)
    if any(event.actor == who.user for event in events):
        return True
    task_ids = {e.task_id for e in events if e.type == EventType.TASK_CREATED and e.task_id}
    return any(task_access.may_view(tasks.get_task(uow, task_id), who)
               for task_id in task_ids)
